"""The plain-process driver: the runtime as an ordinary child process in its own
session (so that its whole process group can be killed), with its own working
directory and scratch space. It isolates nothing else; stronger drivers do.
"""

import asyncio
import os
import signal
import subprocess

from ember.environments.sandbox.base import Sandbox, SandboxDriver, SandboxSpec


class ProcessSandbox(Sandbox):
    def __init__(self, process: asyncio.subprocess.Process):
        self._process = process
        self.pid = process.pid

    async def wait(self) -> int:
        return await self._process.wait()

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class ProcessDriver(SandboxDriver):
    name = "process"

    async def start(self, spec: SandboxSpec) -> Sandbox:
        tmp = spec.scratch_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        env = dict(spec.env, TMPDIR=str(tmp))
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
        return ProcessSandbox(process)
