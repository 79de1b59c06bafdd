"""The environments of one function revision: warm ones waiting, busy ones serving.

Idle environments are reused most-recently-used first, so that the least used ones
age out under keep-alive while the warm set stays small.
"""

from ember.control.function import Function
from ember.environments.environment import ExecutionEnvironment


class EnvironmentPool:
    def __init__(self, function: Function):
        self.function = function
        self.retired = False
        self._idle: list[ExecutionEnvironment] = []
        self._members: set[ExecutionEnvironment] = set()

    def __iter__(self):
        return iter(list(self._members))

    def owns(self, environment: ExecutionEnvironment) -> bool:
        return environment in self._members

    def take_idle(self) -> ExecutionEnvironment | None:
        """A warm environment, or None. Dead ones found on the way are dropped."""
        while self._idle:
            environment = self._idle.pop()
            if environment.usable:
                return environment
            self._members.discard(environment)
        return None

    def add(self, environment: ExecutionEnvironment) -> None:
        self._members.add(environment)

    def idle(self) -> list[ExecutionEnvironment]:
        return list(self._idle)

    def remove(self, environment: ExecutionEnvironment) -> None:
        """Takes one idle environment out of the pool (to stop it)."""
        self._idle.remove(environment)
        self._members.discard(environment)

    def give_back(self, environment: ExecutionEnvironment) -> bool:
        """Returns the environment to the pool; False if it must be stopped instead."""
        if self.retired or not environment.usable:
            self._members.discard(environment)
            return False
        self._idle.append(environment)
        return True

    def remove_idle(self, older_than: float | None = None) -> list[ExecutionEnvironment]:
        """Takes idle environments out of the pool (all, or those idle since before older_than)."""
        leaving = [
            e for e in self._idle
            if not e.usable or older_than is None or (e.last_used < older_than and not e.provisioned)
        ]
        self._idle = [e for e in self._idle if e not in leaving]
        self._members.difference_update(leaving)
        return leaving

    def retire(self) -> list[ExecutionEnvironment]:
        """No new work for this revision; returns the idle environments to stop now."""
        self.retired = True
        return self.remove_idle()

    @property
    def empty(self) -> bool:
        return not self._members

    def count_by_state(self, counts: dict[tuple[str, str], int]) -> None:
        """Adds this pool's environments to counts, keyed by (function name, state)."""
        for environment in self._members:
            key = (self.function.name, environment.state.value)
            counts[key] = counts.get(key, 0) + 1
