"""A fake Asterisk for FastAGI tests: the TCP client side of a session.

Reusable by any test that runs a FastAGI script against a real server::

    commands = await agi_session(server.port, make_env("ivr"), replies)

``replies(command)`` returns the reply text for each command the script
sends: one line (``"200 result=1"``), several lines
(``"HANGUP\\n200 result=1"``), or ``None`` to close the socket instead of
answering (EOF in the middle of a command).  For finer control (stalling,
raw bytes, partial blocks) use :class:`AgiPeer` directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

__all__ = ["DEFAULT_TIMEOUT", "AgiPeer", "Replies", "agi_session", "encode_env", "make_env"]

DEFAULT_TIMEOUT = 5.0

Replies = Callable[[str], str | None]


def make_env(script: str = "ivr", **overrides: str) -> dict[str, str]:
    """A realistic ``agi_*`` block (from trace b2), keys without ``agi_``.

    *script* becomes ``network_script`` and the path of ``request``.
    """
    env = {
        "network": "yes",
        "network_script": script,
        "request": f"agi://127.0.0.1:4573/{script}",
        "channel": "Local/s@ivr-in-00000002;2",
        "language": "en",
        "type": "Local",
        "uniqueid": "1795907163.5",
        "version": "22.10.1",
        "callerid": "+15551230001",
        "calleridname": "Alice Customer",
        "callingpres": "0",
        "callingani2": "0",
        "callington": "0",
        "callingtns": "0",
        "dnid": "unknown",
        "rdnis": "unknown",
        "context": "ivr-in",
        "extension": "s",
        "priority": "2",
        "enhanced": "0.0",
        "accountcode": "",
        "threadid": "140020783085248",
    }
    env.update(overrides)
    return env


def encode_env(env: Mapping[str, str]) -> bytes:
    """``agi_key: value\\n`` lines plus the closing empty line.

    Keys may be given with or without the ``agi_`` prefix.
    """
    lines = [f"{key if key.startswith('agi_') else 'agi_' + key}: {value}\n" for key, value in env.items()]
    return ("".join(lines) + "\n").encode()


class AgiPeer:
    """One TCP connection playing Asterisk against a FastAGI server.

    Every read is bounded by *io_timeout* (``TimeoutError`` if the server goes
    silent), so a broken server fails a test instead of hanging it.
    """

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, io_timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.io_timeout = io_timeout

    @classmethod
    async def connect(
        cls, port: int, host: str = "127.0.0.1", io_timeout: float = DEFAULT_TIMEOUT
    ) -> AgiPeer:
        async with asyncio.timeout(io_timeout):
            reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, io_timeout)

    async def send(self, data: bytes | str) -> None:
        """Write raw bytes (a ``str`` is UTF-8 encoded as is)."""
        self.writer.write(data.encode() if isinstance(data, str) else data)
        await self.writer.drain()

    async def send_env(self, env: Mapping[str, str]) -> None:
        await self.send(encode_env(env))

    async def reply(self, text: str) -> None:
        """Send one reply; a missing final line feed is added."""
        await self.send(text if text.endswith("\n") else text + "\n")

    async def read_command(self) -> str | None:
        """The next command line without ``\\n``, or ``None`` on EOF."""
        try:
            async with asyncio.timeout(self.io_timeout):
                line = await self.reader.readline()
        except ConnectionResetError:
            # The server closed with our unread bytes in its buffer (e.g. after
            # refusing an over-long line): for Asterisk that is just EOF.
            return None
        if not line:
            return None
        if not line.endswith(b"\n"):
            raise AssertionError(f"server sent a partial line before closing: {line!r}")
        return line[:-1].decode()

    async def read_exactly(self, count: int) -> bytes:
        async with asyncio.timeout(self.io_timeout):
            return await self.reader.readexactly(count)

    async def read_to_eof(self) -> bytes:
        """Everything the server still sends until it closes the connection."""
        async with asyncio.timeout(self.io_timeout):
            return await self.reader.read()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def __aenter__(self) -> AgiPeer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def agi_session(
    port: int,
    env: Mapping[str, str],
    replies: Replies,
    *,
    host: str = "127.0.0.1",
    io_timeout: float = DEFAULT_TIMEOUT,
) -> list[str]:
    """Run one session: send *env*, answer each command with
    ``replies(command)`` until the server closes; return the commands.

    When ``replies`` returns ``None`` the peer closes the socket right away
    (the command stays unanswered) and the commands so far are returned.
    """
    commands: list[str] = []
    async with await AgiPeer.connect(port, host, io_timeout) as peer:
        await peer.send_env(env)
        while (command := await peer.read_command()) is not None:
            commands.append(command)
            answer = replies(command)
            if answer is None:
                break
            await peer.reply(answer)
    return commands
