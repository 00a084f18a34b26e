"""The models that write ETL scripts: Bedrock through langchain-aws, and a scripted stand-in for tests and demos.

Every failure to get a reply becomes ModelUnavailable with one sentence saying why (unreachable, unauthorised,
throttled, a model it does not offer): the workflow then falls back to the template (docs/architecture.md §7).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from etl_assets.config.models import LlmConfig
from etl_assets.credentials.vault import Vault, resolve_secrets

# the version of the LLM path's prompt and contract, in the inputs hash: a new one writes every llm script again
LLM_GENERATOR_VERSION = "llm-1"
# the reply's length limit: a script the template would write is about 8,000 tokens at most
MAX_TOKENS = 8_000
UNAUTHORISED = {"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"}
THROTTLED = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException", "ServiceUnavailableException"}
NOT_OFFERED = {"ResourceNotFoundException", "ModelNotReadyException", "ModelErrorException", "ValidationException"}


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    text: str


class ModelUnavailable(Exception):
    """The model gave no reply; the message is one sentence that says why and what to do."""


class ScriptModel(Protocol):
    # how the model is named in logs and metadata, e.g. "bedrock amazon.nova-micro-v1:0"
    name: str

    def reply(self, messages: Sequence[Message]) -> str: ...


@dataclass
class ScriptedModel:
    """Replays a JSON list of replies, one per call, the last repeated: for tests and offline demos only."""

    replies: list[str]
    name: str = "scripted"
    # the conversations it was sent, in order, so a test can read the prompts
    received: list[list[Message]] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: Path) -> ScriptedModel:
        try:
            replies = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ModelUnavailable(f"The scripted replies file {path} cannot be read ({exc.strerror}); check llm.responses_file.") from None
        except ValueError as exc:
            raise ModelUnavailable(f"The scripted replies file {path} is not JSON ({exc}); write a JSON list of strings.") from None
        if not isinstance(replies, list) or not replies or not all(isinstance(reply, str) for reply in replies):
            raise ModelUnavailable(f"The scripted replies file {path} must hold a non-empty JSON list of strings.")
        return cls(replies, name=f"scripted {path.name}")

    def reply(self, messages: Sequence[Message]) -> str:
        self.received.append(list(messages))
        return self.replies[min(len(self.received), len(self.replies)) - 1]


class BedrockModel:
    """A Bedrock model through langchain-aws' ChatBedrockConverse, on a `bedrock-runtime` client built from the
    credentials profile's client arguments (or the standard AWS chain when there are none)."""

    def __init__(self, llm: LlmConfig, client_args: dict[str, Any] | None = None, client: Any = None):
        self.llm = llm
        self.name = f"bedrock {llm.model}"
        self._client_args = dict(client_args or {})
        if llm.region:
            self._client_args["region_name"] = llm.region
        self._client = client

    def client(self) -> Any:
        """The bedrock-runtime client: the one given, else a new one, with the request timeout and no retry storm."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            timeout = self.llm.request_timeout_seconds
            config = Config(connect_timeout=min(timeout, 10), read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"})
            self._client = boto3.client("bedrock-runtime", config=config, **self._client_args)
        return self._client

    def reply(self, messages: Sequence[Message]) -> str:
        # imported here: langchain costs a second and a half, paid only when a script is really generated
        from langchain_aws import ChatBedrockConverse
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        try:
            chat = ChatBedrockConverse(client=self.client(), model=self.llm.model, temperature=self.llm.temperature, max_tokens=MAX_TOKENS)
            answer = chat.invoke([kinds[message.role](content=message.text) for message in messages])
        except Exception as exc:  # every way Bedrock can fail becomes a reason to fall back, never a crash
            raise ModelUnavailable(bedrock_failure(exc, self.llm.model)) from None
        return str(answer.text)


def bedrock_failure(exc: BaseException, model: str) -> str:
    """One sentence for a failed Bedrock call, from botocore's error codes; never the request or the credentials."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in UNAUTHORISED:
            return f"Bedrock refused the credentials ({code}); check the bedrock profile or the AWS credentials."
        if code in THROTTLED:
            return f"Bedrock is throttling requests ({code}); the next change of the script's inputs tries again."
        if code in NOT_OFFERED:
            return f"Bedrock cannot run model {model} ({code}); check llm.model and that the account has access to it."
        return f"Bedrock answered with the error {code or 'without a code'}; see the AWS status page, or use generator: template."
    if isinstance(exc, NoCredentialsError):
        return "No AWS credentials were found for Bedrock; name a bedrock profile in llm.credentials or set up the AWS credentials chain."
    if isinstance(exc, NoRegionError):
        return "No AWS region is set for Bedrock; set llm.region or the profile's region."
    if isinstance(exc, EndpointConnectionError):
        return "Bedrock could not be reached (no connection to its endpoint); check the network, or use generator: template."
    if isinstance(exc, BotoCoreError):
        return f"Bedrock could not be reached ({type(exc).__name__}); check the network, or use generator: template."
    return f"The Bedrock call failed ({type(exc).__name__}); use generator: template until it works."


def bedrock_client_args(llm: LlmConfig, vault: Vault) -> dict[str, Any] | None:
    """The boto3 client arguments of the Bedrock credentials the config names, decrypted now; None: the standard
    AWS chain. Called only when a script is really written, inside the resource (docs/architecture.md §6)."""
    if llm.provider != "bedrock":
        return None
    if llm.credentials:
        return vault.get(llm.credentials, kind="bedrock").client_args()
    if llm.access_key_id and llm.secret_access_key:
        keys = {"aws_access_key_id": llm.access_key_id, "aws_secret_access_key": llm.secret_access_key, "aws_session_token": llm.session_token}
        return {name: resolve_secrets(vault, value) for name, value in keys.items() if value}
    return None


def model_for(llm: LlmConfig, config_folder: Path, client_args: dict[str, Any] | None = None) -> ScriptModel:
    """The model the config names; `client_args` are the decrypted credentials profile's, for Bedrock."""
    if llm.provider == "scripted":
        assert llm.responses_file is not None  # the config model requires it
        path = llm.responses_file if llm.responses_file.is_absolute() else config_folder / llm.responses_file
        return ScriptedModel.from_file(path)
    return BedrockModel(llm, client_args)
