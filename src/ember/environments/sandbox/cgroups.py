"""Control groups for execution environments, on cgroup v1 (one hierarchy per
controller) and v2 (one unified hierarchy) alike.

Each environment gets its own group with:
  - a memory limit of its MemorySize (an out-of-memory kill stays inside it);
  - a CPU quota proportional to memory, as Lambda allots CPU (1,769 MB = one vCPU);
  - a pids limit, so that a fork bomb stays inside;
  - a freezer, so that an idle environment uses no CPU between invocations.
Ember's groups live below the server's own groups, so that whatever limits the
server itself runs under still cover its environments.
"""

import os
from abc import ABC, abstractmethod
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
MB = 1024 * 1024
MB_PER_VCPU = 1769
CPU_PERIOD_US = 10_000
MIN_QUOTA_US = 1000  # the kernel's smallest CFS quota
MAX_PIDS = 1024  # Lambda's limit on processes and threads per environment


def cpu_limits(memory_mb: int) -> tuple[int, int]:
    """(quota, period) in microseconds for MemorySize / 1,769 of a CPU. A short period
    spreads the share finely: a function that used up its quota waits at most about a
    period, not the 100 ms of the kernel's default, which would stall small functions
    for long stretches after every burst."""
    share = memory_mb / MB_PER_VCPU
    period = CPU_PERIOD_US
    if share * period < MIN_QUOTA_US:
        period = int(MIN_QUOTA_US / share) + 1
    return max(MIN_QUOTA_US, int(share * period)), period


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _write_optional(path: Path, value: str) -> None:
    """Writes a setting that older kernels do not have."""
    try:
        _write(path, value)
    except OSError:
        pass


def _read(path: Path) -> str:
    with open(path) as handle:
        return handle.read()


def _own_path(controller: str) -> str:
    """This process's group in a v1 controller's hierarchy ('' for v2's unified one)."""
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    raise LookupError(controller)


def _stat_value(text: str, key: str) -> int:
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


class Cgroup(ABC):
    """One environment's group(s)."""

    @abstractmethod
    def add(self, pid: int) -> None: ...

    @abstractmethod
    def freeze(self) -> None: ...

    @abstractmethod
    def thaw(self) -> None: ...

    @abstractmethod
    def peak_memory_bytes(self) -> int: ...

    @abstractmethod
    def oom_kills(self) -> int: ...

    @abstractmethod
    def pids(self) -> list[int]: ...

    @abstractmethod
    def remove(self) -> None: ...

    def kill_all(self) -> None:
        """Kills every process in the group. Frozen first, so that none can fork meanwhile."""
        self.freeze()
        for pid in self.pids():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        self.thaw()  # a frozen process cannot die


class CgroupsV1(Cgroup):
    # The freezer first: abandoned groups are thawed and killed before the others go.
    CONTROLLERS = ("freezer", "memory", "cpu", "pids")

    def __init__(self, parents: dict[str, Path], name: str, memory_mb: int):
        self.dirs = {controller: parent / name for controller, parent in parents.items()}
        for directory in self.dirs.values():
            directory.mkdir(exist_ok=True)
        _write(self.dirs["memory"] / "memory.limit_in_bytes", str(memory_mb * MB))
        # memory the runtime used before it joined moves with it
        _write_optional(self.dirs["memory"] / "memory.move_charge_at_immigrate", "3")
        # No swap: a function over its memory is killed, as in Lambda.
        _write_optional(self.dirs["memory"] / "memory.memsw.limit_in_bytes", str(memory_mb * MB))
        quota, period = cpu_limits(memory_mb)
        _write_optional(self.dirs["cpu"] / "cpu.cfs_burst_us", "0")  # a burst may not exceed the quota
        _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(period))
        _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(quota))
        _write_optional(self.dirs["cpu"] / "cpu.cfs_burst_us", str(quota))  # unused quota carries over once
        _write(self.dirs["pids"] / "pids.max", str(MAX_PIDS))

    def add(self, pid: int) -> None:
        for directory in self.dirs.values():
            _write(directory / "cgroup.procs", str(pid))

    def freeze(self) -> None:
        _write(self.dirs["freezer"] / "freezer.state", "FROZEN")

    def thaw(self) -> None:
        _write(self.dirs["freezer"] / "freezer.state", "THAWED")

    def peak_memory_bytes(self) -> int:
        return int(_read(self.dirs["memory"] / "memory.max_usage_in_bytes"))

    def oom_kills(self) -> int:
        return _stat_value(_read(self.dirs["memory"] / "memory.oom_control"), "oom_kill")

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in _read(self.dirs["pids"] / "cgroup.procs").split()]
        except FileNotFoundError:
            return []

    def remove(self) -> None:
        for directory in self.dirs.values():
            try:
                directory.rmdir()
            except OSError:
                pass


