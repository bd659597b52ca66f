"""Rebuilding an open statement: this period's credits plus the adjustments of approved periods.

An approved statement is frozen: nothing here writes to it.  When today's
data prices an approved period differently (a late payment, a refund, a
split changed afterwards), the difference per event goes, as
``adjustment`` lines, into the agent's statement being rebuilt.  What an
event has been *booked* for a period is the sum of its lines for that
period in every statement of the agent but the one being rebuilt, so a
re-run never books the same difference twice and the lines of a period,
across all statements, always add up to what it earns today.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.commission.calc import Credit, cents
from crm_core.models import CommissionLine, CommissionStatement

__all__ = ["EventKey", "booked", "build_lines"]

EventKey = tuple[int | None, int | None, str]


@dataclass
class _Booked:
    commission: Decimal
    last: CommissionLine


def _key(line: CommissionLine) -> EventKey:
    return (line.contract_id, line.payment_id, line.event)


async def booked(
    session: AsyncSession, agent_id: int, periods: list[str], excluded_statement: int | None
) -> dict[str, dict[EventKey, _Booked]]:
    """Per period and event: the agent's booked commission outside ``excluded_statement``."""
    out: dict[str, dict[EventKey, _Booked]] = defaultdict(dict)
    if not periods:
        return out
    query = (
        select(CommissionLine)
        .join(CommissionStatement, CommissionStatement.id == CommissionLine.statement_id)
        .where(CommissionStatement.agent_id == agent_id, CommissionLine.for_period.in_(periods))
        .order_by(CommissionLine.id)
    )
    if excluded_statement is not None:
        query = query.where(CommissionLine.statement_id != excluded_statement)
    for line in await session.scalars(query):
        entry = out[line.for_period].get(_key(line))
        if entry is None:
            out[line.for_period][_key(line)] = _Booked(line.commission, line)
        else:
            entry.commission += line.commission
            entry.last = line
    return out


def _line(credit: Credit, period: str, kind: str, commission: Decimal, rate: str) -> CommissionLine:
    event = credit.event
    return CommissionLine(
        kind=kind,
        for_period=period,
        event=event.kind,
        event_on=event.on,
        contract_id=event.contract_id,
        contract_number=event.contract_number,
        payment_id=event.payment_id,
        rule_id=credit.rule_id,
        base=cents(credit.base),
        share_percent=credit.share_percent,
        credited=cents(credit.credited),
        commission=commission,
        rate=rate[:255],
    )


def _reversal(entry: _Booked, period: str, diff: Decimal) -> CommissionLine:
    old = entry.last
    return CommissionLine(
        kind="adjustment",
        for_period=period,
        event=old.event,
        event_on=old.event_on,
        contract_id=old.contract_id,
        contract_number=old.contract_number,
        payment_id=old.payment_id,
        rule_id=old.rule_id,
        base=old.base,
        share_percent=old.share_percent,
        credited=Decimal(0),
        commission=diff,
        rate=f"adjustment of {period}: no longer earned (was {entry.commission})",
    )


def build_lines(
    period: str,
    own: list[Credit],
    earlier: dict[str, list[Credit]],
    booked_before: dict[str, dict[EventKey, _Booked]],
) -> list[CommissionLine]:
    """The lines of an agent's open statement for ``period``, in display order.

    ``own``: the agent's credits of ``period``; ``earlier``: their credits of
    each approved earlier period by today's data; ``booked_before``: what
    those periods have booked so far (see :func:`booked`).
    """
    lines = [
        _line(c, period, "commission", c.commission, c.rate)
        for c in sorted(own, key=lambda c: (c.event.on, c.event.contract_id, c.event.payment_id or 0))
    ]
    for old_period in sorted(earlier):
        fresh: dict[EventKey, list[Credit]] = defaultdict(list)
        for credit in earlier[old_period]:
            event = credit.event
            fresh[(event.contract_id, event.payment_id, event.kind)].append(credit)
        before = booked_before.get(old_period, {})
        keys = sorted(set(fresh) | set(before), key=lambda k: (k[0] or 0, k[1] or 0, k[2]))
        for key in keys:
            now = sum((c.commission for c in fresh.get(key, [])), Decimal(0))
            entry = before.get(key)
            was = entry.commission if entry is not None else Decimal(0)
            diff = now - was
            if diff == 0:
                continue
            if key in fresh:
                credit = fresh[key][0]
                why = "late event" if entry is None else f"was {was}, now {now}"
                lines.append(
                    _line(credit, old_period, "adjustment", diff, f"adjustment of {old_period}: {why}")
                )
            elif entry is not None:
                lines.append(_reversal(entry, old_period, diff))
    return lines
