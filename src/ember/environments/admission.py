"""How much memory execution environments may take on this host, all together.

A new environment commits its function's MemorySize; a stopped one gives it
back. When a cold start does not fit, idle environments are stopped to make
room (least recently used first); if that is not enough, the invocation waits
briefly for busy ones to finish and is then throttled, rather than
overcommitting the host.
"""

import asyncio
import time

from ember.errors import Throttled

HOST_MEMORY_EXHAUSTED = "EmberHostMemoryExhausted"


def host_memory_mb() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class MemoryBudget:
    def __init__(self, total_mb: int):
        self.total_mb = total_mb
        self.committed_mb = 0
        self._released = asyncio.Event()

    def fits(self, memory_mb: int) -> bool:
        return self.committed_mb + memory_mb <= self.total_mb

    def commit(self, memory_mb: int) -> None:
        self.committed_mb += memory_mb

    def release(self, memory_mb: int) -> None:
        self.committed_mb -= memory_mb
        self._released.set()

    async def wait_for_room(self, memory_mb: int, timeout_s: float, make_room) -> None:
        """Returns once memory_mb fits (calling make_room(needed_mb) to stop idle
        environments first), or raises Throttled after timeout_s."""
        if memory_mb > self.total_mb:
            raise Throttled(
                f"The function's MemorySize ({memory_mb} MB) is more than this Ember host gives all "
                f"environments together ({self.total_mb} MB).",
                reason=HOST_MEMORY_EXHAUSTED,
            )
        deadline = time.monotonic() + timeout_s
        while not self.fits(memory_mb):
            await make_room(self.committed_mb + memory_mb - self.total_mb)
            if self.fits(memory_mb):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Throttled(
                    f"Ember host memory is fully committed to running environments ({self.committed_mb} of "
                    f"{self.total_mb} MB); try again shortly, or lower the function's MemorySize.",
                    reason=HOST_MEMORY_EXHAUSTED,
                )
            self._released.clear()
            try:
                await asyncio.wait_for(self._released.wait(), remaining)
            except asyncio.TimeoutError:
                pass
