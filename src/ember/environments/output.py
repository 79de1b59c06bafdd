"""Reads what an environment's processes write to stdout and stderr, line by line,
into its log stream.

The pipe is read whenever it is readable. `drain()` reads everything already in the
pipe, synchronously: the runtime writes its output before it sends a response, so
draining on receipt of the response puts every line of an invocation before its
END line.
"""

import asyncio
import os

from ember.observe.logs import MAX_EVENT_BYTES, LogStream


class OutputReader:
    def __init__(self, fd: int, stream: LogStream):
        self._fd = fd
        self._stream = stream
        self._partial = b""
        self._open = True
        os.set_blocking(fd, False)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(fd, self.drain)

    def drain(self) -> None:
        while self._open:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                self.close()
                break
            self._take(chunk)

    def flush_partial(self) -> None:
        """Emits an unterminated last line (the runtime finished without a newline)."""
        if self._partial:
            self._emit(self._partial)
            self._partial = b""

    def close(self) -> None:
        if self._open:
            self._open = False
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self.flush_partial()

    def _take(self, chunk: bytes) -> None:
        data = self._partial + chunk if self._partial else chunk
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self._emit(line)
        while len(self._partial) > MAX_EVENT_BYTES:
            self._emit(self._partial[:MAX_EVENT_BYTES])
            self._partial = self._partial[MAX_EVENT_BYTES:]

    def _emit(self, line: bytes) -> None:
        self._stream.write(line.decode("utf-8", "replace"))
