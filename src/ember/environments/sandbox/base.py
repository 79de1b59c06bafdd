"""The interface every isolation driver implements.

A driver starts one sandboxed process tree per execution environment from a
`SandboxSpec` and hands back a `Sandbox` that can be waited on and killed as a
whole. Drivers differ in how much they isolate, not in how they are used.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SandboxSpec:
    argv: list[str]
    env: dict[str, str]
    task_root: Path       # the function's code, read-only
    scratch_dir: Path     # per-environment writable space (its /tmp)
    pass_fds: tuple[int, ...]
    output_fd: int        # stdout and stderr of the runtime go here
    memory_mb: int
    ephemeral_storage_mb: int


class Sandbox(ABC):
    pid: int

    @abstractmethod
    async def wait(self) -> int:
        """Waits for the sandbox's first process to exit; returns its wait status as asyncio reports it."""

    @abstractmethod
    def kill(self) -> None:
        """Kills every process in the sandbox, now."""


class SandboxDriver(ABC):
    name: str

    @abstractmethod
    async def start(self, spec: SandboxSpec) -> Sandbox:
        """Starts the runtime process described by spec."""
