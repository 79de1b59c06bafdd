"""One execution environment: a sandboxed runtime process that initialises a function
once and then serves its invocations one at a time.

Lifecycle (the states below, in order):
    STARTING -> READY -> BUSY -> FROZEN -> (thaw) READY -> BUSY -> ... -> STOPPING -> STOPPED
Between invocations an environment is FROZEN: its processes get no CPU at all.
Any state can fall into FAILED (init error, timeout, the runtime exited); a
failed environment is never handed out again and is stopped.
"""

import asyncio
import enum
import json
import math
import os
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ember.control.function import Function
from ember.environments.channel import Channel, ChannelClosed
from ember.environments.output import OutputReader
from ember.environments.sandbox.base import Sandbox, SandboxDriver, SandboxSpec
from ember.observe.logs import LogStream
from ember.runtime import protocol

RUNTIME_DIR = Path(protocol.__file__).parent

# Lambda gives init 10 seconds, or the function's timeout if that is longer.
MIN_INIT_TIMEOUT_S = 10.0
# How long an idle environment stays unfrozen after an invocation (see freeze()).
FREEZE_AFTER_S = 0.02


class State(enum.Enum):
    STARTING = "starting"
    READY = "ready"
    BUSY = "busy"
    FROZEN = "frozen"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class Invocation:
    """What an environment needs to run one request."""

    request_id: str
    payload: bytes
    invoked_function_arn: str
    deadline_ms: int
    trace_id: str
    client_context: dict | None = None
    cognito_identity: dict | None = None


class Status(enum.Enum):
    SUCCESS = "success"   # the handler returned
    ERROR = "error"       # the handler (or init) raised
    TIMEOUT = "timeout"   # the deadline passed; the environment was killed
    EXIT = "exit"         # the runtime process exited


@dataclass(frozen=True)
class Outcome:
    status: Status
    body: bytes
    duration_ms: float
    max_memory_mb: int
    error_type: str | None = None
    # What the platform logs about it (timeout and exit lines), if anything.
    platform_log: str | None = None


def error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def exit_reason(returncode: int | None) -> str:
    """How Lambda words a runtime's exit: 'exit status 1', 'signal: killed'."""
    if returncode is None:
        return "Runtime exited without providing a reason"
    if returncode < 0:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
        return f"Runtime exited with error: signal: {name.lower()}"
    if returncode == 0:
        return "Runtime exited without providing a reason"
    return f"Runtime exited with error: exit status {returncode}"


