"""The vault's Fernet keys: ETL_ASSETS_FERNET_KEY, comma-separated, the first encrypts and every one decrypts."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet

from etl_assets.errors import CredentialsError

FERNET_KEY_ENV = "ETL_ASSETS_FERNET_KEY"
NEW_KEY_COMMAND = "etl-assets credentials new-key"
KEY_ID_LABEL = b"etl-assets credentials key id"


def new_key() -> str:
    """A fresh random Fernet key, as the text ETL_ASSETS_FERNET_KEY holds."""
    return Fernet.generate_key().decode()


def key_id(key: str) -> str:
    """A short fingerprint of a key, stored beside its tokens so a wrong key is told apart from a damaged token."""
    raw = base64.urlsafe_b64decode(key.encode())
    return hmac.new(raw, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


class KeyRing:
    """The configured keys; holds them privately so no repr shows them."""

    def __init__(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        self._ids = [key_id(key) for key in keys]

    @classmethod
    def parse(cls, value: str | None) -> KeyRing:
        """The keys of an ETL_ASSETS_FERNET_KEY value; a missing or malformed key is a CredentialsError."""
        keys = [key.strip() for key in (value or "").split(",") if key.strip()]
        if not keys:
            raise CredentialsError(
                f"The credentials vault needs a key, but {FERNET_KEY_ENV} is not set; "
                f"make one with `{NEW_KEY_COMMAND}` and set {FERNET_KEY_ENV} to it."
            )
        for position, key in enumerate(keys, start=1):
            try:
                Fernet(key.encode())
            except (ValueError, binascii.Error):
                which = f"key {position} of {len(keys)}" if len(keys) > 1 else "its key"
                raise CredentialsError(
                    f"{FERNET_KEY_ENV} is malformed ({which} is not 32 url-safe base64-encoded bytes); "
                    f"set it to keys made with `{NEW_KEY_COMMAND}`, comma-separated."
                ) from None
        return cls(keys)

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={self._ids})"

    @property
    def primary_id(self) -> str:
        """The fingerprint of the key that encrypts."""
        return self._ids[0]

    def knows(self, fingerprint: str) -> bool:
        return fingerprint in self._ids

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The clear text of `token`; raises cryptography's InvalidToken when no key opens it."""
        return self._fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """`token` re-encrypted under the first key; raises InvalidToken when no key opens it."""
        return self._fernet.rotate(token.encode()).decode()
