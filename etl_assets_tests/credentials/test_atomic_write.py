"""Writes are atomic: a failed or killed write leaves the previous vault whole, and no temp file stays behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from etl_assets.credentials.profiles import S3Profile, SnowflakeProfile
from etl_assets.credentials.vault import Vault

WRITER = textwrap.dedent(
    """
    import os, resource, signal, sys
    from pathlib import Path
    from etl_assets.credentials.profiles import S3Profile
    from etl_assets.credentials.vault import Vault
    from etl_assets.errors import CredentialsError

    home, mode = Path(sys.argv[1]), sys.argv[2]
    vault = Vault.for_home(home, os.environ)
    if mode == "disk-full":
        # Writing past the limit fails with EFBIG, as on a full disk, once SIGXFSZ no longer kills us.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        try:
            big = S3Profile(access_key_id="AKIA", secret_access_key="s", endpoint_url="http://" + "x" * 100_000)
            vault.set("big", big)
        except CredentialsError as exc:
            print(exc)
    else:
        for round in range(1_000_000):
            size = (round % 5) * 200_000
            vault.set("busy", S3Profile(access_key_id=f"AKIA{round}", secret_access_key="s",
                                        endpoint_url="http://" + "x" * size))
            print(round, flush=True)
    """
)


def run_writer(home: Path, key: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home), mode],
        env={"ETL_ASSETS_FERNET_KEY": key, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_write_leaves_only_the_vault_file(vault: Vault, warehouse_profile: SnowflakeProfile) -> None:
    vault.set("warehouse", warehouse_profile)
    vault.set("warehouse", warehouse_profile)
    vault.delete("warehouse")
    assert [entry.name for entry in vault.path.parent.iterdir()] == ["credentials.json"]


def test_a_write_that_fails_midway_leaves_the_old_vault(
    vault: Vault, key: str, warehouse_profile: SnowflakeProfile
) -> None:
    vault.set("warehouse", warehouse_profile)
    before = vault.path.read_bytes()
    writer = run_writer(vault.path.parent, key, "disk-full")
    output, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    assert output.strip() == (
        f"The credentials vault {vault.path} could not be written (File too large), so it was left as it was; "
        "free some disk space or fix the folder's permissions and try again."
    )
    assert vault.path.read_bytes() == before
    assert [entry.name for entry in vault.path.parent.iterdir()] == ["credentials.json"]


@pytest.mark.slow
def test_a_writer_killed_at_any_moment_never_leaves_a_half_written_vault(vault: Vault, key: str) -> None:
    for delay in (0.05, 0.13, 0.21):
        writer = run_writer(vault.path.parent, key, "busy")
        assert writer.stdout is not None
        writer.stdout.readline()
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL
        survivor = vault.get("busy", kind="s3")
        assert isinstance(survivor, S3Profile) and survivor.access_key_id.startswith("AKIA")
    vault.set("after", S3Profile(access_key_id="AKIA", secret_access_key="s"))
    assert [entry.name for entry in vault.path.parent.iterdir()] == ["credentials.json"]
