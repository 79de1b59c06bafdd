"""Published versions: immutable, numbered snapshots of a function's $LATEST.

Part of FunctionRegistry (functions.py), which it is mixed into: it works on the
registry's state and lock.
"""

import uuid

from ember.control.function import Function, timestamp_now
from ember.errors import InvalidParameter


class VersionsMixin:
    async def publish_version(
        self, identifier: str, code_sha256: str | None = None, description: str | None = None,
        revision_id: str | None = None,
    ) -> Function:
        """An immutable snapshot of $LATEST's code and configuration, numbered; $LATEST
        unchanged since the last version publishes nothing new and returns that one."""
        async with self._lock:
            base = self._current(identifier, revision_id)
            if code_sha256 and code_sha256 != base.code_sha256:
                raise InvalidParameter(
                    f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
                    f"({base.code_sha256}). Please try again."
                )
            versions = self._versions.setdefault(base.name, {})
            if versions:
                newest = versions[str(max(map(int, versions)))]
                if base.same_configuration(newest):
                    return newest
            number = str(base.last_version + 1)
            version = base.changed(
                version=number,
                arn=self.arn(base.name, number),
                revision_id=str(uuid.uuid4()),
                last_modified=timestamp_now(),
                description=base.description if description is None else description,
                last_version=0,
            )
            self._repository.put_keyed("versions", base.name, number, version.to_document())
            versions[number] = version
            self._save(base.changed(last_version=int(number)))
        return version

    def versions(self, identifier: str) -> list[Function]:
        """$LATEST, then the published versions in order."""
        base = self._current(identifier, None)
        published = self._versions.get(base.name, {})
        return [base, *(published[n] for n in sorted(published, key=int))]
