"""The composition root: builds Ember's services from settings and runs the HTTP
server around them until SIGTERM or SIGINT, then stops every environment."""

import asyncio
import logging

import uvicorn

from ember.api.app import Application
from ember.control.code_store import CodeStore
from ember.control.functions import FunctionRegistry
from ember.control.layers import LayerRegistry
from ember.control.runtimes import interpreter_prefixes
from ember.environments.admission import MemoryBudget, host_memory_mb
from ember.environments.manager import EnvironmentManager
from ember.environments.sandbox.base import SandboxDriver
from ember.environments.sandbox.bubblewrap import BubblewrapDriver
from ember.environments.sandbox.process import ProcessDriver
from ember.invoke.concurrency import ConcurrencyLimiter
from ember.invoke.sync import Invoker
from ember.observe.logs import LogService
from ember.observe.metrics import Metrics
from ember.settings import Settings
from ember.store.functions import FunctionRepository
from ember.store.layers import LayerRepository
from ember.store.logs import LogRepository

log = logging.getLogger("ember")


def choose_driver(settings: Settings) -> SandboxDriver:
    if settings.sandbox == "process":
        return ProcessDriver()
    reason = BubblewrapDriver.unavailable_reason()
    if reason is None:
        return BubblewrapDriver(settings.data_dir / "sandbox", settings.allow_host_loopback, interpreter_prefixes())
    if settings.sandbox == "bubblewrap":
        raise SystemExit(f"ember: the bubblewrap sandbox was asked for but cannot run: {reason}")
    log.warning(
        "\n%s\nWARNING: bubblewrap cannot run here (%s).\nFunctions run as plain processes WITHOUT "
        "isolation: they can read each other's code and the host's files.\n%s",
        "!" * 72, reason, "!" * 72,
    )
    return ProcessDriver()


class Ember:
    """Every service of one Ember server, wired together."""

    def __init__(self, settings: Settings):
        self.settings = settings
        data = settings.data_dir
        self.code_store = CodeStore(data / "code")
        self._repositories = (FunctionRepository(data / "ember.db"), LayerRepository(data / "ember.db"))
        self.functions = FunctionRegistry(self._repositories[0], self.code_store, settings)
        self.layers = LayerRegistry(self._repositories[1], self.code_store, settings)
        self.logs = LogService(LogRepository(data / "logs.db"))
        self.driver = choose_driver(settings)
        self.budget = MemoryBudget(settings.memory_mb or host_memory_mb() * 4 // 5)
        self.environments = EnvironmentManager(self.driver, self.code_store, self.logs, settings, self.budget)
        self.concurrency = ConcurrencyLimiter(self.functions, settings.concurrency_limit)
        self.metrics = Metrics()
        self.metrics.watch(self._gauges)
        self.invoker = Invoker(self.functions, self.environments, self.concurrency, self.metrics)
        self.functions.on_change(self._function_changed)
        self.functions.on_provisioning_change(self._provision)

    async def start(self) -> None:
        self.code_store.remove_unused(
            self.functions.code_digests() | self.layers.code_digests(), self.functions.layer_stacks()
        )
        self.logs.start()
        self.environments.start()
        self._provision()
        log.info("Ember ready: %d functions, sandbox driver %s", len(self.functions.all()), self.driver.name)

    async def stop(self) -> None:
        await self.environments.shutdown()
        await self.driver.close()
        await self.logs.close()
        for repository in self._repositories:
            repository.close()

    def _gauges(self):
        yield (
            "ember_concurrent_executions", "Invocations running now", ["function"],
            [((name,), count) for name, count in self.concurrency.in_flight.items()],
        )
        yield (
            "ember_environments", "Execution environments by state", ["function", "state"],
            [((name, state), count) for (name, state), count in self.environments.count_by_state().items()],
        )
        yield (
            "ember_memory_committed_megabytes", "Memory committed to environments", [],
            [((), self.budget.committed_mb)],
        )
        yield (
            "ember_memory_total_megabytes", "Memory environments may take in all", [],
            [((), self.budget.total_mb)],
        )

    def _provision(self) -> None:
        """Tells the environments which versions to keep provisioned environments for."""
        targets = {}
        for (name, qualifier), requested in self.functions.provisioned().items():
            function, _ = self.functions.resolve(name, qualifier)
            targets[(name, qualifier)] = (function, requested)
        self.environments.provision(targets)

    def _function_changed(self, name: str, version: str | None) -> None:
        self.environments.retire(name, version)
        if name in {key[0] for key in self.functions.provisioned()}:
            self._provision()  # replacements for retired provisioned environments
        # Code that no function, layer or running environment uses any more goes away.
        in_use = self.functions.code_digests() | self.layers.code_digests() | self.environments.live_code_digests()
        stacks = self.functions.layer_stacks() | self.environments.live_layer_stacks()
        asyncio.get_running_loop().run_in_executor(None, self.code_store.remove_unused, in_use, stacks)


def serve(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Application(Ember(settings))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()
