"""``GET /api/me/recent-calls``: the calls the logged-in agent answered, to reopen a caller's record.

See :mod:`crm_core.customers.recent`; the handled-call grant that lets the
agent reopen a record they do not own is :mod:`crm_core.access.handled`.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from agent_console.crm.deps import Crm, CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.customers.recent import MAX_RECENT_CALLS, RecentCall

__all__ = ["router"]

router = APIRouter(
    prefix="/api/me", tags=["recent calls"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
)


@router.get(
    "/recent-calls",
    response_model=list[RecentCall],
    summary="The last calls you answered, newest first, and whether you may open each caller (audited)",
)
async def recent_calls(
    actor: CurrentActor,
    crm: Crm,
    limit: Annotated[int, Query(ge=1, le=MAX_RECENT_CALLS, description="How many calls")] = 20,
) -> list[RecentCall]:
    if crm.recent_calls is None:
        raise RuntimeError("the CRM services were built without recent calls")
    return await crm.recent_calls.list(actor, limit=limit)