class ExecutionEnvironment:
    def __init__(
        self,
        environment_id: str,
        function: Function,
        argv: list[str],
        task_root: Path,
        scratch_dir: Path,
        driver: SandboxDriver,
        log_stream: LogStream,
        variables: dict[str, str],
        network: bool = True,
        provisioned: bool = False,
        opt_dir: Path | None = None,
    ):
        self.id = environment_id
        self.function = function
        self.log_stream = log_stream
        self.state = State.STARTING
        self.init_duration_ms: float | None = None
        self.last_used = time.monotonic()
        # Started ahead of demand for provisioned concurrency: kept however long it idles.
        self.provisioned = provisioned
        self._argv = argv
        self._task_root = task_root
        self._scratch_dir = scratch_dir
        self._driver = driver
        self._variables = variables
        self._network = network
        self._opt_dir = opt_dir
        self._sandbox: Sandbox | None = None
        self._freezing: asyncio.Future | None = None
        self._freeze_timer: asyncio.TimerHandle | None = None
        self._channel: Channel | None = None
        self._output: OutputReader | None = None
        self._returncode: int | None = None
        self._exited = asyncio.Event()
        self._max_memory_mb = 0

    @property
    def usable(self) -> bool:
        return self.state in (State.READY, State.FROZEN) and not self._exited.is_set()

    # ------------------------------------------------------------ init

    async def start(self) -> Outcome | None:
        """Starts the runtime and runs the function's init. None when ready, else the failure."""
        parent_end, child_end = socket.socketpair()
        output_read, output_write = os.pipe()
        started = time.perf_counter()
        try:
            self._sandbox = await self._driver.start(
                SandboxSpec(
                    name=self.id,
                    argv=self._argv,
                    env=dict(self._variables, **{protocol.CHANNEL_FD_VARIABLE: str(child_end.fileno())}),
                    task_root=self._task_root,
                    runtime_dir=RUNTIME_DIR,
                    scratch_dir=self._scratch_dir,
                    pass_fds=(child_end.fileno(),),
                    output_fd=output_write,
                    memory_mb=self.function.memory_size,
                    ephemeral_storage_mb=self.function.ephemeral_storage,
                    network=self._network,
                    opt_dir=self._opt_dir,
                )
            )
        except BaseException:
            parent_end.close()
            os.close(output_read)
            self.state = State.FAILED
            raise
        finally:
            child_end.close()
            os.close(output_write)
        self._output = OutputReader(output_read, self.log_stream)
        self._channel = await Channel.open(parent_end)
        asyncio.create_task(self._watch_exit())

        init_timeout = max(MIN_INIT_TIMEOUT_S, float(self.function.timeout))
        deadline = time.monotonic() + init_timeout
        try:
            kind, _, _ = await asyncio.wait_for(self._channel.receive(), init_timeout)
            if kind != protocol.STARTED:
                raise ChannelClosed()
            try:
                await self._sandbox.confine()
            except Exception:
                self._fail()
                raise
            await self._channel.send(protocol.INIT)
            kind, meta, body = await asyncio.wait_for(self._channel.receive(), deadline - time.monotonic())
        except asyncio.TimeoutError:
            self.init_duration_ms = init_timeout * 1000
            self._drain_output()
            self._fail()
            message = f"Init timed out after {init_timeout:.2f} seconds"
            return Outcome(
                Status.TIMEOUT, error_body("Sandbox.Timedout", message), self.init_duration_ms,
                self._max_memory_mb, "Sandbox.Timedout", message,
            )
        except ChannelClosed:
            outcome = await self._runtime_exited(started)
            self.init_duration_ms = outcome.duration_ms
            return outcome
        self.init_duration_ms = (time.perf_counter() - started) * 1000
        self._note_memory(meta)
        self._drain_output()
        if kind == protocol.READY:
            self.state = State.READY
            return None
        self._fail()
        error_type = _error_type(body)
        return Outcome(Status.ERROR, body, self.init_duration_ms, self._memory_used_mb(), error_type)

    # ------------------------------------------------------------ invoke

    async def invoke(self, invocation: Invocation, timeout_s: float) -> Outcome:
        """Runs one invocation. The environment must be READY; it is READY again afterwards
        unless the invocation timed out or the runtime exited."""
        await self.thaw()
        assert self.state is State.READY, self.state
        self.state = State.BUSY
        meta = {
            "request_id": invocation.request_id,
            "invoked_function_arn": invocation.invoked_function_arn,
            "deadline_ms": invocation.deadline_ms,
            "trace_id": invocation.trace_id,
        }
        if invocation.client_context is not None:
            meta["client_context"] = invocation.client_context
        if invocation.cognito_identity is not None:
            meta["cognito_identity"] = invocation.cognito_identity
        started = time.perf_counter()
        try:
            await self._channel.send(protocol.INVOKE, meta, invocation.payload)
            kind, meta, body = await asyncio.wait_for(self._channel.receive(), timeout_s)
        except asyncio.TimeoutError:
            self._fail()
            self._drain_output()
            message = f"RequestId: {invocation.request_id} Error: Task timed out after {timeout_s:.2f} seconds"
            return Outcome(
                Status.TIMEOUT, error_body("Sandbox.Timedout", message), timeout_s * 1000,
                self._memory_used_mb(), "Sandbox.Timedout",
            )
        except ChannelClosed:
            return await self._runtime_exited(started, invocation.request_id)
        duration_ms = (time.perf_counter() - started) * 1000
        self._note_memory(meta)
        self._drain_output()
        self.state = State.READY
        self.last_used = time.monotonic()
        if kind == protocol.RESULT:
            return Outcome(Status.SUCCESS, body, duration_ms, self._memory_used_mb())
        return Outcome(Status.ERROR, body, duration_ms, self._memory_used_mb(), _error_type(body))

    # ------------------------------------------------------------ freeze / thaw

    def freeze(self) -> None:
        """Freezes the idle environment FREEZE_AFTER_S after its invocation, off the
        event loop. A cgroup freeze takes a millisecond or so: freezing at once would
        stall back-to-back invocations, which instead find it still warm and unfrozen.
        thaw() cancels a pending freeze, or waits for a running one to finish."""
        if self.state is State.READY and self._freeze_timer is None:
            self._freeze_timer = asyncio.get_running_loop().call_later(FREEZE_AFTER_S, self._start_freezing)

    def _start_freezing(self) -> None:
        self._freeze_timer = None
        if self.state is not State.READY:
            return
        self.state = State.FROZEN
        self._freezing = asyncio.get_running_loop().run_in_executor(None, self._sandbox.freeze)

    async def thaw(self) -> None:
        if self._freeze_timer is not None:
            self._freeze_timer.cancel()
            self._freeze_timer = None
        if self.state is not State.FROZEN:
            return
        if self._freezing is not None:
            await asyncio.gather(self._freezing, return_exceptions=True)
            self._freezing = None
        self._sandbox.thaw()
        self.state = State.READY

    # ------------------------------------------------------------ stop

    async def stop(self) -> None:
        if self.state in (State.STOPPING, State.STOPPED):
            return
        self.state = State.STOPPING
        if self._freeze_timer is not None:
            self._freeze_timer.cancel()
        if self._freezing is not None:
            await asyncio.gather(self._freezing, return_exceptions=True)
        if self._sandbox:
            self._sandbox.kill()
            try:
                await asyncio.wait_for(self._exited.wait(), 5)
            except asyncio.TimeoutError:
                pass
            await self._sandbox.close()
        if self._channel:
            self._channel.close()
        if self._output:
            self._output.close()
        await asyncio.to_thread(shutil.rmtree, self._scratch_dir, True)
        self.state = State.STOPPED

    # ------------------------------------------------------------ internals

    async def _watch_exit(self) -> None:
        self._returncode = await self._sandbox.wait()
        self._exited.set()
        if self.state in (State.READY, State.FROZEN):
            self.state = State.FAILED  # died while idle: never hand it out again

    async def _returncode_soon(self) -> int | None:
        """The runtime closed the channel: wait briefly for its exit status."""
        try:
            await asyncio.wait_for(self._exited.wait(), 2)
        except asyncio.TimeoutError:
            return None
        return self._returncode

    def _fail(self) -> None:
        self.state = State.FAILED
        if self._sandbox:
            self._sandbox.kill()

    def _drain_output(self) -> None:
        self._output.drain()
        self._output.flush_partial()

    async def _runtime_exited(self, started: float, request_id: str | None = None) -> Outcome:
        """The outcome of a runtime that closed the channel (it exited, or was killed),
        worded as Lambda words it: Runtime.OutOfMemory or Runtime.ExitError."""
        returncode = await self._returncode_soon()
        duration_ms = (time.perf_counter() - started) * 1000
        self._drain_output()
        self._fail()
        if self._sandbox.out_of_memory():
            error_type, reason = "Runtime.OutOfMemory", "Runtime exited with error: signal: killed"
        else:
            error_type, reason = "Runtime.ExitError", exit_reason(returncode)
        message = f"RequestId: {request_id} Error: {reason}" if request_id else f"Error: {reason}"
        body = error_body(error_type, message if request_id else reason)
        return Outcome(Status.EXIT, body, duration_ms, self._memory_used_mb(), error_type, f"{message}\n{error_type}")

    def _memory_used_mb(self) -> int:
        """Max Memory Used: the sandbox's peak where the driver measures it, and at least
        the runtime's own peak (memory it used before it joined its cgroup stays charged
        where it was)."""
        return max(self._sandbox.peak_memory_mb() or 0, self._max_memory_mb)

    def _note_memory(self, meta: dict) -> None:
        kilobytes = meta.get("max_memory_kb")
        if kilobytes:
            self._max_memory_mb = max(self._max_memory_mb, math.ceil(kilobytes / 1024))


def _error_type(body: bytes) -> str | None:
    try:
        return json.loads(body).get("errorType")
    except (ValueError, AttributeError):
        return None
