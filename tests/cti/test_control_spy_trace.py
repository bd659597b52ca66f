"""Listen, whisper and barge send the very ``Originate`` the lab sent to a real Asterisk (traces l and l2).

A recording AMI server (over TCP, the real :class:`~cti.ami.client.AmiClient`
connected to it) replays what Asterisk 22.10.1 told the lab client up to its
first ChanSpy: the customer calls, agent ``Local/1001@agents`` answers.  The
call tracker learns the agent's channel from those events; then
:meth:`~cti.control.CallControl.spy` runs in each mode and the ``Originate``
the server received must carry the trace's ``Channel``, ``Application`` and
``Data`` — ``<the agent's ;1 channel>,q`` to listen, ``…,qw`` to whisper,
``…,qB`` to barge (the options show in no event, so only the action can be
checked) — with the trace's ``Timeout`` and ``Async``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from ami_fake_server import FakeAmi
from ami_trace_files import TRACES, transcript

from cti.ami.client import DEFAULT_EXCLUDED_EVENTS, AmiClient
from cti.ami.message import AmiMessage, parse_all
from cti.control import CallControl
from cti.tracker import CallTracker

WAIT = 5.0
SUPERVISOR = "Local/1009@agents"
AGENT = "Local/1001@agents"
#: The lab's ActionID of each mode's Originate in both traces.
MODES = {"listen": "spy-3", "whisper": "spy-5", "barge": "spy-7"}
TRACES_L = ["ami-l-chanspy-listen-whisper-barge", "ami-l2-chanspy-listen-whisper-barge"]


def _lab_actions(stem: str) -> dict[str, AmiMessage]:
    """The lab client's actions of the trace, by ActionID."""
    raw = (TRACES / f"{stem}.client-to-server.raw").read_bytes()
    return {m.get("ActionID") or "": m for m in parse_all(raw)[1]}


def _events_before_the_first_spy(stem: str) -> list[AmiMessage]:
    """The events Asterisk sent before the lab's first ChanSpy Originate (no answers to actions)."""
    received = bytearray()
    for block in transcript(stem):
        if block.direction == "C->S" and b"ActionID: spy-3" in block.data:
            break
        if block.direction == "S->C":
            received += block.data
    _, messages = parse_all(bytes(received), expect_banner=True)
    return [m for m in messages if m.event and m.get("ActionID") is None]


@pytest.fixture
async def server() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as fake:
        yield fake


@pytest.mark.parametrize("stem", TRACES_L)
async def test_each_spy_mode_sends_the_traces_originate(server: FakeAmi, stem: str) -> None:
    ami = AmiClient(
        host="127.0.0.1", port=server.port, username="cti", secret="cti-secret", ping_interval=60.0
    )
    tracker = CallTracker()
    replayed = _events_before_the_first_spy(stem)
    delivered = asyncio.Condition()
    seen: list[AmiMessage] = []

    async def on_event(message: AmiMessage) -> None:
        tracker.feed(message)
        async with delivered:
            seen.append(message)
            delivered.notify_all()

    ami.on_event(on_event)
    await ami.connect()
    try:
        session = await server.wait_session(1)
        marker = len(seen)
        for message in replayed:
            session.send(message)
        async with asyncio.timeout(WAIT), delivered:
            # The client drops the events it asked the PBX to filter out (AGIExecEnd).
            kept = [m for m in replayed if m.event not in DEFAULT_EXCLUDED_EVENTS]
            await delivered.wait_for(lambda: len(seen) - marker >= len(kept))
        control = CallControl(ami, tracker)
        lab = _lab_actions(stem)
        agent_channel = lab["spy-3"]["Data"].rpartition(",")[0]  # e.g. Local/1001@agents-00000019;1
        for count, (mode, action_id) in enumerate(MODES.items(), start=1):
            assert await control.spy(SUPERVISOR, AGENT, mode) == agent_channel
            sent = await session.wait_action("Originate", count)
            expected = lab[action_id]
            for field in ("Channel", "Application", "Data", "Timeout", "Async"):
                assert sent[field] == expected[field], f"{mode}: {field}"
        assert [m["Data"].rpartition(",")[2] for m in session.actions("Originate")] == ["q", "qw", "qB"]
    finally:
        await ami.close()
