"""Sharing grants: who else may read or change a customer, and until when.

Only the owner, a supervisor of the owner's team or an admin lists, gives
or revokes grants (:class:`crm_core.sharing.service.SharingService`).
"""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from agent_console.crm.deps import MAX_ID, Crm, CurrentActor, CustomerId, GrantId, as_utc, visible_customer
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.customers.schemas import GrantView

__all__ = ["ShareRequest", "router"]

router = APIRouter(
    prefix="/api/crm", tags=["sharing"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
)


class ShareRequest(BaseModel):
    """A grant to exactly one of a user (``user_login``) or a team (``team_id``)."""

    model_config = ConfigDict(extra="forbid")

    user_login: str | None = Field(default=None, min_length=1, max_length=64)
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    access: Literal["read", "write"] = "read"
    expires_at: datetime | None = Field(
        default=None, description="When the grant stops working (UTC if naive)"
    )


@router.get(
    "/customers/{customer_id}/grants",
    response_model=list[GrantView],
    dependencies=[Depends(visible_customer)],
    summary="A customer's sharing grants (owner, their supervisor, admins)",
)
async def list_grants(
    customer_id: CustomerId,
    actor: CurrentActor,
    crm: Crm,
    include_inactive: Annotated[bool, Query(description="Also expired and revoked grants")] = False,
) -> list[GrantView]:
    return await crm.sharing.grants(actor, customer_id, include_inactive=include_inactive)


@router.post(
    "/customers/{customer_id}/grants",
    response_model=GrantView,
    dependencies=[Depends(visible_customer)],
    status_code=status.HTTP_201_CREATED,
    summary="Share a customer with a user or a team",
)
async def share(customer_id: CustomerId, body: ShareRequest, actor: CurrentActor, crm: Crm) -> GrantView:
    return await crm.sharing.share(
        actor,
        customer_id,
        user_login=body.user_login,
        team_id=body.team_id,
        access=body.access,
        expires_at=as_utc(body.expires_at, "expires_at"),
    )


@router.delete("/grants/{grant_id}", response_model=GrantView, summary="Revoke a sharing grant now")
async def unshare(grant_id: GrantId, actor: CurrentActor, crm: Crm) -> GrantView:
    return await crm.sharing.unshare(actor, grant_id)
