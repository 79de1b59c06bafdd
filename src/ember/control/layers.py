"""Layers: published, immutable .zip archives that functions stack under /opt.

A layer version's content lives in the content-addressed code store like function
code. A function keeps the digests of its layers when it is configured, so that
deleting a layer version (as in Lambda) does not take it away from functions that
already use it.
"""

import asyncio
from dataclasses import asdict, dataclass

from ember.control.code_store import CodeStore
from ember.control.function import timestamp_now
from ember.errors import InvalidParameter, NotFound
from ember.settings import Settings
from ember.store.layers import LayerRepository

MAX_LAYERS_PER_FUNCTION = 5


@dataclass(frozen=True)
class LayerVersion:
    name: str
    version: int
    arn: str             # the layer version's ARN
    layer_arn: str
    code_digest: str
    code_sha256: str
    code_size: int
    created: str
    description: str = ""
    compatible_runtimes: tuple[str, ...] = ()
    compatible_architectures: tuple[str, ...] = ()
    license_info: str | None = None

    def to_document(self) -> dict:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict) -> "LayerVersion":
        document = dict(document)
        document["compatible_runtimes"] = tuple(document.get("compatible_runtimes", ()))
        document["compatible_architectures"] = tuple(document.get("compatible_architectures", ()))
        return cls(**document)


class LayerRegistry:
    def __init__(self, repository: LayerRepository, code_store: CodeStore, settings: Settings):
        self._repository = repository
        self._code = code_store
        self._settings = settings
        self._versions: dict[str, dict[int, LayerVersion]] = {}
        for layer in map(LayerVersion.from_document, repository.load_all()):
            self._versions.setdefault(layer.name, {})[layer.version] = layer
        self._last = repository.last_versions()
        self._lock = asyncio.Lock()

    def layer_arn(self, name: str) -> str:
        return f"{self._settings.base_arn}:layer:{name}"

    async def publish(
        self, name: str, zip_bytes: bytes, description: str = "", compatible_runtimes=(),
        compatible_architectures=(), license_info: str | None = None,
    ) -> LayerVersion:
        async with self._lock:
            package = await asyncio.to_thread(self._code.add, zip_bytes)
            version = self._last.get(name, 0) + 1  # numbers are never reused
            layer = LayerVersion(
                name=name,
                version=version,
                arn=f"{self.layer_arn(name)}:{version}",
                layer_arn=self.layer_arn(name),
                code_digest=package.digest,
                code_sha256=package.sha256,
                code_size=package.size,
                created=timestamp_now(),
                description=description,
                compatible_runtimes=tuple(compatible_runtimes),
                compatible_architectures=tuple(compatible_architectures),
                license_info=license_info,
            )
            self._repository.add(name, version, layer.to_document())
            self._versions.setdefault(name, {})[version] = layer
            self._last[name] = version
        return layer

    def get(self, name: str, version: int) -> LayerVersion:
        layer = self._versions.get(name, {}).get(version)
        if layer is None:
            raise NotFound("The resource you requested does not exist.")
        return layer

    def get_by_arn(self, arn: str) -> LayerVersion:
        prefix, _, version = arn.rpartition(":")
        name = prefix.rpartition(":layer:")[2]
        if not version.isdigit() or prefix != self.layer_arn(name):
            raise NotFound("The resource you requested does not exist.")
        return self.get(name, int(version))

    def versions(self, name: str, runtime: str | None = None, architecture: str | None = None) -> list[LayerVersion]:
        """A layer's versions, newest first, that match the filters."""
        return [
            layer for _, layer in sorted(self._versions.get(name, {}).items(), reverse=True)
            if _matches(layer, runtime, architecture)
        ]

    def layers(self, runtime: str | None = None, architecture: str | None = None) -> list[LayerVersion]:
        """The newest matching version of every layer, by name."""
        latest = []
        for name in sorted(self._versions):
            matching = self.versions(name, runtime, architecture)
            if matching:
                latest.append(matching[0])
        return latest

    async def delete(self, name: str, version: int) -> None:
        async with self._lock:
            if self._versions.get(name, {}).pop(version, None) is not None:
                self._repository.delete(name, version)

    def resolve_for_function(self, arns: list[str]) -> list[LayerVersion]:
        """The layer versions a function's Layers setting names, checked."""
        if len(arns) > MAX_LAYERS_PER_FUNCTION:
            raise InvalidParameter(f"Cannot reference more than {MAX_LAYERS_PER_FUNCTION} layers.")
        if len(set(arns)) != len(arns):
            raise InvalidParameter("Two different versions of the same layer are not allowed.")
        layers = []
        for arn in arns:
            try:
                layers.append(self.get_by_arn(arn))
            except NotFound:
                raise InvalidParameter(f"Layer version {arn} does not exist.")
        names = [layer.name for layer in layers]
        if len(set(names)) != len(names):
            raise InvalidParameter("Two different versions of the same layer are not allowed.")
        return layers

    def code_digests(self) -> set[str]:
        return {layer.code_digest for versions in self._versions.values() for layer in versions.values()}


def _matches(layer: LayerVersion, runtime: str | None, architecture: str | None) -> bool:
    return (runtime is None or runtime in layer.compatible_runtimes) and (
        architecture is None or architecture in layer.compatible_architectures
    )
