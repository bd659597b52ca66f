"""Callers hanging up never touch more than the agents their call was ringing (hypothesis, stateful).

Issue 12, item 1: a caller who hung up while agent6's phone rang left the
whole floor paused, because the call flow took the ``CANCEL`` for an agent
no-answer and dialled again from the dead channel.  This machine runs the
real ACD with the call flow's own decision code
(:func:`bankcti.calls.dial_outcome.judge` and :func:`~bankcti.calls.dial_outcome.settle_ring`)
the way the call flow loops, and a dead caller channel answers every new
``Dial`` with ``CANCEL`` at once — as Asterisk does ("Caller hung up before
dial", trace i3 in ``tests/fixtures/asterisk``).

Whatever happened before — calls answered, rings failing for any Dial
status, agents pausing, time passing — one caller hanging up (while waiting
or while ringing, whatever ``DIALSTATUS`` the PBX reported with it) changes
the state of no agent but the ones ringing for that call, pauses nobody, and
takes the call out of the ACD.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from routing_spec import OFFERED, QUEUES, World, worlds
from virtual_time import Sink, VirtualTimeLoop, settle

from acd import Acd, AgentRecord, AgentState, InvalidTransition, QueuedCall, Ticket
from acd.events import AgentStateChanged
from bankcti.calls.dial_outcome import RING_FAILURES, Verdict, judge, settle_ring

#: Every DIALSTATUS app_dial sets, and what the call flow reads when the variable is unset.
STATUSES = ["ANSWER", "CANCEL", *RING_FAILURES, ""]


class HangupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner(loop_factory=VirtualTimeLoop)
        loop = self.runner.get_loop()
        assert isinstance(loop, VirtualTimeLoop)
        self.loop = loop
        self.sink = Sink()
        self.acd: Acd | None = None
        self.tickets: dict[str, Ticket] = {}
        self.calls = 0
        self.logins: list[str] = []

    def run(self, work: Callable[[Acd], Awaitable[Any]]) -> None:
        async def go(acd: Acd) -> None:
            try:
                await work(acd)
            except (InvalidTransition, LookupError, ValueError):
                pass
            await settle()

        assert self.acd is not None
        self.runner.run(go(self.acd))

    @initialize(world=worlds())
    def build(self, world: World) -> None:
        queues, agents = world
        acd = Acd(self.sink, clock=self.loop.time)
        for config in queues:
            acd.add_queue(config)
        for login, served, skills, _ in agents:
            acd.register_agent(login, login.upper(), f"PJSIP/{login}", served, skills=skills)
        self.acd = acd
        self.logins = [login for login, _, _, _ in agents]
        for login, _, _, state in agents:
            self.run(lambda a, login=login, state=state: a.set_agent_state(login, state, "break"))

    def teardown(self) -> None:
        if self.acd is not None:
            self.runner.run(self.acd.close())
        self.runner.close()

    @property
    def main(self) -> Acd:
        assert self.acd is not None
        return self.acd

    def ringing_calls(self) -> list[str]:
        return sorted({a.call_id for a in self.main.agents() if a.state in OFFERED and a.call_id})

    def waiting_calls(self) -> list[str]:
        return sorted(c for c, t in self.tickets.items() if t.position() is not None)

    # -- what happens on the floor -------------------------------------------------------------

    @rule(queue=st.sampled_from(QUEUES), tier=st.sampled_from([None, "standard", "vip"]))
    def call_arrives(self, queue: str, tier: str | None) -> None:
        self.calls += 1
        call = QueuedCall(f"c{self.calls}", queue, tier=tier)

        async def enqueue(acd: Acd) -> None:
            self.tickets[call.call_id] = await acd.enqueue(call)

        self.run(enqueue)

    @rule(agent=st.integers(0, 5), wanted=st.sampled_from(["available", "available", "paused"]))
    def agent_state(self, agent: int, wanted: str) -> None:
        login = self.logins[agent % len(self.logins)]
        self.run(lambda acd: acd.set_agent_state(login, wanted, "break" if wanted == "paused" else None))

    @precondition(lambda self: bool(self.ringing_calls()))
    @rule(pick=st.integers(0, 9), status=st.sampled_from(STATUSES))
    def ring_ends_caller_still_there(self, pick: int, status: str) -> None:
        """A Dial ends with the caller on the line: answered, or a failed ring of any kind."""
        calls = self.ringing_calls()
        call_id = calls[pick % len(calls)]
        outcome = judge(status, result=0, caller_hung_up=False)
        if outcome.verdict is Verdict.ANSWERED:
            group = [a.login for a in self.main.agents() if a.call_id == call_id and a.state in OFFERED]
            self.run(lambda acd: acd.call_connected(call_id, group[-1]))
        else:
            self.run(lambda acd: settle_ring(acd, call_id, outcome))

    @precondition(
        lambda self: (
            bool(self.main.agents()) and any(a.state is AgentState.ON_CALL for a in self.main.agents())
        )
    )
    @rule(pick=st.integers(0, 9))
    def talk_ends(self, pick: int) -> None:
        talking = sorted(a.call_id for a in self.main.agents() if a.state is AgentState.ON_CALL and a.call_id)
        call_id = talking[pick % len(talking)]
        self.run(lambda acd: acd.call_ended(call_id))

    @rule(seconds=st.integers(1, 20))
    def tick(self, seconds: int) -> None:
        async def advance() -> None:
            for _ in range(seconds):
                self.loop.now += 1.0
                await settle()

        self.runner.run(advance())

    # -- the caller hangs up ---------------------------------------------------------------------

    @precondition(lambda self: bool(self.ringing_calls()))
    @rule(
        pick=st.integers(0, 9),
        status=st.sampled_from(STATUSES[1:]),
        result=st.sampled_from([-1, 0]),
        hangup_line=st.booleans(),
    )
    def caller_hangs_up_while_ringing(self, pick: int, status: str, result: int, hangup_line: bool) -> None:
        """The Dial returns because the caller hung up: CANCEL, ``-1`` or the AGI ``HANGUP`` line tell it."""
        calls = self.ringing_calls()
        call_id = calls[pick % len(calls)]
        if status != "CANCEL" and result != -1 and not hangup_line:
            hangup_line = True  # the caller is gone: one of the three signs is always there
        self.hang_up(call_id, judge(status, result=result, caller_hung_up=hangup_line))

    @precondition(lambda self: bool(self.waiting_calls()))
    @rule(pick=st.integers(0, 9))
    def caller_hangs_up_while_waiting(self, pick: int) -> None:
        """Hung up on hold music: the next AGI command fails and the flow cancels the call."""
        calls = self.waiting_calls()
        call_id = calls[pick % len(calls)]
        self.hang_up(call_id, None)

    def hang_up(self, call_id: str, first: Any) -> None:
        before = {a.login: a for a in self.main.agents()}
        ringing = {login for login, a in before.items() if a.call_id == call_id and a.state in OFFERED}
        seen = len(self.sink.events)
        ticket = self.tickets[call_id]

        async def flow(acd: Acd) -> None:
            # The call flow's loop after the Dial returned, on a channel that is gone.
            waiting = True
            if first is not None:
                waiting = await settle_ring(acd, call_id, first)
            tries = 0
            while waiting and ticket.offer.done() and not ticket.offer.exception() and tries < 50:
                tries += 1  # it dials the next offer: Asterisk answers CANCEL at once
                waiting = await settle_ring(acd, call_id, judge("CANCEL", result=-1, caller_hung_up=True))
            if waiting:
                await acd.cancel(call_id)  # the next AGI command raised AgiHangup: the flow's finally

        self.run(flow)
        changed = {e.agent_login for e in self.sink.events[seen:] if isinstance(e, AgentStateChanged)}
        assert changed <= ringing, f"hang-up of {call_id} changed {sorted(changed - ringing)} too"
        paused = [
            e.agent_login
            for e in self.sink.events[seen:]
            if isinstance(e, AgentStateChanged) and e.state == AgentState.PAUSED.value
        ]
        assert not paused, f"hang-up of {call_id} paused {paused}"
        after: dict[str, AgentRecord] = {a.login: a for a in self.main.agents()}
        for login in ringing:
            assert after[login].state in (AgentState.AVAILABLE, *OFFERED), (login, after[login])
        assert call_id not in self.main._routed_calls(), f"{call_id} still in the ACD after its caller left"


HangupMachine.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestCallerHangups = HangupMachine.TestCase
