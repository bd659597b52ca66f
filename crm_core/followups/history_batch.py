"""A batch of history writes applied with a handful of set-based statements.

The group commit (:mod:`crm_core.spool_batch`) hands the history a batch of
writes, oldest first: call records (``upsert``), legs (``leg``) and call ends
(``end``).  Applied one by one (:class:`~crm_core.followups.interactions.InteractionWriter`)
each costs an upsert and its follow-up reads; here the whole batch costs about
eight statements, whatever its size:

1. ``INSERT … ON CONFLICT DO NOTHING`` of every call's row (the transaction's
   first statement is a write, so SQLite takes its write lock at once and the
   reads below see the rows as the batch will change them);
2. the rows, locked (``FOR UPDATE`` on PostgreSQL, in id order), their legs,
   and the agents and customers the writes name;
3. the writes applied *in memory, in order*, with exactly the merge rules of
   the one-by-one path (see :func:`apply_entry`) — first moments kept, ``None``
   keeping what is stored, an unknown agent or customer keeping the stored
   link, an end closing the legs open at that point of the order;
4. one ``executemany`` each for the changed rows, the new and the changed
   legs, and the customers' ``last_follow_up_at``.

So the stored result is the one the writes give one after another (the tests
compare both paths on the same random writes).  Bad data raises
:class:`ValueError` before anything is written, and the group commit then
applies the batch entry by entry so that only the bad write is refused.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, any_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.bulk import BulkStatement
from crm_core.customers.directory import live_customers_with_number
from crm_core.followups.interactions import (
    _CALL_ID_LENGTH,
    _DEFAULTED_FIELDS,
    _FIRST_WINS,
    _PLAIN_FIELDS,
    _contact_time,
    _fit,
)
from crm_core.followups.legs import _FIELDS as _LEG_FIELDS
from crm_core.followups.legs import _TALKING, _checked, _totals
from crm_core.models import Agent, Customer, Interaction, InteractionLeg
from crm_core.models.coltypes import utcnow
from crm_core.schemas import CallEndRecord, InteractionRecord, LegRecord

__all__ = ["HistoryWrite", "apply_history_batch", "parse_entry"]

log = logging.getLogger(__name__)

_ROWS = cast(Table, Interaction.__table__)
_LEGS = cast(Table, InteractionLeg.__table__)
# The columns of a call's row the writes change (plus the totals); read, merged in memory, written back.
_ROW_COLUMNS = (
    *_PLAIN_FIELDS, *_DEFAULTED_FIELDS, "content", "ivr_path", "agent_id", "customer_id", "customer_link",
    "found_gone_at", "wait_seconds", "talk_seconds", "hold_seconds", "updated_at",
)  # fmt: skip
_LEG_COLUMNS = ("kind", "started_at", *_LEG_FIELDS)

HistoryWrite = InteractionRecord | LegRecord | CallEndRecord


def parse_entry(entry: Any) -> HistoryWrite:
    """The write a spool entry holds (``upsert``, ``leg`` or ``end``); :class:`ValueError` if malformed."""
    if not isinstance(entry, dict):
        raise ValueError("a history entry must be an object")
    kind = entry.get("kind")
    if kind == "upsert":
        return InteractionRecord.model_validate(entry["record"])
    if kind == "leg":
        return LegRecord.model_validate(entry["leg"])
    if kind == "end":
        return CallEndRecord.model_validate(entry["end"])
    raise ValueError(f"unknown history entry kind {kind!r}")


def _utc(value: Any) -> Any:
    # As UtcDateTime stores it: a naive time is UTC already, an aware one converted.
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


@dataclass
class _Call:
    """One call's row as the batch changes it."""

    row_id: int
    row: dict[str, Any]
    legs: dict[str, dict[str, Any]]  # leg_key -> columns ("id": None for a leg the batch adds)
    changed_legs: set[str] = field(default_factory=set)


@dataclass
class _Batch:
    now: datetime
    calls: dict[str, _Call]
    agents: dict[str, int]
    customers: set[int]
    touches: dict[int, datetime] = field(default_factory=dict)  # customer id -> latest contact


