"""``/api/calls/{call_id}/wrap-up``: the one way a call's wrap-up is recorded.

The agent who handled a call records its notes, disposition and next
contact (date and channel) here, whoever owns the customer; the wrap-up is
stored on the call's own interaction (:mod:`crm_core.followups.wrapup`), so
the pop's history, the customer record, the follow-up API and the reports
show it at once.  ``PUT`` again edits it; nothing the PBX side recorded
(outcome, times, queue, IVR path) changes.

Who may save is decided on the server: a call this gateway offered to the
user (the agent, or a supervisor watching that agent), a call the user
dialled, or a call the stored history shows the user answered.  Anyone else
gets 403.  After a save the ACD is told (``on_saved``), so an agent held in
wrap-up until the disposition is recorded may take the next call.
"""

# No ``from __future__ import annotations``: FastAPI must see the route signatures' aliases.

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from agent_console.crm.deps import MAX_ID, Crm, CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from agent_console.hub import Hub
from agent_console.ports import CallControl, WatchScopes
from crm_core.actor import Actor
from crm_core.followups.wrapup import MAX_NOTES_LENGTH, WrapUp, WrapUpView

__all__ = ["WrapUpRequest", "WrapUpSaved", "wrapup_router"]

log = logging.getLogger(__name__)

#: Called after a wrap-up is stored: ``(login, call_id, disposition)``.
WrapUpSaved = Callable[[str, str, str | None], Awaitable[None]]

CallId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The call's id (its Linkedid)",
    ),
]


class WrapUpRequest(BaseModel):
    """The wrap-up as the agent's form holds it: each save replaces the previous one."""

    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(default=None, max_length=MAX_NOTES_LENGTH, description="Free text")
    disposition: str | None = Field(
        default=None, min_length=1, max_length=64, description="One of the followup.dispositions parameter"
    )
    next_contact_on: date | None = Field(default=None, description="When to contact again (today or later)")
    next_contact_channel: Literal["phone", "email", "web", "visit", "sms"] | None = Field(
        default=None, description="How to contact again (one of the followup.types parameter)"
    )
    customer_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="The customer the caller is, when the call has none yet (found or created during it)",
    )


def wrapup_router(calls: CallControl | None, on_saved: WrapUpSaved | None) -> APIRouter:
    """The wrap-up routes; ``calls`` tells who dialled an outbound call, ``on_saved`` tells the ACD."""
    router = APIRouter(prefix="/api/calls", tags=["wrap-up"], route_class=CleanInputRoute)

    async def vouched(request: Request, actor: Actor, call_id: str) -> bool:
        """This gateway offered the call to ``actor`` (or to an agent they watch), or they dialled it."""
        hub: Hub = request.app.state.hub
        if hub.was_offered(actor.login, call_id):
            return True
        if calls is not None and calls.dialled_by(call_id) == actor.login:
            return True
        if actor.role not in ("supervisor", "admin"):
            return False
        scopes: WatchScopes | None = request.app.state.watch_scopes
        offered_to = hub.offered_to(call_id)
        if offered_to is None:
            return False
        watched = await scopes.watched_logins(actor.login) if scopes is not None else None
        return watched is None or offered_to in watched

    @router.put(
        "/{call_id}/wrap-up",
        response_model=WrapUpView,
        responses={
            **ERROR_RESPONSES,
            403: {"description": "You did not handle this call"},
            409: {"description": "The call is recorded for another customer"},
        },
        summary="Record (or edit) the wrap-up of a call you handled",
    )
    async def save(
        call_id: CallId, body: WrapUpRequest, request: Request, actor: CurrentActor, crm: Crm
    ) -> WrapUpView:
        wrap = WrapUp(
            notes=body.notes,
            disposition=body.disposition,
            next_contact_on=body.next_contact_on,
            next_contact_channel=body.next_contact_channel,
            customer_id=body.customer_id,
        )
        view = await crm.wrapups.save(actor, call_id, wrap, vouched=await vouched(request, actor, call_id))
        if on_saved is not None:
            try:
                await on_saved(actor.login, call_id, view.disposition)
            except Exception:  # the wrap-up is stored; the ACD's state catches up on its own timer
                log.exception("wrapup.notify_failed", extra={"call_id": call_id, "login": actor.login})
        return view

    @router.get(
        "/{call_id}/wrap-up",
        response_model=WrapUpView,
        responses={
            **ERROR_RESPONSES,
            403: {"description": "You did not handle this call"},
            404: {"description": "No wrap-up recorded for this call yet"},
        },
        summary="The wrap-up recorded for a call you handled",
    )
    async def read(call_id: CallId, request: Request, actor: CurrentActor, crm: Crm) -> WrapUpView:
        view = await crm.wrapups.get(actor, call_id, vouched=await vouched(request, actor, call_id))
        if view is None or view.wrapped_up_at is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no wrap-up recorded for this call yet")
        return view

    return router
