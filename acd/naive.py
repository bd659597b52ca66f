"""A full-scan selector: the routing rules written the obvious way, for comparison only.

:class:`NaiveSelector` answers the router's two questions — which agents for
a call, which call for an agent — by scanning every agent or every waiting
call and applying the rules literally:

* the customer's relationship manager alone, while logged in and within the
  queue's grace time (counted from the call's arrival);
* otherwise agents who serve one of the call's pools (its queue, plus queues
  an overflow rule widened it to) and have every skill of that pool with a
  proficiency at least the call's bullseye level (5 when the pool requires
  no skill), ranked by :func:`prefer` — a pairwise comparison written from
  the strategies' definitions, not the router's sort keys;
* for an agent, the waiting call of highest priority with aging, then the
  earliest arrival, then the call id, among the calls the agent may take.

It keeps no index, so each answer costs O(agents) or O(calls · pools).
:class:`NaiveRouter` is a :class:`~acd.router.Router` whose answers come from
a :class:`NaiveSelector` kept in step with it: ``bankcti bench route`` runs
the same workload through both, and the property tests check that their
decisions agree.  Production code never uses this module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from fractions import Fraction

from acd.config import QueueConfig, Strategy
from acd.model import AgentRecord
from acd.router import PoolKey, Router, WaitingCall

__all__ = ["NaiveRouter", "NaiveSelector", "pool_score", "prefer"]


def pool_score(agent: AgentRecord, pool: PoolKey) -> int | None:
    """The agent's proficiency for ``pool`` (lowest over its skills, 5 if none), ``None`` if not a member."""
    queue, skills = pool
    if queue not in agent.queues:
        return None
    if not skills:
        return 5
    lowest = min(agent.skills.get(skill, 0) for skill in skills)
    return lowest if lowest >= 1 else None


def _sign(difference: float) -> int:
    return (difference > 0) - (difference < 0)


def prefer(config: QueueConfig, first: tuple[AgentRecord, int], second: tuple[AgentRecord, int]) -> int:
    """Negative when ``first`` is offered before ``second`` in ``config``'s queue, positive after.

    Each side is an available agent with their proficiency for the call's
    pool.  The definitions, criterion by criterion until one decides:

    1. the more proficient agent;
    2. the queue's strategy — ``fewest-calls``: fewer calls handled today;
       ``round-robin``: offered a call longer ago (never offered: first);
       ``skills-best-match``: fewer skills overall (the versatile agent stays
       free for other queues); ``longest-idle`` and ``ring-all``: no criterion
       of their own;
    3. available for longer (an agent never available since the start counts
       as available since the epoch);
    4. the login, alphabetically.
    """
    (a, a_score), (b, b_score) = first, second
    if a_score != b_score:
        return b_score - a_score
    strategy = config.strategy
    if strategy is Strategy.FEWEST_CALLS and a.calls_handled != b.calls_handled:
        return a.calls_handled - b.calls_handled
    if strategy is Strategy.ROUND_ROBIN and a.last_offer != b.last_offer:
        return a.last_offer - b.last_offer
    if strategy is Strategy.SKILLS_BEST_MATCH and len(a.skills) != len(b.skills):
        return len(a.skills) - len(b.skills)
    a_since, b_since = a.last_available_at or 0.0, b.last_available_at or 0.0
    if a_since != b_since:
        return _sign(a_since - b_since)
    return (a.login > b.login) - (a.login < b.login)


