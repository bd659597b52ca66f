"""ACD routing through the PBX simulator over real TCP: who gets which call, and when."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from acd_kit import AgentSpec, CustomerSpec, world

NORMAL = "+8613900000001"
VIP = "+8613900000002"
OWNED = "+8613900000003"


async def test_a_vip_caller_overtakes_a_normal_caller_who_waited_longer(db_url: str, tmp_path: Path) -> None:
    customers = [CustomerSpec("Plain Wang", NORMAL), CustomerSpec("Vip Li", VIP, tier="vip")]
    async with world(db_url, tmp_path, [AgentSpec("ann", "1001", ("general",))], customers) as w:
        await w.state("ann", "paused", "break")  # logged in, so the queue takes calls
        normal = await w.call(NORMAL, "1")
        await w.waiting(normal, "general")
        vip = await w.call(VIP, "1")
        await w.waiting(vip, "general")
        assert [c.call_id for c in w.acd.waiting_calls("general")] == [vip.linkedid, normal.linkedid]
        await w.state("ann", "available")
        assert await w.recorder.offered(vip.linkedid) == "ann"
        joined = await w.recorder.transition(vip.linkedid, "joined")
        assert joined.data["position"] == 1  # straight to the head, ahead of the earlier caller
        await normal.hangup()
        await vip.hangup()


async def test_the_relationship_manager_gets_their_customer_first(db_url: str, tmp_path: Path) -> None:
    agents = [AgentSpec("rm", "1001", ("general",)), AgentSpec("idle", "1002", ("general",))]
    customers = [CustomerSpec("Owned Zhao", OWNED, owner="rm")]
    async with world(db_url, tmp_path, agents, customers) as w:
        await w.state("idle", "available")  # idle the longest: would win without the rule
        await w.state("rm", "available")
        call = await w.call(OWNED, "1")
        assert await w.recorder.offered(call.linkedid) == "rm"
        await call.hangup()


async def test_a_busy_relationship_manager_is_waited_for_only_the_grace_time(
    db_url: str, tmp_path: Path
) -> None:
    agents = [AgentSpec("rm", "1001", ("general",)), AgentSpec("idle", "1002", ("general",))]
    customers = [CustomerSpec("Owned Zhao", OWNED, owner="rm")]
    async with world(db_url, tmp_path, agents, customers) as w:
        await w.state("rm", "paused", "meeting")  # logged in, not available
        await w.state("idle", "available")
        call = await w.call(OWNED, "1")
        joined = await w.recorder.transition(call.linkedid, "joined")
        assert w.acd.status("idle").state == "available"  # held back for the manager
        assert await w.recorder.offered(call.linkedid, within=10) == "idle"
        offered = await w.recorder.transition(call.linkedid, "offered")
        waited = offered.at - joined.at
        assert 2.5 <= waited <= 4.5, waited  # grace time 3 s: not shorter, not (much) longer
        await call.hangup()


async def test_the_manager_back_within_the_grace_time_gets_the_call(db_url: str, tmp_path: Path) -> None:
    agents = [AgentSpec("rm", "1001", ("general",)), AgentSpec("idle", "1002", ("general",))]
    customers = [CustomerSpec("Owned Zhao", OWNED, owner="rm")]
    async with world(db_url, tmp_path, agents, customers) as w:
        await w.state("rm", "paused", "meeting")
        await w.state("idle", "available")
        call = await w.call(OWNED, "1")
        await w.waiting(call, "general")
        await asyncio.sleep(1.0)
        await w.state("rm", "available")
        assert await w.recorder.offered(call.linkedid) == "rm"
        await call.hangup()


async def test_skills_go_to_the_expert_first_then_widen_to_lower_proficiency(
    db_url: str, tmp_path: Path
) -> None:
    agents = [
        AgentSpec("novice", "1001", ("skilled",), skills={"fx": 2}),
        AgentSpec("expert", "1002", ("skilled",), skills={"fx": 5}),
    ]
    async with world(db_url, tmp_path, agents, [CustomerSpec("Plain Wang", NORMAL)]) as w:
        await w.state("novice", "available")  # idle longer, but less skilled
        await w.state("expert", "available")
        first = await w.call(NORMAL, "2")
        assert await w.recorder.offered(first.linkedid) == "expert"
        await first.hangup()
        await w.recorder.wait_for(
            lambda e: getattr(e, "call_id", None) == first.linkedid and e.type == "call.ended"
        )
        await w.state("expert", "paused", "break")
        second = await w.call(NORMAL, "2")
        joined = await w.recorder.transition(second.linkedid, "joined")
        assert w.acd.status("novice").state == "available"  # proficiency 2 < 5: not yet
        assert await w.recorder.offered(second.linkedid, within=10) == "novice"
        offered = await w.recorder.transition(second.linkedid, "offered")
        assert offered.at - joined.at >= 2.5  # the bullseye widened at 3 s
        await second.hangup()


async def test_overflow_widens_to_another_queues_agents(db_url: str, tmp_path: Path) -> None:
    agents = [AgentSpec("owner", "1001", ("over",)), AgentSpec("helper", "1002", ("backup",))]
    async with world(db_url, tmp_path, agents, [CustomerSpec("Plain Wang", NORMAL)]) as w:
        await w.state("owner", "paused", "break")
        await w.state("helper", "available")
        call = await w.call(NORMAL, "3")
        await w.waiting(call, "over")
        overflow = await w.recorder.transition(call.linkedid, "overflowed", within=10)
        assert overflow.data == {"to_queue": "backup", "after_seconds": 3.0, "mode": "widen"}
        assert await w.recorder.offered(call.linkedid) == "helper"
        await call.hangup()


async def test_wrap_up_keeps_the_agent_from_the_next_call_until_it_ends(db_url: str, tmp_path: Path) -> None:
    async with world(
        db_url, tmp_path, [AgentSpec("ann", "1001", ("general",))], [CustomerSpec("P", NORMAL)]
    ) as w:
        await w.state("ann", "available")
        first = await w.call(NORMAL, "1", hangup_after_answer=3.0)
        assert await w.recorder.offered(first.linkedid) == "ann"
        await first.wait_finished(timeout=20)
        wrap = await w.recorder.wait_for(lambda e: e.type == "agent.state" and e.state == "wrap_up")
        second = await w.call(NORMAL, "1")
        await w.waiting(second, "general")
        assert w.acd.status("ann").state == "wrap_up"
        offered_to = await w.recorder.offered(second.linkedid, within=10)
        offered = await w.recorder.transition(second.linkedid, "offered")
        assert offered_to == "ann" and offered.at - wrap.at >= 1.8  # wrap-up is 2 s
        await second.hangup()


async def test_an_unanswered_offer_goes_back_to_its_place_and_pauses_the_agent(
    db_url: str, tmp_path: Path
) -> None:
    agents = [AgentSpec("deaf", "1001", ("general",), answers=False), AgentSpec("ok", "1002", ("general",))]
    async with world(db_url, tmp_path, agents, [CustomerSpec("P", NORMAL)]) as w:
        await w.state("ok", "paused", "break")
        await w.state("deaf", "available")
        first = await w.call(NORMAL, "1")
        assert await w.recorder.offered(first.linkedid) == "deaf"
        second = await w.call(NORMAL, "1")
        await w.waiting(second, "general")
        missed = await w.recorder.transition(first.linkedid, "no_answer", within=15)
        assert missed.agent_login == "deaf" and w.acd.status("deaf").reason == "no-answer"
        # Back at its own place: ahead of the call that arrived after it.
        assert [c.call_id for c in w.acd.waiting_calls("general")] == [first.linkedid, second.linkedid]
        await w.state("ok", "available")
        await w.recorder.wait_for(
            lambda e: e.type == "call.offered" and e.call_id == first.linkedid and e.agent_login == "ok"
        )
        assert w.recorder.offers()[:2] == [(first.linkedid, "deaf"), (first.linkedid, "ok")]
        await first.hangup()
        await second.hangup()


async def test_every_queue_transition_is_recorded_for_the_statistics(db_url: str, tmp_path: Path) -> None:
    async with world(
        db_url, tmp_path, [AgentSpec("ann", "1001", ("general",))], [CustomerSpec("P", NORMAL)]
    ) as w:
        await w.state("ann", "available")
        call = await w.call(NORMAL, "1", hangup_after_answer=2.0)
        await call.wait_finished(timeout=20)
        await w.recorder.transition(call.linkedid, "completed")
        assert w.stack.service is not None
        recorder = w.stack.service.acd_runtime.recorder
        await recorder.drained()
        from sqlalchemy import select

        from crm_core.models.acd import QueueEvent

        async with w.stack.service.sessions() as session:
            rows = (
                await session.scalars(select(QueueEvent).where(QueueEvent.call_id == call.linkedid))
            ).all()
        assert [r.event for r in sorted(rows, key=lambda r: r.id)] == [
            "joined",
            "offered",
            "connected",
            "completed",
        ]
        connected = next(r for r in rows if r.event == "connected")
        assert (
            connected.agent_login == "ann"
            and connected.data is not None
            and connected.data["wait_seconds"] >= 0
        )
        assert time.time() - rows[0].at.timestamp() < 60
