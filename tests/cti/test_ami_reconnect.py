"""AmiClient lifecycle over real TCP: login failure, reconnect, back-off, watchdog, close."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest
from ami_fake_server import FakeAmi

from cti.ami.backoff import Backoff
from cti.ami.client import AmiClient, AmiConnectionError, AmiLoginError
from cti.ami.message import AmiMessage
from cti.tracker import CallOutcome, CallState, CallTracker

WAIT = 5.0


def make_client(server: FakeAmi, **options: object) -> AmiClient:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": "cti",
        "secret": "cti-secret",
        "ping_interval": 60.0,
        "action_timeout": 2.0,
        "reconnect_min": 0.01,
        "reconnect_max": 0.05,
    }
    settings.update(options)
    return AmiClient(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def server() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as fake:
        yield fake


class ConnectionLog:
    """Records on_connection callbacks; awaitable."""

    def __init__(self) -> None:
        self.states: list[bool] = []
        self._changed = asyncio.Condition()

    async def __call__(self, connected: bool) -> None:
        async with self._changed:
            self.states.append(connected)
            self._changed.notify_all()

    async def wait_for(self, *states: bool) -> None:
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: self.states[: len(states)] == list(states))


class RecordWaiter(logging.Handler):
    """Collects ``cti.ami.client`` log records of one event name; awaitable by count."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.DEBUG)
        self.event_name = name
        self.records: list[logging.LogRecord] = []
        self._enough = asyncio.Event()
        self._count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == self.event_name:
            self.records.append(record)
            if len(self.records) >= self._count:
                self._enough.set()

    def __enter__(self) -> RecordWaiter:
        logger = logging.getLogger("cti.ami.client")
        self._level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("cti.ami.client")
        logger.removeHandler(self)
        logger.setLevel(self._level)

    async def wait(self, count: int) -> list[logging.LogRecord]:
        self._count = count
        if len(self.records) < count:
            self._enough.clear()
            async with asyncio.timeout(WAIT):
                await self._enough.wait()
        return self.records


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_bad_secret_raises_login_error_once_without_reconnecting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeAmi(secret="the-real-one", login_delay=0.05) as server:
        ami = make_client(server, secret="wrong-secret")
        connections = ConnectionLog()
        ami.on_connection(connections)
        with caplog.at_level(logging.DEBUG, logger="cti"), pytest.raises(AmiLoginError) as caught:
            await ami.connect()
        text = str(caught.value)
        assert "Authentication failed" in text and "'cti'" in text and f"127.0.0.1:{server.port}" in text
        assert not ami.connected
        await asyncio.sleep(0.2)  # a window in which a reconnect storm would show
        assert len(server.sessions) == 1
        assert connections.states == []
        assert server.sessions[0].closed.is_set()
        for record in caplog.records:
            assert "wrong-secret" not in repr(record.__dict__)
        await ami.close()


async def test_bad_secret_is_not_retried_even_with_retry(server: FakeAmi) -> None:
    ami = make_client(server, secret="wrong")
    with pytest.raises(AmiLoginError):
        await ami.connect(retry=True)
    assert len(server.sessions) == 1
    await ami.close()


async def test_unreachable_pbx_raises_connection_error() -> None:
    ami = AmiClient(host="127.0.0.1", port=free_port(), username="cti", secret="x")
    with pytest.raises(AmiConnectionError, match="cannot connect"):
        await ami.connect()
    with pytest.raises(AmiConnectionError, match="not connected"):
        await ami.ping()
    await ami.close()


async def test_connect_with_retry_waits_for_the_pbx() -> None:
    port = free_port()
    server = FakeAmi()
    ami = AmiClient(
        host="127.0.0.1",
        port=port,
        username="cti",
        secret="cti-secret",
        reconnect_min=0.01,
        reconnect_max=0.02,
    )
    try:
        with RecordWaiter("ami.connect_failed") as failures:
            connecting = asyncio.ensure_future(ami.connect(retry=True))
            delays = [r.delay for r in await failures.wait(2)]  # type: ignore[attr-defined]
        assert delays[:2] == [0.01, 0.02]
        await server.start(port)
        async with asyncio.timeout(WAIT):
            await connecting
        assert ami.connected
    finally:
        await ami.close()
        await server.stop()


async def test_reconnects_after_a_drop_reapplies_filters_and_calls_back(server: FakeAmi) -> None:
    ami = make_client(server)
    connections = ConnectionLog()
    ami.on_connection(connections)
    await ami.connect()
    try:
        await connections.wait_for(True)
        first = await server.wait_session(1)
        first.abort()
        await connections.wait_for(True, False, True)
        second = await server.wait_session(2)
        assert [m["MatchCriteria"] for m in second.actions("Filter")] == [
            "action(exclude),name(VarSet)",
            "action(exclude),name(Newexten)",
            "action(exclude),name(AGIExecEnd)",
        ]
        assert ami.connected
        await ami.setvar("AGENT_1001_TALK", "6")
        assert await ami.getvar("AGENT_1001_TALK") == "6"
        assert second.actions("Getvar")
    finally:
        await ami.close()


