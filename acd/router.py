"""The routing index: which available agent for a call, which waiting call for an agent.

Agents and calls meet in *pools*: one pool per queue and set of required
skills.  An agent belongs to a pool when they serve the queue and have every
skill; their *score* there is their lowest proficiency among those skills
(5 when the pool requires none).  Each pool keeps

* its available agents sorted by ``(-score, strategy key, login)`` — the best
  proficiency first, then the queue's strategy — so the best agent is the
  head, and a bullseye threshold is checked against the head alone;
* its waiting calls in a :class:`~acd.ordering.WaitingOrder` (priority with
  aging), so the best call for an agent is found by walking from the head.

Both directions cost O(log n) plus the calls skipped (calls reserved for
their relationship manager, or whose bullseye level the agent does not
reach), instead of a scan of every agent and call.  :mod:`acd.naive` has the
full scan the benchmark compares against.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

from acd.config import QueueConfig, Strategy
from acd.model import AgentRecord, QueuedCall
from acd.ordering import Entry, WaitingOrder

__all__ = ["PoolKey", "Router", "WaitingCall"]

PoolKey = tuple[str, frozenset[str]]
_AgentKey = tuple[int, tuple[float, ...], str]


@dataclass
class WaitingCall:
    """A call known to the router: its value points, pools (primary first) and routing limits."""

    call: QueuedCall
    value: float
    enqueued_at: float
    pools: list[PoolKey]
    rm_until: float = 0.0  # the relationship manager alone may take the call before this time


class _Pool:
    def __init__(self, key: PoolKey, config: QueueConfig, rate: Fraction, cap: Fraction) -> None:
        self.key = key
        self.config = config
        self.members: dict[str, int] = {}  # login -> score
        self.available: list[_AgentKey] = []
        self.keys: dict[str, _AgentKey] = {}
        self.waiting = WaitingOrder(rate, cap)

    def score_of(self, agent: AgentRecord) -> int | None:
        queue, skills = self.key
        if queue not in agent.queues:
            return None
        if not skills:
            return 5
        levels = [agent.skills.get(skill, 0) for skill in skills]
        return min(levels) if min(levels) >= 1 else None

    def strategy_key(self, agent: AgentRecord) -> tuple[float, ...]:
        idle = agent.last_available_at or 0.0
        strategy = self.config.strategy
        if strategy is Strategy.FEWEST_CALLS:
            return (float(agent.calls_handled), idle)
        if strategy is Strategy.ROUND_ROBIN:
            return (float(agent.last_offer), idle)
        if strategy is Strategy.SKILLS_BEST_MATCH:
            # The least versatile qualified agent first keeps multi-skilled agents free for other queues.
            return (float(len(agent.skills)), idle)
        return (idle,)

    def add_available(self, agent: AgentRecord) -> None:
        score = self.members.get(agent.login)
        if score is None or agent.login in self.keys:
            return
        key = (-score, self.strategy_key(agent), agent.login)
        bisect.insort(self.available, key)
        self.keys[agent.login] = key

    def drop_available(self, login: str) -> None:
        key = self.keys.pop(login, None)
        if key is not None:
            del self.available[bisect.bisect_left(self.available, key)]


class Router:
    """Pools of agents and waiting calls; answers the two routing questions.

    ``rate`` and ``cap`` are the aging parameters (points per second, most
    points), ``logged_in`` tells whether an agent is logged in (for the
    relationship-manager rule).
    """

    def __init__(
        self, rate: float | Fraction, cap: float | Fraction, logged_in: Callable[[str], bool]
    ) -> None:
        # Exact: equal priorities must tie exactly so that the earlier arrival goes first.
        self._rate = Fraction(rate)
        self._cap = Fraction(cap)
        self._logged_in = logged_in
        self._queues: dict[str, QueueConfig] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._pools: dict[PoolKey, _Pool] = {}
        self._queue_pools: dict[str, set[PoolKey]] = defaultdict(set)
        self._agent_pools: dict[str, set[PoolKey]] = defaultdict(set)
        self._calls: dict[str, WaitingCall] = {}
        self._rm_calls: dict[str, set[str]] = defaultdict(set)

    # -- configuration ------------------------------------------------------------

    def set_queue(self, config: QueueConfig) -> None:
        self._queues[config.name] = config
        for key in self._queue_pools.get(config.name, ()):
            self._pools[key].config = config

    def queue(self, name: str) -> QueueConfig:
        return self._queues[name]

    def queue_names(self) -> list[str]:
        return list(self._queues)

    def update_agent(self, agent: AgentRecord) -> None:
        """Register or refresh ``agent`` (its skills, queues or state changed)."""
        old = self._agents.get(agent.login)
        self._agents[agent.login] = agent
        if old is None or old.skills != agent.skills or old.queues != agent.queues:
            for key in list(self._agent_pools.get(agent.login, ())):
                self._leave_pool(self._pools[key], agent.login)
            for queue in agent.queues:
                for key in self._queue_pools.get(queue, ()):
                    self._join_pool(self._pools[key], agent)
        for key in self._agent_pools.get(agent.login, ()):
            pool = self._pools[key]
            pool.drop_available(agent.login)
            if agent.offerable:
                pool.add_available(agent)

    def remove_agent(self, login: str) -> None:
        """Forget ``login`` (retired): out of every pool, never a candidate again."""
        for key in list(self._agent_pools.get(login, ())):
            self._leave_pool(self._pools[key], login)
        self._agent_pools.pop(login, None)
        self._agents.pop(login, None)

    def _join_pool(self, pool: _Pool, agent: AgentRecord) -> None:
        score = pool.score_of(agent)
        if score is not None:
            pool.members[agent.login] = score
            self._agent_pools[agent.login].add(pool.key)

    def _leave_pool(self, pool: _Pool, login: str) -> None:
        pool.drop_available(login)
        pool.members.pop(login, None)
        self._agent_pools[login].discard(pool.key)

    def pool_for(self, queue: str, skills: frozenset[str]) -> PoolKey:
        key: PoolKey = (queue, frozenset(skills | self._queues[queue].skills))
        if key not in self._pools:
            pool = _Pool(key, self._queues[queue], self._rate, self._cap)
            self._pools[key] = pool
            self._queue_pools[queue].add(key)
            for agent in self._agents.values():
                self._join_pool(pool, agent)
                if agent.offerable:
                    pool.add_available(agent)
        return key

    # -- waiting calls ---------------------------------------------------------------

    def add_call(self, waiting: WaitingCall, now: float) -> None:
        self._calls[waiting.call.call_id] = waiting
        entry = Entry(waiting.call.call_id, waiting.value, waiting.enqueued_at, waiting.call.place_id)
        for key in waiting.pools:
            self._pools[key].waiting.push(entry, now)
        owner = waiting.call.owner_login
        if owner is not None and waiting.rm_until > now:
            self._rm_calls[owner].add(waiting.call.call_id)

    def remove_call(self, call_id: str) -> WaitingCall | None:
        waiting = self._calls.pop(call_id, None)
        if waiting is None:
            return None
        for key in waiting.pools:
            self._pools[key].waiting.remove(call_id)
        owner = waiting.call.owner_login
        if owner is not None:
            self._rm_calls[owner].discard(call_id)
        return waiting

    def waiting(self, call_id: str) -> WaitingCall | None:
        return self._calls.get(call_id)

    def widen(self, call_id: str, queue: str, now: float) -> bool:
        """Let agents of ``queue`` take the call too; ``False`` if it already could."""
        waiting = self._calls[call_id]
        key = self.pool_for(queue, waiting.call.skills)
        if key in waiting.pools:
            return False
        waiting.pools.append(key)
        self._pools[key].waiting.push(
            Entry(call_id, waiting.value, waiting.enqueued_at, waiting.call.place_id), now
        )
        return True

    def calls_of_owner(self, login: str) -> list[str]:
        return sorted(self._rm_calls.get(login, ()))

    def has_serving_agent(self, queue: str, skills: frozenset[str]) -> bool:
        """Is anyone logged in who could take a call of ``queue`` needing ``skills``?"""
        pool = self._pools[self.pool_for(queue, skills)]
        return any(self._logged_in(login) for login in pool.members)

    # -- the two questions ----------------------------------------------------------------

    def _rm_only(self, waiting: WaitingCall, now: float) -> str | None:
        owner = waiting.call.owner_login
        if owner is None or now >= waiting.rm_until or not self._logged_in(owner):
            return None
        return owner

    def agents_for(self, call_id: str, now: float) -> list[str]:
        """Agents to offer ``call_id`` now (several in a ring-all queue), or ``[]`` to keep waiting."""
        waiting = self._calls[call_id]
        owner = self._rm_only(waiting, now)
        if owner is not None:
            agent = self._agents.get(owner)
            return [owner] if agent is not None and agent.offerable else []
        queue = self._queues[waiting.call.queue]
        level = queue.min_proficiency(now - waiting.enqueued_at)
        for key in waiting.pools:
            pool = self._pools[key]
            if not pool.available or -pool.available[0][0] < level:
                continue
            if pool.config.strategy is Strategy.RING_ALL:
                return [login for score, _, login in pool.available if -score >= level]
            return [pool.available[0][2]]
        return []

    def call_for(self, login: str, now: float) -> str | None:
        """The waiting call ``login`` (available) should take now, or ``None``."""
        best: tuple[Fraction, float, str, str] | None = None
        for call_id in self._rm_calls.get(login, ()):
            waiting = self._calls[call_id]
            if now < waiting.rm_until:
                rank = (-self._priority(waiting, now), waiting.enqueued_at, waiting.call.place_id, call_id)
                best = rank if best is None or rank < best else best
        if best is not None:
            return best[3]
        for key in self._agent_pools.get(login, ()):
            pool = self._pools[key]
            score = pool.members[login]
            for call_id in pool.waiting.iter(now):
                waiting = self._calls[call_id]
                if self._rm_only(waiting, now) not in (None, login):
                    continue
                queue = self._queues[waiting.call.queue]
                if score < queue.min_proficiency(now - waiting.enqueued_at):
                    continue
                priority = pool.waiting.priority(call_id, now)
                rank = (-priority, waiting.enqueued_at, waiting.call.place_id, call_id)
                if best is None or rank < best:
                    best = rank
                break
        return None if best is None else best[3]

    def _priority(self, waiting: WaitingCall, now: float) -> Fraction:
        waited = max(Fraction(0), Fraction(now) - Fraction(waiting.enqueued_at))
        return Fraction(waiting.value) + min(self._cap, self._rate * waited)

    # -- reading ------------------------------------------------------------------------------

    def queue_order(self, queue: str, now: float) -> list[str]:
        """Waiting calls whose own queue is ``queue``, in service order."""
        ids: list[tuple[Fraction, float, str, str]] = []
        for call_id, waiting in self._calls.items():
            if waiting.call.queue == queue:
                rank = (-self._priority(waiting, now), waiting.enqueued_at, waiting.call.place_id, call_id)
                ids.append(rank)
        return [call_id for _, _, _, call_id in sorted(ids)]

    def position(self, call_id: str, now: float) -> int | None:
        """1-based place among the calls waiting in the call's primary pool."""
        waiting = self._calls.get(call_id)
        if waiting is None:
            return None
        return self._pools[waiting.pools[0]].waiting.position(call_id, now)

    def waiting_calls(self) -> Iterable[WaitingCall]:
        return self._calls.values()

    def pool_members(self, queue: str) -> set[str]:
        members: set[str] = set()
        for key in self._queue_pools.get(queue, ()):
            members.update(self._pools[key].members)
        return members
