"""The host's end of an environment's channel: length-prefixed frames over a Unix socket."""

import asyncio
import socket

from ember.runtime import protocol


class ChannelClosed(Exception):
    """The environment's end of the channel went away (its runtime exited)."""


class Channel:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, sock: socket.socket) -> "Channel":
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        return cls(reader, writer)

    async def send(self, kind: int, meta: dict | None = None, body: bytes = b"") -> None:
        try:
            self._writer.write(protocol.encode(kind, meta, body))
            if len(body) > 65536:
                await self._writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise ChannelClosed() from exc

    async def receive(self) -> tuple[int, dict, bytes]:
        try:
            header = await self._reader.readexactly(protocol.HEADER.size)
            kind, meta_length, body_length = protocol.HEADER.unpack(header)
            data = await self._reader.readexactly(meta_length + body_length)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise ChannelClosed() from exc
        return kind, protocol.decode_meta(data[:meta_length]), data[meta_length:]

    def close(self) -> None:
        self._writer.close()