async def test_close_cancels_a_scheduled_reconnect(server: FakeAmi) -> None:
    ami = make_client(server, reconnect_min=0.2, reconnect_max=0.2)
    connections = ConnectionLog()
    ami.on_connection(connections)
    await ami.connect()
    (await server.wait_session(1)).abort()
    await connections.wait_for(True, False)
    await ami.close()
    await asyncio.sleep(0.4)  # twice the reconnect delay: panoramisk would log in again here
    assert len(server.sessions) == 1
    assert not ami.connected


async def test_backoff_doubles_up_to_the_maximum_then_recovers(server: FakeAmi) -> None:
    ami = make_client(server, reconnect_min=0.01, reconnect_max=0.04)
    connections = ConnectionLog()
    ami.on_connection(connections)
    try:
        await ami.connect()
        with RecordWaiter("ami.reconnect_scheduled") as scheduled:
            await server.stop_listening()
            (await server.wait_session(1)).abort()
            records = await scheduled.wait(5)
        assert [r.delay for r in records[:5]] == [0.01, 0.02, 0.04, 0.04, 0.04]  # type: ignore[attr-defined]
        await server.start(server.port)
        await connections.wait_for(True, False, True)
        assert await ami.ping() >= 0
    finally:
        await ami.close()


async def test_ping_watchdog_aborts_a_silent_server_and_reconnects(server: FakeAmi) -> None:
    server.answer_pings = False  # the first session reads but never answers
    ami = make_client(server, ping_interval=0.05, ping_timeout=0.1)
    connections = ConnectionLog()
    ami.on_connection(connections)
    await ami.connect()
    try:
        first = await server.wait_session(1)
        server.answer_pings = True  # the next session is healthy
        await first.wait_action("Ping")
        async with asyncio.timeout(WAIT):
            await first.closed.wait()  # the client gave up on it
        await connections.wait_for(True, False, True)
        second = await server.wait_session(2)
        await second.wait_action("Ping", 2)  # the watchdog keeps pinging the new link
        assert ami.connected
        assert ami.last_ping_rtt is not None
    finally:
        await ami.close()


async def test_close_logs_off_and_is_idempotent(server: FakeAmi) -> None:
    ami = make_client(server)
    await ami.connect()
    session = await server.wait_session(1)
    await ami.close()
    await session.wait_action("Logoff")
    await ami.close()
    assert not ami.connected
    with pytest.raises(AmiConnectionError):
        await ami.getvar("X")


async def test_resync_after_reconnect_ends_a_call_lost_meanwhile(server: FakeAmi) -> None:
    tracker = CallTracker()
    ami = make_client(server)

    async def resync(connected: bool) -> None:
        if connected:
            tracker.resync(await ami.core_show_channels())

    resynced = ConnectionLog()
    ami.on_event(tracker.feed)
    ami.on_connection(resync)
    ami.on_connection(resynced)
    await ami.connect()
    try:
        session = await server.wait_session(1)
        channel = {"Channel": "PJSIP/caller-1", "Uniqueid": "9.1", "Linkedid": "9.1"}
        session.send(
            AmiMessage.of(Event="Newchannel", ChannelStateDesc="Ring", CallerIDNum="+15550001", **channel)
        )
        session.send(AmiMessage.of(Event="QueueCallerJoin", Queue="support", **channel))
        session.send(AmiMessage.of(Event="UserEvent", UserEvent="marker"))
        queued = asyncio.Event()
        ami.on_event(lambda e: queued.set(), "UserEvent")
        async with asyncio.timeout(WAIT):
            await queued.wait()
        assert tracker.get("9.1") is not None and tracker.get("9.1").state is CallState.QUEUED  # type: ignore[union-attr]
        # Meanwhile the PBX lost the call and a new one is in the IVR.
        server.channels = [
            AmiMessage.of(Channel="PJSIP/other-2", Uniqueid="9.5", Linkedid="9.5", Application="AGI")
        ]
        session.abort()
        await resynced.wait_for(True, False, True)
        lost = tracker.get("9.1")
        assert lost is not None and lost.outcome is CallOutcome.LOST
        (live,) = tracker.live_calls
        assert live.linkedid == "9.5" and live.state is CallState.IN_IVR
    finally:
        await ami.close()


def test_backoff_values() -> None:
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5
    with pytest.raises(ValueError):
        Backoff(0, 1)
    with pytest.raises(ValueError):
        Backoff(1, 2, factor=0.5)
