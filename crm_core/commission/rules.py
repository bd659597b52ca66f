"""Commission rules (versioned by date, admins only) and contracts' credit splits — validated, audited.

A rule is never edited in place: a change is a new version with its own
``effective_from``, so a statement priced last month stays explainable.
Two versions of one product key on the same day: the later version wins
(see :func:`crm_core.commission.calc.rule_in_force`).

A credit split names the contract's shared owners — its owner and people
holding an active read-write sharing grant on its customer (themselves or
through their team) — with percentages summing to exactly 100.  A
supervisor of the owner's team or an admin sets it; never the owner alone.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from crm_core.access.audit import audit
from crm_core.access.rules import active_grant_clause
from crm_core.actor import Actor
from crm_core.commission.schemas import RuleCreate, RuleUpdate, RuleView, SplitShare, SplitView
from crm_core.contracts.access import approves, may_read, team_of
from crm_core.errors import AccessDenied, InvalidInput, NotFound
from crm_core.models import Agent, CommissionRule, CommissionSplit, Contract, SharingGrant
from crm_core.models.coltypes import utcnow

__all__ = ["RuleService"]

log = logging.getLogger(__name__)

_FULL = Decimal(100)
_MAX_SHARES = 10


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise AccessDenied("only an admin changes commission rules")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


class RuleService:
    """Lists and versions commission rules; reads and sets contracts' credit splits."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def list_rules(self, product_key: str | None = None) -> list[RuleView]:
        """Every version, by product key then version (readable by every user: the rules are no secret)."""
        creator = aliased(Agent)
        query = (
            select(CommissionRule, creator.login)
            .outerjoin(creator, creator.id == CommissionRule.created_by_id)
            .order_by(CommissionRule.product_key, CommissionRule.version)
        )
        if product_key is not None:
            query = query.where(CommissionRule.product_key == product_key)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [_view(rule, login) for rule, login in rows]

    async def create_rule(self, actor: Actor, data: RuleCreate) -> RuleView:
        """Version 1 of the rule of ``data.product_key``; :class:`InvalidInput` if that rule exists."""
        _require_admin(actor)
        async with self._sessions() as session, session.begin():
            exists = await session.scalar(
                select(func.count()).where(CommissionRule.product_key == data.product_key)
            )
            if exists:
                raise InvalidInput(
                    "product_key", f"a rule for {data.product_key!r} exists: add a version to it instead"
                )
            return await self._add(session, actor, data.product_key, 1, data)

    async def new_version(self, actor: Actor, rule_id: int, data: RuleUpdate) -> RuleView:
        """A new version of the rule ``rule_id`` is a version of, in force from ``data.effective_from``."""
        _require_admin(actor)
        async with self._sessions() as session, session.begin():
            base = await session.get(CommissionRule, rule_id)
            if base is None:
                raise NotFound(f"no commission rule {rule_id}")
            latest = await session.scalar(
                select(func.max(CommissionRule.version)).where(CommissionRule.product_key == base.product_key)
            )
            return await self._add(session, actor, base.product_key, int(latest or 0) + 1, data)

    async def _add(
        self, session: AsyncSession, actor: Actor, key: str, version: int, data: RuleCreate | RuleUpdate
    ) -> RuleView:
        rule = CommissionRule(
            product_key=key,
            version=version,
            effective_from=data.effective_from,
            active=data.active,
            basis=data.basis,
            date_basis=data.date_basis,
            tier_method=data.tier_method,
            tiers=[{"from": _text(t.start), "rate": _text(t.rate)} for t in data.tiers],
            renewal_rate=_text(data.renewal_rate),
            margin_ratio=_text(data.margin_ratio),
            note=data.note,
            created_by_id=actor.user_id,
            created_at=utcnow(),
        )
        session.add(rule)
        await session.flush()
        detail = {"product_key": key, "version": version, "effective_from": data.effective_from}
        await audit(
            session, actor, "create" if version == 1 else "update", "commission_rule", rule.id, detail
        )
        log.info("commission.rule_saved", extra={"rule_id": rule.id, "product_key": key, "version": version})
        return _view(rule, actor.login if actor.user_id is not None else None)

    async def get_split(self, actor: Actor, contract_id: int) -> SplitView:
        """The contract's split; :class:`NotFound` if the actor may not read the contract."""
        async with self._sessions() as session:
            contract = await session.get(Contract, contract_id)
            if contract is None or contract.deleted_at is not None:
                raise NotFound(f"no contract {contract_id}")
            if not await may_read(session, actor, contract.customer_id):
                raise NotFound(f"no contract {contract_id}")
            return await _split_view(session, contract)

    async def set_split(self, actor: Actor, contract_id: int, shares: list[SplitShare]) -> SplitView:
        """Replace the contract's split (an empty list: back to 100 % for the owner).

        Raises :class:`InvalidInput` on ``shares`` (not summing to exactly
        100, a login twice, an unknown or inactive user, someone who is no
        shared owner), :class:`AccessDenied` unless the actor is a
        supervisor of the owner's team or an admin (not the owner).
        """
        async with self._sessions() as session, session.begin():
            contract = await session.get(Contract, contract_id, with_for_update=True)
            if contract is None or contract.deleted_at is not None:
                raise NotFound(f"no contract {contract_id}")
            if not await may_read(session, actor, contract.customer_id):
                raise NotFound(f"no contract {contract_id}")
            if not approves(actor, contract.owner_id, await team_of(session, contract.owner_id)):
                raise AccessDenied("only a supervisor of the owner's team or an admin sets a credit split")
            agent_ids = await _check_shares(session, contract, shares)
            await session.execute(delete(CommissionSplit).where(CommissionSplit.contract_id == contract.id))
            for share, agent_id in zip(shares, agent_ids, strict=True):
                session.add(
                    CommissionSplit(contract_id=contract.id, agent_id=agent_id, percent=share.percent)
                )
            await session.flush()
            detail = {"number": contract.number, "shares": {s.login: s.percent for s in shares}}
            await audit(session, actor, "update", "commission_split", contract.id, detail)
            return await _split_view(session, contract)


