"""The bubblewrap driver: every environment in its own namespaces, cgroups and
seccomp filter. Debian's `bubblewrap` package provides `bwrap`.

What an environment gets:
  - new user, pid, ipc, uts, network and mount namespaces; it runs as uid 993
    (Lambda's sbx_user1051) with no capabilities, and cannot see host processes
    or other environments';
  - a filesystem of read-only binds only: /usr and the interpreter, a few files
    of /etc, the function's code at /var/task, Ember's runtime at /var/runtime,
    plus a private tmpfs /tmp sized by EphemeralStorage;
  - its own loopback, unreachable from every other environment, and outbound
    network through slirp4netns unless the function turns it off;
  - memory, CPU and pids limits and a freezer (see cgroups.py);
  - a seccomp filter (see seccomp.py).
The runtime cannot outlive the server: bubblewrap dies with its parent and takes
the pid namespace with it.
"""

import asyncio
import math
import os
import shutil
import signal
import subprocess
from pathlib import Path

from ember.environments.sandbox import network, seccomp
from ember.environments.sandbox.base import (
    Sandbox,
    SandboxDriver,
    SandboxPaths,
    SandboxSpec,
    apply_rlimits,
    lambda_rlimits,
    memory_file,
    process_tree,
)
from ember.environments.sandbox.cgroups import MB, Cgroup, Cgroups

BWRAP = shutil.which("bwrap")
SANDBOX_UID = 993  # Lambda runs functions as sbx_user1051, uid 993
SANDBOX_GID = 990
TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"

# Host directories the dynamic loader and common programs need, read-only.
HOST_SYSTEM_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
HOST_ETC = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "ca-certificates.conf",
    "alternatives", "localtime", "nsswitch.conf", "host.conf", "gai.conf", "protocols", "services",
    "mime.types",
)


