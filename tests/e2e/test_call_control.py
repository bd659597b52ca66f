"""Call control end to end: the console's REST API → bankcti → AMI → the simulated Asterisk, over TCP.

Agents ``anna`` (PJSIP/1001) and ``bob`` (PJSIP/1002) take calls in the
queue ``general``; ``sue`` (PJSIP/2001) supervises their team; ``carl`` is
in no team of hers.  Every action is checked where it lands: in the
simulator's channels and AMI events, in the ACD, in the call history.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from bankcti.bench.console_client import AgentConsoleClient
from bankcti.settings import load_settings
from bankcti.stack import EmbeddedStack
from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.directory import CustomerDirectory
from crm_core.db import create_engine, session_factory
from crm_core.models import Agent, Team
from crm_core.schemas import InteractionRecord
from cti.ami.message import AmiMessage
from cti.simulator import AgentPhone, CallerScript, SimulatedCall

SPEED = 20.0
PASSWORDS = {login: f"pass-{login}" for login in ("anna", "bob", "carl", "sue")}


async def _seed(url: str) -> int:
    """The people (see the module docstring) and a customer of anna's; returns its id."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        directory = AgentDirectory(sessions)
        for login, ext, role, queues in (
            ("anna", "1001", "agent", ["general"]),
            ("bob", "1002", "agent", ["general", "priority"]),
            ("carl", "1003", "agent", ["priority"]),
            ("sue", "2001", "supervisor", []),
        ):
            await directory.create_agent(
                login,
                login.title(),
                PASSWORDS[login],
                extension=ext,
                device=f"PJSIP/{ext}",
                role=role,
                queues=queues,
            )
        async with sessions() as session, session.begin():
            ids = {login: id_ for login, id_ in await session.execute(select(Agent.login, Agent.id))}
            team = Team(name="Retail", supervisor_id=ids["sue"])
            session.add(team)
            await session.flush()
            await session.execute(
                update(Agent).where(Agent.login.in_(["anna", "bob"])).values(team_id=team.id)
            )
        customers = CustomerDirectory(sessions)
        customer_id = await customers.create_customer("Zhao Lei", owner_login="anna")
        await customers.add_phone(customer_id, "+86 138 0013 8000", "CN", is_primary=True)
        return customer_id
    finally:
        await engine.dispose()


class User:
    """One logged-in console user: REST with the bearer token, and the live websocket."""

    def __init__(self, stack: EmbeddedStack, login: str) -> None:
        self.login = login
        self.console = AgentConsoleClient(stack.http_url)
        self.http = httpx.AsyncClient(base_url=stack.http_url, timeout=10)

    async def start(self) -> User:
        await self.console.login(self.login, PASSWORDS[self.login])
        await self.console.connect()
        self.http.headers["Authorization"] = f"Bearer {self.console.token}"
        return self

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(path, json=body or {})

    async def close(self) -> None:
        await self.console.close()
        await self.http.aclose()


@asynccontextmanager
async def service(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[EmbeddedStack, dict[str, User]]]:
    settings = load_settings(
        environ={},
        overrides={
            "database_url": db_url,
            "data_dir": tmp_path,
            "acd_wrapup_seconds": 0,
            "acd_hold_poll_ms": 50,
            "ivr_ignore_business_hours": True,
        },
    )
    phones = [AgentPhone(device=f"PJSIP/{ext}", answer_after=1.0) for ext in ("1001", "1002", "1003", "2001")]
    async with EmbeddedStack(settings, speed=SPEED, phones=phones) as stack:
        users = {login: await User(stack, login).start() for login in PASSWORDS}
        try:
            yield stack, users
        finally:
            for user in users.values():
                await user.close()


