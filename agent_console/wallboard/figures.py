"""Today's contact-center figures folded from bus events: pure, synchronous, no I/O.

:class:`TodayFigures` keeps one small record per queued call of the day and
per-queue, per-15-minute counters.  Every fold is idempotent per call (a
replayed or duplicated event, or a database row seeded after the same call
was seen live, never counts twice), so the wallboard may be seeded from the
database and fed from the bus in any interleaving.

Definitions (``shared/notes/domain.md``, "Contact-center KPIs"):

* **offered** — calls that entered the queue; a call belongs to the
  15-minute interval (local time) in which it *entered the queue*, and all
  its later figures (answered, abandoned, waits) count in that interval;
* **service level** = answered within ``T`` s (wait ≤ T) ÷ (answered +
  abandoned in queue after more than T s); ``None`` while that is 0;
* **ASA** = (queue + ring time of answered calls) ÷ answered: the wait is
  from entering the queue to the agent answering;
* **abandon rate** = abandoned in queue ÷ (handled + abandoned), where
  abandons shorter than 5 s (``short_abandoned``) and calls that left the
  queue for a callback are excluded from both sides, and handled = answered;
* **longest wait** = now − the oldest enqueue time of the calls still waiting;
* **AHT** = (talk + hold + the agent's wrap-up for the call) ÷ handled, handled
  meaning answered and ended; talk and hold run from the answer to the end;
* **occupancy** = handling ÷ (handling + available idle) of the agents'
  time today, handling being ``on_call``/``on_hold``/``wrap_up`` and idle
  ``available``/``reserved``/``ringing`` (as :mod:`crm_core.stats.agents`).

A call that leaves its queue for another one (moved by a supervisor,
overflowed, sent on after its longest wait) closes its first leg as neither
answered nor abandoned and is offered again to the new queue, as
``queue_log`` tells it; its wait there still counts from when the caller
first queued, since that is what the caller lived.  Calls that time out of
the queue (``no_agent``, ``max_wait``) are counted apart (``timed_out``):
they are not abandons by the definition above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from acd.events import (
    AgentStateChanged,
    BusEvent,
    CallConnected,
    CallEnded,
    CallOffered,
    CallQueued,
    QueueTransition,
)
from agent_console.wallboard.counts import HANDLING_STATES, IDLE_STATES, AgentToday, IntervalCounts, kpis

__all__ = [
    "INTERVAL_SECONDS",
    "SHORT_ABANDON_SECONDS",
    "AgentToday",
    "CallLeg",
    "IntervalCounts",
    "ServiceLevels",
    "TodayFigures",
    "kpis",
]

INTERVAL_SECONDS = 15 * 60
SHORT_ABANDON_SECONDS = 5.0
DEFAULT_SERVICE_LEVEL_SECONDS = 20.0

#: A queue's service-level threshold (seconds): a fixed mapping or a live lookup.
ServiceLevels = Mapping[str, float] | Callable[[str], float | None]

_ABANDONED = frozenset({"abandoned_in_queue", "abandoned"})
_TIMED_OUT = frozenset({"no_agent", "max_wait", "timeout"})
# The history stores instants to the microsecond: an entry this close to the leg's is the same one.
_SAME_INSTANT = 0.001


@dataclass(slots=True)
class CallLeg:
    """One call's stay in one queue (the current leg of ``call_id``)."""

    call_id: str
    queue: str
    queued_at: float  # when the caller's wait began (the first queue's entry)
    bucket: int | None  # interval start (epoch s) today; None: the leg belongs to another day
    agent_login: str | None = None  # ringing or talking
    answered: bool = False
    closed: bool = False  # answered and ended, abandoned, timed out, moved…
    entered_at: float = 0.0  # when the call entered this leg's queue
    answered_at: float | None = None
    caller_number: str | None = None
    customer_id: int | None = None

    def __post_init__(self) -> None:
        self.entered_at = self.entered_at or self.queued_at

    @property
    def waiting(self) -> bool:
        return not self.closed and not self.answered and self.agent_login is None


