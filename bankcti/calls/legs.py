"""The legs of the calls bankcti follows, written to the history in order, call by call.

Two writers share a call's timeline: the FastAGI session of
:mod:`bankcti.calls.callflow` (its IVR stretch, its queue wait, each agent it
dials) and :mod:`bankcti.calls.watch` (what the PBX reports on its own:
transfers, holds, a dialplan ``Dial`` to a number or an agent's device, the
call's true end).  :class:`CallLegs` is where they meet: it chooses each
leg's key when the leg starts (the key every later write of the leg
repeats, so replays from the history spool merge), remembers which agent
leg talks now (an attended transfer swaps it under a running session), and
chains each call's writes so the database sees them in the order they were
made.  The caller never waits for the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from bankcti.calls.chain import chain_write, logged_failure
from crm_core.schemas import CallEndRecord, LegRecord

__all__ = ["CallLegs", "LegWriter", "utc"]

log = logging.getLogger(__name__)


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class LegWriter(Protocol):
    async def upsert_leg(self, leg: LegRecord) -> object: ...
    async def end_call(self, end: CallEndRecord) -> object: ...


@runtime_checkable
class QueueingLegs(Protocol):
    """A history that queues each write at once, behind every earlier one (as
    :class:`bankcti.calls.live.QueueingHistory`): a leg's write is queued when it is made."""

    def queue_leg(self, leg: LegRecord) -> Awaitable[object]: ...
    def queue_end(self, end: CallEndRecord) -> Awaitable[object]: ...


@dataclass
class _Timeline:
    """What is open of one call's legs."""

    agent_leg: str | None = None  # the agent (or external) leg ringing or talking now
    agent_login: str | None = None
    answered: bool = False
    hold_leg: str | None = None
    open_legs: set[str] = field(default_factory=set)
    writes: asyncio.Future[None] | None = None


