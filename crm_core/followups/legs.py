"""The legs of a call (:class:`~crm_core.models.InteractionLeg`) and the totals derived from them.

Every write is an upsert keyed by ``(call_id, leg_key)`` touching only the
fields it carries, so writes merge in any order and a replay from the
history spool changes nothing.  A leg write creates the call's interaction
row if it is not there yet (a leg may reach the database before the call's
first record), and every write recomputes the interaction's totals from its
legs in the same transaction:

* ``wait_seconds`` — the sum of the queue waits (unknown while one is open
  or ended unobserved);
* ``talk_seconds`` — the sum of the answered agent and external legs, from
  the answer to the end of the leg (holds included, as the ACD counts talk);
  unknown while one is open or ended unobserved;
* ``hold_seconds`` — the sum of the holds.

A call without legs (recorded before legs existed, a click-to-dial call)
keeps the totals of its own timestamps (:func:`call_durations`).

A group commit (:func:`batch_writes`) writes many steps in one transaction:
the totals are then derived once per call at the end of the batch (they
depend only on what is stored, so the result is the same), and a call's row
id is looked up once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import LEG_END_REASONS, LEG_KINDS, Interaction, InteractionLeg
from crm_core.schemas import CallEndRecord, LegRecord

__all__ = [
    "LegView",
    "Totals",
    "batch_writes",
    "call_durations",
    "close_open_legs",
    "derive_totals",
    "end_batch",
    "ensure_interaction",
    "ensure_interactions",
    "legs_of",
    "refresh_totals",
    "upsert_leg",
]

log = logging.getLogger(__name__)

_TABLE = InteractionLeg.__table__
_FIELDS = (
    "queue", "agent_login", "target", "offered_at", "answered_at", "ended_at", "end_reason", "transferred_to",
)  # fmt: skip
_TALKING = ("agent", "external")
# Keys of ``session.info`` while a group commit's batch runs in the session.
_TOTALS_LATER = "bankcti.totals_later"
_ROW_IDS = "bankcti.interaction_ids"

Totals = tuple[float | None, float | None, float | None]


class LegView(BaseModel):
    """One leg of a call as the history shows it (times UTC; ``None``: not known)."""

    model_config = ConfigDict(frozen=True)

    leg_key: str
    kind: str
    queue: str | None
    agent_login: str | None
    target: str | None
    started_at: datetime
    offered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    transferred_to: str | None


def call_durations(
    queued_at: datetime | None, answered_at: datetime | None, ended_at: datetime | None
) -> tuple[float | None, float | None]:
    """``(wait_seconds, talk_seconds)`` of a call.

    Wait runs from queueing to the answer, or to the end if never answered
    (an abandon); talk runs from the answer to the end.  Unknown ends give
    ``None``; clock skew between sources never gives a negative duration.
    """
    wait = None
    if queued_at is not None:
        stop = answered_at or ended_at
        if stop is not None:
            wait = max(0.0, (stop - queued_at).total_seconds())
    talk = None
    if answered_at is not None and ended_at is not None:
        talk = max(0.0, (ended_at - answered_at).total_seconds())
    return wait, talk


def _length(name: str) -> int:
    length = getattr(_TABLE.c[name].type, "length", None)
    assert isinstance(length, int)
    return length


def _checked(leg: LegRecord) -> dict[str, Any]:
    """The fields ``leg`` sets; :class:`ValueError` for a kind or end reason outside the model's sets."""
    if leg.kind is not None and leg.kind not in LEG_KINDS:
        raise ValueError(f"leg kind must be one of {', '.join(LEG_KINDS)}")
    if leg.end_reason is not None and leg.end_reason not in LEG_END_REASONS:
        raise ValueError(f"leg end reason must be one of {', '.join(LEG_END_REASONS)}")
    values = {name: getattr(leg, name) for name in _FIELDS if getattr(leg, name) is not None}
    for name, value in values.items():
        if isinstance(value, str) and len(value) > _length(name):
            # Machine-fed (a trunk's number, a dial string): cut to size, never lose the leg.
            values[name] = value[: _length(name)]
            log.warning("interaction_leg.field_truncated", extra={"call_id": leg.call_id, "field": name})
    return values


