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
from ember.environments.environment import RUNTIME_DIR, ExecutionEnvironment, Outcome, State
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
        self._pools: dict[tuple[str, str], EnvironmentPool] = {}  # by (function name, version)
        self._retired: list[EnvironmentPool] = []
        self._stopping_task: dict[ExecutionEnvironment, asyncio.Task] = {}
        self._reaper: asyncio.Task | None = None
        self._provision_targets: dict[tuple[str, str], tuple[Function, int]] = {}
        self._provision_failures: dict[tuple[str, str], str] = {}
        self._reconciler: asyncio.Task | None = None
        self._reconcile_again = False

    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_periodically())

    # ------------------------------------------------------------ provisioned concurrency

    def provision(self, targets: dict[tuple[str, str], tuple[Function, int]]) -> None:
        """Keeps initialised environments ready: (function name, qualifier) -> (the
        version it resolves to, how many). Starts what is missing in the background;
        surplus provisioned environments become ordinary ones (kept alive, then reaped)."""
        self._provision_targets = dict(targets)
        self._reconcile_soon()

    def provisioned_status(self, name: str, qualifier: str, requested: int) -> tuple[int, str, str | None]:
        """(environments ready, Status, StatusReason) of one provisioned concurrency setting."""
        target = self._provision_targets.get((name, qualifier))
        if target is None:
            return 0, "IN_PROGRESS", None
        function = target[0]
        pool = self._pools.get((function.name, function.version))
        ready = sum(1 for e in pool if e.provisioned and (e.usable or e.state is State.BUSY)) if pool else 0
        ready = min(ready, requested)
        failure = self._provision_failures.get((function.name, function.version))
        if ready >= requested:
            return ready, "READY", None
        if failure:
            return ready, "FAILED", failure
        return ready, "IN_PROGRESS", None

    def _wanted(self) -> dict[tuple[str, str], tuple[Function, int]]:
        """Provisioned environments wanted per (function name, version)."""
        wanted: dict[tuple[str, str], tuple[Function, int]] = {}
        for function, count in self._provision_targets.values():
            key = (function.name, function.version)
            wanted[key] = (function, wanted.get(key, (function, 0))[1] + count)
        return wanted

    def _reconcile_soon(self) -> None:
        if self._reconciler is None or self._reconciler.done():
            self._reconciler = asyncio.create_task(self._reconcile())
        else:
            self._reconcile_again = True

    async def _reconcile(self) -> None:
        while True:
            self._reconcile_again = False
            wanted = self._wanted()
            for key, pool in list(self._pools.items()):
                keep = wanted.get(key, (None, 0))[1]
                for environment in [e for e in pool if e.provisioned][keep:]:
                    environment.provisioned = False  # surplus: an ordinary environment now
            for key, (function, count) in wanted.items():
                pool = self._pool_for(function)
                live = [e for e in pool if e.provisioned and e.state not in (State.STOPPING, State.STOPPED, State.FAILED)]
                for _ in range(count - len(live)):
                    if not await self._start_provisioned(function):
                        break
            if not self._reconcile_again:
                return

    async def _start_provisioned(self, function: Function) -> bool:
        key = (function.name, function.version)
        try:
            await self.budget.wait_for_room(function.memory_size, self._settings.admission_wait, self._make_room)
            environment, failure = await self._cold_start(function, provisioned=True)
        except Exception as error:
            self._provision_failures[key] = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            return False
        self.checkin(environment)  # frozen and ready; a failed one is stopped
        if failure is not None:
            self._provision_failures[key] = f"FUNCTION_ERROR_INIT_FAILURE: {failure.error_type}"
            return False
        self._provision_failures.pop(key, None)
        return True

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
        environment, failure = await self._cold_start(function)
        return Checkout(environment, cold=True, init_failure=failure)

    def checkin(self, environment: ExecutionEnvironment) -> None:
        owner = next((pool for pool in self._all_pools() if pool.owns(environment)), None)
        if owner is None or not owner.give_back(environment):
            self._stop_later([environment])
        else:
            environment.freeze()

    # ------------------------------------------------------------ changes

    def retire(self, function_name: str, version: str | None = None) -> None:
        """A function version (or, with None, every version of the function) changed or
        was deleted: its environments serve nothing new."""
        keys = [key for key in self._pools if key[0] == function_name and version in (None, key[1])]
        for key in keys:
            pool = self._pools.pop(key)
            self._stop_later(pool.retire())
            if not pool.empty:
                self._retired.append(pool)

    def live_code_digests(self) -> set[str]:
        """Code and layer packages that running environments use."""
        functions = [e.function for pool in self._all_pools() for e in pool]
        return {f.code_digest for f in functions} | {d for f in functions for d in f.layer_digests}

    def live_layer_stacks(self) -> set[tuple[str, ...]]:
        return {e.function.layer_digests for pool in self._all_pools() for e in pool if e.function.layers}

    def count_by_state(self) -> dict[tuple[str, str], int]:
        """Live environments by (function name, state)."""
        counts: dict[tuple[str, str], int] = {}
        for pool in self._all_pools():
            pool.count_by_state(counts)
        return counts

    async def shutdown(self) -> None:
        if self._reaper:
            self._reaper.cancel()
        if self._reconciler:
            self._reconciler.cancel()
        environments = [e for pool in self._all_pools() for e in pool]
        self._pools.clear()
        self._retired.clear()
        await asyncio.gather(
            *(e.stop() for e in environments), *self._stopping_task.values(), return_exceptions=True
        )

    # ------------------------------------------------------------ internals

    def _pool_for(self, function: Function) -> EnvironmentPool:
        key = (function.name, function.version)
        pool = self._pools.get(key)
        if pool is not None and pool.function.revision_id != function.revision_id:
            self.retire(function.name, function.version)
            pool = None
        if pool is None:
            pool = self._pools[key] = EnvironmentPool(function)
        return pool

    async def _cold_start(
        self, function: Function, provisioned: bool = False
    ) -> tuple[ExecutionEnvironment, Outcome | None]:
        """Starts a new environment in the function's pool and runs its init: the
        environment, and the init's failure if it failed. Memory must have room."""
        environment = await self._committed_environment(function, provisioned)
        pool = self._pool_for(function)
        pool.add(environment)
        environment.log_stream.write(init_start_line(function.runtime))
        try:
            failure = await environment.start()
        except BaseException:
            pool.give_back(environment)  # not usable: leaves the pool
            self._stop_later([environment])
            raise
        if failure is not None:
            environment.log_stream.write(init_report_line(failure.duration_ms, failure.error_type or "Unknown"))
        return environment, failure

    async def _committed_environment(self, function: Function, provisioned: bool = False) -> ExecutionEnvironment:
        """A new environment, its memory committed first (nothing else can take the
        room while its code is prepared); stopping it gives the memory back."""
        self.budget.commit(function.memory_size)
        try:
            return await self._new_environment(function, provisioned)
        except BaseException:
            self.budget.release(function.memory_size)
            raise

    async def _new_environment(self, function: Function, provisioned: bool = False) -> ExecutionEnvironment:
        environment_id = uuid.uuid4().hex
        day = datetime.now(timezone.utc).strftime("%Y/%m/%d")
        stream_name = f"{day}/[{function.version}]{environment_id}"
        # Unpacked once per code version and layer stack; blocking the first time.
        task_root = await asyncio.to_thread(self._code.task_root, function.code_digest)
        opt_dir = await asyncio.to_thread(self._code.layers_root, function.layer_digests) if function.layers else None
        seen = self._driver.paths(task_root, RUNTIME_DIR, opt_dir)
        return ExecutionEnvironment(
            environment_id=environment_id,
            function=function,
            argv=launch_argv(function.runtime, seen.runtime_dir),
            task_root=task_root,
            scratch_dir=self._scratch_root / environment_id,
            driver=self._driver,
            log_stream=self._logs.stream(function.log_group, stream_name),
            variables=lambda_variables(
                function, self._settings, seen, stream_name,
                "provisioned-concurrency" if provisioned else "on-demand",
            ),
            network=function.outbound_network,
            provisioned=provisioned,
            opt_dir=opt_dir,
        )

    def _all_pools(self) -> list[EnvironmentPool]:
        return [*self._pools.values(), *self._retired]

    async def _make_room(self, needed_mb: int) -> None:
        """Stops idle environments, least recently used first, until needed_mb is freed."""
        idle = sorted(
            ((e.last_used, pool, e) for pool in self._all_pools() for e in pool.idle() if not e.provisioned),
            key=lambda t: t[0],
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
            wanted = self._wanted()
            for key in [key for key, pool in self._pools.items() if pool.empty and key not in wanted]:
                del self._pools[key]
            if wanted:
                self._reconcile_soon()  # replaces provisioned environments that failed
