"""Hands out execution environments: a warm one when a pool has one, else a new one
(a cold start). Takes them back after each invocation, stops the ones idle for
longer than the keep-alive, retires pools whose function changed, and stops
everything on shutdown.
"""

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from ember.control.code_store import CodeStore
from ember.control.function import Function
from ember.control.runtimes import launch_argv
from ember.environments.admission import MemoryBudget
from ember.environments.environment import RUNTIME_DIR, ExecutionEnvironment, Outcome
from ember.environments.pool import EnvironmentPool
from ember.environments.sandbox.base import SandboxDriver
from ember.environments.variables import lambda_variables
from ember.observe.logs import LogService
from ember.observe.report import init_report_line, init_start_line
from ember.settings import Settings

log = logging.getLogger("ember.environments")

REAP_INTERVAL_S = 1.0


@dataclass
class Checkout:
    environment: ExecutionEnvironment
    cold: bool
    # Set when a cold start failed: the invocation answers with this instead of running.
    init_failure: Outcome | None = None


class EnvironmentManager:
    def __init__(
        self,
        driver: SandboxDriver,
        code_store: CodeStore,
        logs: LogService,
        settings: Settings,
        budget: MemoryBudget,
    ):
        self._driver = driver
        self.budget = budget
        self._code = code_store
        self._logs = logs
        self._settings = settings
        self._scratch_root = settings.data_dir / "environments"
        self._pools: dict[str, EnvironmentPool] = {}
        self._retired: list[EnvironmentPool] = []
        self._stopping_task: dict[ExecutionEnvironment, asyncio.Task] = {}
        self._reaper: asyncio.Task | None = None

    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_periodically())

    # ------------------------------------------------------------ the invoke path

    async def checkout(self, function: Function) -> Checkout:
        pool = self._pool_for(function)
        environment = pool.take_idle()
        if environment is not None:
            return Checkout(environment, cold=False)
        await self.budget.wait_for_room(function.memory_size, self._settings.admission_wait, self._make_room)
        pool = self._pool_for(function)  # the function may have changed while this waited
        environment = pool.take_idle()
        if environment is not None:
            return Checkout(environment, cold=False)
        environment = self._new_environment(function)
        self.budget.commit(function.memory_size)
        pool.add(environment)
        environment.log_stream.write(init_start_line(function.runtime))
        try:
            failure = await environment.start()
        except BaseException:
            pool.give_back(environment)  # not usable: leaves the pool
            self._stop_later([environment])
            raise
        if failure is not None and failure.error_type:
            environment.log_stream.write(init_report_line(failure.duration_ms, failure.error_type))
        return Checkout(environment, cold=True, init_failure=failure)

    def checkin(self, environment: ExecutionEnvironment) -> None:
        pool = self._pools.get(environment.function.name)
        owner = pool if pool is not None and pool.function is environment.function else None
        owner = owner or next((p for p in self._retired if p.function is environment.function), None)
        if owner is None or not owner.give_back(environment):
            self._stop_later([environment])
        else:
            environment.freeze()

    # ------------------------------------------------------------ changes

    def retire(self, function_name: str) -> None:
        """The function changed or was deleted: its environments serve nothing new."""
        pool = self._pools.pop(function_name, None)
        if pool is not None:
            self._stop_later(pool.retire())
            if not pool.empty:
                self._retired.append(pool)

    def live_code_digests(self) -> set[str]:
        return {e.function.code_digest for pool in self._all_pools() for e in pool}

    def count_by_state(self) -> dict[tuple[str, str], int]:
        """Live environments by (function name, state)."""
        counts: dict[tuple[str, str], int] = {}
        for pool in self._all_pools():
            pool.count_by_state(counts)
        return counts

    async def shutdown(self) -> None:
        if self._reaper:
            self._reaper.cancel()
        environments = [e for pool in self._all_pools() for e in pool]
        self._pools.clear()
        self._retired.clear()
        await asyncio.gather(
            *(e.stop() for e in environments), *self._stopping_task.values(), return_exceptions=True
        )

    # ------------------------------------------------------------ internals

    def _pool_for(self, function: Function) -> EnvironmentPool:
        pool = self._pools.get(function.name)
        if pool is not None and pool.function.revision_id != function.revision_id:
            self.retire(function.name)
            pool = None
        if pool is None:
            pool = self._pools[function.name] = EnvironmentPool(function)
        return pool

    def _new_environment(self, function: Function) -> ExecutionEnvironment:
        environment_id = uuid.uuid4().hex
        day = datetime.now(timezone.utc).strftime("%Y/%m/%d")
        stream_name = f"{day}/[{function.version}]{environment_id}"
        task_root = self._code.task_root(function.code_digest)
        seen = self._driver.paths(task_root, RUNTIME_DIR)
        return ExecutionEnvironment(
            environment_id=environment_id,
            function=function,
            argv=launch_argv(function.runtime, seen.runtime_dir),
            task_root=task_root,
            scratch_dir=self._scratch_root / environment_id,
            driver=self._driver,
            log_stream=self._logs.stream(function.log_group, stream_name),
            variables=lambda_variables(function, self._settings, seen.task_root, seen.runtime_dir, stream_name),
            network=function.outbound_network,
        )

    def _all_pools(self) -> list[EnvironmentPool]:
        return [*self._pools.values(), *self._retired]

    async def _make_room(self, needed_mb: int) -> None:
        """Stops idle environments, least recently used first, until needed_mb is freed."""
        idle = sorted(
            ((e.last_used, pool, e) for pool in self._all_pools() for e in pool.idle()), key=lambda t: t[0]
        )
        leaving, freed = [], 0
        for _, pool, environment in idle:
            if freed >= needed_mb:
                break
            pool.remove(environment)
            leaving.append(environment)
            freed += environment.function.memory_size
        self._stop_later(leaving)
        if leaving:
            await asyncio.gather(*(self._stopping_task[e] for e in leaving if e in self._stopping_task))

    def _stop_later(self, environments: list[ExecutionEnvironment]) -> None:
        for environment in environments:
            task = asyncio.create_task(self._stop(environment))
            self._stopping_task[environment] = task
            task.add_done_callback(lambda _, e=environment: self._stopping_task.pop(e, None))

    async def _stop(self, environment: ExecutionEnvironment) -> None:
        try:
            await environment.stop()
        finally:
            self.budget.release(environment.function.memory_size)

    async def _reap_periodically(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL_S)
            deadline = time.monotonic() - self._settings.keep_alive
            for pool in self._all_pools():
                self._stop_later(pool.remove_idle(older_than=deadline))
            self._retired = [pool for pool in self._retired if not pool.empty]
            for name in [name for name, pool in self._pools.items() if pool.empty]:
                del self._pools[name]
