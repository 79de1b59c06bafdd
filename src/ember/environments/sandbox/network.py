"""Outbound network for a sandbox that has a network namespace of its own.

slirp4netns (Debian package) attaches a user-mode TCP/IP stack to the namespace:
the environment gets a tap0 interface, a default route and DNS at 10.0.2.3,
without root bridging, iptables or veth pairs on the host, and without any
route into the host's or other environments' namespaces. It is the helper
rootless Podman and Docker use; unlike pasta, Debian 12's build is a released
version with an option to keep the host's loopback out of reach.
"""

import asyncio
import fcntl
import os
import shutil
import subprocess

SLIRP4NETNS = shutil.which("slirp4netns")
NAMESERVER = "10.0.2.3"
HOST_LOOPBACK_ALIAS = "10.0.2.2"
READY_TIMEOUT_S = 5.0
NS_GET_USERNS = 0xB701  # ioctl: the user namespace that owns a namespace


class NetworkUnavailable(Exception):
    pass


async def read_fd(fd: int, timeout: float) -> bytes:
    """The first chunk that arrives on fd (b"" if its writer closes first):
    slirp4netns's ready signal arrives as one write."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    done = loop.create_future()
    chunks: list[bytes] = []

    def readable() -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        chunks.append(chunk)
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await asyncio.wait_for(done, timeout)
    finally:
        loop.remove_reader(fd)
    return b"".join(chunks)


async def attach_outbound(namespace_pid: int, allow_host_loopback: bool) -> subprocess.Popen:
    """Starts slirp4netns for the network namespace of namespace_pid; returns once the
    interface is up. The caller kills the returned process when the sandbox stops.

    bubblewrap nests user namespaces when it changes the sandbox's uid, so the one
    that owns the network namespace is not the one its processes live in: slirp4netns
    joins the owner, found with NS_GET_USERNS."""
    if SLIRP4NETNS is None:
        raise NetworkUnavailable("slirp4netns is not installed")
    netns = os.open(f"/proc/{namespace_pid}/ns/net", os.O_RDONLY)
    ready_read, ready_write = os.pipe()
    try:
        userns = fcntl.ioctl(netns, NS_GET_USERNS)
        argv = [
            SLIRP4NETNS,
            "--configure",
            "--mtu=65520",
            f"--ready-fd={ready_write}",
            f"--userns-path=/proc/self/fd/{userns}",
            "--netns-type=path",
        ]
        if not allow_host_loopback:
            argv.append("--disable-host-loopback")
        argv += [f"/proc/self/fd/{netns}", "tap0"]
        try:
            process = subprocess.Popen(
                argv, pass_fds=(ready_write, netns, userns), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            os.close(userns)
    finally:
        os.close(ready_write)
        os.close(netns)
    try:
        ready = await read_fd(ready_read, READY_TIMEOUT_S)
    except asyncio.TimeoutError:
        ready = b""
    finally:
        os.close(ready_read)
    if ready != b"1":
        process.kill()
        process.wait()
        raise NetworkUnavailable("slirp4netns did not come up")
    return process
