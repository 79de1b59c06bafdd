"""The seccomp filter every bubblewrap sandbox runs under: system calls that let a
process escape, spy on or reconfigure its host fail with EPERM; everything else
is allowed (Lambda functions run ordinary Linux programs).

Built once with libseccomp (through pyseccomp, a ctypes binding to the Debian
library) and exported as a BPF program that bubblewrap loads before it starts
the runtime.
"""

import errno
import os

import pyseccomp as seccomp

from ember.environments.sandbox.base import memory_file

REFUSED = (
    # debugging and reading other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "perf_event_open",
    # filesystems and namespaces
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "open_by_handle_at", "name_to_handle_at", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr",
    # the kernel itself
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "bpf", "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "iopl", "ioperm",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "userfaultfd", "lookup_dcookie",
    # the kernel keyring
    "keyctl", "add_key", "request_key",
)
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
CLONE_NEW_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def build_filter() -> bytes:
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in REFUSED:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            pass  # a system call this architecture does not have
    # clone() creating namespaces is refused; clone3() passes its flags in memory a
    # filter cannot read, so it reports ENOSYS and libc falls back to clone().
    for flag in CLONE_NEW_NAMESPACE_FLAGS:
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    descriptor = os.memfd_create("ember-seccomp")
    try:
        with open(descriptor, "wb", closefd=False) as sink:
            rules.export_bpf(sink)
        os.lseek(descriptor, 0, os.SEEK_SET)
        with open(descriptor, "rb", closefd=False) as source:
            return source.read()
    finally:
        os.close(descriptor)


def filter_fd(program: bytes) -> int:
    """A fresh file descriptor holding the program, for one bubblewrap to read."""
    return memory_file("ember-seccomp", program)