class BubblewrapSandbox(Sandbox):
    def __init__(
        self, process: asyncio.subprocess.Process, cgroup: Cgroup | None, network_options: tuple | None
    ):
        self._process = process
        self.pid = process.pid
        self._cgroup = cgroup
        self._network_options = network_options
        self._network: subprocess.Popen | None = None
        # Joining a cgroup can wait for an RCU grace period (about 15 ms on v1), so
        # bubblewrap joins in a worker thread while the runtime starts up; whatever it
        # forks from then on is born inside.
        self._joining = asyncio.ensure_future(asyncio.to_thread(self._join, [self.pid])) if cgroup else None

    def _join(self, pids: list[int]) -> None:
        for pid in pids:  # parents first
            try:
                self._cgroup.add(pid)
            except (ProcessLookupError, OSError):
                pass

    async def confine(self) -> None:
        # The runtime is up and waits for INIT: bubblewrap's namespaces are final and
        # no function code has run. Whatever bubblewrap forked before it joined its
        # groups joins now.
        tree = process_tree(self.pid)
        apply_rlimits(tree[-1], lambda_rlimits())
        if self._joining is not None:
            await self._joining
            await asyncio.to_thread(self._join, tree)
        if self._network_options is not None:
            self._network = await network.attach_outbound(tree[-1], *self._network_options)

    async def wait(self) -> int:
        status = await self._process.wait()
        # bwrap reports a runtime killed by signal N as exit status 128 + N.
        if 128 < status < 128 + signal.NSIG:
            return -(status - 128)
        return status

    def kill(self) -> None:
        if self._cgroup is not None:
            self._cgroup.kill_all()
        for pid in reversed(process_tree(self.pid)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _signal_tree(self, signal_number: int) -> None:
        for pid in process_tree(self.pid)[1:]:  # not bubblewrap itself: it must see its child die
            try:
                os.kill(pid, signal_number)
            except ProcessLookupError:
                pass

    def freeze(self) -> None:
        if self._cgroup is not None:
            self._cgroup.freeze()
        else:
            self._signal_tree(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._cgroup is not None:
            self._cgroup.thaw()
        else:
            self._signal_tree(signal.SIGCONT)

    def peak_memory_mb(self) -> int | None:
        if self._cgroup is None:
            return None
        try:
            return math.ceil(self._cgroup.peak_memory_bytes() / MB)
        except OSError:
            return None

    def out_of_memory(self) -> bool:
        try:
            return self._cgroup is not None and self._cgroup.oom_kills() > 0
        except OSError:
            return False

    async def close(self) -> None:
        if self._network is not None:
            self._network.kill()
            await asyncio.to_thread(self._network.wait)
        if self._cgroup is not None:
            # The group can only go once its last process is gone; removing a cgroup
            # can wait on the kernel, so it happens off the event loop.
            for _ in range(50):
                if not self._cgroup.pids():
                    break
                await asyncio.sleep(0.02)
            await asyncio.to_thread(self._cgroup.remove)


class BubblewrapDriver(SandboxDriver):
    name = "bubblewrap"

    def __init__(self, state_dir: Path, allow_host_loopback: bool = False, read_only_paths: list[str] = ()):
        self._seccomp = seccomp.build_filter()
        self._cgroups = Cgroups.detect(f"ember-{os.getpid()}")
        self._allow_host_loopback = allow_host_loopback
        self._etc = state_dir / "etc"
        self._read_only_paths = list(read_only_paths)
        self._write_etc()
        self._fixed_arguments = self._system_binds()

    @staticmethod
    def unavailable_reason() -> str | None:
        """Why this machine cannot run the driver, or None when it can."""
        if BWRAP is None:
            return "bwrap is not installed (Debian package bubblewrap)"
        probe = subprocess.run(
            [BWRAP, "--unshare-user", "--unshare-pid", "--unshare-net", "--die-with-parent",
             "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "/bin/true"],
            capture_output=True, text=True, timeout=30,
        )
        if probe.returncode != 0:
            return f"bwrap cannot create namespaces here: {probe.stderr.strip()[:300]}"
        return None

    def paths(self, task_root: Path, runtime_dir: Path, opt_dir: Path | None) -> SandboxPaths:
        return SandboxPaths(TASK_ROOT, RUNTIME_DIR, "/opt")

    def describe(self) -> dict:
        return {
            "driver": self.name,
            "namespaces": ["user", "pid", "ipc", "uts", "net", "mount"],
            "cgroups": f"v{self._cgroups.version}" if self._cgroups else None,
            "seccomp": True,
            "outbound_network": "slirp4netns" if network.SLIRP4NETNS else None,
        }

    async def start(self, spec: SandboxSpec) -> Sandbox:
        seccomp_fd = seccomp.filter_fd(self._seccomp)
        options = [
            *self._fixed_arguments,
            "--ro-bind", str(spec.task_root), TASK_ROOT,
            "--ro-bind", str(spec.runtime_dir), RUNTIME_DIR,
            *(("--ro-bind", str(spec.opt_dir), "/opt") if spec.opt_dir else ("--dir", "/opt")),
            "--size", str(spec.ephemeral_storage_mb * MB), "--tmpfs", "/tmp",
            "--chdir", TASK_ROOT,
            "--seccomp", str(seccomp_fd),
        ]
        # The options travel through a file descriptor, not the command line: the
        # sandbox can read its pid 1's command line, which would show host paths.
        options_fd = memory_file("ember-bwrap-args", b"\0".join(o.encode() for o in options) + b"\0")
        try:
            process = await asyncio.create_subprocess_exec(
                BWRAP, "--args", str(options_fd), "--", *spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=spec.output_fd,
                stderr=spec.output_fd,
                pass_fds=(*spec.pass_fds, seccomp_fd, options_fd),
                env=spec.env,
                start_new_session=True,
            )
        finally:
            os.close(seccomp_fd)
            os.close(options_fd)
        cgroup = self._cgroups.create(spec.name, spec.memory_mb) if self._cgroups else None
        network_options = (self._allow_host_loopback,) if spec.network and network.SLIRP4NETNS else None
        return BubblewrapSandbox(process, cgroup, network_options)

    async def close(self) -> None:
        if self._cgroups is not None:
            self._cgroups.remove()

    # ------------------------------------------------------------ set-up

    def _write_etc(self) -> None:
        self._etc.mkdir(parents=True, exist_ok=True)
        files = {
            "passwd": f"root:x:0:0:root:/root:/sbin/nologin\nsbx_user1051:x:{SANDBOX_UID}:{SANDBOX_GID}::/tmp:/sbin/nologin\n",
            "group": f"root:x:0:\nsbx_user1051:x:{SANDBOX_GID}:\n",
            "hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
            "resolv.conf": f"nameserver {network.NAMESERVER}\n",
        }
        for name, content in files.items():
            (self._etc / name).write_text(content)

    def _system_binds(self) -> list[str]:
        arguments = [
            "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID),
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "localhost",
            "--ro-bind", "/usr", "/usr",
        ]
        for name in HOST_SYSTEM_DIRS:
            path = Path("/") / name
            if path.is_symlink():
                arguments += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                arguments += ["--ro-bind", str(path), str(path)]
        for name in HOST_ETC:
            arguments += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        for name in ("passwd", "group", "hosts", "resolv.conf"):
            arguments += ["--ro-bind", str(self._etc / name), f"/etc/{name}"]
        # The interpreters' installations, where they live outside /usr (pyenv, conda, nvm, ...).
        for path in self._read_only_paths:
            arguments += ["--ro-bind", path, path]
        arguments += ["--proc", "/proc", "--dev", "/dev"]
        return arguments
