"""The plain-process driver: the runtime as an ordinary child process in its own
session, so that its whole process group can be killed, stopped (SIGSTOP) and
continued (SIGCONT), with its own working directory and TMPDIR, and resource
limits (rlimits) in place of cgroups: data segment = MemorySize (allocations past
it fail with MemoryError instead of a kill), largest file = EphemeralStorage, 1,024
open files. It isolates nothing else: it is the fallback where bubblewrap cannot run.
"""

import asyncio
import os
import resource
import signal
import subprocess
from pathlib import Path

from ember.environments.sandbox.base import (
    Sandbox,
    SandboxDriver,
    SandboxPaths,
    SandboxSpec,
    apply_rlimits,
    lambda_rlimits,
)
from ember.environments.sandbox.cgroups import MB


class ProcessSandbox(Sandbox):
    def __init__(self, process: asyncio.subprocess.Process, spec: SandboxSpec):
        self._process = process
        self.pid = process.pid
        self._limits = {
            **lambda_rlimits(),
            resource.RLIMIT_DATA: spec.memory_mb * MB,
            resource.RLIMIT_FSIZE: spec.ephemeral_storage_mb * MB,
        }

    async def confine(self) -> None:
        apply_rlimits(self.pid, self._limits)

    async def wait(self) -> int:
        return await self._process.wait()

    def _signal_group(self, signal_number: int) -> None:
        try:
            os.killpg(self.pid, signal_number)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def freeze(self) -> None:
        self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_group(signal.SIGCONT)


class ProcessDriver(SandboxDriver):
    name = "process"

    def paths(self, task_root: Path, runtime_dir: Path, opt_dir: Path | None) -> SandboxPaths:
        return SandboxPaths(str(task_root), str(runtime_dir), str(opt_dir) if opt_dir else "/opt")

    async def start(self, spec: SandboxSpec) -> Sandbox:
        tmp = spec.scratch_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        # No pid namespace here: the runtime asks the kernel to die with the server.
        env = dict(spec.env, TMPDIR=str(tmp), _EMBER_DIE_WITH_HOST="1")
        process = await asyncio.create_subprocess_exec(
            *spec.argv,
            stdin=subprocess.DEVNULL,
            stdout=spec.output_fd,
            stderr=spec.output_fd,
            pass_fds=spec.pass_fds,
            cwd=spec.task_root,
            env=env,
            start_new_session=True,
        )
        return ProcessSandbox(process, spec)

    def describe(self) -> dict:
        return {
            "driver": self.name,
            "isolation": "none: a plain child process (own process group, TMPDIR, rlimits)",
        }
