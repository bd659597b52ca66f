"""A transferred call keeps every leg: the console's REST API → bankcti → AMI → the simulated Asterisk.

Each test places a real call over FastAGI and AMI (the simulator), lets
``anna`` answer, then transfers it the way an agent does from the console:
blind into a queue (a second FastAGI session under the same Linkedid),
blind to another agent's device or a number (a dialplan ``Dial``, no
session), attended to an agent (``Atxfer``), and a hold in between.  The
history is read back from the database: the row keeps its first arrival,
has no end while the call lives on, and its legs and totals are the call's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from test_call_control import User, _seed, connected_call, ended_record, seen, service, state, until

from bankcti.stack import EmbeddedStack
from crm_core.followups.legs import LegView


async def legs_of(stack: EmbeddedStack, call_id: str) -> list[LegView]:
    assert stack.service is not None
    return await stack.service.interactions.legs(call_id)


async def eventually(check: Callable[[], Awaitable[Any]], what: str, within: float = 15.0) -> Any:
    for _ in range(int(within / 0.05)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {within} s")


def seconds(start: datetime | None, stop: datetime | None) -> float:
    assert start is not None and stop is not None
    return (stop - start).total_seconds()


def talk(legs: list[LegView]) -> float:
    return sum(seconds(leg.answered_at, leg.ended_at) for leg in legs if leg.answered_at is not None)


async def transfer(user: User, call_id: str, kind: str, target_type: str, target: str) -> None:
    body = {"kind": kind, "target_type": target_type, "target": target}
    response = await user.post(f"/api/calls/{call_id}/transfer", body)
    assert response.status_code == 200, response.text


async def test_blind_transfer_into_a_queue_keeps_arrival_wait_and_the_first_agents_leg(
    db_url: str, tmp_path: Path
) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        assert stack.service is not None
        interactions = stack.service.interactions
        anna, bob = users["anna"], users["bob"]
        await anna.console.set_state("available")
        call, call_id = await connected_call(stack, anna)
        first = await eventually(lambda: _answered(interactions, call_id), "anna's answer recorded")
        await asyncio.sleep(0.3)  # anna talks
        await bob.console.set_state("available")
        await transfer(anna, call_id, "blind", "queue", "general")
        await bob.console.next_message("call.connected", timeout=20)
        await asyncio.sleep(0.3)  # bob talks
        # The call lives on with bob: the first session ended nothing, and its route is kept for bob's pop.
        assert stack.service.flow.routes_kept == 1
        during = await interactions.get(call_id)
        assert during is not None and during.ended_at is None and during.outcome is None
        assert during.arrived_at == first.arrived_at and during.queued_at == first.queued_at
        assert during.answered_at == first.answered_at

        await call.hangup()
        await call.wait_finished(timeout=20)
        record = await ended_record(stack, call_id)
        await eventually(lambda: _no_route_kept(stack), "the ended call's route dropped")
        legs = await legs_of(stack, call_id)
        assert [(leg.kind, leg.end_reason) for leg in legs] == [
            ("ivr", "routed"),
            ("queue", "answered"),
            ("agent", "transferred_blind"),
            ("queue", "answered"),
            ("agent", "completed"),
        ]
        ivr, queue1, anna_leg, queue2, bob_leg = legs
        assert (anna_leg.agent_login, bob_leg.agent_login) == ("anna", "bob")
        assert anna_leg.transferred_to == "queue" and queue2.queue == "general"
        assert record.arrived_at == first.arrived_at == ivr.started_at
        assert anna_leg.answered_at is not None and anna_leg.ended_at is not None
        assert anna_leg.ended_at <= queue2.started_at  # agent1's leg ends at the transfer
        assert seconds(anna_leg.answered_at, anna_leg.ended_at) >= 0.25
        assert record.outcome == "answered" and record.ended_at == bob_leg.ended_at
        assert record.ended_at is not None and record.ended_at > queue2.started_at
        totals = await interactions.totals(call_id)
        assert totals is not None
        wait, talk_seconds, hold = totals
        assert wait is not None and talk_seconds is not None and hold is None
        expected_wait = seconds(queue1.started_at, queue1.ended_at) + seconds(
            queue2.started_at, queue2.ended_at
        )
        assert abs(wait - expected_wait) < 1e-3
        assert abs(talk_seconds - talk([anna_leg, bob_leg])) < 1e-3
        assert talk_seconds >= 0.5


async def _no_route_kept(stack: EmbeddedStack) -> bool:
    assert stack.service is not None
    return stack.service.flow.routes_kept == 0


async def _answered(interactions: Any, call_id: str) -> Any:
    record = await interactions.get(call_id)
    return record if record is not None and record.answered_at is not None else None


async def test_blind_transfer_to_an_agent_device_is_a_leg_and_the_pbx_ends_the_call(
    db_url: str, tmp_path: Path
) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        assert stack.service is not None
        interactions = stack.service.interactions
        anna, bob = users["anna"], users["bob"]
        await anna.console.set_state("available")
        call, call_id = await connected_call(stack, anna)
        await bob.console.set_state("available")
        await transfer(anna, call_id, "blind", "agent", "bob")
        await until(
            lambda: seen(call, "DialEnd", DestChannel="PJSIP/1002-", DialStatus="ANSWER")() is not None, "bob"
        )
        bob_answered = await eventually(
            lambda: _leg(
                stack, call_id, lambda leg: leg.agent_login == "bob" and leg.answered_at is not None
            ),
            "bob's leg answered",
        )
        assert bob_answered.kind == "agent" and bob_answered.target == "PJSIP/1002"
        record = await interactions.get(call_id)
        assert record is not None and record.ended_at is None and record.outcome is None
        await asyncio.sleep(0.2)
        await call.hangup()
        await call.wait_finished(timeout=20)
        record = await ended_record(stack, call_id)
        legs = await legs_of(stack, call_id)
        assert [(leg.kind, leg.agent_login, leg.end_reason) for leg in legs][-2:] == [
            ("agent", "anna", "transferred_blind"),
            ("agent", "bob", "completed"),
        ]
        assert legs[-2].transferred_to == "agent"
        assert record.outcome == "answered" and record.ended_at == legs[-1].ended_at
        totals = await interactions.totals(call_id)
        assert totals is not None and totals[1] is not None
        assert abs(totals[1] - talk(legs[-2:])) < 1e-3


async def _leg(stack: EmbeddedStack, call_id: str, match: Callable[[LegView], bool]) -> LegView | None:
    return next((leg for leg in await legs_of(stack, call_id) if match(leg)), None)


async def test_a_blind_transfer_to_a_number_is_an_external_leg(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        assert stack.service is not None and stack.simulator is not None
        interactions = stack.service.interactions
        anna = users["anna"]
        await anna.console.set_state("available")
        call, call_id = await connected_call(stack, anna)
        await transfer(anna, call_id, "blind", "number", "+86 138 0013 8000")
        external = await eventually(
            lambda: _leg(stack, call_id, lambda leg: leg.kind == "external" and leg.answered_at is not None),
            "the number answers",
        )
        assert external.target is not None and "+8613800138000" in external.target
        assert external.agent_login is None
        record = await interactions.get(call_id)
        assert record is not None and record.ended_at is None
        await call.hangup()
        await call.wait_finished(timeout=20)
        record = await ended_record(stack, call_id)
        legs = await legs_of(stack, call_id)
        assert [(leg.kind, leg.end_reason) for leg in legs][-2:] == [
            ("agent", "transferred_blind"),
            ("external", "completed"),
        ]
        assert legs[-2].transferred_to == "+8613800138000"
        assert record.ended_at == legs[-1].ended_at and record.outcome == "answered"


async def test_a_hold_is_a_leg_and_its_seconds_are_the_calls_hold(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        assert stack.service is not None
        interactions = stack.service.interactions
        anna = users["anna"]
        await anna.console.set_state("available")
        call, call_id = await connected_call(stack, anna)
        assert (await anna.post(f"/api/calls/{call_id}/hold")).status_code == 200
        await until(lambda: seen(call, "ParkedCall")() is not None, "customer parked")
        await asyncio.sleep(0.3)
        resumed = await anna.post(f"/api/calls/{call_id}/resume")
        assert resumed.status_code == 200, resumed.text
        await until(lambda: seen(call, "UnParkedCall")() is not None, "resumed")
        await until(lambda: state(stack, "anna") == "on_call", "anna back on the call")
        await call.hangup()
        await call.wait_finished(timeout=20)
        record = await ended_record(stack, call_id)
        legs = await legs_of(stack, call_id)
        hold = [leg for leg in legs if leg.kind == "hold"]
        assert len(hold) == 1 and hold[0].end_reason == "resumed" and hold[0].agent_login == "anna"
        agent = [leg for leg in legs if leg.kind == "agent"]
        assert [(leg.agent_login, leg.end_reason) for leg in agent] == [("anna", "completed")]
        assert agent[0].ended_at == record.ended_at
        totals = await interactions.totals(call_id)
        assert totals is not None
        _, talk_seconds, hold_seconds = totals
        assert hold_seconds is not None
        assert abs(hold_seconds - seconds(hold[0].started_at, hold[0].ended_at)) < 1e-3
        assert hold_seconds >= 0.25
        # Talk runs from the answer to the end, the hold included (as the ACD counts it).
        assert talk_seconds is not None and abs(talk_seconds - talk(agent)) < 1e-3
        assert talk_seconds > hold_seconds


async def test_an_attended_transfer_keeps_both_agents(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        assert stack.service is not None
        interactions = stack.service.interactions
        anna, bob = users["anna"], users["bob"]
        await anna.console.set_state("available")
        call, call_id = await connected_call(stack, anna)
        await bob.console.set_state("available")
        await transfer(anna, call_id, "attended", "agent", "bob")
        await until(
            lambda: seen(call, "DialEnd", DestChannel="PJSIP/1002-", DialStatus="ANSWER")() is not None, "bob"
        )
        done = await anna.post(f"/api/calls/{call_id}/transfer/complete")
        assert done.status_code == 200, done.text
        await until(lambda: seen(call, "AttendedTransfer")() is not None, "transfer completed")
        await eventually(
            lambda: _leg(
                stack, call_id, lambda leg: leg.agent_login == "bob" and leg.answered_at is not None
            ),
            "bob's leg",
        )
        record = await interactions.get(call_id)
        assert record is not None and record.ended_at is None
        await asyncio.sleep(0.2)
        await call.hangup()
        await call.wait_finished(timeout=20)
        record = await ended_record(stack, call_id)
        legs = await legs_of(stack, call_id)
        agents = [leg for leg in legs if leg.kind == "agent"]
        assert [(leg.agent_login, leg.end_reason) for leg in agents] == [
            ("anna", "transferred_attended"),
            ("bob", "completed"),
        ]
        assert agents[0].transferred_to == "PJSIP/1002"
        assert agents[1].ended_at == record.ended_at
        totals = await interactions.totals(call_id)
        assert totals is not None and totals[1] is not None
        assert abs(totals[1] - talk(agents)) < 1e-3