class CgroupV2(Cgroup):
    def __init__(self, parent: Path, name: str, memory_mb: int):
        self.dir = parent / name
        self.dir.mkdir(exist_ok=True)
        _write(self.dir / "memory.max", str(memory_mb * MB))
        if (self.dir / "memory.swap.max").exists():
            _write(self.dir / "memory.swap.max", "0")
        quota, period = cpu_limits(memory_mb)
        _write(self.dir / "cpu.max", f"{quota} {period}")
        _write_optional(self.dir / "cpu.max.burst", str(quota))
        _write(self.dir / "pids.max", str(MAX_PIDS))

    def add(self, pid: int) -> None:
        _write(self.dir / "cgroup.procs", str(pid))

    def freeze(self) -> None:
        _write(self.dir / "cgroup.freeze", "1")

    def thaw(self) -> None:
        _write(self.dir / "cgroup.freeze", "0")

    def peak_memory_bytes(self) -> int:
        peak = self.dir / "memory.peak"  # kernels 5.19+
        return int(_read(peak if peak.exists() else self.dir / "memory.current"))

    def oom_kills(self) -> int:
        return _stat_value(_read(self.dir / "memory.events"), "oom_kill")

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in _read(self.dir / "cgroup.procs").split()]
        except FileNotFoundError:
            return []

    def kill_all(self) -> None:
        kill_file = self.dir / "cgroup.kill"  # kernels 5.14+: one write kills the whole group
        if kill_file.exists():
            _write(kill_file, "1")
        else:
            super().kill_all()

    def remove(self) -> None:
        try:
            self.dir.rmdir()
        except OSError:
            pass


def _remove_abandoned(directory: Path) -> None:
    """Groups left by an Ember server that died without cleaning up (named ember-<pid>,
    that pid gone): their environments are killed (thawed first, if frozen) and the
    groups removed."""
    for parent in directory.glob("ember-*"):
        pid = parent.name.removeprefix("ember-")
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        for group in [*parent.iterdir(), parent]:
            if not group.is_dir():
                continue
            for freeze_file, thawed in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
                if (group / freeze_file).exists():
                    try:
                        _write(group / freeze_file, thawed)
                    except OSError:
                        pass
            try:
                for process in _read(group / "cgroup.procs").split():
                    os.kill(int(process), 9)
            except (OSError, ValueError):
                pass
        for group in [*(g for g in parent.iterdir() if g.is_dir()), parent]:
            try:
                group.rmdir()
            except OSError:
                pass


class Cgroups:
    """Creates environments' groups under a parent group of Ember's own."""

    def __init__(self, version: int, parents):
        self.version = version
        self._parents = parents

    @classmethod
    def detect(cls, name: str) -> "Cgroups | None":
        """Ember's parent groups, named `name`, or None where cgroups cannot be used."""
        try:
            if (CGROUP_ROOT / "cgroup.controllers").exists():
                return cls._v2(name)
            return cls._v1(name)
        except (OSError, LookupError, ValueError):
            return None

    @classmethod
    def _v1(cls, name: str) -> "Cgroups":
        parents = {}
        for controller in CgroupsV1.CONTROLLERS:
            base = CGROUP_ROOT / controller
            if not (base / "cgroup.procs").exists():
                raise LookupError(controller)
            parent = base / _own_path(controller).lstrip("/") / name
            _remove_abandoned(parent.parent)
            parent.mkdir(exist_ok=True)
            parents[controller] = parent
        return cls(1, parents)

    @classmethod
    def _v2(cls, name: str) -> "Cgroups":
        own = CGROUP_ROOT / _own_path("").lstrip("/")
        # A v2 group with processes cannot delegate controllers to children, so
        # Ember's parent is a sibling of the server's own group.
        parent = own.parent / name if own != CGROUP_ROOT else CGROUP_ROOT / name
        _remove_abandoned(parent.parent)
        needed = {"memory", "cpu", "pids"}
        available = set(_read(parent.parent / "cgroup.controllers").split())
        if not needed <= available:
            raise LookupError(needed - available)
        _write(parent.parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(needed)))
        parent.mkdir(exist_ok=True)
        _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(needed)))
        return cls(2, parent)

    def create(self, name: str, memory_mb: int) -> Cgroup:
        if self.version == 2:
            return CgroupV2(self._parents, name, memory_mb)
        return CgroupsV1(self._parents, name, memory_mb)

    def remove(self) -> None:
        parents = [self._parents] if self.version == 2 else list(self._parents.values())
        for parent in parents:
            try:
                parent.rmdir()
            except OSError:
                pass
