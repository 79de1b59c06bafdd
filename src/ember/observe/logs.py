"""Function logs, kept as CloudWatch Logs keeps them: a group per function
(/aws/lambda/<name>), a stream per execution environment, an event per line.

Writing a line only appends to an in-memory batch; a background task writes the
batches to SQLite, so the invoke path never waits on the disk. Queries flush
first, so a caller always reads what was written before it asked.
"""

import asyncio
import logging
import time

from ember.store.logs import LogEvent, LogRepository

FLUSH_INTERVAL_S = 0.2
MAX_EVENT_BYTES = 256 * 1024  # CloudWatch's limit for one event


def now_ms() -> int:
    return int(time.time() * 1000)


class LogStream:
    """One environment's log stream. write() never blocks."""

    __slots__ = ("group", "name", "_sink", "_capture")

    def __init__(self, group: str, name: str, sink: list[LogEvent]):
        self.group = group
        self.name = name
        self._sink = sink
        self._capture: list[str] | None = None

    def write(self, message: str) -> None:
        timestamp = now_ms()
        self._sink.append((self.group, self.name, timestamp, timestamp, message))
        if self._capture is not None:
            self._capture.append(message)

    def start_capture(self) -> None:
        """Starts keeping a copy of what is written, for an invocation's log tail."""
        self._capture = []

    def stop_capture(self) -> list[str]:
        captured, self._capture = self._capture or [], None
        return captured


class LogService:
    def __init__(self, repository: LogRepository):
        self._repository = repository
        self._pending: list[LogEvent] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None

    def stream(self, group: str, name: str) -> LogStream:
        return LogStream(group, name, self._pending)

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_periodically())

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
        self._repository.close()

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            batch = self._pending[:]
            del self._pending[:]  # streams hold this very list: empty it in place
            try:
                await asyncio.to_thread(self._repository.append, batch)
            except BaseException:
                self._pending[:0] = batch  # keep the events for the next attempt
                raise

    async def query(self, group: str, **filters) -> list[tuple]:
        await self.flush()
        async with self._lock:
            return await asyncio.to_thread(self._repository.query, group, **filters)

    async def streams(self, group: str) -> list[tuple]:
        await self.flush()
        async with self._lock:
            return await asyncio.to_thread(self._repository.streams, group)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                await self.flush()
            except Exception:  # a full disk must not stop the server; try again next round
                logging.getLogger("ember").exception("could not write logs")
