"""The interface every isolation driver implements.

A driver starts one sandboxed process tree per execution environment from a
`SandboxSpec` and hands back a `Sandbox` that can be frozen, thawed, measured,
waited on and killed as a whole. Drivers differ in how much they isolate, not in
how they are used. The runtime announces itself (STARTED) and then waits for the
host's INIT frame before it runs any function code; in between the host calls
`confine()`, which puts the whole process tree into its cgroups and network.
"""

import os
import resource
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SandboxSpec:
    name: str             # unique per environment
    argv: list[str]
    env: dict[str, str]
    task_root: Path       # the function's code on the host, mounted read-only
    runtime_dir: Path     # Ember's in-environment runtime on the host, read-only
    scratch_dir: Path     # per-environment space on the host for the driver's use
    pass_fds: tuple[int, ...]
    output_fd: int        # stdout and stderr of the runtime go here
    memory_mb: int
    ephemeral_storage_mb: int
    network: bool = True  # outbound network access
    opt_dir: Path | None = None  # the function's layers, read-only (its /opt)


@dataclass(frozen=True)
class SandboxPaths:
    """Where the function's code, Ember's runtime and the layers appear inside a sandbox."""

    task_root: str
    runtime_dir: str
    opt: str


class Sandbox(ABC):
    pid: int

    async def confine(self) -> None:
        """Applies limits that need the runtime's processes to exist (cgroups, network).
        Called once the runtime reported it started, before it runs function code."""

    @abstractmethod
    async def wait(self) -> int:
        """Waits for the sandbox to exit; returns its exit status (negative: killed by that signal)."""

    @abstractmethod
    def kill(self) -> None:
        """Kills every process in the sandbox, now."""

    @abstractmethod
    def freeze(self) -> None:
        """Stops every process in the sandbox from running until thaw(). May block briefly."""

    @abstractmethod
    def thaw(self) -> None:
        """Lets the sandbox's processes run again."""

    def peak_memory_mb(self) -> int | None:
        """The most memory the sandbox has used, where the driver can measure it."""
        return None

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the sandbox for exceeding its memory limit."""
        return False

    async def close(self) -> None:
        """Releases what the sandbox held on the host, once it has exited."""


class SandboxDriver(ABC):
    name: str

    @abstractmethod
    def paths(self, task_root: Path, runtime_dir: Path, opt_dir: Path | None) -> SandboxPaths:
        """Where this driver shows the code and the runtime to the function."""

    @abstractmethod
    async def start(self, spec: SandboxSpec) -> Sandbox:
        """Starts the runtime process described by spec, confined."""

    def describe(self) -> dict:
        """What this driver enforces, for /health."""
        return {"driver": self.name}

    async def close(self) -> None:
        """Releases what the driver holds on the host, after every sandbox stopped."""


# Lambda's per-environment limits on open files and on processes and threads.
MAX_OPEN_FILES = 1024
MAX_PROCESSES = 1024


def apply_rlimits(pid: int, limits: dict[int, int]) -> None:
    """Sets resource limits on a running process; its children inherit them."""
    for resource_id, value in limits.items():
        try:
            resource.prlimit(pid, resource_id, (value, value))
        except (ProcessLookupError, PermissionError, ValueError):
            pass


def lambda_rlimits() -> dict[int, int]:
    return {resource.RLIMIT_NOFILE: MAX_OPEN_FILES, resource.RLIMIT_CORE: 0}


def memory_file(name: str, data: bytes) -> int:
    """An anonymous in-memory file holding data, positioned at its start (to pass to a child)."""
    descriptor = os.memfd_create(name)
    os.write(descriptor, data)
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants, parents before children."""
    tree, index = [pid], 0
    while index < len(tree):
        current = tree[index]
        index += 1
        try:
            tasks = Path(f"/proc/{current}/task").iterdir()
            for task in tasks:
                tree.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return tree
