"""Randomized ACD run: after every operation, the routing invariants hold."""

from __future__ import annotations

import random

import pytest

from acd import Acd, AgentState, InvalidTransition, Offer, QueuedCall, Ticket
from acd.events import AgentStateChanged, BusEvent

QUEUES = ("general", "cards", "accounts")


class Sink:
    def __init__(self) -> None:
        self.events: list[BusEvent] = []

    async def publish(self, event: BusEvent) -> None:
        self.events.append(event)


def check(acd: Acd, tickets: dict[str, Ticket], sink: Sink, offers: dict[str, list[Offer]]) -> None:
    agents = {a.login: acd.status(a.login) for a in acd.snapshot().agents}
    snapshot = acd.snapshot()
    waiting = {w.call_id: q.name for q in snapshot.queues for w in q.waiting}

    holding = [a for a in agents.values() if a.state in {AgentState.RINGING, AgentState.ON_CALL}]
    held = [a.call_id for a in holding]
    assert None not in held
    assert len(held) == len(set(held)), "a call is held by two agents"
    assert not set(held) & set(waiting), "a call is both waiting and offered"
    for agent in agents.values():
        if agent.state in {AgentState.AVAILABLE, AgentState.PAUSED, AgentState.LOGGED_OUT}:
            assert agent.call_id is None, f"{agent.login} {agent.state} holds {agent.call_id}"

    # Every offer ever resolved went to an agent that was available: never to paused/wrap-up/logged-out.
    for offered_id, made in offers.items():
        ticket = tickets[offered_id]
        if ticket.offer.done() and not ticket.offer.cancelled() and ticket.offer.exception() is None:
            offer = ticket.offer.result()
            if not made or made[-1] is not offer:
                made.append(offer)
    ringing = {a.call_id: a.login for a in agents.values() if a.state is AgentState.RINGING}
    for call_id, login in ringing.items():
        assert call_id is not None
        current = tickets[call_id].offer
        assert current.done() and current.result().agent_login == login

    # Work conservation: no waiting call while an available agent serves its queue.
    for call_id, queue in waiting.items():
        idle = [a.login for a in agents.values() if a.state is AgentState.AVAILABLE and queue in a.queues]
        assert not idle, f"{call_id} waits in {queue} while {idle} are available"
        assert tickets[call_id].position() is not None

    # The last published state of each agent is its current state.
    last: dict[str, str] = {}
    for event in sink.events:
        if isinstance(event, AgentStateChanged):
            last[event.agent_login] = event.state
    for login, state in last.items():
        assert agents[login].state.value == state


@pytest.mark.parametrize("seed", range(8))
async def test_random_operations_keep_invariants(seed: int) -> None:
    rng = random.Random(seed)
    sink = Sink()
    acd = Acd(sink, ring_timeout=15, wrapup_seconds=3600)  # wrap-up ends by request only
    for queue in QUEUES:
        acd.add_queue(queue)
    logins = [f"a{i}" for i in range(6)]
    for login in logins:
        served = rng.sample(QUEUES, rng.randint(1, len(QUEUES)))
        acd.register_agent(login, login.upper(), f"PJSIP/{login}", served)
    tickets: dict[str, Ticket] = {}
    offers: dict[str, list[Offer]] = {}
    live: set[str] = set()

    for step in range(400):
        action = rng.choice(
            ["enqueue", "enqueue", "state", "state", "state", "cancel", "fail", "connect", "end"]
        )
        ringing = [a for a in logins if acd.status(a).state is AgentState.RINGING]
        on_call = [a for a in logins if acd.status(a).state is AgentState.ON_CALL]
        if action == "enqueue":
            new_id = f"c{step}"
            call = QueuedCall(new_id, rng.choice(QUEUES), priority=rng.choice([0, 0, 0, 5]))
            tickets[new_id] = await acd.enqueue(call)
            offers[new_id] = []
            live.add(new_id)
        elif action == "state":
            login = rng.choice(logins)
            target = rng.choice(["available", "available", "paused", "logged_out", "on_call"])
            try:
                await acd.set_agent_state(login, target, "break" if target == "paused" else None)
            except InvalidTransition:
                assert target == "on_call" or acd.status(login).state in {
                    AgentState.RINGING,
                    AgentState.ON_CALL,
                }
        elif action == "cancel" and live:
            gone = rng.choice(sorted(live))
            await acd.cancel(gone)
            live.discard(gone)
        elif action == "fail" and ringing:
            login = rng.choice(ringing)
            call_id = acd.status(login).call_id
            assert call_id is not None
            await acd.offer_failed(call_id)
            assert acd.status(login).state is AgentState.PAUSED
            assert acd.status(login).reason == "no-answer"
        elif action == "connect" and ringing:
            call_id = acd.status(rng.choice(ringing)).call_id
            assert call_id is not None
            await acd.call_connected(call_id)
        elif action == "end" and on_call:
            call_id = acd.status(rng.choice(on_call)).call_id
            assert call_id is not None
            await acd.call_ended(call_id)
            live.discard(call_id)
        check(acd, tickets, sink, offers)

    # Replay the published history: an offer (ringing) only ever goes to an available agent,
    # and a call is never held by a second agent while the first still holds it.
    previous: dict[str, str] = {}
    holder: dict[str, str] = {}
    for event in sink.events:
        if not isinstance(event, AgentStateChanged):
            continue
        login = event.agent_login
        if event.state == "ringing":
            assert previous.get(login) == "available", f"offered to {login} in {previous.get(login)}"
            assert event.call_id is not None and event.call_id not in holder
            holder[event.call_id] = login
        elif event.state != "on_call":
            for call_id in [c for c, held_by in holder.items() if held_by == login]:
                del holder[call_id]
        previous[login] = event.state
    assert any(len(made) > 1 for made in offers.values()), "no call was re-offered after a no-answer"
    assert sum(isinstance(e, AgentStateChanged) for e in sink.events) > 50
    await acd.close()
