"""Wrap-up discipline (issue 14, item 2): per-queue wrap-up time, extension, required wrap-up.

Time is virtual (:mod:`virtual_time`): the ACD's clock is the loop's, and a
test moves it and lets the due timers run, so nothing waits for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from virtual_time import Sink, VirtualTimeLoop, settle

from acd import Acd, AgentState, InvalidTransition, QueueConfig, QueueConfigError, QueuedCall, UnknownAgent
from acd.config import queue_from_mapping
from acd.events import AgentStateChanged, WrapUpMissed, decode

Scenario = Callable[[VirtualTimeLoop, Acd, Sink], Awaitable[None]]


def run(scenario: Scenario, *queues: QueueConfig) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        sink = Sink()
        acd = Acd(sink, clock=loop.time)
        for queue in queues or (QueueConfig("general"),):
            acd.add_queue(queue)
        try:
            await scenario(loop, acd, sink)
        finally:
            await acd.close()

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        runner.run(main())


async def advance(loop: VirtualTimeLoop, seconds: float) -> None:
    """Move virtual time forward second by second, letting due timers and flushes run."""
    whole = int(seconds)
    for _ in range(whole):
        loop.now += 1
        await settle()
    if seconds > whole:
        loop.now += seconds - whole
        await settle()


async def one_call_done(acd: Acd, call_id: str = "c1", queue: str = "general", login: str = "a1") -> float:
    """``login`` answers and ends ``call_id``; returns when it ended."""
    if login not in {a.login for a in acd.agents()}:
        acd.register_agent(login, login.upper(), f"PJSIP/{login}", [queue])
        await acd.set_agent_state(login, "available")
    await acd.enqueue(QueuedCall(call_id, queue))
    assert acd.status(login).call_id == call_id
    await acd.call_connected(call_id)
    await acd.call_ended(call_id)
    assert acd.status(login).state is AgentState.WRAP_UP
    window = acd.wrapup_window(login)
    assert window is not None
    return window.ended_at


REQUIRED = QueueConfig("vip", wrapup_seconds=20, wrapup_max_seconds=120, disposition_required=True)


# -- settings ------------------------------------------------------------------------------------


def test_default_wrapup_is_60_seconds_up_to_300() -> None:
    queue = queue_from_mapping("general", {})
    assert (queue.wrapup_seconds, queue.wrapup_max_seconds, queue.disposition_required) == (
        60.0,
        300.0,
        False,
    )
    assert QueueConfig("x").wrapup_seconds == 60.0
    own = queue_from_mapping(
        "vip", {"wrapup_seconds": 30, "wrapup_max_seconds": 90, "disposition_required": True}
    )
    assert (own.wrapup_seconds, own.wrapup_max_seconds, own.disposition_required) == (30.0, 90.0, True)
    # A wrap-up time beyond the default maximum raises the maximum with it.
    assert queue_from_mapping("long", {"wrapup_seconds": 400}).wrapup_max_seconds == 400.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"wrapup_seconds": 60, "wrapup_max_seconds": 30},
            "wrapup_max_seconds: must be at least wrapup_seconds",
        ),
        ({"wrapup_max_seconds": -1}, "wrapup_max_seconds: must not be negative"),
        ({"wrapup_max_seconds": "long"}, "wrapup_max_seconds: must be a number"),
        ({"disposition_required": "yes"}, "disposition_required: must be true or false"),
    ],
)
def test_bad_wrapup_settings_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(QueueConfigError, match=message):
        queue_from_mapping("q", raw)


def test_acd_default_is_60_seconds() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        acd.add_queue("bare")
        assert acd.queue_config("bare").wrapup_seconds == 60.0
        ended = await one_call_done(acd, queue="general")
        window = acd.wrapup_window("a1")
        assert window is not None and (window.until, window.max_until) == (ended + 60, ended + 300)
        entered = [e for e in sink.events if isinstance(e, AgentStateChanged) and e.state == "wrap_up"][-1]
        assert (entered.wrapup_until, entered.wrapup_max_until, entered.wrapup_required) == (
            ended + 60,
            ended + 300,
            False,
        )
        await advance(loop, 59)
        assert acd.status("a1").state is AgentState.WRAP_UP
        await advance(loop, 1)
        assert acd.status("a1").state is AgentState.AVAILABLE
        assert acd.wrapup_window("a1") is None

    run(scenario)


# -- extension ----------------------------------------------------------------------------------


def test_extension_within_the_maximum_moves_the_end() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        ended = await one_call_done(acd)
        assert await acd.extend_wrapup("a1", 100) == ended + 160
        await advance(loop, 100)
        assert await acd.extend_wrapup("a1", 140) == ended + 300  # exactly the maximum
        await advance(loop, 299 - 100)
        assert acd.status("a1").state is AgentState.WRAP_UP
        await advance(loop, 1)
        assert acd.status("a1").state is AgentState.AVAILABLE

    run(scenario)


def test_extension_beyond_the_maximum_is_refused_and_changes_nothing() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        ended = await one_call_done(acd)
        with pytest.raises(
            ValueError, match="at most 300 s after the call; it can be extended by 240 s more"
        ):
            await acd.extend_wrapup("a1", 241)
        for bad in (0, -5, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="extend the wrap-up by a"):
                await acd.extend_wrapup("a1", bad)
        window = acd.wrapup_window("a1")
        assert window is not None and window.until == ended + 60
        await advance(loop, 60)
        assert acd.status("a1").state is AgentState.AVAILABLE
        with pytest.raises(InvalidTransition, match="not in wrap-up"):
            await acd.extend_wrapup("a1", 10)
        with pytest.raises(UnknownAgent):
            await acd.extend_wrapup("nobody", 10)

    run(scenario)


# -- required wrap-up ---------------------------------------------------------------------------


def test_required_wrapup_holds_the_agent_until_saved_then_releases_at_once() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        await one_call_done(acd, queue="vip")
        window = acd.wrapup_window("a1")
        assert window is not None and window.required
        await advance(loop, 50)  # the wrap-up time (20 s) is over: still held
        record = acd.status("a1")
        assert record.state is AgentState.WRAP_UP and record.call_id == "c1"
        window = acd.wrapup_window("a1")
        assert window is not None and window.held and window.required
        await acd.wrapup_saved("a1", "c1")
        assert acd.status("a1").state is AgentState.AVAILABLE
        await acd.wrapup_saved("a1", "c1")  # idempotent
        await advance(loop, 200)
        assert not [e for e in sink.events if isinstance(e, WrapUpMissed)]

    run(scenario, REQUIRED)


def test_saved_before_the_time_is_over_ends_at_the_usual_time() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        await one_call_done(acd, queue="vip")
        await advance(loop, 5)
        await acd.wrapup_saved("a1", "c1")
        window = acd.wrapup_window("a1")
        assert window is not None and not window.required
        assert acd.status("a1").state is AgentState.WRAP_UP
        await advance(loop, 15)
        assert acd.status("a1").state is AgentState.AVAILABLE

    run(scenario, REQUIRED)


def test_saved_during_the_call_requires_nothing_after_it() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        acd.register_agent("a1", "A1", "PJSIP/a1", ["vip"])
        await acd.set_agent_state("a1", "available")
        await acd.enqueue(QueuedCall("c1", "vip"))
        await acd.call_connected("c1")
        await acd.wrapup_saved("a1", "c1")  # not the agent's wrap-up yet: remembered
        await acd.call_ended("c1")
        window = acd.wrapup_window("a1")
        assert window is not None and not window.required
        await acd.set_agent_state("a1", "available")  # Ready is allowed
        await advance(loop, 200)
        assert not [e for e in sink.events if isinstance(e, WrapUpMissed)]

    run(scenario, REQUIRED)


def test_maximum_passing_flags_the_call_and_frees_the_agent() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        ended = await one_call_done(acd, queue="vip")
        await advance(loop, 119)
        assert acd.status("a1").state is AgentState.WRAP_UP
        assert not [e for e in sink.events if isinstance(e, WrapUpMissed)]
        await advance(loop, 1)
        assert acd.status("a1").state is AgentState.AVAILABLE
        missed = [e for e in sink.events if isinstance(e, WrapUpMissed)]
        assert len(missed) == 1
        event = missed[0]
        assert (event.call_id, event.agent_login, event.queue, event.at) == ("c1", "a1", "vip", ended + 120)
        assert decode(event.model_dump_json()) == event  # travels on the bus like any event
        await acd.wrapup_saved("a1", "c1")  # saved late: nothing more happens
        assert len([e for e in sink.events if isinstance(e, WrapUpMissed)]) == 1

    run(scenario, REQUIRED)


@pytest.mark.parametrize("state", ["available", "paused"])
def test_ready_or_pause_refused_while_required_wrapup_unsaved(state: str) -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        await one_call_done(acd, queue="vip")
        for _ in range(2):  # during the wrap-up time, and once held after it
            with pytest.raises(InvalidTransition, match="save the call's wrap-up first"):
                await acd.set_agent_state("a1", state, "break" if state == "paused" else None)
            assert acd.status("a1").state is AgentState.WRAP_UP
            await advance(loop, 30)
        await acd.wrapup_saved("a1", "c1")
        assert acd.status("a1").state is AgentState.AVAILABLE

    run(scenario, REQUIRED)


def test_log_out_is_allowed_and_the_unsaved_call_is_still_flagged() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        await one_call_done(acd, queue="vip")
        await acd.set_agent_state("a1", "logged_out")
        assert acd.status("a1").state is AgentState.LOGGED_OUT
        await advance(loop, 120)
        assert [e.call_id for e in sink.events if isinstance(e, WrapUpMissed)] == ["c1"]
        assert acd.status("a1").state is AgentState.LOGGED_OUT

    run(scenario, REQUIRED)


def test_held_agent_is_not_offered_a_waiting_call_until_saved() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        await one_call_done(acd, queue="vip")
        ticket = await acd.enqueue(QueuedCall("c2", "vip"))
        await advance(loop, 60)  # wrap-up time over, the caller waits
        assert acd.status("a1").state is AgentState.WRAP_UP
        assert not ticket.offer.done()
        snapshot = acd.snapshot()
        assert [w.call_id for q in snapshot.queues for w in q.waiting] == ["c2"]
        await acd.wrapup_saved("a1", "c1")
        record = acd.status("a1")
        assert record.state is AgentState.RINGING and record.call_id == "c2"
        assert ticket.offer.done() and ticket.offer.result().agent_login == "a1"

    run(scenario, REQUIRED)


def test_without_disposition_required_nothing_changes() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        await one_call_done(acd, queue="line")
        ticket = await acd.enqueue(QueuedCall("c2", "line"))
        await acd.set_agent_state("a1", "available")  # Ready ends the wrap-up early
        assert acd.status("a1").call_id == "c2" and ticket.offer.done()
        await acd.call_connected("c2")
        await acd.call_ended("c2")
        await advance(loop, 20)
        assert acd.status("a1").state is AgentState.AVAILABLE
        await advance(loop, 400)
        assert not [e for e in sink.events if isinstance(e, WrapUpMissed)]

    run(scenario, QueueConfig("line", wrapup_seconds=20))


def test_required_with_no_wrapup_time_holds_from_the_call_end() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        await one_call_done(acd, queue="strict")
        await settle()
        window = acd.wrapup_window("a1")
        assert window is not None and window.held
        await acd.wrapup_saved("a1", "c1")
        assert acd.status("a1").state is AgentState.AVAILABLE

    run(scenario, QueueConfig("strict", wrapup_seconds=0, wrapup_max_seconds=60, disposition_required=True))


def test_paused_after_call_agent_goes_back_to_the_pause() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        acd.register_agent("a1", "A1", "PJSIP/a1", ["vip"])
        await acd.set_agent_state("a1", "available")
        await acd.enqueue(QueuedCall("c1", "vip"))
        await acd.call_connected("c1")
        await acd.force_state("a1", "paused", "coaching", by="sup")
        await acd.call_ended("c1")
        assert acd.status("a1").state is AgentState.WRAP_UP
        await advance(loop, 30)  # held: the required wrap-up is not saved
        assert acd.status("a1").state is AgentState.WRAP_UP
        await acd.wrapup_saved("a1", "c1")
        record = acd.status("a1")
        assert (record.state, record.reason) == (AgentState.PAUSED, "coaching")

        # The same without the save: back to the pause when the maximum passes.
        await acd.set_agent_state("a1", "available")
        await acd.enqueue(QueuedCall("c2", "vip"))
        await acd.call_connected("c2")
        await acd.force_state("a1", "paused", "coaching", by="sup")
        await acd.call_ended("c2")
        await advance(loop, 120)
        record = acd.status("a1")
        assert (record.state, record.reason) == (AgentState.PAUSED, "coaching")
        assert [e.call_id for e in sink.events if isinstance(e, WrapUpMissed)] == ["c2"]

    run(scenario, REQUIRED)


def test_supervisor_may_free_a_held_agent_and_the_call_is_still_flagged() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        await one_call_done(acd, queue="vip")
        await advance(loop, 30)
        await acd.force_state("a1", "available", by="sup")
        assert acd.status("a1").state is AgentState.AVAILABLE
        await advance(loop, 90)
        assert [e.call_id for e in sink.events if isinstance(e, WrapUpMissed)] == ["c1"]

    run(scenario, REQUIRED)


def test_extension_of_a_held_wrapup_still_needs_the_save() -> None:
    async def scenario(loop: VirtualTimeLoop, acd: Acd, sink: Sink) -> None:
        ended = await one_call_done(acd, queue="vip")
        await advance(loop, 30)
        assert await acd.extend_wrapup("a1", 20) == ended + 50
        await advance(loop, 25)
        window = acd.wrapup_window("a1")
        assert window is not None and window.held
        with pytest.raises(ValueError, match="at most 120 s"):
            await acd.extend_wrapup("a1", 70)

    run(scenario, REQUIRED)