async def apply_history_batch(session: AsyncSession, writes: Sequence[HistoryWrite]) -> None:
    """Apply ``writes`` in order inside ``session``'s transaction (see the module).

    Raises :class:`ValueError` (nothing written) for a write the one-by-one
    path would refuse: an empty or oversized call id, an unknown leg kind or
    end reason, a leg's first write without its kind and start.
    """
    if not writes:
        return
    for write in writes:
        if not write.call_id or len(write.call_id) > _CALL_ID_LENGTH:
            raise ValueError("call_id must be 1 to 64 characters")
    batch = await _load(session, writes)
    for write in writes:
        await apply_entry(session, batch, write)
    await _store(session, batch)


async def _load(session: AsyncSession, writes: Sequence[HistoryWrite]) -> _Batch:
    now = utcnow()
    first: dict[str, HistoryWrite] = {}
    for write in writes:
        first.setdefault(write.call_id, write)
    new_rows = []
    for call_id in sorted(first):  # one order for every writer: no deadlock between two batches
        write = first[call_id]
        looks = {"channel": "phone", "direction": "inbound"}
        if isinstance(write, InteractionRecord):  # the row the one-by-one upsert would insert
            looks = {name: getattr(write, name) for name in _DEFAULTED_FIELDS}
            _fit(call_id, looks)
        new_rows.append(
            {
                "b_call_id": call_id,
                "b_created_at": now,
                "b_updated_at": now,
                **{f"b_{n}": v for n, v in looks.items()},
            }
        )
    conn = await session.connection()
    postgres = conn.dialect.name == "postgresql"
    await _ensure_rows(postgres).execute_many(conn, new_rows)
    query = (
        select(_ROWS.c.id, _ROWS.c.call_id, *(_ROWS.c[name] for name in _ROW_COLUMNS))
        .where(_among(_ROWS.c.call_id, list(first), postgres))
        .order_by(_ROWS.c.id)
        .with_for_update()  # PostgreSQL: a wrap-up saved meanwhile waits for this batch
    )
    calls = {
        row[1]: _Call(row[0], dict(zip(_ROW_COLUMNS, row[2:], strict=True)), {})
        for row in await conn.execute(query)
    }
    by_id = {call.row_id: call for call in calls.values()}
    legs = await conn.execute(
        select(
            _LEGS.c.id, _LEGS.c.interaction_id, _LEGS.c.leg_key, *(_LEGS.c[n] for n in _LEG_COLUMNS)
        ).where(_among(_LEGS.c.interaction_id, list(by_id), postgres))
    )
    for leg in legs:
        stored = dict(zip(_LEG_COLUMNS, leg[3:], strict=True))
        stored["id"] = leg[0]
        by_id[leg[1]].legs[leg[2]] = stored
    logins = {
        w.agent_login for w in writes if isinstance(w, InteractionRecord | CallEndRecord) and w.agent_login
    }
    agents: dict[str, int] = {}
    if logins:
        agent = cast(Table, Agent.__table__)
        found = await conn.execute(
            select(agent.c.login, agent.c.id).where(_among(agent.c.login, sorted(logins), postgres))
        )
        agents = {login: int(id_) for login, id_ in found}
    wanted = {w.customer_id for w in writes if isinstance(w, InteractionRecord) and w.customer_id is not None}
    customers: set[int] = set()
    if wanted:
        customer = cast(Table, Customer.__table__)
        present = await conn.scalars(
            select(customer.c.id).where(_among(customer.c.id, sorted(wanted), postgres))
        )
        customers = {int(id_) for id_ in present}
    return _Batch(now, calls, agents, customers)


def _among(column: Any, values: list[Any], postgres: bool) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one statement text whatever the count,
    so the server's prepared statement is reused (an ``IN`` list of each length is a new one)."""
    if postgres:
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


_NEW_ROW_COLUMNS = ("call_id", "created_at", "updated_at", *_DEFAULTED_FIELDS)


@functools.cache
def _ensure_rows(postgres: bool) -> BulkStatement:
    """The calls' rows, added empty where missing: an ``executemany`` (one statement, compiled once)."""
    insert = postgresql.insert if postgres else sqlite.insert
    return BulkStatement(
        insert(_ROWS)
        .values({name: bindparam(f"b_{name}", type_=_ROWS.c[name].type) for name in _NEW_ROW_COLUMNS})
        .on_conflict_do_nothing(index_elements=["call_id"])
    )