async def until(check: Callable[[], bool], what: str, within: float = 15.0) -> None:
    for _ in range(int(within / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what}: not reached within {within} s")


async def ended_record(stack: EmbeddedStack, call_id: str, within: float = 15.0) -> InteractionRecord:
    """The call's record once its end is written (the PBX's end reaches the history a moment later)."""
    assert stack.service is not None
    for _ in range(int(within / 0.02)):
        record = await stack.service.interactions.get(call_id)
        if record is not None and record.outcome is not None:
            return record
        await asyncio.sleep(0.02)
    raise AssertionError(f"call {call_id}: no end written within {within} s")


def seen(call: SimulatedCall, event: str, **fields: str) -> Callable[[], AmiMessage | None]:
    def find() -> AmiMessage | None:
        for message in call.events:
            if message.event == event and all(
                (message.get(key) or "").startswith(value) for key, value in fields.items()
            ):
                return message
        return None

    return find


def state(stack: EmbeddedStack, login: str) -> str:
    assert stack.service is not None
    return str(stack.service.acd.status(login).state)


async def connected_call(stack: EmbeddedStack, agent: User) -> tuple[SimulatedCall, str]:
    """A customer calls the queue ``general`` and ``agent`` (the only one available) answers."""
    assert stack.simulator is not None
    call = await stack.simulator.place_call(CallerScript(caller_id="+8613900000001", keys=["2", "0"]))
    connected = await agent.console.next_message("call.connected", timeout=20)
    assert connected.event["call_id"] == call.linkedid
    return call, call.linkedid


async def test_hold_resume_spy_force_state_and_hang_up(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        anna, bob, sue = users["anna"], users["bob"], users["sue"]
        await anna.console.set_state("available")
        call, call_id = await connected_call(stack, anna)

        assert (await bob.post(f"/api/calls/{call_id}/hold")).status_code == 403
        held = await anna.post(f"/api/calls/{call_id}/hold")
        assert held.status_code == 200, held.text
        await until(lambda: seen(call, "ParkedCall")() is not None, "customer parked")
        await until(lambda: state(stack, "anna") == "on_hold", "anna on hold")
        assert seen(call, "MusicOnHoldStart", Channel=call.channel)() is not None
        again = await anna.post(f"/api/calls/{call_id}/hold")
        assert again.status_code == 409 and "already on hold" in again.json()["detail"]

        resumed = await anna.post(f"/api/calls/{call_id}/resume")
        assert resumed.status_code == 200, resumed.text
        await until(
            lambda: seen(call, "UnParkedCall", RetrieverChannel="PJSIP/1001-")() is not None, "resumed"
        )
        assert state(stack, "anna") == "on_call"

        # Supervision: sue may act on anna (her team), bob may not, carl is not sue's.
        assert (await bob.post("/api/supervisor/agents/anna/spy", {"mode": "listen"})).status_code == 403
        spy = await sue.post("/api/supervisor/agents/anna/spy", {"mode": "whisper"})
        assert spy.status_code == 200, spy.text
        await until(lambda: seen(call, "ChanSpyStart", SpyerChannel="PJSIP/2001-")() is not None, "spying")
        start = seen(call, "ChanSpyStart")()
        assert start is not None and start["SpyeeChannel"].startswith("PJSIP/1001-")
        bad = await sue.post("/api/supervisor/agents/anna/spy", {"mode": "shout"})
        assert bad.status_code == 422
        assert (await sue.post("/api/supervisor/agents/carl/state", {"state": "paused"})).status_code == 403
        forced = await sue.post("/api/supervisor/agents/bob/state", {"state": "paused", "reason": "coaching"})
        assert forced.status_code == 200, forced.text
        assert forced.json()["state"] == "paused" and state(stack, "bob") == "paused"
        later = await sue.post("/api/supervisor/agents/anna/state", {"state": "logged_out"})
        assert later.status_code == 200 and later.json()["state"] == "on_call"  # after her call

        hung = await anna.post(f"/api/calls/{call_id}/hangup")
        assert hung.status_code == 200, hung.text
        result = await call.wait_finished(timeout=20)
        assert result.answered_by == "PJSIP/1001"
        await anna.console.next_message("call.ended", timeout=15)
        # The forced log-out waited for the end of the call; she is not offered calls any more.
        await until(lambda: state(stack, "anna") in ("logged_out", "paused"), "anna out after the call")
        record = await ended_record(stack, call_id)
        assert record.outcome == "answered" and record.agent_login == "anna"
        gone = await anna.post(f"/api/calls/{call_id}/hold")
        assert gone.status_code == 403


async def test_blind_transfer_to_a_queue_then_attended_transfer(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        anna, bob = users["anna"], users["bob"]
        await anna.console.set_state("available")
        call, call_id = await connected_call(stack, anna)
        await bob.console.set_state("available")

        wrong = await anna.post(
            f"/api/calls/{call_id}/transfer", {"kind": "blind", "target_type": "queue", "target": "nope"}
        )
        assert wrong.status_code == 409 and "no queue" in wrong.json()["detail"]
        moved = await anna.post(
            f"/api/calls/{call_id}/transfer", {"kind": "blind", "target_type": "queue", "target": "general"}
        )
        assert moved.status_code == 200, moved.text
        offer = await bob.console.next_message("call.offered", timeout=20)
        assert offer.event["call_id"] == call_id
        # bob's pop shows what the IVR learnt in the first session (the caller is not asked again).
        assert [step["node"] for step in offer.event["ivr_path"]][:1] == ["welcome"]
        await bob.console.next_message("call.connected", timeout=20)
        assert seen(call, "BlindTransfer", TransfererChannel="PJSIP/1001-")() is not None
        assert state(stack, "bob") == "on_call"
        await until(lambda: state(stack, "anna") == "available", "anna free again")

        # bob consults anna, drops the consultation, consults again and leaves her the caller.
        # Atxfer only queues *2 and the digits on bob's channel: bankcti's Dial gave him the
        # transfer features (option t), so bob is put on hold and the caller hears music (trace k4).
        body = {"kind": "attended", "target_type": "agent", "target": "anna"}
        assert (await bob.post(f"/api/calls/{call_id}/transfer", body)).status_code == 200
        await until(lambda: seen(call, "Hold", Channel="PJSIP/1002-")() is not None, "bob holds the caller")
        await until(
            lambda: any(
                m.event == "MusicOnHoldStart" and m.get("Channel") == call.channel for m in call.events
            ),
            "caller on music",
        )
        await until(
            lambda: seen(call, "DialEnd", DestChannel="PJSIP/1001-", DialStatus="ANSWER")() is not None,
            "anna",
        )
        cancel = await bob.post(f"/api/calls/{call_id}/transfer/cancel")
        assert cancel.status_code == 200, cancel.text
        await until(lambda: seen(call, "Unhold", Channel="PJSIP/1002-")() is not None, "bob back")
        nothing = await bob.post(f"/api/calls/{call_id}/transfer/complete")
        assert nothing.status_code == 409

        assert (await bob.post(f"/api/calls/{call_id}/transfer", body)).status_code == 200
        await until(
            lambda: (
                len(
                    [
                        m
                        for m in call.events
                        if m.event == "DialEnd"
                        and m.get("DialStatus") == "ANSWER"
                        and (m.get("DestChannel") or "").startswith("PJSIP/1001-")
                    ]
                )
                >= 2
            ),
            "anna answers the second consultation",
        )
        done = await bob.post(f"/api/calls/{call_id}/transfer/complete")
        assert done.status_code == 200, done.text
        await until(lambda: seen(call, "AttendedTransfer")() is not None, "transfer completed")
        finished = seen(call, "AttendedTransfer")()
        assert finished is not None and finished["TransfereeChannel"] == call.channel
        await until(lambda: state(stack, "bob") == "available", "bob done")
        await call.hangup()
        await call.wait_finished(timeout=20)


async def test_blind_transfer_to_another_agent(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        anna, bob = users["anna"], users["bob"]
        await anna.console.set_state("available")
        call, call_id = await connected_call(stack, anna)
        busy = await anna.post(
            f"/api/calls/{call_id}/transfer", {"kind": "blind", "target_type": "agent", "target": "bob"}
        )
        assert busy.status_code == 409 and "not available" in busy.json()["detail"]
        await bob.console.set_state("available")
        sent = await anna.post(
            f"/api/calls/{call_id}/transfer", {"kind": "blind", "target_type": "agent", "target": "bob"}
        )
        assert sent.status_code == 200, sent.text
        await until(
            lambda: seen(call, "DialEnd", DestChannel="PJSIP/1002-", DialStatus="ANSWER")() is not None, "bob"
        )
        assert stack.simulator is not None
        live = {c.name: c for c in stack.simulator.channels()}
        bob_leg = next(name for name in live if name.startswith("PJSIP/1002-"))
        assert live[bob_leg].bridge is not None and live[bob_leg].bridge is live[call.channel].bridge
        assert not [name for name in live if name.startswith("PJSIP/1001-")]
        await anna.console.next_message("call.ended", timeout=15)
        await call.hangup()
        await call.wait_finished(timeout=20)


async def test_click_to_dial_records_an_outbound_call(db_url: str, tmp_path: Path) -> None:
    customer_id = await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        anna, bob = users["anna"], users["bob"]
        assert (await bob.post("/api/dial", {"customer_id": customer_id})).status_code == 403
        wrong = await anna.post("/api/dial", {"customer_id": customer_id, "number": "+8613700000000"})
        assert wrong.status_code == 422
        placed = await anna.post("/api/dial", {"customer_id": customer_id, "number": "138 0013 8000"})
        assert placed.status_code == 200, placed.text
        call_id = placed.json()["call_id"]
        assert placed.json()["number"].endswith("8000") and "13800138000" not in placed.text
        assert stack.service is not None and stack.simulator is not None
        service_ = stack.service

        def customer_leg() -> bool:
            return any(
                c.name.startswith("Local/+8613800138000@pstn-") and c.is_up
                for c in stack.simulator.channels()
            )

        await until(customer_leg, "the customer answers")
        record = None
        for _ in range(500):
            record = await service_.interactions.get(call_id)
            if record is not None and record.answered_at is not None:
                break
            await asyncio.sleep(0.02)
        assert record is not None and record.direction == "outbound"
        assert record.customer_id == customer_id and record.agent_login == "anna"
        assert record.answered_at is not None
        assert (await bob.post(f"/api/calls/{call_id}/hangup")).status_code == 403
        hung = await anna.post(f"/api/calls/{call_id}/hangup")
        assert hung.status_code == 200, hung.text
        for _ in range(500):
            record = await service_.interactions.get(call_id)
            if record is not None and record.outcome:
                break
            await asyncio.sleep(0.02)
        assert record is not None and record.outcome == "answered" and record.ended_at is not None


async def test_supervisor_moves_a_waiting_call(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        anna, bob, carl, sue = users["anna"], users["bob"], users["carl"], users["sue"]
        assert stack.simulator is not None and stack.service is not None
        acd = stack.service.acd
        await anna.console.set_state("paused", "training")  # "general" is staffed, nobody free
        call = await stack.simulator.place_call(CallerScript(caller_id="+8613900000002", keys=["2", "0"]))
        await until(lambda: any(c.call_id == call.linkedid for c in acd.waiting_calls("general")), "waiting")
        assert (
            await bob.post(f"/api/supervisor/calls/{call.linkedid}/move", {"queue": "priority"})
        ).status_code == 403
        nowhere = await sue.post(f"/api/supervisor/calls/{call.linkedid}/move", {"queue": "nowhere"})
        assert nowhere.status_code == 409
        moved = await sue.post(f"/api/supervisor/calls/{call.linkedid}/move", {"queue": "priority"})
        assert moved.status_code == 200, moved.text
        assert any(c.call_id == call.linkedid for c in acd.waiting_calls("priority"))
        await carl.console.set_state("available")  # carl works "priority" only
        offer = await carl.console.next_message("call.offered", timeout=20)
        assert offer.event["call_id"] == call.linkedid
        await carl.console.next_message("call.connected", timeout=20)
        await call.hangup()
        await call.wait_finished(timeout=20)
