"""Line framing of one FastAGI connection.

:class:`AgiConnection` is the :class:`asyncio.BufferedProtocol` of one Asterisk socket: it keeps the
received bytes in one buffer, hands out bounded lines and whole replies, and writes command lines.  It is a
protocol rather than a ``StreamReader``/``StreamWriter`` pair because a FastAGI session is one short line
each way per command: the streams' per-line machinery (``readuntil``, ``feed_data``, ``drain``) and the
256 KiB buffer allocated by every plain ``recv`` cost more than the rest of the server's work on a command
(``bankcti bench fastagi``).  The socket is read into a scratch buffer the server shares between its
connections (the loop copies each read out before the next one), so reading allocates nothing.

Reads are cancellation-safe: bytes stay in the buffer until a whole line is taken, and the state of a
partly read ``520-`` usage block is kept on the object, so a read cancelled in the middle of a block is
resumed by the next :meth:`AgiConnection.read_reply` without losing sync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cti.fastagi.errors import AgiHangup, AgiProtocolError
from cti.fastagi.protocol import MAX_LINE_BYTES, AgiReply, check_line, parse_reply

__all__ = ["AgiConnection"]

HANGUP_LINE = "HANGUP"
_USAGE_START = "520-"
_USAGE_END = "520 "
#: Size of the buffer a socket is read into (one read, copied out at once).
SCRATCH_BYTES = 64 * 1024
#: Unread bytes above which the socket stops being read until the script catches up.
_PAUSE_ABOVE = 2 * MAX_LINE_BYTES


class AgiConnection(asyncio.BufferedProtocol):
    """The byte stream of one FastAGI session (Asterisk is the TCP client).

    Built by the server's protocol factory; *on_open* is called with the connection once the socket is
    connected.  *scratch* is where the socket is read into, shared by the connections of one event loop
    (default: a buffer of its own).  A line longer than :data:`MAX_LINE_BYTES` raises
    :exc:`AgiProtocolError`.
    """

    def __init__(
        self, on_open: Callable[[AgiConnection], None] | None = None, scratch: memoryview | None = None
    ) -> None:
        self._on_open = on_open
        self._scratch = scratch if scratch is not None else memoryview(bytearray(SCRATCH_BYTES))
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop  # set by connection_made, before any read
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already known to hold no line feed
        self._eof = False
        self._lost: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self._usage: list[str] | None = None
        self._closed = False
        self.hangup_seen = False
        """True once Asterisk sent an unsolicited ``HANGUP`` line."""

    # -- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        if self._on_open is not None:
            self._on_open(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        self._buffer += self._scratch[:nbytes]
        if len(self._buffer) > _PAUSE_ABOVE and not self._read_paused and self._transport is not None:
            self._read_paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return True  # keep our side open, as StreamReaderProtocol does: the session decides when to close

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        self._wake()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the session's side -------------------------------------------------

    @property
    def closed(self) -> bool:
        """True after EOF, a framing error, or :meth:`close`."""
        return self._closed

    @property
    def peer(self) -> str:
        """``host:port`` of the Asterisk side, for logs."""
        peername = self._transport.get_extra_info("peername") if self._transport is not None else None
        if isinstance(peername, tuple) and len(peername) >= 2:
            return f"{peername[0]}:{peername[1]}"
        return str(peername)

    async def read_line(self) -> str:
        """Read one line without its terminator (``\\n`` or ``\\r\\n``).

        Raises :exc:`AgiHangup` on EOF or a reset connection and
        :exc:`AgiProtocolError` when the line exceeds :data:`MAX_LINE_BYTES`.
        Bytes that are not UTF-8 are replaced, never fatal.
        """
        while (line := self.take_line()) is None:
            if self._eof:
                self._raise_at_eof()
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return line

    async def read_reply(self) -> AgiReply:
        """Read the next complete reply.

        Skips (and records in :attr:`hangup_seen`) unsolicited ``HANGUP``
        lines and assembles a ``520-`` block up to its ``520 `` line into one
        reply whose ``raw`` holds every line.
        """
        while True:
            # The wait is inlined rather than a call of read_line: one coroutine less per command.  The
            # reply is hardly ever here yet when the command was just sent: no scan of an empty buffer.
            line = self.take_line() if self._buffer or self._closed else None
            if line is None:
                if self._eof:
                    self._raise_at_eof()
                waiter = self._waiter = self._loop.create_future()
                try:
                    await waiter
                finally:
                    self._waiter = None
                continue
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

    def take_line(self) -> str | None:
        """The next whole line already received, like :meth:`read_line`, or ``None`` if there is none yet.

        Never waits: a reader of many lines that usually arrive together (the ``agi_*`` block) saves a
        coroutine per line.  Raises like :meth:`read_line`, except at EOF (``None``).
        """
        if self._closed:
            raise AgiHangup("AGI connection closed")
        buffer = self._buffer
        end = buffer.find(b"\n", self._scanned)
        if end < 0:
            self._scanned = len(buffer)
            if self._scanned > MAX_LINE_BYTES:
                self._closed = True
                raise AgiProtocolError(f"AGI line longer than {MAX_LINE_BYTES} bytes")
            return None
        if end > MAX_LINE_BYTES:
            self._closed = True
            raise AgiProtocolError(f"AGI line longer than {MAX_LINE_BYTES} bytes")
        stop = end - 1 if end and buffer[end - 1] == 13 else end  # 13: the "\r" of "\r\n"
        text = buffer[:stop].decode("utf-8", "replace")
        del buffer[: end + 1]
        self._scanned = 0
        if self._read_paused and len(buffer) <= MAX_LINE_BYTES and self._transport is not None:
            self._read_paused = False
            self._transport.resume_reading()
        return text

    def has_blank_line(self) -> bool:
        """True if an empty line (``\\n\\n``) has been received and not read yet."""
        return b"\n\n" in self._buffer

    def _raise_at_eof(self) -> None:
        if self._eof:
            self._closed = True
            if isinstance(self._lost, OSError):
                raise AgiHangup(f"AGI connection lost: {self._lost}")
            raise AgiHangup("AGI connection closed by peer")

    async def send_line(self, line: str) -> None:
        """Write *line* plus ``\\n``; wait only while the socket's send buffer is full.

        Raises :exc:`ValueError` if *line* holds a line break and
        :exc:`AgiHangup` if the connection is closed or breaks.
        """
        check_line(line)
        self.write_checked(line)
        if self._write_paused:
            await self.drain()

    def write_checked(self, line: str) -> None:
        """Write *line* plus ``\\n`` without waiting; the caller has checked it with :func:`check_line`.

        Follow with :meth:`drain` when :attr:`write_paused`.  Raises :exc:`AgiHangup` if the connection
        is closed.
        """
        transport = self._transport
        if self._closed or transport is None or transport.is_closing():
            self._closed = True
            raise AgiHangup("AGI connection closed")
        transport.write(line.encode("utf-8") + b"\n")

    @property
    def write_paused(self) -> bool:
        """True while the peer is not reading and our send buffer is over its high-water mark."""
        return self._write_paused

    async def drain(self) -> None:
        """Wait, like ``StreamWriter.drain``, until the send buffer is below its low-water mark."""
        if not self._write_paused:
            return
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._drained)  # shared: a cancelled writer must not wake the others
        transport = self._transport
        if transport is None or transport.is_closing():
            self._closed = True
            raise AgiHangup(f"AGI connection lost: {self._lost}")

    def close(self) -> None:
        """Close the socket; abort it if unsent bytes would keep it open.

        Never waits: a peer that stops reading cannot hold a session open.
        """
        self._closed = True
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()