async def apply_entry(session: AsyncSession, batch: _Batch, write: HistoryWrite) -> None:
    """Merge one write into the batch's rows, as the one-by-one path would write it."""
    call = batch.calls[write.call_id]
    if isinstance(write, InteractionRecord):
        await _upsert(session, batch, call, write)
    elif isinstance(write, LegRecord):
        _leg(call, write)
    else:
        _end(batch, call, write)


async def _upsert(session: AsyncSession, batch: _Batch, call: _Call, record: InteractionRecord) -> None:
    # InteractionWriter.upsert's rules, on the row in memory.
    values: dict[str, Any] = {
        name: getattr(record, name) for name in _PLAIN_FIELDS if getattr(record, name) is not None
    }
    if record.notes is not None:
        values["content"] = record.notes
    explicit = {name: getattr(record, name) for name in _DEFAULTED_FIELDS if name in record.model_fields_set}
    _fit(record.call_id, values)
    _fit(record.call_id, explicit)
    row = call.row
    for name, value in {**values, **explicit}.items():
        if name in _FIRST_WINS and row[name] is not None:
            continue
        row[name] = _utc(value)
    if record.ivr_path is not None:
        row["ivr_path"] = [step.model_dump(mode="json") for step in record.ivr_path]
    if record.agent_login is not None and record.agent_login in batch.agents:
        row["agent_id"] = batch.agents[record.agent_login]
    if record.customer_id is not None and record.customer_id in batch.customers:
        row["customer_id"] = record.customer_id
    row["updated_at"] = batch.now
    if record.identify_later and row["customer_id"] is None and row["customer_link"] is None:
        if row["caller_e164"] is not None:
            await _link_by_caller_number(session, record.call_id, row)
    if row["customer_id"] is not None:
        at = _contact_time(batch.now, row["arrived_at"], row["answered_at"], row["ended_at"])
        known = batch.touches.get(row["customer_id"])
        batch.touches[row["customer_id"]] = at if known is None else max(known, at)
    if record.agent_login is not None and row["agent_id"] is None:
        log.warning("interaction.unknown_agent", extra={"call_id": record.call_id})


async def _link_by_caller_number(session: AsyncSession, call_id: str, row: dict[str, Any]) -> None:
    # As crm_core.followups.interactions._link_by_caller_number, on the row in memory.
    ids = await live_customers_with_number(session, row["caller_e164"])
    if len(ids) == 1:
        row["customer_link"], row["customer_id"] = "caller_number", ids[0]
        log.info("interaction.linked_by_caller_number", extra={"call_id": call_id, "customer_id": ids[0]})
        return
    row["customer_link"] = "ambiguous" if ids else "no_match"
    log.warning("interaction.not_linked_by_caller_number", extra={"call_id": call_id, "matches": len(ids)})


def _leg(call: _Call, leg: LegRecord) -> None:
    # crm_core.followups.legs.upsert_leg's rules: kind and start only from the write that adds the leg.
    values = {name: _utc(value) for name, value in _checked(leg).items()}
    stored = call.legs.get(leg.leg_key)
    if stored is None:
        if leg.kind is None or leg.started_at is None:
            raise ValueError("the first write of a leg needs its kind and start")
        stored = {"id": None, **dict.fromkeys(_LEG_COLUMNS)}
        stored.update(kind=leg.kind, started_at=_utc(leg.started_at))
        call.legs[leg.leg_key] = stored
    stored.update(values)
    call.changed_legs.add(leg.leg_key)


def _end(batch: _Batch, call: _Call, end: CallEndRecord) -> None:
    # CallTimeline.end_call's rules: the call's end and outcome, and its legs still open closed.
    row = call.row
    row["outcome"] = end.outcome
    row["updated_at"] = batch.now
    for name in ("ended_at", "last_seen_at", "found_gone_at"):
        if getattr(end, name) is not None:
            row[name] = _utc(getattr(end, name))
    if end.agent_login is not None and end.agent_login in batch.agents:
        row["agent_id"] = batch.agents[end.agent_login]
    ended_at = _utc(end.ended_at)
    reason = "interrupted" if end.outcome == "interrupted" else "caller_hung_up"
    closed = 0
    for key, leg in call.legs.items():
        if leg["ended_at"] is not None or leg["end_reason"] is not None:
            continue
        if ended_at is None:
            leg["end_reason"] = "ended_unobserved"
        else:
            talked = leg["kind"] in _TALKING and leg["answered_at"] is not None
            leg["ended_at"], leg["end_reason"] = ended_at, ("completed" if talked else reason)
        call.changed_legs.add(key)
        closed += 1
    log.info(
        "interaction.call_ended",
        extra={"call_id": end.call_id, "outcome": end.outcome, "legs_closed": closed},
    )


