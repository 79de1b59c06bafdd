"""Aliases: names for a function version, optionally routing a share of invocations
to one more version.

Part of FunctionRegistry (functions.py), which it is mixed into: it works on the
registry's state and lock.
"""

import random
import uuid

from ember.control.function import LATEST, Alias, Function
from ember.errors import Conflict, InvalidParameter, NotFound, PreconditionFailed

# Lambda's limit on the versions an alias may route to besides its own.
MAX_ADDITIONAL_VERSIONS = 1


class AliasesMixin:
    def _version_of(self, name: str, alias: Alias, route: bool) -> Function:
        chosen = alias.function_version
        if route:
            roll = random.random()
            for version, weight in alias.additional_versions.items():
                if roll < weight:
                    chosen = version
                    break
                roll -= weight
        if chosen == LATEST:
            return self._functions[name]
        return self._versions[name][chosen]

    def get_alias(self, identifier: str, alias_name: str) -> Alias:
        base = self._current(identifier, None)
        alias = self._aliases.get(base.name, {}).get(alias_name)
        if alias is None:
            raise NotFound(f"Alias not found: {self.arn(base.name, alias_name)}")
        return alias

    def aliases(self, identifier: str, function_version: str | None = None) -> list[Alias]:
        base = self._current(identifier, None)
        aliases = sorted(self._aliases.get(base.name, {}).values(), key=lambda a: a.name)
        return [a for a in aliases if function_version is None or a.function_version == function_version]

    async def create_alias(
        self, identifier: str, alias_name: str, function_version: str, description: str = "",
        additional_versions: dict[str, float] | None = None,
    ) -> Alias:
        async with self._lock:
            base = self._current(identifier, None)
            if alias_name in self._aliases.get(base.name, {}):
                raise Conflict(f"Alias already exists: {self.arn(base.name, alias_name)}")
            alias = Alias(
                function_name=base.name,
                name=alias_name,
                arn=self.arn(base.name, alias_name),
                function_version=function_version,
                revision_id=str(uuid.uuid4()),
                description=description,
                additional_versions=additional_versions or {},
            )
            self._check_alias(alias)
            self._save_alias(alias)
        self._provisioning_changed()
        return alias

    async def update_alias(
        self, identifier: str, alias_name: str, function_version: str | None = None,
        description: str | None = None, additional_versions: dict[str, float] | None = None,
        revision_id: str | None = None,
    ) -> Alias:
        async with self._lock:
            current = self.get_alias(identifier, alias_name)
            if revision_id and revision_id != current.revision_id:
                raise PreconditionFailed(
                    "The Revision Id provided does not match the latest Revision Id. "
                    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
                )
            alias = Alias(
                function_name=current.function_name,
                name=current.name,
                arn=current.arn,
                function_version=function_version or current.function_version,
                revision_id=str(uuid.uuid4()),
                description=current.description if description is None else description,
                additional_versions=current.additional_versions if additional_versions is None else additional_versions,
            )
            self._check_alias(alias)
            self._save_alias(alias)
        self._provisioning_changed()
        return alias

    async def delete_alias(self, identifier: str, alias_name: str) -> None:
        async with self._lock:
            alias = self.get_alias(identifier, alias_name)
            del self._aliases[alias.function_name][alias.name]
            self._repository.delete_keyed("aliases", alias.function_name, alias.name)
            self._drop_provisioned(alias.function_name, alias.name)
        self._provisioning_changed()

    def _check_alias(self, alias: Alias) -> None:
        published = self._versions.get(alias.function_name, {})
        if alias.function_version != LATEST and alias.function_version not in published:
            raise NotFound(f"Function not found: {self.arn(alias.function_name, alias.function_version)}")
        weights = alias.additional_versions
        if len(weights) > MAX_ADDITIONAL_VERSIONS:
            raise InvalidParameter(
                f"Number of items in AdditionalVersionWeights cannot be greater than {MAX_ADDITIONAL_VERSIONS}"
            )
        for version, weight in weights.items():
            if version not in published:
                raise InvalidParameter(f"Alias routing can only point to published versions; {version} is not one.")
            if version == alias.function_version:
                raise InvalidParameter(
                    f"Invalid function version {version}. Function version {version} is already included in "
                    "routing configuration."
                )
            if not 0 <= weight <= 1:
                raise InvalidParameter(f"Routing weight for version {version} must be between 0.0 and 1.0.")
        if weights and alias.function_version == LATEST:
            raise InvalidParameter("Alias routing is not supported for $LATEST; point the alias at a published version.")

    def _save_alias(self, alias: Alias) -> None:
        self._repository.put_keyed("aliases", alias.function_name, alias.name, alias.to_document())
        self._aliases.setdefault(alias.function_name, {})[alias.name] = alias
