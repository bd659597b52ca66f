"""Faithfulness: scenario n (device and extension state), ``ami-n-devicestate-extensionstatus``.

The lab's hints (``[lab-hints]``: ``1001``/``1002`` → ``Local/100X@agents``,
``agent1`` → ``Custom:agent1``) are declared with
:meth:`PbxSimulator.add_hint`, and the trace's own requests are replayed
(the ``Hangup`` with this run's channel name).  What must match the real
Asterisk:

* every action's answer, key for key (:mod:`trace_compare`):
  ``ExtensionStateList`` (list of ``ExtensionStatus`` with ``ActionID``
  second, ``ExtensionStateListComplete``), ``ExtensionState`` (a response;
  ``Status: -1`` ``Unknown`` and an empty ``Hint`` for ``9999``), ``Setvar
  DEVICE_STATE(Custom:agent1)`` (``Variable Set``), ``Getvar`` of
  ``DEVICE_STATE()`` and ``EXTENSION_STATE()`` without a channel;
* the published ``ExtensionStatus`` and ``DeviceStateChange`` events, in
  order: the Local device goes ``1 InUse`` as it is called (still ringing),
  nothing new when it answers, ``0 Idle`` at hangup; the Custom device
  follows each ``Setvar`` word (``8 Ringing``, ``1 InUse``, ``16 Hold``,
  ``0 Idle``, ``4 Unavailable``, ``0 Idle``);
* the call's ``DeviceStateChange`` events at the same places among its
  channel events: one ``INUSE`` when the device rings (never ``RINGING``),
  two more when both halves answer, two ``NOT_INUSE`` after both halves hung
  up.

The order of an ``ExtensionStatus`` and the ``DeviceStateChange`` of the same
change varies in the trace itself (either first), so it is not compared;
``OriginateResponse`` is left out of the channel-event order because its place
varies between real traces (b2 has it between the two ``Newstate Up``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sim_harness import AmiTestClient, normalise, trace_messages
from trace_compare import answer_to, assert_same_answer, canonical

from cti.ami.message import AmiMessage
from cti.simulator import Hint, PbxSimulator, SimulatorConfig
from cti.simulator.dialplan.lab import LAB_HINTS

TRACE = "ami-n-devicestate-extensionstatus"
DEVICE = "Local/1001@agents"
CUSTOM = "Custom:agent1"
ORDERED = {
    "Newchannel",
    "LocalBridge",
    "DialBegin",
    "Newstate",
    "DialState",
    "DialEnd",
    "SoftHangupRequest",
    "HangupRequest",
    "Hangup",
    "DeviceStateChange",
}
SETVARS = [f"setvar-{n}" for n in range(9, 15)]


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(SimulatorConfig(ami_username="cti", ami_secret="cti-secret", speed=20))
    await simulator.start()
    for hint in LAB_HINTS:
        simulator.add_hint(hint)
    # The lab phone of trace n answers and echoes until hung up (conf-live-h-o [agents]: Answer(), Echo()).
    simulator.set_global("AGENT_1001_TALK", "")
    yield simulator
    await simulator.close()


def _requests() -> dict[str, AmiMessage]:
    return {m["ActionID"]: m for m in trace_messages(TRACE, "client-to-server")}


def with_channel(message: AmiMessage, channel: str) -> AmiMessage:
    return AmiMessage([(k, channel if k == "Channel" else v) for k, v in message.fields])


def published(messages: list[AmiMessage], event: str, device: str | None = None) -> list[AmiMessage]:
    """The *event*s published to everybody (no ``ActionID``), of *device* if given."""
    return [
        m
        for m in messages
        if m.event == event and "ActionID" not in m and (device is None or m.get("Device") == device)
    ]


def call_part(messages: list[AmiMessage]) -> list[AmiMessage]:
    """The events of the agent-device call, from its first Newchannel to its last DeviceStateChange."""
    start = next(i for i, m in enumerate(messages) if m.event == "Newchannel")
    end = max(
        i for i, m in enumerate(messages) if m.event == "DeviceStateChange" and m.get("Device") == DEVICE
    )
    return [m for m in messages[start : end + 1] if m.event in ORDERED]


async def _reply(client: AmiTestClient, request: AmiMessage) -> AmiMessage:
    action_id = request["ActionID"]
    client.send_message(request)
    return await client.wait_for(lambda m: m.response is not None and m.get("ActionID") == action_id)


async def run_n(sim: PbxSimulator) -> list[AmiMessage]:
    """Replay the whole trace, waiting where the real client waited for the PBX."""
    requests = _requests()
    client = await AmiTestClient.connect(sim.ami_port)
    try:
        await _reply(client, requests["login-1"])
        client.send_message(requests["extensionstatelist-2"])
        await client.wait_for(lambda m: m.event == "ExtensionStateListComplete")
        for action_id in ("extensionstate-3", "extensionstate-4"):
            await _reply(client, requests[action_id])

        await _reply(client, requests["orig-5"])
        answered = await client.wait_for(lambda m: m.event == "OriginateResponse")
        await client.wait_count(lambda m: m.event == "DeviceStateChange", 3)
        await _reply(client, requests["extensionstate-6"])
        await _reply(client, with_channel(requests["hangup-7"], answered["Channel"]))
        await client.wait_count(lambda m: m.event == "DeviceStateChange" and m["State"] == "NOT_INUSE", 2)
        await client.wait_count(lambda m: m.event == "ExtensionStatus" and m["StatusText"] == "Idle", 4)
        await _reply(client, requests["extensionstate-8"])

        for count, action_id in enumerate(SETVARS, start=1):
            await _reply(client, requests[action_id])
            await client.wait_count(_of(CUSTOM, "DeviceStateChange"), count)
            await client.wait_count(_of("agent1", "ExtensionStatus"), count)
        for action_id in ("getvar-15", "getvar-16"):
            await _reply(client, requests[action_id])
        client.send_message(requests["logoff-17"])
        await client.wait_closed()
    finally:
        await client.close()
    return client.messages


def _of(name: str, event: str) -> Callable[[AmiMessage], bool]:
    key = "Device" if event == "DeviceStateChange" else "Exten"
    return lambda m: m.event == event and "ActionID" not in m and m.get(key) == name


async def test_every_answer_matches_the_trace(sim: PbxSimulator) -> None:
    ours, real = await run_n(sim), trace_messages(TRACE)
    for action_id in _requests():  # Login, the Originate's response and OriginateResponse included
        assert_same_answer(answer_to(ours, action_id), answer_to(real, action_id), sort=False)
    # The values that matter, spelled out (assert_same_answer compared them with the trace).
    states = {
        m["ActionID"]: (m["Status"], m["StatusText"]) for m in ours if m.get("Message") == "Extension Status"
    }
    assert states["extensionstate-3"] == ("0", "Idle") and states["extensionstate-4"] == ("-1", "Unknown")
    assert states["extensionstate-6"] == ("1", "InUse") and states["extensionstate-8"] == ("0", "Idle")
    listed = [m for m in answer_to(ours, "extensionstatelist-2") if m.event == "ExtensionStatus"]
    assert [m["Exten"] for m in listed] == ["1001", "1002", "agent1"]
    values = {m["ActionID"]: m["Value"] for m in ours if m.get("Variable")}
    assert values == {"getvar-15": "NOT_INUSE", "getvar-16": "NOT_INUSE"}


async def test_published_extension_and_device_states_match_the_trace(sim: PbxSimulator) -> None:
    ours, real = await run_n(sim), trace_messages(TRACE)
    assert canonical(published(ours, "ExtensionStatus")) == canonical(published(real, "ExtensionStatus"))
    assert [m["StatusText"] for m in published(ours, "ExtensionStatus")] == [
        *("InUse", "Idle"),
        *("Ringing", "InUse", "Hold", "Idle", "Unavailable", "Idle"),
    ]
    custom = published(ours, "DeviceStateChange", CUSTOM)
    assert canonical(custom) == canonical(published(real, "DeviceStateChange", CUSTOM))
    assert [m["State"] for m in custom] == [_requests()[action_id]["Value"] for action_id in SETVARS]
    # Each Setvar's reply comes first, then its two events, before the next action.
    for action_id in SETVARS:
        at = next(i for i, m in enumerate(ours) if m.get("ActionID") == action_id)
        following = [m.event for m in ours[at + 1 : at + 3]]
        assert sorted(following) == ["DeviceStateChange", "ExtensionStatus"], action_id


def _first(messages: list[AmiMessage], predicate: Callable[[AmiMessage], bool]) -> int:
    return next(i for i, m in enumerate(messages) if predicate(m))


def _hint_places(messages: list[AmiMessage]) -> tuple[int, int, int, int, int]:
    """Where DialBegin, the hint's InUse, the first Newstate Up, ``;1``'s Hangup and the hint's Idle are."""
    statuses = published(messages, "ExtensionStatus")
    return (
        _first(messages, lambda m: m.event == "DialBegin"),
        _first(messages, lambda m: m in statuses and m["StatusText"] == "InUse"),
        _first(messages, lambda m: m.event == "Newstate" and m["ChannelStateDesc"] == "Up"),
        _first(messages, lambda m: m.event == "Hangup" and m["Channel"].endswith(";1")),
        _first(messages, lambda m: m in statuses and m["StatusText"] == "Idle"),
    )