async def _check_shares(session: AsyncSession, contract: Contract, shares: list[SplitShare]) -> list[int]:
    if not shares:
        return []
    if len(shares) > _MAX_SHARES:
        raise InvalidInput("shares", f"at most {_MAX_SHARES} shared owners")
    logins = [s.login for s in shares]
    if len(set(logins)) != len(logins):
        raise InvalidInput("shares", "each login may appear once")
    total = sum((s.percent for s in shares), Decimal(0))
    if total != _FULL:
        raise InvalidInput("shares", f"percentages must sum to exactly 100; they sum to {total}")
    agents = {a.login: a for a in await session.scalars(select(Agent).where(Agent.login.in_(logins)))}
    ids = []
    for index, login in enumerate(logins):
        agent = agents.get(login)
        if agent is None or not agent.active:
            raise InvalidInput(f"shares.{index}.login", f"no active user {login!r}")
        if agent.id != contract.owner_id and not await _shared_owner(session, contract, agent):
            raise InvalidInput(
                f"shares.{index}.login",
                f"{login} is neither the owner nor shares the customer read-write",
            )
        ids.append(agent.id)
    return ids


async def _shared_owner(session: AsyncSession, contract: Contract, agent: Agent) -> bool:
    grantee = [SharingGrant.grantee_user_id == agent.id]
    if agent.team_id is not None:
        grantee.append(SharingGrant.grantee_team_id == agent.team_id)
    found = await session.scalar(
        select(SharingGrant.id).where(
            SharingGrant.customer_id == contract.customer_id,
            SharingGrant.access == "write",
            active_grant_clause(),
            or_(*grantee),
        )
    )
    return found is not None


async def _split_view(session: AsyncSession, contract: Contract) -> SplitView:
    rows = await session.execute(
        select(Agent.login, CommissionSplit.percent)
        .join(Agent, Agent.id == CommissionSplit.agent_id)
        .where(CommissionSplit.contract_id == contract.id)
        .order_by(CommissionSplit.percent.desc(), Agent.login)
    )
    shares = [SplitShare(login=login, percent=percent) for login, percent in rows]
    explicit = bool(shares)
    if not shares and contract.owner_id is not None:
        owner = await session.scalar(select(Agent.login).where(Agent.id == contract.owner_id))
        if owner is not None:
            shares = [SplitShare(login=owner, percent=Decimal("100.00"))]
    return SplitView(
        contract_id=contract.id, contract_number=contract.number, shares=shares, explicit=explicit
    )


def _view(rule: CommissionRule, created_by: str | None) -> RuleView:
    return RuleView(
        id=rule.id,
        product_key=rule.product_key,
        version=rule.version,
        effective_from=rule.effective_from,
        active=rule.active,
        basis=rule.basis,
        date_basis=rule.date_basis,
        tier_method=rule.tier_method,
        tiers=[{"from": str(t["from"]), "rate": str(t["rate"])} for t in rule.tiers],
        renewal_rate=rule.renewal_rate,
        margin_ratio=rule.margin_ratio,
        note=rule.note,
        created_by=created_by,
        created_at=rule.created_at,
    )
