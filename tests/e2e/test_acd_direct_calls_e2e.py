"""Direct calls through the PBX simulator: an agent whose phone is on a call the ACD did not route.

Somebody dials the agent's device directly (the simulator's
``call_device``, trace n's Originate).  The service sees it only through
AMI (``DeviceStateChange``); the ACD must not offer that agent a queued
call meanwhile — another free agent takes it, or the caller waits — must not
pause them, and gives them the waiting call once the direct call is over.
Both device kinds: SIP phones without call waiting (a second call would
answer busy) and the lab's Local devices (trace n's device states).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from acd_kit import AgentSpec, CustomerSpec, World, world

from acd.events import AgentStateChanged
from cti.simulator import AgentPhone, DirectCall

COLLEAGUE = "+8613900000077"  # dials the agent's extension directly
FIRST, SECOND = "+8613900000021", "+8613900000022"
CUSTOMERS = [CustomerSpec("First Caller", FIRST), CustomerSpec("Second Caller", SECOND)]
WAIT = 15.0


@dataclass(frozen=True)
class LocalAgent(AgentSpec):
    """An agent answering on the lab's ``Local/<ext>@agents`` device (trace n)."""

    @property
    def device(self) -> str:
        return f"Local/{self.extension}@agents"


class Reconciled(logging.Handler):
    """Set once the service has reconciled its agents with the PBX after its AMI login."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.done = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "acd.reconciled":
            self.done.set()


@asynccontextmanager
async def connected_world(db_url: str, tmp_path: Path, team: Iterable[AgentSpec]) -> AsyncIterator[World]:
    """The ACD world, once the service is logged in to the PBX and has reconciled with it.

    A direct call placed before that would be found by the reconciliation
    (``CoreShowChannels``); these tests are about the calls that begin later.
    """
    reconciled = Reconciled()
    logger = logging.getLogger("acd.agents")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(reconciled)
    try:
        async with world(db_url, tmp_path, team, CUSTOMERS) as w:
            async with asyncio.timeout(WAIT):
                await reconciled.done.wait()
            yield w
    finally:
        logger.removeHandler(reconciled)
        logger.setLevel(level)


def agents(kind: str, *logins: str) -> list[AgentSpec]:
    spec = LocalAgent if kind == "local" else AgentSpec
    return [spec(login, f"100{n}", ("general",), answer_after=0.5) for n, login in enumerate(logins, 1)]


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {WAIT} s: {what}")


async def direct_call(w: World, agent: AgentSpec) -> DirectCall:
    """``agent``'s phone takes a direct call; returns once the service has seen it answered."""
    stack = w.stack
    assert stack.simulator is not None and stack.service is not None
    if agent.device.startswith("PJSIP/"):
        # A SIP phone without call waiting: an offer while it is busy would answer 486 Busy Here.
        stack.add_phone(AgentPhone(agent.device, answer_after=agent.answer_after, call_waiting=False))
    call = stack.simulator.call_device(agent.device, caller_id=COLLEAGUE)
    await call.wait_answered(timeout=WAIT)
    tracker = stack.service.tracker

    def answer_seen() -> bool:
        # The device's DeviceStateChange precedes the answer on the AMI link: seen too.
        seen = tracker.by_uniqueid(call.uniqueid)
        leg = seen.legs.get(call.uniqueid) if seen is not None else None
        return leg is not None and leg.answered_at is not None

    await until(answer_seen, "the direct call answered, as seen over AMI")
    return call


def states(w: World, login: str) -> list[str]:
    return [e.state for e in w.recorder.events if isinstance(e, AgentStateChanged) and e.agent_login == login]


def offers(w: World, call_id: str) -> list[str | None]:
    return [t.agent_login for t in w.recorder.transitions(call_id) if t.event == "offered"]


@pytest.mark.parametrize("kind", ["sip", "local"])
async def test_the_agent_on_a_direct_call_is_skipped_then_served_again(
    db_url: str, tmp_path: Path, kind: str
) -> None:
    ann, bob = agents(kind, "ann", "bob")
    async with connected_world(db_url, tmp_path, [ann, bob]) as w:
        await w.state("ann", "available")  # ann has been available longest: she would be offered first
        await w.state("bob", "available")
        colleague = await direct_call(w, ann)
        first = await w.call(FIRST, "1")
        assert await w.recorder.offered(first.linkedid) == "bob"
        assert offers(w, first.linkedid) == ["bob"]
        colleague.hangup()
        await colleague.wait_finished(timeout=WAIT)
        # bob is talking; ann's phone is free again: the next caller is hers.
        second = await w.call(SECOND, "1")
        assert await w.recorder.offered(second.linkedid) == "ann"
        assert "paused" not in states(w, "ann")
        assert not [t for t in w.recorder.transitions() if t.event in ("no_answer", "ring_failed")]
        await first.hangup()
        await second.hangup()


async def test_the_caller_waits_for_the_only_agent_until_the_direct_call_ends(
    db_url: str, tmp_path: Path
) -> None:
    (ann,) = agents("local", "ann")
    async with connected_world(db_url, tmp_path, [ann]) as w:
        await w.state("ann", "available")
        colleague = await direct_call(w, ann)
        caller = await w.call(FIRST, "1")
        await w.waiting(caller, "general")
        # The ACD decides when the call joins: it kept the call waiting, it did not ring ann.
        assert [c.call_id for c in w.acd.waiting_calls("general")] == [caller.linkedid]
        assert offers(w, caller.linkedid) == []
        colleague.hangup()
        assert await w.recorder.offered(caller.linkedid) == "ann"
        assert offers(w, caller.linkedid) == ["ann"]
        connected = await w.recorder.transition(caller.linkedid, "connected")
        assert connected.agent_login == "ann"
        assert states(w, "ann")[0] == "available" and "paused" not in states(w, "ann")
        await caller.hangup()
