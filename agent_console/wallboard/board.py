"""The supervisor wallboard: today's live figures, pushed to observers at most once a second.

:class:`Wallboard` folds every bus event into :class:`TodayFigures` (see
:mod:`agent_console.wallboard.figures` for the definitions) and, when
something changed, sends each subscribed observer connection (supervisor,
admin) a ``wallboard`` message — ``{"type": "wallboard", "seq": n,
"event": {...}}`` with a
:class:`~agent_console.wallboard.schemas.WallboardSnapshot`.  A socket
subscribes by sending ``{"type": "subscribe", "topic": "wallboard"}`` after
its ``hello`` and gets the current picture at once (its *greeting*), so a
page that opens a socket again after a drop or a restart shows the true
state at once.  (Opt-in, so that a supervisor's agent console, which shows
no wallboard, is not sent one.)

The rate limit holds per connection, greeting included: no socket is ever
given two wallboard messages less than ``push_interval`` apart, measured
on the monotonic clock between the moments the messages are queued.  The
board pushes in *waves* (one picture built, then queued to every
subscriber due in a tight loop), waves at least ``push_interval`` apart; a
subscriber greeted between two waves joins the first wave that comes at
least ``push_interval`` after its greeting, so every socket ends up on the
same cadence and a wave is built once.  A second ``subscribe`` on a socket
that had a message less than ``push_interval`` ago is answered by the next
wave it is due in, not at once.  The time a wave takes to build is never
taken from the interval: the next wave is timed from the end of the last
one's queueing.

What comes from where:

* waiting calls, agent states and the queues each agent serves come from the
  live ACD (:class:`~agent_console.ports.LiveAcd`) when the process has one —
  it is the truth, so no ghost call or stale state survives a missed event;
  a console gateway without the ACD (another process on MQTT) uses the
  states and waiting calls folded from the events instead;
* counters and ratios of the day come from the events, seeded at start from
  the follow-up history (:mod:`agent_console.wallboard.seed`).

Queue figures are the same for every observer; the agent list is narrowed
to the agents the observer watches (:attr:`Connection.watch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from acd.events import BusEvent
from agent_console.connection import Connection
from agent_console.hub import Hub
from agent_console.ports import LiveAcd
from agent_console.wallboard.build import build_snapshot, waiting_customers
from agent_console.wallboard.directory import Names, WallboardDirectory
from agent_console.wallboard.figures import ServiceLevels, TodayFigures
from agent_console.wallboard.schemas import WallboardSnapshot
from agent_console.wallboard.seed import CallHistory, seed_agents, seed_figures

__all__ = ["TOPIC", "EventFanout", "Wallboard", "WallboardConfig", "zone_name"]

log = logging.getLogger(__name__)

#: The websocket topic (and message type) of the wallboard.
TOPIC = "wallboard"
_SEED_RETRY = (1.0, 30.0)  # first and longest delay between seeding attempts, seconds
_DAY_CHECK = 30.0  # how often an idle board looks whether the day has changed
_NAMES_REFRESH = 60.0  # how often agent and queue display names are read again
_NAMES_RETRY = 5.0  # after a failed lookup (the database away)


@dataclass(frozen=True)
class WallboardConfig:
    """How the composition root wires the wallboard (every part optional).

    ``tz`` draws "today" and the 15-minute intervals; ``service_levels``
    gives a queue's service-level threshold in seconds, as a mapping or a
    live lookup such as the ACD's queue settings (others:
    ``default_service_level``); ``push_interval`` is the least time between
    two wallboard messages to the same socket (monotonic clock; ``clock``
    only draws the day and the figures' instants).  ``directory`` gives the
    names shown (customers of waiting calls, agents, queues);
    ``queue_titles`` looks a queue's display name up live (the ACD's queue
    settings) before it.
    """

    live_acd: LiveAcd | None = None
    history: CallHistory | None = None
    tz: tzinfo = UTC
    service_levels: ServiceLevels = field(default_factory=dict)
    default_service_level: float = 20.0
    push_interval: float = 1.0
    clock: Callable[[], float] = time.time
    directory: WallboardDirectory | None = None
    queue_titles: Callable[[str], str | None] | None = None

    def __post_init__(self) -> None:
        if self.push_interval <= 0:
            raise ValueError("push_interval must be positive")
        levels = self.service_levels
        if self.default_service_level <= 0 or (not callable(levels) and any(v <= 0 for v in levels.values())):
            raise ValueError("service-level thresholds must be positive seconds")


def zone_name(tz: tzinfo) -> str:
    """An IANA name for ``tz`` (``UTC`` for :data:`datetime.UTC`)."""
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return key
    return "UTC" if tz is UTC else str(tz)


class EventFanout:
    """Hands each bus event to the hub, then to the wallboard, from one subscription.

    One subscription keeps both in the same order, and a failure in one
    (logged, the event skipped there) never keeps the event from the other.
    """

    def __init__(self, hub: Hub, board: Wallboard) -> None:
        self._targets: tuple[Hub | Wallboard, ...] = (hub, board)

    def dispatch(self, event: BusEvent) -> None:
        for target in self._targets:
            try:
                target.dispatch(event)
            except Exception:
                log.exception(
                    "console.dispatch_failed",
                    extra={"event_type": getattr(event, "type", "?"), "target": type(target).__name__},
                )


@dataclass(slots=True)
class _Subscriber:
    """One subscribed socket: when its last wallboard message was queued, and what it showed."""

    conn: Connection
    sent_at: float  # time.monotonic() once its last message was queued
    version: int  # the board version that message showed (-1: it owes the socket a picture)


class Wallboard:
    """Live figures of today plus their push to the observers attached to ``hub``."""

    def __init__(self, config: WallboardConfig, hub: Hub) -> None:
        self._config = config
        self._hub = hub
        self._clock = config.clock
        self.figures = TodayFigures(
            self._today().date(),
            config.tz,
            service_levels=config.service_levels,
            default_service_level=config.default_service_level,
        )
        self.names = Names(queue_lookup=config.queue_titles)
        self._names_version = 0
        self._names_wanted = asyncio.Event()
        self._changed = asyncio.Event()
        self._last_wave = -math.inf  # time.monotonic() at the end of the last push wave
        #: The least time (s) between two messages queued to one socket so far: never below the interval.
        self.closest_gap = math.inf
        self.seeded = asyncio.Event()
        self._subscribers: dict[Connection, _Subscriber] = {}
        hub.add_topic(TOPIC, self.subscribe)

    # -- input ----------------------------------------------------------------

    def dispatch(self, event: BusEvent) -> None:
        """Fold one bus event (the signature :func:`agent_console.app.consume_events` calls)."""
        self._roll_day()
        if self.figures.apply(event):
            self._changed.set()

    async def seed(self) -> int:
        """Fold today's calls from the history (none without one); return how many were added."""
        history = self._config.history
        if history is None:
            return 0
        start = datetime.combine(self.figures.day, datetime.min.time(), tzinfo=self._config.tz)
        end = datetime.combine(
            self.figures.day + timedelta(days=1), datetime.min.time(), tzinfo=self._config.tz
        )
        calls = await history.queued_calls(start, end)
        states_of = getattr(history, "agent_states", None)  # optional: a history may know no agent states
        states = await states_of(start, end) if states_of is not None else []
        added = seed_figures(self.figures, calls)
        agents = seed_agents(self.figures, states)
        log.info(
            "wallboard.seeded", extra={"day": self.figures.day.isoformat(), "calls": added, "agents": agents}
        )
        self._changed.set()
        return added

    # -- what the reports share -------------------------------------------------

    @property
    def timezone(self) -> str:
        """The site time zone's name (the reports' default zone too)."""
        return zone_name(self._config.tz)

    @property
    def default_service_level(self) -> float:
        return self._config.default_service_level

    def service_level_lookup(self) -> Callable[[str], float | None] | None:
        """The configured per-queue thresholds as a lookup (``None``: none, the default for all)."""
        levels = self._config.service_levels
        if callable(levels):
            return levels
        if levels:
            return levels.get
        return None

    def queue_names(self) -> list[str]:
        """Every queue the board knows: the live ACD's and today's."""
        names = set(self.figures.queues())
        if self._config.live_acd is not None:
            names.update(q.name for q in self._config.live_acd.snapshot().queues)
        return sorted(names)

    def queue_title(self, queue: str) -> str:
        """The queue's display name as the board shows it."""
        return self.names.queue_title(queue)

    # -- output ---------------------------------------------------------------

    def snapshot(self, watch: frozenset[str] | None = None) -> WallboardSnapshot:
        """The picture now; agents narrowed to ``watch`` (``None``: every agent)."""
        self._roll_day()
        live = self._config.live_acd.snapshot() if self._config.live_acd is not None else None
        if self._config.directory is not None and self.names.unknown(waiting_customers(self.figures, live)):
            self._names_wanted.set()
        return build_snapshot(self.figures, live, self._clock(), watch, self.names)

    def subscribe(self, conn: Connection) -> None:
        """Greet ``conn`` with the current picture, then push it every change (the hub's topic handler).

        A socket already subscribed that was sent a message less than
        ``push_interval`` ago gets its picture from the next wave it is due in.
        """
        known = self._subscribers.get(conn)
        if known is not None and time.monotonic() < known.sent_at + self._config.push_interval:
            known.version = -1
            self._changed.set()
            return
        version = self._version()
        try:
            conn.send_event(TOPIC, self.snapshot(conn.watch).model_dump_json())
        except Exception:
            log.exception("wallboard.greet_failed", extra={"login": conn.login})
            version = -1  # the next wave it is due in sends the picture
        self._subscribers[conn] = _Subscriber(conn, time.monotonic(), version)

    def push(self) -> int:
        """Send the picture to every subscriber owed one and due now; return how many connections got it.

        A subscriber is due once ``push_interval`` has passed since its last
        message; one not yet due keeps its change for a later wave.
        """
        now = time.monotonic()
        version = self._version()
        due = [
            s for s in self._live_subscribers() if s.version != version and now >= s.sent_at + self._interval
        ]
        if not due:
            return 0
        rendered: dict[frozenset[str] | None, str] = {}
        full: WallboardSnapshot | None = None
        for subscriber in due:
            key = subscriber.conn.watch
            if key not in rendered:
                # One picture for all; each set of watched agents only filters its agent list.
                full = full or self.snapshot(None)
                agents = [a for a in full.agents if key is None or a.login in key]
                rendered[key] = full.model_copy(update={"agents": agents}).model_dump_json()
        # Everything is rendered first: the frames of one wave are queued together, in a tight loop.
        queueing = time.monotonic()
        sent = sum(1 for s in due if s.conn.send_event(TOPIC, rendered[s.conn.watch]) is not None)
        done = time.monotonic()
        for subscriber in due:
            self.closest_gap = min(self.closest_gap, queueing - subscriber.sent_at)
            subscriber.sent_at, subscriber.version = done, version
        self._last_wave = done
        return sent

    def next_push_at(self) -> float | None:
        """When (``time.monotonic()``) the next wave may go, ``None`` while no subscriber is owed a picture.

        Waves are ``push_interval`` apart; a subscriber owed a picture is
        served by the first wave at least ``push_interval`` after its last
        message (a greeting between two waves joins the cadence that way).
        """
        version = self._version()
        owed = [s.sent_at for s in self._live_subscribers() if s.version != version]
        if not owed:
            return None
        return max(self._last_wave, min(owed)) + self._interval

    async def run(self) -> None:
        """Seed (retrying while the database is away), then push changes until cancelled."""
        seeding = asyncio.create_task(self._seed_until_done(), name="wallboard-seed")
        naming = asyncio.create_task(self._names_loop(), name="wallboard-names")
        try:
            while True:
                # Cleared before looking: a change from now on wakes the wait below.
                self._changed.clear()
                self._roll_day()
                push_at = self.next_push_at()
                if push_at is None:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(_DAY_CHECK):
                            await self._changed.wait()
                    continue
                wait = push_at - time.monotonic()
                if wait > 0:
                    # The rate limit: changes meanwhile go out together in that wave.
                    await asyncio.sleep(wait)
                    continue
                try:
                    self.push()
                except Exception:
                    log.exception("wallboard.push_failed")
                    self._last_wave = time.monotonic()  # try again an interval later, not in a tight loop

        finally:
            seeding.cancel()
            naming.cancel()
            await asyncio.gather(seeding, naming, return_exceptions=True)

    # -- internals ----------------------------------------------------------------

    def _version(self) -> int:
        return self.figures.version + self._names_version

    @property
    def _interval(self) -> float:
        return self._config.push_interval

    def _live_subscribers(self) -> list[_Subscriber]:
        """The subscribers still attached (closed sockets leave the hub, and so the board)."""
        attached = set(self._hub.observers())
        for gone in [conn for conn in self._subscribers if conn not in attached]:
            del self._subscribers[gone]
        return list(self._subscribers.values())

    async def refresh_names(self, *, everything: bool) -> bool:
        """Look up unknown waiting customers (and, ``everything``, agent and queue names) now."""
        directory = self._config.directory
        if directory is None:
            return False
        changed = False
        if everything:
            agents, queues = await directory.agent_names(), await directory.queue_titles()
            changed = (agents, queues) != (self.names.agents, self.names.queues)
            self.names.agents, self.names.queues = agents, queues
        live = self._config.live_acd.snapshot() if self._config.live_acd is not None else None
        unknown = self.names.unknown(waiting_customers(self.figures, live))
        if unknown:
            changed = self.names.learn(unknown, await directory.customers(unknown)) or changed
        if changed:
            self._names_version += 1
            self._changed.set()
        return changed

    async def _names_loop(self) -> None:
        last_full = -_NAMES_REFRESH
        while True:
            now = time.monotonic()
            everything = now - last_full >= _NAMES_REFRESH
            try:
                await self.refresh_names(everything=everything)
                if everything:
                    last_full = now
            except Exception as exc:
                log.warning("wallboard.names_failed", extra={"error": repr(exc)})
                await asyncio.sleep(_NAMES_RETRY)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_NAMES_REFRESH):
                    await self._names_wanted.wait()
            self._names_wanted.clear()
            await asyncio.sleep(0.05)  # calls queued together are looked up together

    async def _seed_until_done(self) -> None:
        delay, longest = _SEED_RETRY
        while True:
            try:
                await self.seed()
            except Exception as exc:
                log.warning("wallboard.seed_failed", extra={"error": repr(exc), "retry_in": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, longest)
                continue
            self.seeded.set()
            return

    def _today(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), self._config.tz)

    def _roll_day(self) -> None:
        today = self._today().date()
        if today != self.figures.day:
            log.info("wallboard.new_day", extra={"day": today.isoformat()})
            self.figures.roll(today)
            self._changed.set()
