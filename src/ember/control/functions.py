"""The functions that exist: create, read, update, delete, and resolve names for invoke.

Functions are cached in memory (resolving a name on the invoke path touches no disk)
and written through to the repository on every change.
"""

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ember.control import validation
from ember.control.aliases import AliasesMixin
from ember.control.code_store import CodeStore, describe, validated_members
from ember.control.function import LATEST, Alias, Function, timestamp_now
from ember.control.names import parse_function_name
from ember.control.provisioned import ProvisionedMixin
from ember.control.runtimes import check_runtime
from ember.control.versions import VersionsMixin
from ember.errors import Conflict, InvalidParameter, NotFound, PreconditionFailed, ValidationFailed
from ember.settings import Settings
from ember.store.functions import FunctionRepository

# Lambda's limit on a function's own name (the API shape allows 140 for ARNs).
MAX_NAME_LENGTH = 64

# Fields UpdateFunctionConfiguration may change.
CONFIGURABLE = (
    "runtime",
    "handler",
    "role",
    "description",
    "timeout",
    "memory_size",
    "ephemeral_storage",
    "environment",
    "layers",
)


@dataclass(frozen=True)
class FunctionSpec:
    """What CreateFunction asks for."""

    name: str
    runtime: str | None
    handler: str | None
    role: str
    zip_bytes: bytes
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    ephemeral_storage: int = 512
    environment: dict[str, str] | None = None
    architectures: tuple[str, ...] | None = None
    tags: dict[str, str] | None = None
    layers: tuple[tuple[str, str, int], ...] = ()


