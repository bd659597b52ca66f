"""A customer's follow-ups (calls, visits, emails… with the next contact date) and the user's reminders."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_console.crm.deps import Crm, CurrentActor, CustomerId, PageNumber, visible_customer
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.followups.service import MAX_CONTENT_LENGTH, FollowUpView
from crm_core.paging import Page

__all__ = ["FollowUpRequest", "router"]

router = APIRouter(
    prefix="/api/crm/customers/{customer_id}/follow-ups",
    # A customer that exists but is not the user's to see: 403, not the services' "not found".
    dependencies=[Depends(visible_customer)],
    tags=["follow-ups"],
    route_class=CleanInputRoute,
    responses=ERROR_RESPONSES,
)


class FollowUpRequest(BaseModel):
    """A follow-up that is not a call handled in bankcti: a visit, an email, an SMS, a web message…

    A call's wrap-up is recorded on the call itself (``PUT /api/calls/{call_id}/wrap-up``).
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_call(cls, data: Any) -> Any:
        if isinstance(data, dict) and "call_id" in data:
            raise ValueError("a call's wrap-up is recorded with PUT /api/calls/{call_id}/wrap-up")
        return data

    channel: Literal["phone", "ivr", "email", "web", "visit", "sms"]
    direction: Literal["inbound", "outbound"]
    content: str = Field(min_length=1, max_length=MAX_CONTENT_LENGTH)
    outcome: str | None = Field(default=None, min_length=1, max_length=32)
    disposition: str = Field(
        min_length=1, max_length=64, description="One of the followup.dispositions parameter"
    )
    next_contact_on: date | None = Field(default=None, description="When to contact again (today or later)")
    urgent: bool = False


@router.get("", response_model=Page[FollowUpView], summary="A customer's follow-ups, newest first (audited)")
async def list_follow_ups(
    customer_id: CustomerId,
    actor: CurrentActor,
    crm: Crm,
    page: PageNumber = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Page[FollowUpView]:
    return await crm.followups.list(actor, customer_id, page=page, page_size=page_size)


@router.post(
    "", response_model=FollowUpView, status_code=status.HTTP_201_CREATED, summary="Record a follow-up"
)
async def add_follow_up(
    customer_id: CustomerId, body: FollowUpRequest, actor: CurrentActor, crm: Crm
) -> FollowUpView:
    return await crm.followups.add(
        actor,
        customer_id,
        channel=body.channel,
        direction=body.direction,
        content=body.content,
        outcome=body.outcome,
        disposition=body.disposition,
        next_contact_on=body.next_contact_on,
        urgent=body.urgent,
    )
