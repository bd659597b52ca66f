"""Who may read, change, approve a contract: the customer's access plus a say over the contract.

Reading a contract needs read access on its customer (:mod:`crm_core.access.rules`),
except that an agent who sees the customer only as a public-pool entry
(name, tier, masked data: enough to claim it) does not see its contracts.
Changing one needs write access on the customer and, on top of that:

* to edit, submit, rework, sign, delete a draft or record a payment: the
  owner, a supervisor of the owner's team, or an admin;
* to approve, reject or terminate: a supervisor of the owner's team or an
  admin — never the owner themself (four eyes).

A contract the actor may not read at all is reported as not found, so its
existence does not leak.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.access.rules import Access, active_grant_clause, check, visible_customers_clause
from crm_core.actor import Actor
from crm_core.contracts.rules import APPROVER_ACTIONS, next_status
from crm_core.contracts.views import load_contract, lock_contract
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import Agent, Contract, Customer, SharingGrant

__all__ = [
    "approves",
    "manages",
    "may_read",
    "owner_for",
    "readable_clause",
    "require_customer",
    "team_of",
    "writable_contract",
]


async def writable_contract(
    session: AsyncSession, actor: Actor, contract_id: int, *, action: str | None = None
) -> Contract:
    """The contract, locked, if the actor may change it (or take ``action`` on it)."""
    await lock_contract(session, contract_id)
    contract = await load_contract(session, contract_id)
    if contract is None:
        raise NotFound(f"no contract {contract_id}")
    verdict = await check(session, actor, contract.customer_id)
    if verdict.access is Access.NONE or verdict.limited:
        raise NotFound(f"no contract {contract_id}")
    if verdict.access is not Access.WRITE:
        raise AccessDenied(f"{actor.login} may not change contract {contract.number}")
    if action is not None:
        next_status(contract.status, action)  # an illegal move is a Conflict, whoever asks
    owner_team = await team_of(session, contract.owner_id)
    if action in APPROVER_ACTIONS:
        if not approves(actor, contract.owner_id, owner_team):
            raise AccessDenied(
                f"only a supervisor of the owner's team or an admin, not the owner, may {action} "
                f"contract {contract.number}"
            )
    elif not manages(actor, contract.owner_id, owner_team):
        raise AccessDenied(f"{actor.login} may not change contract {contract.number} of another agent")
    return contract


async def require_customer(session: AsyncSession, actor: Actor, customer_id: int) -> Customer:
    verdict = await check(session, actor, customer_id, for_update=True)
    if verdict.customer is None or verdict.access is Access.NONE or verdict.limited:
        raise NotFound(f"no customer {customer_id}")
    if verdict.access is not Access.WRITE:
        raise AccessDenied(f"{actor.login} may not change customer {customer_id}")
    if verdict.customer.deleted_at is not None:
        raise Conflict(f"customer {customer_id} is in the recycle bin")
    return verdict.customer


async def may_read(session: AsyncSession, actor: Actor, customer_id: int) -> bool:
    verdict = await check(session, actor, customer_id)
    return verdict.access is not Access.NONE and not verdict.limited


async def team_of(session: AsyncSession, agent_id: int | None) -> int | None:
    if agent_id is None:
        return None
    return await session.scalar(select(Agent.team_id).where(Agent.id == agent_id))


def manages(actor: Actor, owner_id: int | None, owner_team: int | None) -> bool:
    """The owner, a supervisor of the owner's team, or an admin."""
    if actor.is_admin or (owner_id is not None and actor.user_id == owner_id):
        return True
    return actor.is_supervisor and owner_team is not None and owner_team in actor.team_ids


def approves(actor: Actor, owner_id: int | None, owner_team: int | None) -> bool:
    """A supervisor of the owner's team or an admin, but never the owner (four eyes)."""
    if owner_id is not None and actor.user_id == owner_id:
        return False
    if actor.is_admin:
        return True
    return actor.is_supervisor and owner_team is not None and owner_team in actor.team_ids


async def owner_for(session: AsyncSession, actor: Actor, customer: Customer, login: str | None) -> int:
    """The owner of a new contract: the named user, else the actor, else the customer's owner."""
    if login is None:
        owner_id = actor.user_id if actor.user_id is not None else customer.owner_agent_id
        if owner_id is None:
            raise InvalidInput("owner_login", "is required: the customer has no owner")
        return owner_id
    owner = await session.scalar(select(Agent).where(Agent.login == login))
    if owner is None or not owner.active:
        raise InvalidInput("owner_login", f"no active user {login!r}")
    if owner.id != actor.user_id and not manages(actor, owner.id, owner.team_id):
        raise AccessDenied(f"{actor.login} may not open contracts in the name of {login}")
    return owner.id


def readable_clause(actor: Actor) -> ColumnElement[bool]:
    """Customers whose contracts ``actor`` may read: visible ones, minus pool-only sightings."""
    visible = visible_customers_clause(actor)
    if actor.is_admin or actor.is_supervisor:
        return visible
    # An agent sees a public-pool customer's name and tier to claim it, not its contracts,
    # unless a grant or a call on offer gives them the record itself.
    grantees: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        grantees.append(SharingGrant.grantee_user_id == actor.user_id)
    if actor.team_ids:
        grantees.append(SharingGrant.grantee_team_id.in_(sorted(actor.team_ids)))
    shared = exists(
        select(SharingGrant.id).where(
            SharingGrant.customer_id == Customer.id,
            active_grant_clause(),
            or_(*grantees) if grantees else false(),
        )
    )
    offered = Customer.id.in_(sorted(actor.offered_customer_ids)) if actor.offered_customer_ids else false()
    pool_only = and_(Customer.status == "public", not_(offered), not_(shared))
    return and_(visible, not_(pool_only))
