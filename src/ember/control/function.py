"""A function's configuration as Ember keeps it (snake_case; the API maps AWS names)."""

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone

LATEST = "$LATEST"
NETWORK_TAG = "ember:network"


@dataclass(frozen=True)
class Function:
    name: str
    arn: str
    runtime: str
    handler: str
    role: str
    code_sha256: str          # base64 of the zip's sha256, as Lambda reports it
    code_digest: str          # hex of the same digest: the code store's key
    code_size: int
    revision_id: str
    last_modified: str
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    ephemeral_storage: int = 512
    environment: dict[str, str] = field(default_factory=dict)
    architectures: tuple[str, ...] = ("x86_64",)
    tags: dict[str, str] = field(default_factory=dict)
    version: str = LATEST
    # PutFunctionConcurrency; None means the function shares the unreserved pool.
    reserved_concurrency: int | None = None
    # The number the last published version got ($LATEST only; numbers are never reused).
    last_version: int = 0
    # Layers, in order: (layer version ARN, code digest, code size)
    layers: tuple[tuple[str, str, int], ...] = ()

    @property
    def layer_digests(self) -> tuple[str, ...]:
        return tuple(digest for _, digest, _ in self.layers)

    @property
    def published(self) -> bool:
        return self.version != LATEST

    def same_configuration(self, other: "Function") -> bool:
        """Whether publishing self would publish nothing new after other."""
        ignored = {"arn", "revision_id", "last_modified", "version", "last_version", "description"}
        return {k: v for k, v in asdict(self).items() if k not in ignored} == {
            k: v for k, v in asdict(other).items() if k not in ignored
        }

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def outbound_network(self) -> bool:
        """Ember's own switch, set with the tag ember:network=none: no outbound network."""
        return self.tags.get(NETWORK_TAG) != "none"

    def changed(self, **changes) -> "Function":
        return replace(self, **changes)

    def to_document(self) -> dict:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict) -> "Function":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in document.items() if k in known}
        values["architectures"] = tuple(values.get("architectures", ("x86_64",)))
        values["layers"] = tuple(tuple(layer) for layer in values.get("layers", ()))
        return cls(**values)


@dataclass(frozen=True)
class Alias:
    function_name: str
    name: str
    arn: str
    function_version: str
    revision_id: str
    description: str = ""
    # RoutingConfig.AdditionalVersionWeights: version -> share of invocations (0..1)
    additional_versions: dict[str, float] = field(default_factory=dict)

    @property
    def versions(self) -> set[str]:
        """Every version the alias may route to."""
        return {self.function_version, *self.additional_versions}

    def to_document(self) -> dict:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict) -> "Alias":
        return cls(**document)


def timestamp_now() -> str:
    """LastModified in Lambda's format: 2026-11-23T17:41:08.123+0000."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
