"""The supervisor wallboard: today's live figures, pushed to observers at most once a second.

:class:`Wallboard` folds every bus event into :class:`TodayFigures` (see
:mod:`agent_console.wallboard.figures` for the definitions) and, when
something changed, sends each subscribed observer connection (supervisor,
admin) a ``wallboard`` message — ``{"type": "wallboard", "seq": n,
"event": {...}}`` with a
:class:`~agent_console.wallboard.schemas.WallboardSnapshot` — no more than
once per ``push_interval``.  A socket subscribes by sending
``{"type": "subscribe", "topic": "wallboard"}`` after its ``hello`` and
gets the current picture at once, so a page that subscribes again after a
drop or a restart shows the true state at once.  (Opt-in, so that a
supervisor's agent console, which shows no wallboard, is not sent one.)

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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from acd.events import BusEvent
from agent_console.connection import Connection
from agent_console.hub import Hub
from agent_console.ports import LiveAcd
from agent_console.wallboard.build import build_snapshot
from agent_console.wallboard.figures import ServiceLevels, TodayFigures
from agent_console.wallboard.schemas import WallboardSnapshot
from agent_console.wallboard.seed import CallHistory, seed_figures

__all__ = ["TOPIC", "EventFanout", "Wallboard", "WallboardConfig"]

log = logging.getLogger(__name__)

#: The websocket topic (and message type) of the wallboard.
TOPIC = "wallboard"
_SEED_RETRY = (1.0, 30.0)  # first and longest delay between seeding attempts, seconds
_DAY_CHECK = 30.0  # how often an idle board looks whether the day has changed


@dataclass(frozen=True)
class WallboardConfig:
    """How the composition root wires the wallboard (every part optional).

    ``tz`` draws "today" and the 15-minute intervals; ``service_levels``
    gives a queue's service-level threshold in seconds, as a mapping or a
    live lookup such as the ACD's queue settings (others:
    ``default_service_level``); ``push_interval`` is the least time between
    two pushes to the same observers.
    """

    live_acd: LiveAcd | None = None
    history: CallHistory | None = None
    tz: tzinfo = UTC
    service_levels: ServiceLevels = field(default_factory=dict)
    default_service_level: float = 20.0
    push_interval: float = 1.0
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.push_interval <= 0:
            raise ValueError("push_interval must be positive")
        levels = self.service_levels
        if self.default_service_level <= 0 or (not callable(levels) and any(v <= 0 for v in levels.values())):
            raise ValueError("service-level thresholds must be positive seconds")


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
        self._changed = asyncio.Event()
        self._pushed_version = -1
        self.seeded = asyncio.Event()
        self._subscribers: set[Connection] = set()
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
        added = seed_figures(self.figures, calls)
        log.info("wallboard.seeded", extra={"day": self.figures.day.isoformat(), "calls": added})
        self._changed.set()
        return added

    # -- output ---------------------------------------------------------------

    def snapshot(self, watch: frozenset[str] | None = None) -> WallboardSnapshot:
        """The picture now; agents narrowed to ``watch`` (``None``: every agent)."""
        self._roll_day()
        live = self._config.live_acd.snapshot() if self._config.live_acd is not None else None
        return build_snapshot(self.figures, live, self._clock(), watch)

    def subscribe(self, conn: Connection) -> None:
        """Send ``conn`` the current picture now and every change from now on (the hub's topic handler)."""
        self._subscribers.add(conn)
        try:
            conn.send_event(TOPIC, self.snapshot(conn.watch).model_dump_json())
        except Exception:
            log.exception("wallboard.greet_failed", extra={"login": conn.login})

    def push(self) -> int:
        """Send the picture to every subscribed observer now; return how many connections got it."""
        rendered: dict[frozenset[str] | None, str] = {}
        sent = 0
        attached = set(self._hub.observers())
        self._subscribers &= attached  # closed sockets leave the hub, and so the board
        full: WallboardSnapshot | None = None
        for conn in list(self._subscribers):
            key = conn.watch
            if key not in rendered:
                # One picture for all; each set of watched agents only filters its agent list.
                full = full or self.snapshot(None)
                agents = [a for a in full.agents if key is None or a.login in key]
                rendered[key] = full.model_copy(update={"agents": agents}).model_dump_json()
            if conn.send_event(TOPIC, rendered[key]) is not None:
                sent += 1
        self._pushed_version = self.figures.version
        return sent

    async def run(self) -> None:
        """Seed (retrying while the database is away), then push changes until cancelled."""
        seeding = asyncio.create_task(self._seed_until_done(), name="wallboard-seed")
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_DAY_CHECK):
                        await self._changed.wait()
                self._changed.clear()
                self._roll_day()
                if self.figures.version == self._pushed_version:
                    continue
                try:
                    self.push()
                except Exception:
                    log.exception("wallboard.push_failed")
                # The rate limit: changes meanwhile set the event and go out together.
                await asyncio.sleep(self._config.push_interval)
        finally:
            seeding.cancel()
            await asyncio.gather(seeding, return_exceptions=True)

    # -- internals ----------------------------------------------------------------

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