def _insert_for(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@functools.cache
def _excluded(insert: Any) -> Any:
    return insert(InteractionLeg).excluded


def batch_writes(session: AsyncSession) -> None:
    """Mark ``session`` as running a batch of writes: totals wait for :func:`end_batch`."""
    session.info[_TOTALS_LATER] = set()
    session.info[_ROW_IDS] = {}


async def ensure_interactions(session: AsyncSession, call_ids: Iterable[str], now: datetime) -> None:
    """:func:`ensure_interaction` for many calls of a batch at once: two statements, ids remembered."""
    known: dict[str, int] = session.info.setdefault(_ROW_IDS, {})
    wanted = sorted(set(call_ids) - set(known))
    if not wanted:
        return
    empty = {"channel": "phone", "direction": "inbound", "created_at": now, "updated_at": now}
    await session.execute(
        _insert_for(session)(Interaction)
        .values([{"call_id": call_id, **empty} for call_id in wanted])
        .on_conflict_do_nothing(index_elements=[Interaction.call_id])
    )
    rows = await session.execute(
        select(Interaction.call_id, Interaction.id).where(Interaction.call_id.in_(wanted))
    )
    known.update({row.call_id: int(row.id) for row in rows})


async def end_batch(session: AsyncSession) -> None:
    """Derive the totals of every call the batch touched, in its transaction (before the commit).

    The same figures as :func:`refresh_totals`, read and written for all the calls at once.
    """
    touched = sorted(session.info.pop(_TOTALS_LATER, set()))
    session.info.pop(_ROW_IDS, None)
    if not touched:
        return
    rows = (
        await session.execute(
            select(
                Interaction.id,
                Interaction.queued_at,
                Interaction.answered_at,
                Interaction.ended_at,
                Interaction.wait_seconds,
                Interaction.talk_seconds,
                Interaction.hold_seconds,
            ).where(Interaction.id.in_(touched))
        )
    ).all()
    spans = (
        await session.execute(
            select(
                InteractionLeg.interaction_id,
                InteractionLeg.kind,
                InteractionLeg.started_at,
                InteractionLeg.answered_at,
                InteractionLeg.ended_at,
            ).where(InteractionLeg.interaction_id.in_(touched))
        )
    ).all()
    legs: dict[int, list[Any]] = {}
    for span in spans:
        legs.setdefault(span.interaction_id, []).append(span)
    changed = []
    for row in rows:
        totals = _totals(legs.get(row.id, []), row)
        if totals != (row.wait_seconds, row.talk_seconds, row.hold_seconds):
            changed.append({"row_id": row.id, "wait": totals[0], "talk": totals[1], "hold": totals[2]})
    if changed:
        table = cast(Table, Interaction.__table__)  # Core: an executemany of plain UPDATEs
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(
                wait_seconds=bindparam("wait"), talk_seconds=bindparam("talk"), hold_seconds=bindparam("hold")
            ),
            changed,
        )


async def ensure_interaction(session: AsyncSession, call_id: str, now: datetime) -> int:
    """The id of ``call_id``'s interaction row, inserted empty if there is none yet."""
    known: dict[str, int] | None = session.info.get(_ROW_IDS)
    if known is not None and call_id in known:
        return known[call_id]
    stmt = (
        _insert_for(session)(Interaction)
        .values(call_id=call_id, channel="phone", direction="inbound", created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Interaction.call_id])
    )
    await session.execute(stmt)
    found = await session.scalar(select(Interaction.id).where(Interaction.call_id == call_id))
    assert found is not None
    if known is not None:
        known[call_id] = int(found)
    return int(found)


async def upsert_leg(session: AsyncSession, interaction_id: int, leg: LegRecord) -> None:
    """Insert the leg or merge ``leg`` into it (``None`` keeps what is stored).

    A leg's first write must carry ``kind`` and ``started_at``
    (:class:`ValueError` otherwise, as for an unknown kind or end reason).
    One statement: an upsert for a write that could start the leg, an update otherwise.
    """
    values = _checked(leg)
    same_leg = (InteractionLeg.call_id == leg.call_id, InteractionLeg.leg_key == leg.leg_key)
    if leg.kind is None or leg.started_at is None:
        if values:
            changed = await session.execute(
                update(InteractionLeg)
                .where(*same_leg)
                .values(**values)
                .returning(InteractionLeg.id)
                .execution_options(synchronize_session=False)
            )
            found = changed.first() is not None
        else:
            found = await session.scalar(select(InteractionLeg.id).where(*same_leg)) is not None
        if not found:
            raise ValueError("the first write of a leg needs its kind and start")
        return
    stmt = _insert_for(session)(InteractionLeg).values(
        interaction_id=interaction_id,
        call_id=leg.call_id,
        leg_key=leg.leg_key,
        kind=leg.kind,
        started_at=leg.started_at,
        **values,
    )
    # A leg already there (a replay, two writers racing) merges the fields given; kind and start stay.
    excluded = _excluded(_insert_for(session))  # built once: stmt.excluded rebuilds every column each time
    set_: dict[str, Any] = {name: excluded[name] for name in values}
    if set_:
        stmt = stmt.on_conflict_do_update(index_elements=["call_id", "leg_key"], set_=set_)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["call_id", "leg_key"])
    await session.execute(stmt)


