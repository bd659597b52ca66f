"""What a reader may do with a customer record: the buttons the console shows, decided by the same rules.

Each action is refused by its own service when not allowed (the services
check again on every request); this only spares the user buttons that would
be refused: ``edit`` and ``follow-up`` need write access
(:mod:`crm_core.access.rules`); ``lock``/``unlock`` and ``share`` the owner,
a supervisor of the owner's team or an admin
(:mod:`crm_core.protection.service`, :mod:`crm_core.sharing.service`);
``transfer`` a supervisor of the owner's team or an admin.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.access.rules import Access, Verdict
from crm_core.actor import Actor
from crm_core.customers.schemas import CustomerAction
from crm_core.models import Agent, Customer

__all__ = ["record_actions"]


async def record_actions(
    session: AsyncSession, actor: Actor, customer: Customer, verdict: Verdict
) -> list[CustomerAction]:
    """The actions ``actor`` may take on ``customer`` (judged by ``verdict``), in display order."""
    if customer.deleted_at is not None or verdict.access is not Access.WRITE:
        return []
    actions: list[CustomerAction] = ["edit", "follow-up"]
    owner_id = customer.owner_agent_id
    if owner_id is None or customer.status == "public":
        return actions
    supervises = False
    if actor.is_supervisor and actor.team_ids:
        team_id = await session.scalar(select(Agent.team_id).where(Agent.id == owner_id))
        supervises = team_id is not None and team_id in actor.team_ids
    manages = actor.is_admin or supervises
    if manages or owner_id == actor.user_id:
        actions.append("unlock" if customer.status == "locked" else "lock")
        actions.append("share")
    if manages:
        actions.append("transfer")
    return actions