class NaiveSelector:
    """The routing rules as full scans over plain dictionaries.

    ``rate`` and ``cap`` are the aging parameters (points per second, most
    points); ``logged_in(login)`` tells whether an agent is logged in.  The
    owner fills ``queues``, ``agents`` and ``calls``.
    """

    def __init__(
        self, rate: float | Fraction, cap: float | Fraction, logged_in: Callable[[str], bool]
    ) -> None:
        self.rate = Fraction(rate)
        self.cap = Fraction(cap)
        self.logged_in = logged_in
        self.queues: dict[str, QueueConfig] = {}
        self.agents: dict[str, AgentRecord] = {}
        self.calls: dict[str, WaitingCall] = {}

    def priority(self, waiting: WaitingCall, now: float) -> Fraction:
        """Value points plus aging for the time waited, at most ``cap`` (exact: ties must tie)."""
        waited = max(Fraction(0), Fraction(now) - Fraction(waiting.enqueued_at))
        return Fraction(waiting.value) + min(self.cap, self.rate * waited)

    def reserved_for(self, waiting: WaitingCall, now: float) -> str | None:
        """The relationship manager who alone may take the call now, or ``None``."""
        owner = waiting.call.owner_login
        if owner is None or now >= waiting.rm_until or not self.logged_in(owner):
            return None
        return owner

    def level(self, waiting: WaitingCall, now: float) -> int:
        """Bullseye proficiency the call requires now (its own queue's steps)."""
        return self.queues[waiting.call.queue].min_proficiency(now - waiting.enqueued_at)

    def may_take(self, agent: AgentRecord, waiting: WaitingCall, now: float) -> bool:
        """Whether ``agent`` (whatever their state) qualifies for ``waiting`` at ``now``."""
        owner = self.reserved_for(waiting, now)
        if owner is not None:
            return owner == agent.login
        level = self.level(waiting, now)
        for pool in waiting.pools:
            score = pool_score(agent, pool)
            if score is not None and score >= level:
                return True
        return False

    def agents_for(self, call_id: str, now: float) -> list[str]:
        """Agents to offer ``call_id`` now (several in a ring-all queue), or ``[]``."""
        waiting = self.calls[call_id]
        owner = self.reserved_for(waiting, now)
        if owner is not None:
            agent = self.agents.get(owner)
            return [owner] if agent is not None and agent.offerable else []
        level = self.level(waiting, now)
        for pool in waiting.pools:
            config = self.queues[pool[0]]
            candidates = []
            for agent in self.agents.values():
                if not agent.offerable:
                    continue
                score = pool_score(agent, pool)
                if score is not None and score >= level:
                    candidates.append((agent, score))
            if not candidates:
                continue
            ranked = sorted(candidates, key=functools.cmp_to_key(functools.partial(prefer, config)))
            if config.strategy is Strategy.RING_ALL:
                return [agent.login for agent, _ in ranked]
            return [ranked[0][0].login]
        return []

    def call_for(self, login: str, now: float) -> str | None:
        """The waiting call ``login`` should take now, or ``None``.

        Calls reserved for this agent as relationship manager come first,
        whatever their skills; then every other call they qualify for.
        """
        agent = self.agents[login]
        own: tuple[Fraction, float, str, str] | None = None
        best: tuple[Fraction, float, str, str] | None = None
        for call_id, waiting in self.calls.items():
            rank = (-self.priority(waiting, now), waiting.enqueued_at, waiting.call.place_id, call_id)
            if waiting.call.owner_login == login and now < waiting.rm_until:
                own = rank if own is None or rank < own else own
            elif (best is None or rank < best) and self.may_take(agent, waiting, now):
                best = rank
        chosen = own or best
        return None if chosen is None else chosen[3]


class NaiveRouter(Router):
    """A :class:`Router` that keeps its bookkeeping but answers with a :class:`NaiveSelector`.

    Drop it into an :class:`~acd.core.Acd` (``acd._router``) before any
    queue or agent is added to run the ACD on full scans.
    """

    def __init__(self, rate: float, cap: float, logged_in: Callable[[str], bool]) -> None:
        super().__init__(rate, cap, logged_in)
        self.naive = NaiveSelector(rate, cap, logged_in)

    def set_queue(self, config: QueueConfig) -> None:
        super().set_queue(config)
        self.naive.queues[config.name] = config

    def update_agent(self, agent: AgentRecord) -> None:
        super().update_agent(agent)
        self.naive.agents[agent.login] = agent

    def add_call(self, waiting: WaitingCall, now: float) -> None:
        super().add_call(waiting, now)
        self.naive.calls[waiting.call.call_id] = waiting

    def remove_call(self, call_id: str) -> WaitingCall | None:
        self.naive.calls.pop(call_id, None)
        return super().remove_call(call_id)

    def agents_for(self, call_id: str, now: float) -> list[str]:
        return self.naive.agents_for(call_id, now)

    def call_for(self, login: str, now: float) -> str | None:
        return self.naive.call_for(login, now)


def mirror(router: Router, logged_in: Callable[[str], bool], agents: dict[str, AgentRecord]) -> NaiveSelector:
    """A :class:`NaiveSelector` holding the same queues, agents and waiting calls as ``router`` now."""
    naive = NaiveSelector(router._rate, router._cap, logged_in)
    naive.queues = {name: router.queue(name) for name in router.queue_names()}
    naive.agents = dict(agents)
    naive.calls = {w.call.call_id: w for w in router.waiting_calls()}
    return naive
