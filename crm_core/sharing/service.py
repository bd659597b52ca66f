"""Sharing a customer with a colleague or a team, read-only or read-write, maybe until a date.

Only the owner, a supervisor of the owner's team, or an admin shares or
unshares.  A grant works while it is neither revoked nor past its
``expires_at`` by the database's clock (see :mod:`crm_core.access.rules`): expiry
needs no job.  :func:`expire_grants` is bookkeeping only — it writes one
audit row per grant that has run out, once.

Every grant event is audited with ``entity="grant"``, ``entity_id`` the
grant's id and the customer's id in the detail.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import String, cast, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.access.rules import Access, active_grant_clause, check
from crm_core.actor import Actor
from crm_core.customers.schemas import GrantView
from crm_core.customers.views import grant_views
from crm_core.dbtime import database_now
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import Agent, Customer, SharingGrant, Team
from crm_core.models import AuditLog as AuditRow

__all__ = ["SharingService", "expire_grants"]

log = logging.getLogger(__name__)


async def _shareable(session: AsyncSession, actor: Actor, customer_id: int, *, lock: bool) -> Customer:
    """The customer if ``actor`` may manage its grants: owner, the owner's supervisor, admin."""
    verdict = await check(session, actor, customer_id, for_update=lock)
    customer = verdict.customer
    if customer is None or verdict.access is Access.NONE:
        raise NotFound(f"no customer {customer_id}")
    if customer.deleted_at is not None:
        raise Conflict("a customer in the recycle bin cannot be shared")
    if actor.is_admin or (customer.owner_agent_id is not None and customer.owner_agent_id == actor.user_id):
        return customer
    if actor.is_supervisor and customer.owner_agent_id is not None:
        owner_team = await session.scalar(select(Agent.team_id).where(Agent.id == customer.owner_agent_id))
        if owner_team is not None and owner_team in actor.team_ids:
            return customer
    raise AccessDenied("only the owner, their supervisor or an admin shares a customer")


class SharingService:
    """Gives, takes back and lists sharing grants; every change audited."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def share(
        self,
        actor: Actor,
        customer_id: int,
        *,
        user_login: str | None = None,
        team_id: int | None = None,
        access: str = "read",
        expires_at: datetime | None = None,
    ) -> GrantView:
        """Grant ``access`` (``read``/``write``) on a customer to one user or one team.

        An active grant to the same grantee is replaced (revoked, then the
        new one given).  A naive ``expires_at`` is taken as UTC; it must be
        in the future.  Raises :class:`InvalidInput` (field named: grantee
        missing or both given, unknown user or team, sharing with oneself or
        the owner, bad access or expiry), :class:`NotFound`,
        :class:`AccessDenied` (not a sharer) or :class:`Conflict` (the
        customer is in the public pool: nobody owns it).
        """
        if (user_login is None) == (team_id is None):
            raise InvalidInput("grantee", "give exactly one of user_login and team_id")
        if access not in ("read", "write"):
            raise InvalidInput("access", "must be read or write")
        if expires_at is not None and expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        async with self._sessions() as session, session.begin():
            customer = await _shareable(session, actor, customer_id, lock=True)
            if customer.owner_agent_id is None:
                raise Conflict("a customer in the public pool has no owner to share it")
            now = await database_now(session)
            if expires_at is not None and expires_at <= now:
                raise InvalidInput("expires_at", "must be in the future")
            grantee_id = None
            if user_login is not None:
                grantee_id = await session.scalar(
                    select(Agent.id).where(Agent.login == user_login[:64], Agent.active.is_(True))
                )
                if grantee_id is None:
                    raise InvalidInput("user_login", "no active user with this login")
                if grantee_id == actor.user_id:
                    raise InvalidInput("user_login", "you cannot share a customer with yourself")
                if grantee_id == customer.owner_agent_id:
                    raise InvalidInput("user_login", "the owner already has full access")
            elif await session.get(Team, team_id) is None:
                raise InvalidInput("team_id", "no such team")
            same_grantee = (
                SharingGrant.grantee_user_id == grantee_id
                if grantee_id is not None
                else SharingGrant.grantee_team_id == team_id
            )
            replaced = (
                await session.scalars(
                    select(SharingGrant).where(
                        SharingGrant.customer_id == customer_id, same_grantee, active_grant_clause()
                    )
                )
            ).all()
            for old in replaced:
                old.revoked_at = now
            grant = SharingGrant(
                customer_id=customer_id,
                grantee_user_id=grantee_id,
                grantee_team_id=team_id,
                access=access,
                granted_by_id=actor.user_id,
                created_at=now,
                expires_at=expires_at,
            )
            session.add(grant)
            await session.flush()
            detail = {
                "customer_id": customer_id,
                "grantee_login": user_login,
                "grantee_team_id": team_id,
                "access": access,
                "expires_at": expires_at,
                "replaced": [g.id for g in replaced],
            }
            await audit(session, actor, "share", "grant", grant.id, detail)
            [view] = await grant_views(session, grant_ids=[grant.id], include_inactive=True)
        log.info("crm.shared", extra={"customer_id": customer_id, "grant_id": grant.id, "access": access})
        return view

    async def unshare(self, actor: Actor, grant_id: int) -> GrantView:
        """Revoke a grant now; revoking a revoked grant changes nothing.

        Raises :class:`NotFound` (no such grant, or its customer not visible)
        and :class:`AccessDenied` (not a sharer of its customer).
        """
        async with self._sessions() as session, session.begin():
            grant = await session.get(SharingGrant, grant_id)
            if grant is None:
                raise NotFound(f"no grant {grant_id}")
            await _shareable(session, actor, grant.customer_id, lock=True)
            if grant.revoked_at is None:
                grant.revoked_at = await database_now(session)
                detail = {"customer_id": grant.customer_id, "reason": "revoked"}
                await audit(session, actor, "unshare", "grant", grant_id, detail)
                await session.flush()
            [view] = await grant_views(session, grant_ids=[grant_id], include_inactive=True)
        return view

    async def grants(
        self, actor: Actor, customer_id: int, *, include_inactive: bool = False
    ) -> list[GrantView]:
        """The customer's grants (active ones unless asked), for those who may manage them."""
        async with self._sessions() as session:
            await _shareable(session, actor, customer_id, lock=False)
            return await grant_views(session, customer_id=customer_id, include_inactive=include_inactive)


async def expire_grants(session: AsyncSession, now: datetime) -> int:
    """Audit, once each, the grants that ran out by ``now``; return how many.

    Grants stop working by time alone; this job only records it.  It
    changes no grant and runs in the caller's transaction; running it again
    finds nothing new (a grant counts as recorded once an ``unshare`` audit
    row names it).
    """
    recorded = exists(
        select(AuditRow.id).where(
            AuditRow.entity == "grant",
            AuditRow.action == "unshare",
            AuditRow.entity_id == cast(SharingGrant.id, String(64)),
        )
    )
    expired = (
        await session.execute(
            select(SharingGrant.id, SharingGrant.customer_id, SharingGrant.expires_at)
            .where(
                SharingGrant.revoked_at.is_(None),
                SharingGrant.expires_at.is_not(None),
                SharingGrant.expires_at <= now,
                ~recorded,
            )
            .order_by(SharingGrant.id)
        )
    ).all()
    system = Actor.system("grant-expiry")
    for grant_id, customer_id, expires_at in expired:
        detail = {"customer_id": customer_id, "reason": "expired", "expired_at": expires_at}
        await audit(session, system, "unshare", "grant", grant_id, detail)
    if expired:
        log.info("crm.grants_expired", extra={"count": len(expired)})
    return len(expired)
