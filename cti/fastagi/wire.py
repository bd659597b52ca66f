"""Line framing of one FastAGI connection.

:class:`AgiConnection` reads bounded lines and whole replies and writes
command lines.  It keeps the state of a partly read ``520-`` usage block on
the object, so a read cancelled in the middle of a block can be resumed by
the next :meth:`AgiConnection.read_reply` without losing sync.
"""

from __future__ import annotations

import asyncio

from cti.fastagi.errors import AgiHangup, AgiProtocolError
from cti.fastagi.protocol import MAX_LINE_BYTES, AgiReply, check_line, parse_reply

__all__ = ["AgiConnection"]

HANGUP_LINE = "HANGUP"
_USAGE_START = "520-"
_USAGE_END = "520 "


class AgiConnection:
    """The byte stream of one FastAGI session (Asterisk is the TCP client).

    The reader must have been created with ``limit >= MAX_LINE_BYTES`` (the
    server passes ``limit=MAX_LINE_BYTES`` to :func:`asyncio.start_server`);
    a longer line raises :exc:`AgiProtocolError`.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._usage: list[str] | None = None
        self._closed = False
        self.hangup_seen = False
        """True once Asterisk sent an unsolicited ``HANGUP`` line."""

    @property
    def closed(self) -> bool:
        """True after EOF, a framing error, or :meth:`close`."""
        return self._closed

    @property
    def peer(self) -> str:
        """``host:port`` of the Asterisk side, for logs."""
        peername = self._writer.get_extra_info("peername")
        if isinstance(peername, tuple) and len(peername) >= 2:
            return f"{peername[0]}:{peername[1]}"
        return str(peername)

    async def read_line(self) -> str:
        """Read one line without its terminator (``\\n`` or ``\\r\\n``).

        Raises :exc:`AgiHangup` on EOF or a reset connection and
        :exc:`AgiProtocolError` when the line exceeds :data:`MAX_LINE_BYTES`.
        Bytes that are not UTF-8 are replaced, never fatal.
        """
        if self._closed:
            raise AgiHangup("AGI connection closed")
        try:
            data = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            self._closed = True
            raise AgiHangup("AGI connection closed by peer") from exc
        except asyncio.LimitOverrunError as exc:
            self._closed = True
            raise AgiProtocolError(f"AGI line longer than {MAX_LINE_BYTES} bytes") from exc
        except (ConnectionError, OSError) as exc:
            self._closed = True
            raise AgiHangup(f"AGI connection lost: {exc}") from exc
        return data.rstrip(b"\n").removesuffix(b"\r").decode("utf-8", "replace")

    async def read_reply(self) -> AgiReply:
        """Read the next complete reply.

        Skips (and records in :attr:`hangup_seen`) unsolicited ``HANGUP``
        lines and assembles a ``520-`` block up to its ``520 `` line into one
        reply whose ``raw`` holds every line.
        """
        while True:
            line = await self.read_line()
            if self._usage is not None:
                self._usage.append(line)
                if line.startswith(_USAGE_END):
                    block, self._usage = "\n".join(self._usage), None
                    return parse_reply(block)
                continue
            if line == HANGUP_LINE:
                self.hangup_seen = True
                continue
            if line.startswith(_USAGE_START):
                self._usage = [line]
                continue
            try:
                return parse_reply(line)
            except AgiProtocolError:
                self._closed = True
                raise

    async def send_line(self, line: str) -> None:
        """Write *line* plus ``\\n`` and wait for the write buffer to drain.

        Raises :exc:`ValueError` if *line* holds a line break and
        :exc:`AgiHangup` if the connection is closed or breaks.
        """
        check_line(line)
        if self._closed or self._writer.is_closing():
            self._closed = True
            raise AgiHangup("AGI connection closed")
        try:
            self._writer.write(line.encode("utf-8") + b"\n")
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            self._closed = True
            raise AgiHangup(f"AGI connection lost: {exc}") from exc

    def close(self) -> None:
        """Close the socket; abort it if unsent bytes would keep it open.

        Never waits: a peer that stops reading cannot hold a session open.
        """
        self._closed = True
        transport = self._writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()
