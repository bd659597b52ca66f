"""``/api/crm/reminders``: whom to contact today, who is about to go back to the pool, which contracts end.

An agent gets their own customers (and shared ones to contact), a
supervisor their teams', an admin everyone's (:class:`crm_core.followups.reminders.ReminderService`).
"""

from fastapi import APIRouter

from agent_console.crm.deps import Crm, CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.followups.reminders import Reminders

__all__ = ["router"]

router = APIRouter(
    prefix="/api/crm/reminders", tags=["reminders"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
)


@router.get("/today", response_model=Reminders, summary="Your reminders for today (UTC)")
async def reminders_today(actor: CurrentActor, crm: Crm) -> Reminders:
    return await crm.reminders.for_agent(actor)
