"""Frames on the channel between the host and one execution environment.

The channel is a Unix socketpair, one per environment. Every frame is a fixed
header (kind, metadata length, body length) followed by a small JSON metadata
object and an opaque body. Payloads travel as bodies, untouched: neither side
re-encodes the JSON it does not need to look inside.

Standard library only: this module is loaded inside the sandbox too.
"""

import _thread
import json
import os
import struct

HEADER = struct.Struct("!BII")

# host -> environment
INVOKE = 1
INIT = 2          # the sandbox is confined: run the function's init now

# environment -> host
STARTED = 9       # the runtime process is up; it waits for INIT
READY = 10        # init finished; body empty
INIT_ERROR = 11   # init failed; body is the Lambda error document (JSON)
RESULT = 12       # handler returned; body is the response payload (JSON)
ERROR = 13        # handler raised; body is the Lambda error document (JSON)

# The environment variable that names the file descriptor of the environment's end
# of the channel. The runtime removes it before user code runs.
CHANNEL_FD_VARIABLE = "_EMBER_CHANNEL_FD"


def encode(kind: int, meta: dict | None = None, body: bytes = b"") -> bytes:
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode() if meta else b""
    return HEADER.pack(kind, len(meta_bytes), len(body)) + meta_bytes + body


def decode_meta(meta_bytes: bytes) -> dict:
    return json.loads(meta_bytes) if meta_bytes else {}


class RuntimeChannel:
    """The environment's end of the channel: blocking, for the runtime processes.
    send() may be called from several threads. Plain file-descriptor I/O: the
    socket module would add milliseconds to every cold start."""

    def __init__(self, fd: int):
        self.fd = fd
        self.reader = open(fd, "rb", buffering=65536, closefd=False)
        self._send_lock = _thread.allocate_lock()

    @classmethod
    def from_environment(cls) -> "RuntimeChannel":
        """The channel the host passed, its variable removed before user code runs."""
        return cls(int(os.environ.pop(CHANNEL_FD_VARIABLE)))

    def receive(self):
        """Blocks until the host sends a frame: (kind, meta, body); None once the host is gone."""
        header = self.reader.read(HEADER.size)
        if len(header) < HEADER.size:
            return None
        kind, meta_length, body_length = HEADER.unpack(header)
        meta = decode_meta(self.reader.read(meta_length))
        return kind, meta, self.reader.read(body_length)

    def next(self):
        """Blocks until the host sends the next invocation: (meta, payload); None once the host is gone."""
        frame = self.receive()
        if frame is None or frame[0] != INVOKE:
            return None
        return frame[1], frame[2]

    def send(self, kind: int, meta: dict | None = None, body: bytes = b"") -> None:
        data = memoryview(encode(kind, meta, body))
        with self._send_lock:
            while data:
                data = data[os.write(self.fd, data):]