async def close_open_legs(session: AsyncSession, interaction_id: int, end: CallEndRecord) -> int:
    """Close the legs of the call still open, as :class:`CallEndRecord` says; return how many."""
    open_ = and_(
        InteractionLeg.interaction_id == interaction_id,
        InteractionLeg.ended_at.is_(None),
        InteractionLeg.end_reason.is_(None),
    )
    if end.ended_at is None:
        unseen = update(InteractionLeg).where(open_).values(end_reason="ended_unobserved")
        return int(getattr(await session.execute(unseen), "rowcount", 0) or 0)
    talked = await session.execute(
        update(InteractionLeg)
        .where(open_, InteractionLeg.kind.in_(_TALKING), InteractionLeg.answered_at.is_not(None))
        .values(ended_at=end.ended_at, end_reason="completed")
    )
    # A call the PBX ended after bankcti stopped serving it was not hung up by the caller.
    reason = "interrupted" if end.outcome == "interrupted" else "caller_hung_up"
    rest = await session.execute(
        update(InteractionLeg).where(open_).values(ended_at=end.ended_at, end_reason=reason)
    )
    return int(getattr(talked, "rowcount", 0) or 0) + int(getattr(rest, "rowcount", 0) or 0)


def _sum(spans: Iterable[tuple[datetime | None, datetime | None]]) -> float | None:
    total, seen = 0.0, False
    for start, stop in spans:
        if start is None or stop is None:
            return None  # one stretch of unknown length: the total is unknown, not smaller
        total += max(0.0, (stop - start).total_seconds())
        seen = True
    return total if seen else None


async def derive_totals(
    session: AsyncSession,
    interaction_id: int,
    fallback: Callable[[], tuple[float | None, float | None]],
) -> Totals:
    """``(wait, talk, hold)`` seconds from the call's legs (see the module).

    ``fallback`` gives wait and talk of a call that has no legs, from its timestamps.
    """
    rows = (
        await session.execute(
            select(
                InteractionLeg.kind,
                InteractionLeg.started_at,
                InteractionLeg.answered_at,
                InteractionLeg.ended_at,
            ).where(InteractionLeg.interaction_id == interaction_id)
        )
    ).all()
    if not rows:
        wait, talk = fallback()
        return wait, talk, None
    return _from_legs(rows)


def _from_legs(rows: Sequence[Any]) -> Totals:
    wait = _sum((r.started_at, r.ended_at) for r in rows if r.kind == "queue")
    talk = _sum((r.answered_at, r.ended_at) for r in rows if r.kind in _TALKING and r.answered_at is not None)
    hold = _sum((r.started_at, r.ended_at) for r in rows if r.kind == "hold")
    return wait, talk, hold


def _totals(legs: Sequence[Any], row: Any) -> Totals:
    """The totals :func:`refresh_totals` derives, from already-read legs and row."""
    if not legs:
        wait, talk = call_durations(row.queued_at, row.answered_at, row.ended_at)
        return wait, talk, None
    return _from_legs(legs)


async def refresh_totals(session: AsyncSession, interaction_id: int) -> None:
    """Derive the call's wait, talk and hold again, in the caller's transaction (a batch's: at its end)."""
    later: set[int] | None = session.info.get(_TOTALS_LATER)
    if later is not None:
        later.add(interaction_id)
        return
    await _refresh_totals_now(session, interaction_id)


async def _refresh_totals_now(session: AsyncSession, interaction_id: int) -> None:
    row = (
        await session.execute(
            select(
                Interaction.queued_at,
                Interaction.answered_at,
                Interaction.ended_at,
                Interaction.wait_seconds,
                Interaction.talk_seconds,
                Interaction.hold_seconds,
            ).where(Interaction.id == interaction_id)
        )
    ).one()
    totals = await derive_totals(
        session, interaction_id, lambda: call_durations(row.queued_at, row.answered_at, row.ended_at)
    )
    if totals != (row.wait_seconds, row.talk_seconds, row.hold_seconds):
        wait, talk, hold = totals
        await session.execute(
            update(Interaction)
            .where(Interaction.id == interaction_id)
            .values(wait_seconds=wait, talk_seconds=talk, hold_seconds=hold)
        )


async def legs_of(session: AsyncSession, interaction_ids: Sequence[int]) -> dict[int, list[LegView]]:
    """The legs of each interaction, in the order they started."""
    if not interaction_ids:
        return {}
    rows = await session.scalars(
        select(InteractionLeg)
        .where(InteractionLeg.interaction_id.in_(interaction_ids))
        .order_by(InteractionLeg.interaction_id, InteractionLeg.started_at, InteractionLeg.id)
    )
    found: dict[int, list[LegView]] = {}
    for leg in rows:
        found.setdefault(leg.interaction_id, []).append(
            LegView(
                leg_key=leg.leg_key,
                kind=leg.kind,
                queue=leg.queue,
                agent_login=leg.agent_login,
                target=leg.target,
                started_at=leg.started_at,
                offered_at=leg.offered_at,
                answered_at=leg.answered_at,
                ended_at=leg.ended_at,
                end_reason=leg.end_reason,
                transferred_to=leg.transferred_to,
            )
        )
    return found
