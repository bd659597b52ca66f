"""A small asyncio AMI server for the client tests, speaking the real traces.

The banner, the login exchange (``Response: Success`` + ``FullyBooted`` +
``SuccessfulAuth``) and the failed-login answer are replayed from the recorded
traces a and e1 (with the client's ``ActionID`` substituted); a few actions
(Ping, Filter, Originate, Getvar, Setvar, Hangup, CoreShowChannels, Logoff)
answer in the shapes recorded in traces b2, c, e2 and g.  Tests reach every
session to push raw bytes, stop answering pings, or drop the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from ami_trace_files import SCENARIOS, TRACES

from cti.ami.message import AmiMessage, AmiParser, parse_all

WAIT = 5.0  # upper bound of every wait in these helpers
LIST_COMMANDS_HINT = "Use Action: ListCommands to show available commands."


def _trace_messages(scenario: str) -> tuple[bytes, list[AmiMessage]]:
    raw = (TRACES / f"{SCENARIOS[scenario]}.server-to-client.raw").read_bytes()
    banner, messages = parse_all(raw, expect_banner=True)
    assert banner is not None
    return (banner + "\r\n").encode(), messages


BANNER, _TRACE_A = _trace_messages("a")
LOGIN_OK, FULLY_BOOTED, SUCCESSFUL_AUTH = _TRACE_A[0], _TRACE_A[1], _TRACE_A[2]
LOGIN_FAILED = _trace_messages("e1")[1][1]  # [0] is the "Permission denied" of an early action
_TRACE_B2 = _trace_messages("b2")[1]
ORIGINATE_QUEUED = next(m for m in _TRACE_B2 if m.get("Message") == "Originate successfully queued")
ORIGINATE_RESPONSE = next(m for m in _TRACE_B2 if m.event == "OriginateResponse")


def with_action_id(msg: AmiMessage, action_id: str) -> AmiMessage:
    """A copy of a recorded message answering ``action_id``."""
    return AmiMessage([(k, action_id if k == "ActionID" else v) for k, v in msg.fields])


class FakeSession:
    """One client connection as the server sees it."""

    def __init__(self, server: FakeAmi, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.received: list[AmiMessage] = []
        self.raw = bytearray()
        self.logged_in = False
        self.answer_pings = server.answer_pings  # per session: a later one may behave
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def send(self, msg: AmiMessage) -> None:
        self.write(msg.encode())

    def abort(self) -> None:
        """Drop the connection without a goodbye (RST)."""
        self.writer.transport.abort()

    def actions(self, name: str) -> list[AmiMessage]:
        return [m for m in self.received if (m.get("Action") or "").lower() == name.lower()]

    async def wait_action(self, name: str, count: int = 1) -> AmiMessage:
        """Wait until ``count`` actions called ``name`` arrived; return the last one."""
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: len(self.actions(name)) >= count)
        return self.actions(name)[count - 1]

    async def run(self) -> None:
        parser = AmiParser()
        self.write(BANNER)
        try:
            while data := await self.reader.read(65536):
                self.raw += data
                for msg in parser.feed(data):
                    self.received.append(msg)
                    await self.server.answer(self, msg)
                    async with self._changed:
                        self._changed.notify_all()
        except ConnectionError:
            pass
        finally:
            self.closed.set()
            self.writer.close()
            async with self._changed:
                self._changed.notify_all()


class FakeAmi:
    """An AMI server on 127.0.0.1 with an ephemeral port."""

    def __init__(
        self, *, username: str = "cti", secret: str = "cti-secret", login_delay: float = 0.0
    ) -> None:
        self.username = username
        self.secret = secret
        self.login_delay = login_delay
        self.answer_pings = True  # for sessions accepted from now on
        self.sessions: list[FakeSession] = []
        self.variables: dict[str, str] = {}
        self.channels: list[AmiMessage] = []  # what CoreShowChannels lists
        self.extra: dict[str, Callable[[FakeSession, AmiMessage], None]] = {}
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sessions_changed = asyncio.Condition()

    async def __aenter__(self) -> FakeAmi:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_listening(self) -> None:
        """Refuse new connections (the port stays reserved for a later ``start``)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def stop(self) -> None:
        await self.stop_listening()
        for session in self.sessions:
            session.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_session(self, number: int) -> FakeSession:
        """Wait for the ``number``-th connection (1-based) and return it."""
        async with asyncio.timeout(WAIT), self._sessions_changed:
            await self._sessions_changed.wait_for(lambda: len(self.sessions) >= number)
        return self.sessions[number - 1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = FakeSession(self, reader, writer)
        self.sessions.append(session)
        async with self._sessions_changed:
            self._sessions_changed.notify_all()
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await session.run()
        finally:
            self._tasks.discard(task)

    # -- answers -------------------------------------------------------------------

    async def answer(self, session: FakeSession, msg: AmiMessage) -> None:
        action = (msg.get("Action") or "").lower()
        action_id = msg.get("ActionID") or ""
        if action in self.extra:
            self.extra[action](session, msg)
            return
        if action == "login":
            await self._login(session, msg, action_id)
        elif not session.logged_in:
            session.send(_reply(action_id, "Error", Message="Permission denied"))
        elif action == "ping":
            if session.answer_pings:
                session.send(_reply(action_id, "Success", Ping="Pong", Timestamp="1795907148.000000"))
        elif action == "filter":
            session.send(_reply(action_id, "Success", Message="Success"))
        elif action == "originate":
            session.send(with_action_id(ORIGINATE_QUEUED, action_id))
            session.send(with_action_id(ORIGINATE_RESPONSE, action_id))
        elif action == "setvar":
            self.variables[msg.get("Variable") or ""] = msg.get("Value") or ""
            session.send(_reply(action_id, "Success", Message="Variable Set"))
        elif action == "getvar":
            name = msg.get("Variable") or ""
            session.send(_reply(action_id, "Success", Variable=name, Value=self.variables.get(name, "")))
        elif action == "hangup":
            session.send(_reply(action_id, "Error", Message="No such channel"))
        elif action == "coreshowchannels":
            self._list(session, action_id)
        elif action == "logoff":
            session.send(_reply(action_id, "Goodbye", Message="Thanks for all the fish."))
            await session.writer.drain()
            session.writer.close()
        else:
            text = f"Invalid/unknown command: {msg.get('Action')}. {LIST_COMMANDS_HINT}"
            session.send(_reply(action_id, "Error", Message=text))

    async def _login(self, session: FakeSession, msg: AmiMessage, action_id: str) -> None:
        if msg.get("Username") == self.username and msg.get("Secret") == self.secret:
            session.logged_in = True
            for recorded in (LOGIN_OK, FULLY_BOOTED, SUCCESSFUL_AUTH):
                session.send(with_action_id(recorded, action_id))
            return
        # Asterisk answers a bad secret after about a second, then hangs up (trace e1).
        await asyncio.sleep(self.login_delay)
        session.send(with_action_id(LOGIN_FAILED, action_id))
        with contextlib.suppress(ConnectionError):
            await session.writer.drain()
        session.writer.close()

    def _list(self, session: FakeSession, action_id: str) -> None:
        session.send(_reply(action_id, "Success", EventList="start", Message="Channels will follow"))
        for channel in self.channels:
            session.send(AmiMessage([("Event", "CoreShowChannel"), ("ActionID", action_id), *channel.fields]))
        session.send(
            AmiMessage.of(
                ("Event", "CoreShowChannelsComplete"),
                ("ActionID", action_id),
                ("EventList", "Complete"),
                ("ListItems", str(len(self.channels))),
            )
        )


def _reply(action_id: str, response: str, **fields: str) -> AmiMessage:
    return AmiMessage([("Response", response), ("ActionID", action_id), *fields.items()])
