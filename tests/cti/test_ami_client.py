"""AmiClient over real TCP against a trace-replaying AMI server: actions, bytes, events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from ami_fake_server import FakeAmi, FakeSession
from ami_trace_files import SCENARIOS, TRACES, client_blocks, transcript

from cti.ami.client import (
    DEFAULT_EXCLUDED_EVENTS,
    AmiActionError,
    AmiClient,
    AmiConnectionError,
    AmiTimeoutError,
)
from cti.ami.message import AmiMessage, encode, parse_all
from cti.ami.protocol import AmiLink
from cti.tracker import CallOutcome, CallTracker

WAIT = 5.0


def make_client(server: FakeAmi, **options: object) -> AmiClient:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": "cti",
        "secret": "cti-secret",
        "ping_interval": 60.0,
        "action_timeout": 2.0,
    }
    settings.update(options)
    return AmiClient(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def server() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as fake:
        yield fake


@pytest.fixture
async def client(server: FakeAmi) -> AsyncIterator[AmiClient]:
    ami = make_client(server)
    await ami.connect()
    yield ami
    await ami.close()


class EventLog:
    """Collects delivered events; awaitable until a predicate holds."""

    def __init__(self) -> None:
        self.events: list[AmiMessage] = []
        self._changed = asyncio.Condition()

    async def __call__(self, event: AmiMessage) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, name: str, count: int = 1) -> list[AmiMessage]:
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: len(self.named(name)) >= count)
        return self.named(name)

    def named(self, name: str) -> list[AmiMessage]:
        return [e for e in self.events if e.event == name]


async def test_login_and_filters_are_the_recorded_bytes(server: FakeAmi, client: AmiClient) -> None:
    session = await server.wait_session(1)
    await session.wait_action("Filter", len(DEFAULT_EXCLUDED_EVENTS))
    sent = parse_all(bytes(session.raw))[1]
    trace_a_login = client_blocks(SCENARIOS["a"])[0]
    trace_b2 = client_blocks(SCENARIOS["b2"])
    assert encode(sent[0].fields) == trace_a_login  # Action: Login … Events: on
    assert encode(sent[1].fields) == trace_b2[1]  # MatchCriteria: action(exclude),name(VarSet)
    assert sent[2]["MatchCriteria"] == "action(exclude),name(Newexten)"
    # DeviceStateChange is not filtered by default: the ACD follows agents' devices with it.
    assert [m["MatchCriteria"] for m in sent[1:]] == [
        "action(exclude),name(VarSet)",
        "action(exclude),name(Newexten)",
        "action(exclude),name(AGIExecEnd)",
    ]
    assert client.connected
    assert client.banner == "Asterisk Call Manager/11.0.0"


async def test_an_excluded_event_filter_is_the_recorded_bytes(server: FakeAmi) -> None:
    ami = make_client(server, exclude_events=("VarSet", "Newexten", "DeviceStateChange"))
    await ami.connect()
    try:
        session = await server.wait_session(1)
        await session.wait_action("Filter", 3)
        sent = parse_all(bytes(session.raw))[1]
        assert encode(sent[3].fields) == client_blocks(SCENARIOS["b2"])[3]  # …name(DeviceStateChange)
    finally:
        await ami.close()


async def test_utf8_character_split_between_two_reads(
    server: FakeAmi, client: AmiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks: list[bytes] = []
    read = asyncio.Event()
    original = AmiLink.data_received

    def spy(link: AmiLink, data: bytes) -> None:
        chunks.append(data)
        read.set()
        original(link, data)

    monkeypatch.setattr(AmiLink, "data_received", spy)
    events = EventLog()
    client.on_event(events, "NewCallerid")
    session = await server.wait_session(1)
    await session.wait_action("Filter", 2)
    data = "Event: NewCallerid\r\nChannel: PJSIP/zoe-00000001\r\nCallerIDName: Zoë\r\nUniqueid: 1.1\r\n\r\n"
    payload = data.encode()
    cut = payload.index("ë".encode()) + 1  # between the two bytes of "ë"
    read.clear()
    session.write(payload[:cut])
    async with asyncio.timeout(WAIT):
        await read.wait()  # the client has read the first half alone
    session.write(payload[cut:])
    (event,) = await events.wait_for("NewCallerid")
    assert event["CallerIDName"] == "Zoë"
    assert chunks[-2].endswith(b"Zo\xc3") and chunks[-1].startswith(b"\xab")


async def test_originate_sends_async_true_and_delivers_originate_response(
    server: FakeAmi, client: AmiClient
) -> None:
    events = EventLog()
    client.on_event(events, "OriginateResponse")
    response = await client.originate(
        "Local/s@ivr-in", context="caller", exten="wait", caller_id='"Alice Customer" <+15551230001>'
    )
    assert response["Message"] == "Originate successfully queued"
    action_id = response["ActionID"]
    recorded = client_blocks(SCENARIOS["b2"])[4]  # the Originate of trace b2
    expected = recorded.replace(
        b"ActionID: b2-inbound-call-filtered-originate", f"ActionID: {action_id}".encode()
    )
    session = server.sessions[0]
    assert expected in bytes(session.raw)
    assert b"Async: true\r\n" in expected
    (originate_response,) = await events.wait_for("OriginateResponse")
    assert originate_response["ActionID"] == action_id
    assert originate_response.variables() == {"IVR_CHOICE": "", "IVR_ACCOUNT": ""}


async def test_originate_fields_for_an_application_with_variables(server: FakeAmi, client: AmiClient) -> None:
    await client.originate(
        "PJSIP/1001",
        application="Playback",
        data="hello-world",
        timeout_ms=5000,
        variables={"A": "1", "B": "2"},
    )
    sent = (await server.sessions[0].wait_action("Originate")).fields
    assert [k for k, _ in sent] == [
        "Action", "ActionID", "Channel", "Application", "Data", "Timeout", "Variable", "Variable", "Async",
    ]  # fmt: skip
    assert sent[-3:] == [("Variable", "A=1"), ("Variable", "B=2"), ("Async", "true")]


async def test_originate_needs_a_destination(client: AmiClient) -> None:
    with pytest.raises(ValueError, match="context and exten"):
        await client.originate("PJSIP/1001", context="caller")
    with pytest.raises(ValueError, match="not both"):
        await client.originate("PJSIP/1001", application="Playback", context="x", exten="s")


async def test_error_response_raises_action_error(server: FakeAmi, client: AmiClient) -> None:
    with pytest.raises(AmiActionError) as caught:
        await client.hangup("Local/none@nowhere-00000000;1")
    assert caught.value.message == "No such channel"
    assert caught.value.response["Response"] == "Error"
    sent = await server.sessions[0].wait_action("Hangup")
    assert [k for k, _ in sent.fields] == ["Action", "ActionID", "Channel", "Cause"]  # as in trace g
    with pytest.raises(AmiActionError, match="Invalid/unknown command"):
        await client.action("NoSuchAction")


async def test_setvar_getvar_and_unset_variable(client: AmiClient) -> None:
    await client.setvar("AGENT_1001_DELAY", "2")
    assert await client.getvar("AGENT_1001_DELAY") == "2"
    assert await client.getvar("NEVER_SET") is None


async def test_play_dtmf_fields_and_validation(server: FakeAmi, client: AmiClient) -> None:
    server.extra["playdtmf"] = lambda s, m: s.send(
        AmiMessage.of(Response="Success", ActionID=m["ActionID"], Message="DTMF successfully queued")
    )
    await client.play_dtmf("Local/s@dtmf-lab-00000006;2", "#", receive=True)
    sent = await server.sessions[0].wait_action("PlayDTMF")
    recorded = [
        b for b in client_blocks("ami-f-dtmf-delivery-methods") if b"Digit: #" in b and b"Receive" in b
    ]
    assert encode(sent.fields) == recorded[0].replace(b"playdtmf-16", sent["ActionID"].encode())
    with pytest.raises(ValueError, match="DTMF digit"):
        await client.play_dtmf("PJSIP/1", "12")


async def test_action_list_returns_items_without_the_complete_event(
    server: FakeAmi, client: AmiClient
) -> None:
    server.channels = [
        AmiMessage.of(Channel="PJSIP/a-1", Uniqueid="1.1", Linkedid="1.1", Application="Queue"),
        AmiMessage.of(Channel="PJSIP/b-2", Uniqueid="1.2", Linkedid="1.1", Application="AppDial"),
    ]
    channels = await client.core_show_channels()
    assert [c["Channel"] for c in channels] == ["PJSIP/a-1", "PJSIP/b-2"]
    assert all(c.event == "CoreShowChannel" for c in channels)
    # An unknown queue answers Success with an empty list (trace e2), not an error.
    recorded = parse_all(
        (TRACES / f"{SCENARIOS['e2']}.server-to-client.raw").read_bytes(), expect_banner=True
    )[1]
    start, complete = (m for m in recorded if m.get("ActionID") == "queuestatus-6")

    def queue_status(session: FakeSession, request: AmiMessage) -> None:
        for recorded_msg in (start, complete):
            fields = [(k, request["ActionID"] if k == "ActionID" else v) for k, v in recorded_msg.fields]
            session.send(AmiMessage(fields))

    server.extra["queuestatus"] = queue_status
    assert await client.action_list("QueueStatus", Queue="nosuchqueue") == []


async def test_action_without_answer_times_out(server: FakeAmi) -> None:
    server.extra["getvar"] = lambda session, msg: None
    ami = make_client(server, action_timeout=0.2)
    await ami.connect()
    try:
        with pytest.raises(AmiTimeoutError, match="Getvar"):
            await ami.getvar("X")
        assert await ami.ping() >= 0  # the link is still usable
    finally:
        await ami.close()


async def test_action_in_flight_fails_when_the_connection_drops(server: FakeAmi, client: AmiClient) -> None:
    server.extra["getvar"] = lambda session, msg: None
    pending = asyncio.ensure_future(client.getvar("X"))
    session = server.sessions[0]
    await session.wait_action("Getvar")
    session.abort()
    with pytest.raises(AmiConnectionError):
        async with asyncio.timeout(WAIT):
            await pending


async def test_caller_fields_are_validated(client: AmiClient) -> None:
    with pytest.raises(ValueError, match="ActionID"):
        await client.action("Ping", ActionID="mine")


async def test_events_arrive_in_order_filtered_and_feed_the_tracker(
    server: FakeAmi, client: AmiClient
) -> None:
    tracker = CallTracker()
    events = EventLog()
    client.on_event(events)
    client.on_event(tracker.feed)
    session = server.sessions[0]
    await session.wait_action("Filter", len(DEFAULT_EXCLUDED_EVENTS))
    raw = (TRACES / f"{SCENARIOS['b']}.server-to-client.raw").read_bytes()
    banner_end = raw.index(b"\r\n") + 2
    recorded = parse_all(raw[banner_end:])[1]
    excluded = set(DEFAULT_EXCLUDED_EVENTS)
    expected = [m for m in recorded if m.event and m.event not in excluded]
    assert len(expected) < len([m for m in recorded if m.event])  # trace b is unfiltered
    session.write(raw[banner_end:])
    await events.wait_for("QueueStatusComplete")
    assert [e.fields for e in events.events] == [e.fields for e in expected]
    (call,) = tracker.recent_calls
    assert call.outcome is CallOutcome.ANSWERED
    assert call.agent == "Agent 1001"


async def test_async_callbacks_run_one_at_a_time_and_a_failing_one_is_isolated(
    server: FakeAmi, client: AmiClient, caplog: pytest.LogCaptureFixture
) -> None:
    order: list[str] = []

    async def slow(event: AmiMessage) -> None:
        order.append(f"start {event['N']}")
        await asyncio.sleep(0)
        order.append(f"end {event['N']}")

    def broken(event: AmiMessage) -> None:
        raise RuntimeError("consumer bug")

    events = EventLog()
    client.on_event(slow, "User*")
    client.on_event(broken, "userevent")
    client.on_event(events, "UserEvent")
    session = server.sessions[0]
    for n in range(3):
        session.send(AmiMessage.of(Event="UserEvent", N=str(n)))
    with caplog.at_level(logging.ERROR, logger="cti.ami"):
        await events.wait_for("UserEvent", 3)
    assert order == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]
    assert sum(r.getMessage() == "ami.callback_failed" for r in caplog.records) == 3


async def test_refused_filter_still_filters_on_the_client(server: FakeAmi) -> None:
    server.extra["filter"] = lambda s, m: s.send(
        AmiMessage.of(Response="Error", ActionID=m["ActionID"], Message="Permission denied")
    )
    ami = make_client(server)
    events = EventLog()
    ami.on_event(events)
    await ami.connect()
    try:
        session = server.sessions[0]
        session.send(AmiMessage.of(Event="VarSet", Variable="X", Value="1"))
        session.send(AmiMessage.of(Event="Newexten", Exten="s"))
        session.send(AmiMessage.of(Event="Hangup", Uniqueid="1.1"))
        await events.wait_for("Hangup")
        assert [
            e.event for e in events.events if e.event != "FullyBooted" and e.event != "SuccessfulAuth"
        ] == ["Hangup"]
    finally:
        await ami.close()


async def test_events_off_logs_in_without_filters(server: FakeAmi) -> None:
    ami = make_client(server, events=False)
    await ami.connect()
    try:
        assert await ami.ping() >= 0
        session = server.sessions[0]
        assert session.actions("Login")[0]["Events"] == "off"
        assert session.actions("Filter") == []
    finally:
        await ami.close()


def test_constructor_rejects_bad_timings() -> None:
    with pytest.raises(ValueError, match="ping_interval"):
        AmiClient(host="h", port=1, username="u", secret="s", ping_interval=0)
    with pytest.raises(ValueError, match="maximum"):
        AmiClient(host="h", port=1, username="u", secret="s", reconnect_min=2, reconnect_max=1)


def test_trace_transcripts_hold_the_raw_files() -> None:
    # The transcript reader used by these tests is byte-exact.
    for stem in SCENARIOS.values():
        blocks = transcript(stem)
        sent = b"".join(b.data for b in blocks if b.direction == "C->S")
        got = b"".join(b.data for b in blocks if b.direction == "S->C")
        assert sent == (TRACES / f"{stem}.client-to-server.raw").read_bytes()
        assert got == (TRACES / f"{stem}.server-to-client.raw").read_bytes()
