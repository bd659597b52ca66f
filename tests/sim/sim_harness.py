"""Test harness for the PBX simulator: a raw AMI client, a scripted FastAGI
server that records the exact bytes, and trace normalisation helpers.

Everything talks real TCP on 127.0.0.1.  Traces are read from
``tests/fixtures/asterisk`` (copied from a real Asterisk 22.10.1).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from cti.ami.message import AmiMessage, AmiParser, parse_all

TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk"
LAB_AGI_SCRIPT = [
    "ANSWER",
    'STREAM FILE hello-world ""',
    "GET DATA beep 5000 1",
    "GET DATA beep 6000 6",
    "SET VARIABLE IVR_CHOICE support",
    'SET VARIABLE IVR_ACCOUNT "{account}"',
    "GET VARIABLE IVR_CHOICE",
    "CHANNEL STATUS",
    'VERBOSE "IVR done choice=support account={account}" 1',
]
NOISE = {"VarSet", "Newexten", "DeviceStateChange"}


def trace_messages(name: str, direction: str = "server-to-client") -> list[AmiMessage]:
    data = (TRACES / f"{name}.{direction}.raw").read_bytes()
    _banner, messages = parse_all(data, expect_banner=direction == "server-to-client")
    return messages


def trace_bytes(name: str) -> bytes:
    return (TRACES / name).read_bytes()


class AmiTestClient:
    """A raw AMI client: writes messages, collects everything it receives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = AmiParser(expect_banner=True)
        self.messages: list[AmiMessage] = []
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, port: int) -> AmiTestClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def _read(self) -> None:
        while True:
            data = await self.reader.read(65536)
            if not data:
                break
            self.messages.extend(self.parser.feed(data))
            self._changed.set()
        self.closed.set()
        self._changed.set()

    def send(self, *pairs: tuple[str, str]) -> None:
        self.writer.write(AmiMessage(list(pairs)).encode())

    def send_message(self, message: AmiMessage) -> None:
        self.writer.write(message.encode())

    async def wait_for(self, predicate: Callable[[AmiMessage], bool], within: float = 10.0) -> AmiMessage:
        """The first received message matching *predicate* (waits for it)."""
        seen = 0
        async with asyncio.timeout(within):
            while True:
                for message in self.messages[seen:]:
                    if predicate(message):
                        return message
                seen = len(self.messages)
                if self.closed.is_set():
                    raise AssertionError("connection closed while waiting")
                self._changed.clear()
                await self._changed.wait()

    async def wait_count(
        self, predicate: Callable[[AmiMessage], bool], count: int, within: float = 10.0
    ) -> None:
        async with asyncio.timeout(within):
            while sum(1 for m in self.messages if predicate(m)) < count:
                self._changed.clear()
                await self._changed.wait()

    async def wait_closed(self, within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            await self.closed.wait()

    async def close(self) -> None:
        self.writer.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class AgiScriptConn:
    """The script side of one FastAGI connection, recording raw bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: bytearray) -> None:
        self.reader = reader
        self.writer = writer
        self.received = log
        self.env: dict[str, str] = {}
        self.replies: list[str] = []
        self.hangup_seen = False

    async def read_env(self) -> None:
        while True:
            line = await self.reader.readline()
            self.received.extend(line)
            if line in (b"\n", b""):
                return
            key, _, value = line.decode().rstrip("\n").partition(": ")
            self.env[key] = value

    async def command(self, line: str) -> str:
        """Send a command; return its reply (a 520 block joined with newlines)."""
        self.writer.write(line.encode() + b"\n")
        await self.writer.drain()
        lines: list[str] = []
        while True:
            raw = await self.reader.readline()
            self.received.extend(raw)
            if not raw:
                raise ConnectionError("simulator closed the AGI socket")
            text = raw.decode().rstrip("\n")
            if text == "HANGUP":
                self.hangup_seen = True
                continue
            lines.append(text)
            if not lines[0].startswith("520-") or text.startswith("520 "):
                break
        reply = "\n".join(lines)
        self.replies.append(reply)
        return reply


class ScriptedAgi:
    """A minimal FastAGI server running *handler(conn)* per connection."""

    def __init__(self, handler: Callable[[AgiScriptConn], Awaitable[None]]) -> None:
        self.handler = handler
        self.sessions: list[AgiScriptConn] = []
        self.done = asyncio.Event()
        self._server: asyncio.Server | None = None

    @classmethod
    def running(cls, commands: Iterable[str]) -> ScriptedAgi:
        script = list(commands)

        async def run(conn: AgiScriptConn) -> None:
            for line in script:
                await conn.command(line)

        return cls(run)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = AgiScriptConn(reader, writer, bytearray())
        self.sessions.append(conn)
        try:
            await conn.read_env()
            await self.handler(conn)
        finally:
            writer.close()
            self.done.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


# -- normalisation --------------------------------------------------------------------------
_SEQ_NAME = re.compile(r"^(Local/[^;]+-|PJSIP/[^-]+-)([0-9a-f]{8})(;[12])?$")
_VOLATILE = {
    "EventTV",
    "SessionTV",
    "SessionID",
    "LocalAddress",
    "RemoteAddress",
    "Uptime",
    "LastReload",
    "HoldTime",
    "TalkTime",
    "RingTime",
    "CallsTaken",
    "LastCall",
    "LoginTime",
    "Holdtime",
    "Completed",
    "ServicelevelPerf",
    "ServicelevelPerf2",
    "Timestamp",
    "CommandId",
    "BridgeUniqueid",
}


class IdMapper:
    """Maps unique ids and channel sequence numbers to symbols by first appearance."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._seqs: dict[str, str] = {}

    def uid(self, value: str) -> str:
        return self._ids.setdefault(value, f"U{len(self._ids)}")

    def channel(self, value: str) -> str:
        match = _SEQ_NAME.match(value)
        if match is None:
            return value
        seq = self._seqs.setdefault(match.group(2), f"S{len(self._seqs)}")
        return f"{match.group(1)}{seq}{match.group(3) or ''}"


def normalise(messages: Iterable[AmiMessage], skip: set[str] = NOISE) -> list[list[tuple[str, str]]]:
    """Messages as comparable field lists: ids symbolic, volatile values blanked."""
    mapper = IdMapper()
    out: list[list[tuple[str, str]]] = []
    for message in messages:
        if message.event in skip:
            continue
        fields: list[tuple[str, str]] = []
        for key, value in message.fields:
            if key.startswith("ChanVariable("):
                key = "ChanVariable(" + mapper.channel(key[len("ChanVariable(") : -1]) + ")"
            if key in _VOLATILE:
                value = "*"
            elif key.endswith("Uniqueid") or key.endswith("Linkedid"):
                value = mapper.uid(value)
            elif key.endswith("Channel") or key == "Channel":
                value = mapper.channel(value)
            fields.append((key, value))
        out.append(fields)
    return out


def kinds(messages: Iterable[AmiMessage], skip: set[str] = NOISE) -> list[str]:
    return [m.event or f"Response:{m.response}" for m in messages if m.event not in skip]


def without(messages: Iterable[AmiMessage], events: set[str]) -> list[AmiMessage]:
    return [m for m in messages if m.event not in events]