class TodayFigures:
    """Folds events into today's per-queue and per-agent figures.

    ``tz`` draws the day and interval boundaries; ``service_levels`` gives a
    queue's threshold in seconds — a mapping, or a function looked up at each
    answer so that a threshold edited at run time applies from then on
    (a queue it does not know, or that raises ``LookupError``/``ValueError``,
    uses ``default_service_level``).
    Events of another day than the current one are ignored, except that they
    still move live calls and agents; :meth:`roll` starts a new day.
    """

    def __init__(
        self,
        day: date,
        tz: tzinfo = UTC,
        *,
        service_levels: ServiceLevels | None = None,
        default_service_level: float = DEFAULT_SERVICE_LEVEL_SECONDS,
    ) -> None:
        self.tz = tz
        self._service_levels = service_levels if service_levels is not None else {}
        self._default_sl = default_service_level
        self.day = day
        self._start = 0.0
        self._end = 0.0
        self.calls: dict[str, CallLeg] = {}
        # The legs not closed yet, by call id: what every push and agent event looks through (a few
        # hundred), where ``calls`` keeps every leg of the day for the replays (hundreds of thousands).
        self._open: dict[str, CallLeg] = {}
        self.buckets: dict[str, dict[int, IntervalCounts]] = {}
        self.agents: dict[str, AgentToday] = {}
        self.version = 0  # bumped by every change a wallboard would show
        self.roll(day)

    # -- day ------------------------------------------------------------------

    def roll(self, day: date) -> None:
        """Start ``day``: counters restart at zero; live calls stay, counted for no day."""
        start = datetime.combine(day, datetime.min.time(), tzinfo=self.tz)
        self.day = day
        self._start = start.timestamp()
        self._end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=self.tz).timestamp()
        self.buckets = {}
        for call_id in [c for c, leg in self.calls.items() if leg.closed]:
            del self.calls[call_id]
        for leg in self.calls.values():
            leg.bucket = None
        for agent in self.agents.values():
            agent.handled_today = 0
            agent.handling = agent.idle = 0.0
        self.version += 1

    def day_of(self, at: float) -> date:
        return datetime.fromtimestamp(at, self.tz).date()

    def interval_starts(self) -> list[int]:
        """Start (epoch seconds) of every 15-minute interval of the day, in order."""
        starts: list[int] = []
        t = self._start
        while t < self._end:
            starts.append(int(t))
            t += INTERVAL_SECONDS
        return starts

    def service_level_seconds(self, queue: str) -> float:
        levels = self._service_levels
        try:
            value = levels(queue) if callable(levels) else levels.get(queue)
        except (LookupError, ValueError):
            value = None
        return value if value is not None and value > 0 else self._default_sl

    # -- folding ----------------------------------------------------------------

    def apply(self, event: BusEvent) -> bool:
        """Fold one event; return whether anything shown changed."""
        if isinstance(event, CallQueued):
            e = event
            number, customer = e.caller_number, e.customer_id
            return self.queued(e.call_id, e.queue, e.at, caller_number=number, customer_id=customer)
        if isinstance(event, CallOffered):
            return self._offered(event)
        if isinstance(event, CallConnected):
            return self.connected(event.call_id, event.queue, event.agent_login, event.at)
        if isinstance(event, CallEnded):
            return self.ended(event.call_id, event.outcome, event.at, queue=event.queue)
        if isinstance(event, AgentStateChanged):
            return self._agent_state(event)
        if isinstance(event, QueueTransition):
            return self._transition(event)
        return False

    @property
    def day_start(self) -> float:
        return self._start

    def queued(
        self,
        call_id: str,
        queue: str,
        at: float,
        *,
        waiting_since: float | None = None,
        caller_number: str | None = None,
        customer_id: int | None = None,
    ) -> bool:
        """A call entered ``queue`` at ``at`` (its caller waiting since ``waiting_since``, default ``at``).

        A new leg of the same call keeps its caller number and customer.

        An entry no later than the call's current leg is a replay (or a row
        seeded from the history) and is ignored; a later one starts a new
        leg, closing an unanswered current leg as moved out.
        """
        leg = self.calls.get(call_id)
        if leg is not None:
            if at <= leg.entered_at + _SAME_INSTANT or (leg.queue == queue and leg.waiting):
                return False
            if not leg.closed and not leg.answered:
                self._count(leg).moved_out += 1  # left for another queue: a new leg starts
        before = leg  # in a new queue, still the same caller
        leg = CallLeg(call_id, queue, waiting_since or at, self._bucket(at), entered_at=at)
        leg.caller_number = caller_number or (before.caller_number if before else None)
        leg.customer_id = customer_id or (before.customer_id if before else None)
        self.calls[call_id] = self._open[call_id] = leg
        self._count(leg).offered += 1
        self.version += 1
        return True

    def connected(self, call_id: str, queue: str, agent_login: str, at: float) -> bool:
        """The agent answered: the call counts as answered with its queue + ring wait."""
        leg = self.calls.get(call_id)
        if leg is None:
            # Never seen queued (a gateway that started mid-call): a leg with no wait.
            self.queued(call_id, queue, at)
            leg = self.calls[call_id]
        if leg.answered or leg.closed:
            return False
        wait = max(0.0, at - leg.queued_at)
        leg.answered = True
        leg.answered_at = at
        leg.agent_login = agent_login or None
        counts = self._count(leg)
        counts.answered += 1
        counts.wait_answered += wait
        if wait <= self.service_level_seconds(leg.queue):
            counts.answered_within += 1
        if leg.bucket is not None and agent_login:
            self._agent(agent_login).handled_today += 1
        self.version += 1
        return True

    def ended(self, call_id: str, outcome: str, at: float, *, queue: str | None = None) -> bool:
        """The call is over with ``outcome`` (see the module doc for how each counts)."""
        leg = self.calls.get(call_id)
        if leg is None or leg.closed:
            return False
        leg.closed = True
        self._open.pop(call_id, None)
        self.version += 1
        counts = self._count(leg)
        if leg.answered:
            counts.handled += 1
            counts.handle_time += max(0.0, at - (leg.answered_at or at))
            return True
        wait = max(0.0, at - leg.queued_at)
        if outcome in _ABANDONED:
            if wait < SHORT_ABANDON_SECONDS:
                counts.short_abandoned += 1
            else:
                counts.abandoned += 1
            if wait > self.service_level_seconds(leg.queue):
                counts.abandoned_after += 1
        elif outcome.startswith("callback"):
            counts.callbacks += 1
        elif outcome in _TIMED_OUT:
            counts.timed_out += 1
        return True

    def _transition(self, event: QueueTransition) -> bool:
        """The ACD's own record of queue steps: moves, overflows, exits without an agent."""
        leg = self.calls.get(event.call_id)
        to_queue = event.data.get("to_queue")
        moving = event.event in ("moved", "max_wait") or (
            event.event == "overflowed" and event.data.get("mode") != "widen"
        )
        if moving and isinstance(to_queue, str) and to_queue:
            if leg is None or leg.closed or leg.answered:
                return False
            return self.queued(event.call_id, to_queue, event.at, waiting_since=leg.queued_at)
        if event.event == "max_wait":
            return self.ended(event.call_id, "max_wait", event.at)
        if event.event == "callback_requested":
            return self.ended(event.call_id, "callback", event.at)
        if event.event in ("abandoned", "interrupted"):
            return self.ended(event.call_id, event.event, event.at)
        return False  # joined, offered, connected…: the call events say the same

    def _offered(self, event: CallOffered) -> bool:
        leg = self.calls.get(event.call_id)
        agent = self._agent(event.agent_login)
        agent.queues.add(event.queue)
        if leg is None or leg.closed or leg.agent_login == event.agent_login:
            return False
        leg.agent_login = event.agent_login
        self.version += 1
        return True

    def _agent_state(self, event: AgentStateChanged) -> bool:
        agent = self._agent(event.agent_login)
        agent.first_seen = agent.first_seen or event.at
        self._charge(agent, event.at)
        # A wrap-up without a call id is the wrap-up of the call just handled (as the reports read it).
        call_id = event.call_id or (agent.call_id if event.state == "wrap_up" else None)
        agent.state = event.state
        agent.reason = event.reason
        agent.since = event.at
        agent.call_id = call_id
        # An agent back to available/paused no longer rings for a call that was not answered.
        if event.state in ("available", "paused", "logged_out"):
            for leg in self._open.values():
                if leg.agent_login == event.agent_login and not leg.answered:
                    leg.agent_login = None
        self.version += 1
        return True

    def seed_agent(self, login: str, states: list[AgentStateChanged]) -> bool:
        """Count an agent's time today from the history: the states before the first one seen live.

        An agent not seen live yet takes the history's last state as its own.
        """
        agent = self._agent(login)
        first = agent.first_seen
        rows = sorted((s for s in states if not first or s.at < first), key=lambda s: s.at)
        if not rows:
            return False
        past = AgentToday(login)  # folded apart: an old state must not touch today's calls
        for row in rows:
            self._charge(past, row.at)
            past.state, past.reason, past.since = row.state, row.reason, row.at
            past.call_id = row.call_id or (past.call_id if row.state == "wrap_up" else None)
        if first:
            self._charge(past, first)  # the live state took over there
        else:
            agent.state, agent.reason, agent.since = past.state, past.reason, past.since
            agent.call_id, agent.first_seen = past.call_id, rows[0].at
        agent.handling += past.handling
        agent.idle += past.idle
        self.version += 1
        return True

    # -- reading ----------------------------------------------------------------

    def totals(self, queue: str) -> IntervalCounts:
        total = IntervalCounts()
        for counts in self.buckets.get(queue, {}).values():
            total.add(counts)
        return total

    def waiting(self, queue: str) -> list[CallLeg]:
        """Calls still waiting in ``queue`` (not ringing an agent), oldest first."""
        legs = [leg for leg in self._open.values() if leg.queue == queue and leg.waiting]
        return sorted(legs, key=lambda leg: leg.queued_at)

    def queues(self) -> set[str]:
        names = set(self.buckets)
        names.update(leg.queue for leg in self._open.values())
        return names

    def open_legs(self) -> list[CallLeg]:
        """The calls not over yet (waiting, ringing or talking), one leg each."""
        return list(self._open.values())

    # -- internals ----------------------------------------------------------------

    def _bucket(self, at: float) -> int | None:
        if not self._start <= at < self._end:
            return None
        return int(self._start + (at - self._start) // INTERVAL_SECONDS * INTERVAL_SECONDS)

    def _count(self, leg: CallLeg) -> IntervalCounts:
        if leg.bucket is None:
            return IntervalCounts()  # another day's call: its figures go nowhere
        return self.buckets.setdefault(leg.queue, {}).setdefault(leg.bucket, IntervalCounts())

    def _charge(self, agent: AgentToday, until: float) -> None:
        """Count the agent's time today in the state it leaves at ``until``."""
        if not agent.since:
            return
        seconds = max(0.0, min(until, self._end) - max(agent.since, self._start))
        if agent.state in HANDLING_STATES:
            agent.handling += seconds
        elif agent.state in IDLE_STATES:
            agent.idle += seconds
        if agent.state == "wrap_up" and agent.call_id is not None and seconds:
            leg = self.calls.get(agent.call_id)
            if leg is not None and leg.answered and leg.bucket is not None:
                self._count(leg).handle_time += seconds

    def _agent(self, login: str) -> AgentToday:
        agent = self.agents.get(login)
        if agent is None:
            agent = self.agents[login] = AgentToday(login)
        return agent