class FunctionRegistry(VersionsMixin, AliasesMixin, ProvisionedMixin):
    def __init__(self, repository: FunctionRepository, code_store: CodeStore, settings: Settings):
        self._repository = repository
        self._code = code_store
        self._settings = settings
        self._functions = {f.name: f for f in map(Function.from_document, repository.load_all())}
        self.reserved_total = sum(f.reserved_concurrency or 0 for f in self._functions.values())
        # published versions and aliases, by function name then version number / alias name
        self._versions: dict[str, dict[str, Function]] = {}
        for name, number, document in repository.load_keyed("versions"):
            self._versions.setdefault(name, {})[number] = Function.from_document(document)
        self._aliases: dict[str, dict[str, Alias]] = {}
        for name, alias, document in repository.load_keyed("aliases"):
            self._aliases.setdefault(name, {})[alias] = Alias.from_document(document)
        # provisioned concurrency: (name, qualifier) -> environments requested, and when it was set
        self._provisioned: dict[tuple[str, str], int] = {}
        self._provisioned_modified: dict[tuple[str, str], str] = {}
        for name, qualifier, document in repository.load_keyed("provisioned_concurrency"):
            self._provisioned[(name, qualifier)] = document["requested"]
            self._provisioned_modified[(name, qualifier)] = document.get("last_modified", "")
        for name in self._versions:
            self._refresh_versions(name)
        self._listeners: list[Callable[[str, str | None], None]] = []
        self._provisioning_listeners: list[Callable[[], None]] = []
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------ reading

    def on_change(self, listener: Callable[[str, str | None], None]) -> None:
        """Calls listener(name, version) after something that running environments depend
        on changed: $LATEST's code or configuration ("$LATEST"), a version was deleted
        (its number), or the whole function (None: deleted, or its network tag changed)."""
        self._listeners.append(listener)

    def on_provisioning_change(self, listener: Callable[[], None]) -> None:
        """Calls listener() after a provisioned concurrency setting, an alias or a
        version changed: what should be provisioned may have changed."""
        self._provisioning_listeners.append(listener)

    def arn(self, name: str, qualifier: str | None = None) -> str:
        arn = f"{self._settings.base_arn}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn

    def get(self, identifier: str, qualifier: str | None = None) -> Function:
        function, _ = self.resolve(identifier, qualifier)
        return function

    def resolve(
        self, identifier: str, qualifier: str | None = None, route: bool = False
    ) -> tuple[Function, str | None]:
        """The function version an identifier names ($LATEST, a number, or an alias's
        version), and the qualifier it was asked for with. With route, an alias with
        weighted routing picks one of its versions by weight, as Invoke does."""
        parsed = parse_function_name(identifier)
        if parsed.qualifier and qualifier and parsed.qualifier != qualifier:
            raise InvalidParameter(
                "The derived qualifier from the function name does not match the specified qualifier."
            )
        qualifier = qualifier or parsed.qualifier
        function = self._functions.get(parsed.name)
        foreign = (parsed.region not in (None, self._settings.region)) or (
            parsed.account not in (None, self._settings.account_id)
        )
        if function is not None and not foreign:
            if qualifier in (None, LATEST):
                return function, qualifier
            version = self._versions.get(function.name, {}).get(qualifier)
            if version is not None:
                return version, qualifier
            alias = self._aliases.get(function.name, {}).get(qualifier)
            if alias is not None:
                return self._version_of(function.name, alias, route), qualifier
        raise NotFound(f"Function not found: {self.arn(parsed.name, qualifier)}")

    def list_page(self, marker: str | None, max_items: int) -> tuple[list[Function], str | None]:
        names = sorted(self._functions)
        if marker:
            names = [name for name in names if name > marker]
        page = names[:max_items]
        next_marker = page[-1] if len(names) > max_items else None
        return [self._functions[name] for name in page], next_marker

    def all(self) -> list[Function]:
        return list(self._functions.values())

    def code_digests(self) -> set[str]:
        """Every code and layer package a function or version uses."""
        functions = [*self._functions.values(), *(v for vs in self._versions.values() for v in vs.values())]
        return {f.code_digest for f in functions} | {d for f in functions for d in f.layer_digests}

    def layer_stacks(self) -> set[tuple[str, ...]]:
        """Every distinct stack of layers a function or version uses."""
        functions = [*self._functions.values(), *(v for vs in self._versions.values() for v in vs.values())]
        return {f.layer_digests for f in functions if f.layers}

    # ------------------------------------------------------------ changing

    async def create(self, spec: FunctionSpec) -> Function:
        if not spec.runtime or not spec.handler:
            raise InvalidParameter(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages."
            )
        name = self._name_to_create(spec.name)
        check_runtime(spec.runtime)
        environment = spec.environment or {}
        validation.check_environment(environment)
        architectures = spec.architectures or (validation.HOST_ARCHITECTURE,)
        validation.check_architectures(architectures)
        validation.check_tags(spec.tags or {})
        async with self._lock:
            if name in self._functions:
                raise Conflict(f"Function already exist: {name}")
            package = await asyncio.to_thread(self._code.add, spec.zip_bytes)
            function = Function(
                name=name,
                arn=self.arn(name),
                runtime=spec.runtime,
                handler=spec.handler,
                role=spec.role,
                code_sha256=package.sha256,
                code_digest=package.digest,
                code_size=package.size,
                revision_id=str(uuid.uuid4()),
                last_modified=timestamp_now(),
                description=spec.description,
                timeout=spec.timeout,
                memory_size=spec.memory_size,
                ephemeral_storage=spec.ephemeral_storage,
                environment=environment,
                architectures=architectures,
                tags=spec.tags or {},
                layers=spec.layers,
            )
            self._save(function)
        return function

    async def update_code(
        self, identifier: str, zip_bytes: bytes, revision_id: str | None = None, dry_run: bool = False
    ) -> Function:
        async with self._lock:
            current = self._current(identifier, revision_id)
            if dry_run:
                package = describe(zip_bytes)
                await asyncio.to_thread(validated_members, zip_bytes)
                return current.changed(
                    code_sha256=package.sha256, code_digest=package.digest, code_size=package.size
                )
            package = await asyncio.to_thread(self._code.add, zip_bytes)
            function = current.changed(
                code_sha256=package.sha256,
                code_digest=package.digest,
                code_size=package.size,
                revision_id=str(uuid.uuid4()),
                last_modified=timestamp_now(),
            )
            self._save(function)
        self._notify(function.name, LATEST)
        return function

    async def update_configuration(
        self, identifier: str, changes: dict, revision_id: str | None = None
    ) -> Function:
        unknown = set(changes) - set(CONFIGURABLE)
        if unknown:
            raise InvalidParameter(f"Cannot change {', '.join(sorted(unknown))} with UpdateFunctionConfiguration.")
        if "runtime" in changes:
            check_runtime(changes["runtime"])
        if "environment" in changes:
            validation.check_environment(changes["environment"])
        async with self._lock:
            current = self._current(identifier, revision_id)
            function = current.changed(
                **changes, revision_id=str(uuid.uuid4()), last_modified=timestamp_now()
            )
            self._save(function)
        self._notify(function.name, LATEST)
        return function

    async def delete(self, identifier: str, qualifier: str | None = None) -> None:
        """The whole function, or (with a version number) one published version."""
        async with self._lock:
            function, qualifier = self.resolve(identifier, qualifier)
            name = function.name
            if qualifier == LATEST:
                raise InvalidParameter("$LATEST version cannot be deleted without deleting the function.")
            if qualifier is not None:
                if not qualifier.isdigit():
                    raise InvalidParameter("Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.")
                users = sorted(a.name for a in self._aliases.get(name, {}).values() if qualifier in a.versions)
                if users:
                    raise Conflict(
                        f"Unable to delete version because the following aliases reference it: [{', '.join(users)}]"
                    )
                del self._versions[name][qualifier]
                self._repository.delete_keyed("versions", name, qualifier)
                self._drop_provisioned(name, qualifier)
            else:
                base = self._functions.pop(name)
                self._versions.pop(name, None)
                self._aliases.pop(name, None)
                for key in [key for key in self._provisioned if key[0] == name]:
                    del self._provisioned[key], self._provisioned_modified[key]
                self._repository.delete(name)
                self.reserved_total -= base.reserved_concurrency or 0
        self._notify(name, qualifier)
        self._provisioning_changed()

    def _name_to_create(self, identifier: str) -> str:
        """The name CreateFunction makes: it takes an ARN or partial ARN too, but names the
        function by its last part (keeping the whole identifier made functions no name could reach)."""
        parsed = parse_function_name(identifier)
        if parsed.qualifier:
            raise InvalidParameter(f"CreateFunction takes an unqualified function name, got {identifier}.")
        foreign = parsed.region not in (None, self._settings.region) or (
            parsed.account not in (None, self._settings.account_id)
        )
        if foreign:
            raise InvalidParameter(f"{identifier} is not a function ARN of this Ember ({self._settings.base_arn}).")
        if len(parsed.name) > MAX_NAME_LENGTH:
            raise ValidationFailed(
                f"1 validation error detected: Value '{parsed.name}' at 'functionName' failed to satisfy "
                f"constraint: Member must have length less than or equal to {MAX_NAME_LENGTH}"
            )
        return parsed.name

    def _current(self, identifier: str, revision_id: str | None) -> Function:
        function, qualifier = self.resolve(identifier)
        if qualifier:
            raise InvalidParameter(f"Unqualified function name expected, got {identifier}.")
        if revision_id and revision_id != function.revision_id:
            raise PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. "
                "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
            )
        return function

    async def set_reserved_concurrency(self, identifier: str, reserved: int | None, check=None) -> Function:
        """PutFunctionConcurrency / DeleteFunctionConcurrency. Not a new revision: the
        function's environments keep serving. check(function, reserved) may refuse it;
        it runs under the registry's lock, so that two requests cannot both pass it."""
        async with self._lock:
            function = self._current(identifier, None)
            if check is not None and reserved is not None:
                check(function, reserved)
            updated = function.changed(reserved_concurrency=reserved)
            self._save(updated)
            self._refresh_versions(updated.name)
        return updated

    async def tag(self, arn: str, tags: dict[str, str]) -> None:
        await self._change_tags(arn, lambda current: {**current, **tags})

    async def untag(self, arn: str, keys: list[str]) -> None:
        await self._change_tags(arn, lambda current: {k: v for k, v in current.items() if k not in keys})

    def tags(self, arn: str) -> dict[str, str]:
        return dict(self._by_arn(arn).tags)

    async def _change_tags(self, arn: str, change) -> None:
        async with self._lock:
            function = self._by_arn(arn)
            tags = change(function.tags)
            validation.check_tags(tags)
            updated = function.changed(tags=tags)
            self._save(updated)
            self._refresh_versions(updated.name)
        if function.outbound_network != updated.outbound_network:
            self._notify(updated.name, None)  # environments must restart with the new network

    def _by_arn(self, arn: str) -> Function:
        if not arn.startswith("arn:"):
            raise InvalidParameter(f"Resource must be a function ARN, got {arn}.")
        function, qualifier = self.resolve(arn)
        if qualifier:
            raise InvalidParameter("Tags apply to functions, not to versions or aliases.")
        return function

    def _save(self, function: Function) -> None:
        self._repository.put(function.name, function.to_document())
        previous = self._functions.get(function.name)
        self.reserved_total += (function.reserved_concurrency or 0) - (
            previous.reserved_concurrency or 0 if previous else 0
        )
        self._functions[function.name] = function

    def _notify(self, name: str, version: str | None) -> None:
        for listener in self._listeners:
            listener(name, version)

    def _provisioning_changed(self) -> None:
        for listener in self._provisioning_listeners:
            listener()

    def _refresh_versions(self, name: str) -> None:
        """Tags and reserved concurrency belong to the function, not to a version:
        every version shows the function's current ones."""
        base = self._functions.get(name)
        if base is None:
            return
        for number, version in self._versions.get(name, {}).items():
            self._versions[name][number] = version.changed(
                tags=base.tags, reserved_concurrency=base.reserved_concurrency
            )
