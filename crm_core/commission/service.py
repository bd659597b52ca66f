"""Commission statements (提成核算): run a period, list and read statements, approve, export CSV.

Pricing rules are in :mod:`crm_core.commission.calc`, what an event is in
:mod:`crm_core.commission.events`, adjustments in
:mod:`crm_core.commission.books`, rules and splits in
:mod:`crm_core.commission.rules`.

Who sees what: an agent their own statements, a supervisor those of the
agents of their teams (and their own), an admin all.  Running a period and
editing rules: admins.  Approving: an admin or a supervisor of the agent's
team, never the agent themself; an approved statement is frozen.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, delete, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased, selectinload

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.commission.books import booked, build_lines
from crm_core.commission.calc import Credit
from crm_core.commission.csv_export import lines_csv, statements_csv
from crm_core.commission.events import entitlement, load_rules
from crm_core.commission.rules import RuleService
from crm_core.commission.schemas import (
    LineView,
    RunResult,
    RunRow,
    StatementSummary,
    StatementView,
    check_period,
    period_bounds,
)
from crm_core.contracts.access import approves
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import Agent, CommissionLine, CommissionStatement
from crm_core.models.coltypes import utcnow

__all__ = ["CommissionService"]

log = logging.getLogger(__name__)

_Summary = tuple[CommissionStatement, Agent, str | None]


def _visible(actor: Actor) -> ColumnElement[bool]:
    if actor.is_admin:
        return true()
    reasons: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        reasons.append(CommissionStatement.agent_id == actor.user_id)
    if actor.is_supervisor and actor.team_ids:
        members = select(Agent.id).where(Agent.team_id.in_(sorted(actor.team_ids)))
        reasons.append(CommissionStatement.agent_id.in_(members.scalar_subquery()))
    return or_(*reasons) if reasons else false()


def _by_agent(credits: list[Credit]) -> dict[int, list[Credit]]:
    grouped: dict[int, list[Credit]] = defaultdict(list)
    for credit in credits:
        grouped[credit.agent_id].append(credit)
    return grouped


class CommissionService:
    """Statements per agent and period on behalf of an :class:`Actor`; ``rules`` edits rules and splits."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.rules = RuleService(sessions)

    async def run(self, actor: Actor, period: str) -> RunResult:
        """(Re)compute every open statement of ``period``; approved ones stay as they are.

        Raises :class:`AccessDenied` (not an admin) and :class:`InvalidInput`
        naming ``period`` (not ``YYYY-MM``, or a month not begun yet).
        """
        if not actor.is_admin:
            raise AccessDenied("only an admin runs the commission calculation")
        period = check_period(period)
        start, _ = period_bounds(period)
        now = self._clock()
        if start > now.date():
            raise InvalidInput("period", f"{period} has not begun yet")
        async with self._sessions() as session, session.begin():
            rules = await load_rules(session)
            own = _by_agent(await entitlement(session, period, rules))
            existing = {
                s.agent_id: s
                for s in await session.scalars(
                    select(CommissionStatement).where(CommissionStatement.period == period).with_for_update()
                )
            }
            approved: dict[int, list[str]] = defaultdict(list)
            for agent_id, old in await session.execute(
                select(CommissionStatement.agent_id, CommissionStatement.period).where(
                    CommissionStatement.status == "approved", CommissionStatement.period < period
                )
            ):
                approved[agent_id].append(old)
            earlier = {
                old: _by_agent(await entitlement(session, old, rules))
                for old in sorted({p for periods in approved.values() for p in periods})
            }
            for agent_id in sorted(set(own) | set(existing) | set(approved)):
                statement = existing.get(agent_id)
                if statement is not None and statement.status == "approved":
                    continue
                mine = {old: earlier[old].get(agent_id, []) for old in approved.get(agent_id, [])}
                before = await booked(
                    session, agent_id, list(mine), statement.id if statement is not None else None
                )
                lines = build_lines(period, own.get(agent_id, []), mine, before)
                if statement is None and not lines:
                    continue
                await self._store(session, agent_id, period, statement, lines, now)
            await audit(session, actor, "update", "commission_run", period, {"rules": len(rules)})
            result = await self._result(session, period)
        log.info("commission.run", extra={"period": period, "statements": len(result.rows)})
        return result

    async def _store(
        self,
        session: AsyncSession,
        agent_id: int,
        period: str,
        statement: CommissionStatement | None,
        lines: list[CommissionLine],
        now: datetime,
    ) -> None:
        total = sum((line.commission for line in lines), Decimal(0))
        if statement is None:
            statement = CommissionStatement(
                period=period, agent_id=agent_id, status="open", total=total, calculated_at=now
            )
            session.add(statement)
            await session.flush()
        else:
            await session.execute(delete(CommissionLine).where(CommissionLine.statement_id == statement.id))
            statement.total = total
            statement.calculated_at = now
        for line in lines:
            line.statement_id = statement.id
        session.add_all(lines)
        await session.flush()

    async def _result(self, session: AsyncSession, period: str) -> RunResult:
        rows = [
            RunRow(
                agent_login=s.agent_login,
                statement_id=s.id,
                status=s.status,
                lines=s.lines,
                commission=s.commission,
                adjustments=s.adjustments,
                total=s.total,
            )
            for s in await self._summaries(session, Actor.system(), period)
        ]
        return RunResult(period=period, rows=rows, total=sum((r.total for r in rows), Decimal(0)))

    async def statements(self, actor: Actor, period: str) -> list[StatementSummary]:
        """The statements of ``period`` the actor may see, by agent login (without their lines)."""
        period = check_period(period)
        async with self._sessions() as session:
            found = await self._summaries(session, actor, period)
        return [StatementSummary.model_validate(s.model_dump(exclude={"items"})) for s in found]

    async def _summaries(
        self, session: AsyncSession, actor: Actor, period: str | None, statement_id: int | None = None
    ) -> list[StatementView]:
        approver = aliased(Agent)
        query = (
            select(CommissionStatement, Agent, approver.login)
            .join(Agent, Agent.id == CommissionStatement.agent_id)
            .outerjoin(approver, approver.id == CommissionStatement.approved_by_id)
            .where(_visible(actor))
            .options(selectinload(CommissionStatement.lines))
            .order_by(CommissionStatement.period, Agent.login)
        )
        if period is not None:
            query = query.where(CommissionStatement.period == period)
        if statement_id is not None:
            query = query.where(CommissionStatement.id == statement_id)
        rows = (await session.execute(query)).all()
        return [_statement(actor, statement, agent, approved_by) for statement, agent, approved_by in rows]

    async def get(self, actor: Actor, statement_id: int) -> StatementView:
        """One statement with its lines; :class:`NotFound` if missing or not the actor's to see."""
        async with self._sessions() as session:
            found = await self._summaries(session, actor, None, statement_id)
        if not found:
            raise NotFound(f"no commission statement {statement_id}")
        return found[0]

    async def approve(self, actor: Actor, statement_id: int) -> StatementView:
        """Freeze a statement: an admin or a supervisor of the agent's team, not the agent; audited.

        Raises :class:`Conflict` if it is approved already.
        """
        async with self._sessions() as session, session.begin():
            statement = await session.scalar(
                select(CommissionStatement)
                .where(CommissionStatement.id == statement_id, _visible(actor))
                .with_for_update()
            )
            if statement is None:
                raise NotFound(f"no commission statement {statement_id}")
            team = await session.scalar(select(Agent.team_id).where(Agent.id == statement.agent_id))
            if not approves(actor, statement.agent_id, team):
                raise AccessDenied(
                    "only a supervisor of the agent's team or an admin, not the agent, approves"
                )
            if statement.status == "approved":
                raise Conflict(f"statement {statement_id} of {statement.period} is approved already")
            statement.status = "approved"
            statement.approved_at = self._clock()
            statement.approved_by_id = actor.user_id
            await session.flush()
            detail = {"action": "approve", "period": statement.period, "total": statement.total}
            await audit(session, actor, "transition", "commission_statement", statement.id, detail)
            found = await self._summaries(session, actor, None, statement.id)
        log.info("commission.approved", extra={"statement_id": statement_id})
        return found[0]

    async def statements_csv(self, actor: Actor, period: str) -> str:
        """The statements of ``period`` the actor may see, as CSV."""
        return statements_csv(await self.statements(actor, period))

    async def lines_csv(
        self, actor: Actor, *, period: str | None = None, statement_id: int | None = None
    ) -> str:
        """Lines of one statement, or of every visible statement of ``period``, as CSV."""
        if statement_id is not None:
            return lines_csv([await self.get(actor, statement_id)])
        if period is None:
            raise InvalidInput("period", "is required")
        period = check_period(period)
        async with self._sessions() as session:
            return lines_csv(await self._summaries(session, actor, period))


def _statement(
    actor: Actor, statement: CommissionStatement, agent: Agent, approved_by: str | None
) -> StatementView:
    commission = sum((line.commission for line in statement.lines if line.kind == "commission"), Decimal(0))
    adjustments = sum((line.commission for line in statement.lines if line.kind != "commission"), Decimal(0))
    items = [
        LineView(
            id=line.id,
            kind=line.kind,
            for_period=line.for_period,
            event=line.event,
            event_on=line.event_on,
            contract_id=line.contract_id,
            contract_number=line.contract_number,
            payment_id=line.payment_id,
            rule_id=line.rule_id,
            base=line.base,
            share_percent=line.share_percent,
            credited=line.credited,
            commission=line.commission,
            rate=line.rate,
        )
        for line in statement.lines
    ]
    return StatementView(
        id=statement.id,
        period=statement.period,
        agent_login=agent.login,
        agent_name=agent.name,
        status=statement.status,
        lines=len(items),
        commission=commission,
        adjustments=adjustments,
        total=statement.total,
        calculated_at=statement.calculated_at,
        approved_at=statement.approved_at,
        approved_by=approved_by,
        may_approve=statement.status == "open" and approves(actor, agent.id, agent.team_id),
        items=items,
    )