class CallLegs:
    """Open, update and close the legs of live calls (see the module)."""

    def __init__(self, writer: LegWriter) -> None:
        self._writer = writer
        self._queueing = writer if isinstance(writer, QueueingLegs) else None
        self._calls: dict[str, _Timeline] = {}
        self._detached: set[asyncio.Future[None]] = set()  # the writes of calls already ended
        self._ending: dict[str, asyncio.Future[None]] = {}  # the end being written, by call id

    def _timeline(self, call_id: str) -> _Timeline:
        return self._calls.setdefault(call_id, _Timeline())

    # -- queries -------------------------------------------------------------------------
    def agent_leg(self, call_id: str) -> str | None:
        """The key of the agent leg ringing or talking on ``call_id`` now."""
        timeline = self._calls.get(call_id)
        return timeline.agent_leg if timeline is not None else None

    def agent_login(self, call_id: str) -> str | None:
        timeline = self._calls.get(call_id)
        return timeline.agent_login if timeline is not None else None

    def answered(self, call_id: str) -> bool:
        timeline = self._calls.get(call_id)
        return timeline is not None and timeline.answered

    def hold_leg(self, call_id: str) -> str | None:
        timeline = self._calls.get(call_id)
        return timeline.hold_leg if timeline is not None else None

    # -- writes ----------------------------------------------------------------------------
    def open(self, call_id: str, kind: str, *, at: float, key: str | None = None, **fields: Any) -> str:
        """Start a leg of ``kind`` at ``at``; return its key (``key``: a key the PBX gave, e.g. a dial's)."""
        key = key or f"{kind}-{uuid.uuid4().hex[:16]}"
        timeline = self._timeline(call_id)
        timeline.open_legs.add(key)
        if kind in ("agent", "external"):
            timeline.agent_leg, timeline.agent_login = key, fields.get("agent_login")
            timeline.answered = timeline.answered or fields.get("answered_at") is not None
        elif kind == "hold":
            timeline.hold_leg = key
        self._write(
            call_id, LegRecord(call_id=call_id, leg_key=key, kind=kind, started_at=utc(at), **_times(fields))
        )
        return key

    def update(self, call_id: str, key: str, **fields: Any) -> None:
        """Merge ``fields`` (times as epoch seconds) into an open leg."""
        timeline = self._timeline(call_id)
        if fields.get("answered_at") is not None and key == timeline.agent_leg:
            timeline.answered = True
        if fields.get("agent_login") is not None and key == timeline.agent_leg:
            timeline.agent_login = fields["agent_login"]
        self._write(call_id, LegRecord(call_id=call_id, leg_key=key, **_times(fields)))

    def close(self, call_id: str, key: str | None, *, at: float | None, reason: str, **fields: Any) -> None:
        """End the leg ``key`` at ``at`` (``None``: unknown) for ``reason``; a closed leg stays as it is."""
        timeline = self._calls.get(call_id)
        if key is None or timeline is None or key not in timeline.open_legs:
            return
        timeline.open_legs.discard(key)
        if key == timeline.agent_leg:
            timeline.agent_leg = None
        if key == timeline.hold_leg:
            timeline.hold_leg = None
        record = LegRecord(
            call_id=call_id, leg_key=key, end_reason=reason, **_times({**fields, "ended_at": at})
        )
        self._write(call_id, record)

    def agent_offered(
        self, call_id: str, *, at: float, agent_login: str, device: str, queue: str, queue_leg: str | None
    ) -> None:
        """An agent's phone is about to ring for the call waiting in ``queue_leg``: a new agent leg."""
        self.close(call_id, self.agent_leg(call_id), at=at, reason="ring_failed")  # never left open
        self.open(
            call_id, "agent", at=at, agent_login=agent_login, target=device[:80], queue=queue, offered_at=at
        )
        if queue_leg is not None:
            self.update(call_id, queue_leg, queue=queue)  # an overflow or a move changed it

    def ring_ended(self, call_id: str, *, at: float, reason: str, queue_leg: str | None) -> None:
        """The agent's phone stopped ringing unanswered (``reason``); a caller gone also ends the wait."""
        if reason == "caller_hung_up":
            self.close(call_id, queue_leg, at=at, reason=reason)
        self.close(call_id, self.agent_leg(call_id), at=at, reason=reason)

    def adopt(
        self,
        call_id: str,
        *,
        agent_leg: str | None,
        agent_login: str | None,
        hold_leg: str | None,
        open_legs: set[str],
        answered: bool,
    ) -> None:
        """Take over the open legs of a call an earlier run of bankcti followed (after a restart)."""
        timeline = self._timeline(call_id)
        timeline.agent_leg, timeline.agent_login, timeline.hold_leg = agent_leg, agent_login, hold_leg
        timeline.open_legs |= open_legs
        timeline.answered = answered

    def end(self, end: CallEndRecord) -> None:
        """The call is over: its end closes what is still open (in the database too), then it is forgotten."""
        timeline = self._calls.pop(end.call_id, None)
        previous = timeline.writes if timeline is not None else None
        write = self._queueing.queue_end(end) if self._queueing is not None else self._writer.end_call(end)
        task = chain_write(previous, write, logged_failure(log, "call.leg_write_failed", end.call_id))
        self._keep(end.call_id, task, detached=True)
        self._ending[end.call_id] = task
        task.add_done_callback(lambda _: self._ending.pop(end.call_id, None))

    async def settled(self, call_id: str) -> None:
        """Wait until the call's end (if it is being written) and its earlier writes reached the writer."""
        ending = self._ending.get(call_id)
        if ending is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(ending)
        else:
            await self.flushed(call_id)

    async def flushed(self, call_id: str) -> None:
        """Wait until the writes of ``call_id`` made so far reached the writer."""
        timeline = self._calls.get(call_id)
        if timeline is not None and timeline.writes is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(timeline.writes)

    def forget(self, call_id: str) -> None:
        """Stop following ``call_id`` without ending it (its writes already queued still land)."""
        self._calls.pop(call_id, None)

    async def close_all(self) -> None:
        """Let every queued write finish (service shutdown)."""
        pending = [t.writes for t in self._calls.values() if t.writes is not None] + list(self._detached)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _write(self, call_id: str, record: LegRecord) -> None:
        timeline = self._timeline(call_id)
        write = (
            self._queueing.queue_leg(record)
            if self._queueing is not None
            else self._writer.upsert_leg(record)
        )
        failed = logged_failure(log, "call.leg_write_failed", call_id)
        self._keep(call_id, chain_write(timeline.writes, write, failed), detached=False)

    def _keep(self, call_id: str, task: asyncio.Future[None], *, detached: bool) -> None:
        if detached:
            self._detached.add(task)
            task.add_done_callback(self._detached.discard)
        else:
            self._timeline(call_id).writes = task


def _times(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with epoch-second times (``*_at``) as UTC datetimes, ``None`` dropped."""
    return {
        name: utc(value) if name.endswith("_at") and isinstance(value, float | int) else value
        for name, value in fields.items()
        if value is not None
    }
