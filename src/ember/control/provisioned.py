"""Provisioned concurrency settings: how many environments to keep initialised for
a version or an alias. The environment manager acts on them.

Part of FunctionRegistry (functions.py), which it is mixed into: it works on the
registry's state and lock.
"""

from ember.control.function import LATEST, timestamp_now
from ember.errors import InvalidParameter, ProvisionedConfigNotFound


class ProvisionedMixin:
    def provisioned(self) -> dict[tuple[str, str], int]:
        """Every provisioned concurrency setting: (function name, qualifier) -> environments."""
        return dict(self._provisioned)

    @property
    def provisioned_unreserved_total(self) -> int:
        """Provisioned concurrency of functions without reserved concurrency: Lambda
        carves it out of the account's unreserved concurrency."""
        return sum(
            requested for (name, _), requested in self._provisioned.items()
            if self._functions[name].reserved_concurrency is None
        )

    def provisioned_last_modified(self, name: str, qualifier: str) -> str:
        return self._provisioned_modified.get((name, qualifier), "")

    def get_provisioned(self, identifier: str, qualifier: str) -> int:
        function, _ = self.resolve(identifier, qualifier)
        requested = self._provisioned.get((function.name, qualifier))
        if requested is None:
            raise ProvisionedConfigNotFound("No Provisioned Concurrency Config found for this function")
        return requested

    async def put_provisioned(self, identifier: str, qualifier: str, requested: int, check=None) -> None:
        """check(function, added) may refuse the setting, under the registry's lock."""
        async with self._lock:
            if qualifier == LATEST:
                raise InvalidParameter(
                    "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
                )
            function, _ = self.resolve(identifier, qualifier)
            base = self._functions[function.name]
            if base.reserved_concurrency is not None:
                others = sum(n for (name, q), n in self._provisioned.items() if name == base.name and q != qualifier)
                if others + requested > base.reserved_concurrency:
                    raise InvalidParameter(
                        f"Requested Provisioned Concurrency ({requested}) should not be greater than the reserved "
                        f"concurrency for function ({base.reserved_concurrency})."
                    )
            elif check is not None:
                check(base, requested - self._provisioned.get((function.name, qualifier), 0))
            modified = timestamp_now()
            self._provisioned[(function.name, qualifier)] = requested
            self._provisioned_modified[(function.name, qualifier)] = modified
            self._repository.put_keyed(
                "provisioned_concurrency", function.name, qualifier,
                {"requested": requested, "last_modified": modified},
            )
        self._provisioning_changed()

    async def delete_provisioned(self, identifier: str, qualifier: str) -> None:
        async with self._lock:
            function, _ = self.resolve(identifier, qualifier)
            if (function.name, qualifier) not in self._provisioned:
                raise ProvisionedConfigNotFound("No Provisioned Concurrency Config found for this function")
            self._drop_provisioned(function.name, qualifier)
        self._provisioning_changed()

    def _drop_provisioned(self, name: str, qualifier: str) -> None:
        self._provisioned_modified.pop((name, qualifier), None)
        if self._provisioned.pop((name, qualifier), None) is not None:
            self._repository.delete_keyed("provisioned_concurrency", name, qualifier)
