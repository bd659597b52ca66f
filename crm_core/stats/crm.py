"""CRM statistics for a period: follow-ups, new customers, pool claims and releases, contracts,
collections, rankings and the conversion funnel — scoped by the reader's role.

Scope: an agent sees their own numbers, a supervisor their teams' agents
(and themselves), an admin everyone.  The period is ``[start, end)`` in
UTC; date columns (contract signing, payments, installments) count when
``start.date() ≤ day < end.date()``.

* follow-ups: interactions handled by the agent (``agent_id``) in the period, by
  type (their ``channel``: phone, visit, email…; calls recorded by the call flow count too);
* new customers: customers created in the period and not deleted, by current owner;
* claims / releases: ``ownership_history`` rows ``claim`` (to the agent)
  and ``release`` (from the agent);
* contracts: contracts signed in the period, by owner: count and amount;
* collections: payments received in the period on the owner's live (not
  deleted) contracts; outstanding = per signed live contract, installments
  due before ``end`` − payments received before ``end``, never below 0 (an
  overpaid contract does not hide another one's arrears), summed per owner;
* rankings: the agents in scope by contract amount and by collections,
  separately (1 = best; equal values share a rank, the next rank is skipped: 1, 1, 3);
* funnel (conversion prospect → customer with a contract): the cohort is the
  customers created in the period, not deleted, owned by an agent in scope
  (an admin's cohort also holds the public pool).  Stages:

  - ``prospects``: deal status ``prospect``/``negotiating``/``won``, or any
    live contract (a customer signed without a deal status still counts);
  - ``contacted``: prospects with at least one follow-up before ``end``;
  - ``with_contract``: prospects with a live contract signed before ``end``.

  Both later stages are subsets of ``prospects`` but not of each other: a
  walk-in who signs with no recorded follow-up is counted as with contract
  and not lost.  ``share`` is the stage's count over the prospects.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.errors import InvalidInput
from crm_core.models import (
    Agent,
    Contract,
    ContractInstallment,
    Customer,
    Interaction,
    OwnershipHistory,
    Payment,
)
from crm_core.models.coltypes import Money

__all__ = [
    "FUNNEL_DEAL_STATUSES",
    "FUNNEL_STAGES",
    "AgentStats",
    "CrmStatistics",
    "CrmStatisticsService",
    "FollowUpCount",
    "FunnelStage",
]

_ZERO = Decimal("0.00")
#: Deal statuses that make a customer a prospect of the funnel.
FUNNEL_DEAL_STATUSES = ("prospect", "negotiating", "won")
FUNNEL_STAGES = ("prospects", "contacted", "with_contract")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class FollowUpCount(_Frozen):
    agent_login: str
    channel: str
    follow_ups: int


class AgentStats(_Frozen):
    agent_login: str
    agent_name: str
    follow_ups: int
    new_customers: int
    claims: int
    releases: int
    contracts_signed: int
    contract_amount: Decimal
    collected: Decimal
    outstanding: Decimal
    rank_amount: int
    rank_collected: int


class FunnelStage(_Frozen):
    stage: str
    customers: int
    share: float | None


class CrmStatistics(_Frozen):
    start: datetime
    end: datetime
    follow_ups: list[FollowUpCount]
    agents: list[AgentStats]
    funnel: list[FunnelStage]


def _money(expr: Any) -> ColumnElement[Any]:
    # SUM over a Money column is in storage units (cents on SQLite): read it back through the type.
    return type_coerce(func.coalesce(func.sum(expr), 0), Money())


def _ranks(values: dict[int, Decimal]) -> dict[int, int]:
    ordered = sorted(values.values(), reverse=True)
    return {key: 1 + ordered.index(value) for key, value in values.items()}


class CrmStatisticsService:
    """Computes :class:`CrmStatistics` for the acting user's scope."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def _agents(self, session: AsyncSession, actor: Actor) -> dict[int, tuple[str, str]]:
        query = select(Agent.id, Agent.login, Agent.name)
        if not actor.is_admin:
            clauses: list[ColumnElement[bool]] = [Agent.id == actor.user_id]
            if actor.is_supervisor and actor.team_ids:
                clauses.append(Agent.team_id.in_(sorted(actor.team_ids)))
            query = query.where(or_(*clauses))
        return {id_: (login, name) for id_, login, name in await session.execute(query.order_by(Agent.id))}

    async def statistics(self, actor: Actor, start: datetime, end: datetime) -> CrmStatistics:
        """The period's statistics; :class:`InvalidInput` if ``end`` is not after ``start``."""
        if end <= start:
            raise InvalidInput("to", "must be after from")
        async with self._sessions() as session:
            agents = await self._agents(session, actor)
            ids = sorted(agents)
            at = func.coalesce(Interaction.arrived_at, Interaction.created_at)
            per_channel = await session.execute(
                select(Interaction.agent_id, Interaction.channel, func.count())
                .where(Interaction.agent_id.in_(ids), at >= start, at < end)
                .group_by(Interaction.agent_id, Interaction.channel)
                .order_by(Interaction.agent_id, Interaction.channel)
            )
            channels = [(int(a or 0), str(c), int(n)) for a, c, n in per_channel]
            new = await self._count(
                session,
                select(Customer.owner_agent_id, func.count())
                .where(
                    Customer.owner_agent_id.in_(ids), Customer.created_at >= start, Customer.created_at < end
                )
                .where(Customer.deleted_at.is_(None))
                .group_by(Customer.owner_agent_id),
            )
            moves = OwnershipHistory
            claims = await self._count(
                session,
                select(moves.to_owner_id, func.count())
                .where(moves.action == "claim", moves.to_owner_id.in_(ids), moves.at >= start, moves.at < end)
                .group_by(moves.to_owner_id),
            )
            releases = await self._count(
                session,
                select(moves.from_owner_id, func.count())
                .where(
                    moves.action == "release", moves.from_owner_id.in_(ids), moves.at >= start, moves.at < end
                )
                .group_by(moves.from_owner_id),
            )
            first, last = start.date(), end.date()
            signed = {
                int(owner or 0): (int(n), amount)
                for owner, n, amount in await session.execute(
                    select(Contract.owner_id, func.count(), _money(Contract.amount))
                    .where(Contract.owner_id.in_(ids), Contract.deleted_at.is_(None))
                    .where(Contract.signed_on >= first, Contract.signed_on < last)
                    .group_by(Contract.owner_id)
                )
            }
            live = (Contract.owner_id.in_(ids), Contract.deleted_at.is_(None))
            collected = await self._sum(
                session,
                select(Contract.owner_id, _money(Payment.amount))
                .join(Contract, Contract.id == Payment.contract_id)
                .where(*live, Payment.received_on >= first, Payment.received_on < last)
                .group_by(Contract.owner_id),
            )
            outstanding = await self._outstanding(session, live, last)
            funnel = await self._funnel(session, None if actor.is_admin else ids, start, end)
        follow_ups = {a: 0 for a in ids}
        for agent, _, n in channels:
            follow_ups[agent] += n
        amounts = {a: signed.get(a, (0, _ZERO))[1] for a in ids}
        rank_amount, rank_collected = _ranks(amounts), _ranks({a: collected.get(a, _ZERO) for a in ids})
        rows = [
            AgentStats(
                agent_login=agents[a][0],
                agent_name=agents[a][1],
                follow_ups=follow_ups[a],
                new_customers=new.get(a, 0),
                claims=claims.get(a, 0),
                releases=releases.get(a, 0),
                contracts_signed=signed.get(a, (0, _ZERO))[0],
                contract_amount=amounts[a],
                collected=collected.get(a, _ZERO),
                outstanding=outstanding.get(a, _ZERO),
                rank_amount=rank_amount[a],
                rank_collected=rank_collected[a],
            )
            for a in ids
        ]
        rows.sort(key=lambda r: (r.rank_amount, r.rank_collected, r.agent_login))
        return CrmStatistics(
            start=start,
            end=end,
            follow_ups=[
                FollowUpCount(agent_login=agents[a][0], channel=c, follow_ups=n) for a, c, n in channels
            ],
            agents=rows,
            funnel=funnel,
        )

    @staticmethod
    async def _count(session: AsyncSession, query: Any) -> dict[int, int]:
        return {int(key): int(n) for key, n in await session.execute(query)}

    @staticmethod
    async def _sum(session: AsyncSession, query: Any) -> dict[int, Decimal]:
        return {int(key): Decimal(total) for key, total in await session.execute(query)}

    @staticmethod
    async def _outstanding(
        session: AsyncSession, live: tuple[ColumnElement[bool], ...], last: date
    ) -> dict[int, Decimal]:
        """Per owner: the sum over signed live contracts of max(due − paid, 0) before ``last``."""
        signed = (*live, Contract.signed_on.is_not(None), Contract.signed_on < last)
        due = await session.execute(
            select(Contract.id, Contract.owner_id, _money(ContractInstallment.amount))
            .join(Contract, Contract.id == ContractInstallment.contract_id)
            .where(*signed, ContractInstallment.due_on < last)
            .group_by(Contract.id, Contract.owner_id)
        )
        paid = {
            int(contract): Decimal(total)
            for contract, total in await session.execute(
                select(Contract.id, _money(Payment.amount))
                .join(Contract, Contract.id == Payment.contract_id)
                .where(*signed, Payment.received_on < last)
                .group_by(Contract.id)
            )
        }
        out: dict[int, Decimal] = {}
        for contract, owner, total in due:
            arrears = max(Decimal(total) - paid.get(int(contract), _ZERO), _ZERO)
            out[int(owner)] = out.get(int(owner), _ZERO) + arrears
        return out

    @staticmethod
    async def _funnel(
        session: AsyncSession, ids: list[int] | None, start: datetime, end: datetime
    ) -> list[FunnelStage]:
        """The funnel of the module docstring; ``ids`` ``None``: every customer (admin)."""
        cohort = select(Customer.id).where(
            Customer.created_at >= start, Customer.created_at < end, Customer.deleted_at.is_(None)
        )
        if ids is not None:
            cohort = cohort.where(Customer.owner_agent_id.in_(ids))
        live = (Contract.customer_id == Customer.id, Contract.deleted_at.is_(None))
        any_contract = select(Contract.id).where(*live).exists()
        prospects = cohort.where(or_(Customer.deal_status.in_(FUNNEL_DEAL_STATUSES), any_contract))
        at = func.coalesce(Interaction.arrived_at, Interaction.created_at)
        contacted = select(Interaction.id).where(Interaction.customer_id == Customer.id, at < end).exists()
        signed = (
            select(Contract.id)
            .where(*live, Contract.signed_on.is_not(None), Contract.signed_on < end.date())
            .exists()
        )
        counts = []
        for query in (prospects, prospects.where(contacted), prospects.where(signed)):
            counts.append(int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0))
        return [
            FunnelStage(stage=name, customers=n, share=n / counts[0] if counts[0] else None)
            for name, n in zip(FUNNEL_STAGES, counts, strict=True)
        ]