async def test_the_call_changes_the_hint_as_on_the_real_asterisk(sim: PbxSimulator) -> None:
    """``1 InUse`` while the device rings, nothing more when it answers, ``0 Idle`` once ``;1`` is gone."""
    for messages in (await run_n(sim), trace_messages(TRACE)):
        dial_begin, in_use, first_up, hangup_one, idle = _hint_places(messages)
        assert dial_begin < in_use < first_up < hangup_one < idle
        assert not any(m.event == "ExtensionStatus" for m in messages[in_use + 1 : hangup_one])


async def test_device_states_of_a_local_agent_device_match_the_trace(sim: PbxSimulator) -> None:
    ours = call_part(await run_n(sim))
    real = call_part(trace_messages(TRACE))
    assert [m.event for m in ours] == [m.event for m in real]
    assert normalise(ours, skip=set()) == normalise(real, skip=set())


async def test_refused_and_repeated_writes_change_nothing(sim: PbxSimulator) -> None:
    """``DEVICE_STATE`` of a non-Custom device is refused; the same word twice publishes nothing new."""
    sim.add_hint(Hint("1003", "lab-hints", "Local/1003@agents&Custom:agent3"))
    client = await AmiTestClient.connect(sim.ami_port)
    try:
        await _reply(client, _requests()["login-1"])

        def setvar(action_id: str, variable: str, value: str) -> AmiMessage:
            return AmiMessage.of(Action="Setvar", ActionID=action_id, Variable=variable, Value=value)

        refused = await _reply(client, setvar("s1", f"DEVICE_STATE({DEVICE})", "INUSE"))
        assert (refused.response, refused["Message"]) == ("Error", "Variable not set")
        no_exten = await _reply(client, AmiMessage.of(Action="ExtensionState", ActionID="e1", Context="x"))
        assert (no_exten.response, no_exten["Message"]) == ("Error", "Extension not specified")
        for action_id in ("s2", "s3"):
            await _reply(client, setvar(action_id, "DEVICE_STATE(Custom:agent3)", "busy"))
        state = await _reply(client, AmiMessage.of(Action="ExtensionState", ActionID="e2", Exten="1003"))
        await _reply(client, AmiMessage.of(Action="Ping", ActionID="p1"))
        await _reply(client, AmiMessage.of(Action="Ping", ActionID="p2"))  # two loop turns: events are out
    finally:
        await client.close()
    assert [state[k] for k in ("Context", "Hint", "Status", "StatusText")] == ["default", "", "-1", "Unknown"]
    changes = [(m["Device"], m["State"]) for m in published(client.messages, "DeviceStateChange")]
    assert changes == [("Custom:agent3", "BUSY")]  # once, spelled as ast_devstate_str spells it
    statuses = [
        (m["Exten"], m["Status"], m["StatusText"]) for m in published(client.messages, "ExtensionStatus")
    ]
    assert statuses == [("1003", "2", "Busy")]
    assert not any(m.event == "VarSet" for m in client.messages)
    assert sim.pbx.database == {("CustomDevstate", "agent3"): "busy"}