class _Spans:
    """A leg as :func:`crm_core.followups.legs._totals` reads it."""

    def __init__(self, leg: dict[str, Any]) -> None:
        self.kind = leg["kind"]
        self.started_at = leg["started_at"]
        self.answered_at = leg["answered_at"]
        self.ended_at = leg["ended_at"]


class _RowTimes:
    def __init__(self, row: dict[str, Any]) -> None:
        self.queued_at = row["queued_at"]
        self.answered_at = row["answered_at"]
        self.ended_at = row["ended_at"]


async def _store(session: AsyncSession, batch: _Batch) -> None:
    rows = []
    new_legs: list[dict[str, Any]] = []
    changed_legs: list[dict[str, Any]] = []
    for call_id, call in batch.calls.items():
        spans = [_Spans(leg) for leg in call.legs.values()]
        wait, talk, hold = _totals(spans, _RowTimes(call.row))
        call.row.update(wait_seconds=wait, talk_seconds=talk, hold_seconds=hold)
        rows.append({"b_id": call.row_id, **{f"b_{n}": call.row[n] for n in _ROW_COLUMNS}})
        for key in sorted(call.changed_legs):
            leg = call.legs[key]
            values = {f"b_{n}": leg[n] for n in _LEG_FIELDS}
            if leg["id"] is None:
                new_legs.append(
                    {
                        "b_interaction_id": call.row_id,
                        "b_call_id": call_id,
                        "b_leg_key": key,
                        **{f"b_{n}": leg[n] for n in _LEG_COLUMNS},
                    }
                )
            else:
                changed_legs.append({"b_id": leg["id"], **values})
    conn = await session.connection()
    await _ROW_UPDATE.execute_many(conn, rows)
    await _leg_insert(conn.dialect.name == "postgresql").execute_many(conn, new_legs)
    await _LEG_UPDATE.execute_many(conn, changed_legs)
    await _TOUCH.execute_many(conn, [{"b_id": id_, "b_at": at} for id_, at in sorted(batch.touches.items())])


_ROW_UPDATE = BulkStatement(
    update(_ROWS)
    .where(_ROWS.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}", type_=_ROWS.c[name].type) for name in _ROW_COLUMNS})
)
_LEG_UPDATE = BulkStatement(
    update(_LEGS)
    .where(_LEGS.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}", type_=_LEGS.c[name].type) for name in _LEG_FIELDS})
)
_CUSTOMERS = cast(Table, Customer.__table__)
# A customer's last contact only moves forward.
_TOUCH = BulkStatement(
    update(_CUSTOMERS)
    .where(
        _CUSTOMERS.c.id == bindparam("b_id"),
        or_(_CUSTOMERS.c.last_follow_up_at.is_(None), _CUSTOMERS.c.last_follow_up_at < bindparam("b_at")),
    )
    .values(last_follow_up_at=bindparam("b_at", type_=_CUSTOMERS.c.last_follow_up_at.type))
)
_NEW_LEG_COLUMNS = ("interaction_id", "call_id", "leg_key", *_LEG_COLUMNS)


@functools.cache
def _leg_insert(postgres: bool) -> BulkStatement:
    insert = postgresql.insert if postgres else sqlite.insert
    stmt = insert(_LEGS).values(
        {name: bindparam(f"b_{name}", type_=_LEGS.c[name].type) for name in _NEW_LEG_COLUMNS}
    )
    # Another writer's leg of the same key meanwhile (not this batch: it holds the call's row): merged.
    return BulkStatement(
        stmt.on_conflict_do_update(
            index_elements=["call_id", "leg_key"], set_={name: stmt.excluded[name] for name in _LEG_FIELDS}
        )
    )
