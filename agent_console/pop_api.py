"""``/api/desk``: what the agent's screen needs beyond the CRM's record-by-record API.

* ``GET /api/desk/config`` — the pause reasons (parameter
  ``console.pause_reasons``) and follow-up dispositions
  (``followup.dispositions``) the screen offers, the wrap-up time, the
  server's date and the IVR nodes' descriptions (the menus' ``label`` and
  ``label_zh``); an administrator's change shows on the next page load.
* ``GET /api/desk/customers`` — "my customers": the owned and locked
  customers the user may see (their own and those shared with them), each
  with its protection status and the day the release job would return it
  to the public pool (``None`` for locked customers, who are never released).

Both need a logged-in user (401 otherwise); the list holds only customers
the CRM's access rules let the user read, and each request writes one
``view`` audit row naming the customers shown (``view: desk``).
"""

# No ``from __future__ import annotations``: FastAPI must see the route signatures' aliases.

from datetime import date

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from agent_console.crm.deps import Crm, CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.customers.schemas import CustomerSummary
from crm_core.followups.wrapup import MAX_NOTES_LENGTH
from crm_core.models import Agent
from crm_core.models.coltypes import utcnow

__all__ = ["DeskConfig", "IvrNodeLabel", "MyCustomer", "MyCustomers", "desk_router"]

#: How far ahead the release day is computed: far enough that every owned customer has one.
_RELEASE_HORIZON_DAYS = 36_500
_LIST_PAGE = 200  # the CRM's largest page


class IvrNodeLabel(BaseModel):
    """How the screen describes a caller's step through one IVR node."""

    model_config = ConfigDict(frozen=True)

    label: str
    label_zh: str


class DeskConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    pause_reasons: list[str]
    dispositions: list[str]
    release_warning_days: int
    wrapup_seconds: int | None  # the ACD's wrap-up time, for the countdown; None: not known
    #: The site's date: the earliest next-contact date a wrap-up or follow-up accepts.
    today: date
    #: The longest wrap-up note the server accepts (the form's counter shows it).
    notes_max_length: int = MAX_NOTES_LENGTH
    ivr_nodes: dict[str, IvrNodeLabel] = Field(
        default_factory=dict, description="IVR node name → its description in English and Chinese"
    )


class MyCustomer(BaseModel):
    """One row of "my customers"; ``shared`` when someone else owns it."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    tier: str
    status: str  # owned or locked
    deal_status: str
    owner_login: str | None
    owner_name: str | None
    shared: bool
    phone_masked: str | None
    last_follow_up_at: str | None  # ISO 8601
    release_on: date | None
    days_until_release: int | None
    release_rule: str | None  # no-follow-up or no-deal


class MyCustomers(BaseModel):
    today: date
    release_warning_days: int
    items: list[MyCustomer]
    total: int  # owned and locked customers visible; ``items`` holds at most 400 of them


def desk_router() -> APIRouter:
    router = APIRouter(
        prefix="/api/desk", tags=["agent desk"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
    )

    @router.get("/config", response_model=DeskConfig, summary="Pause reasons and dispositions to offer")
    async def config(_: CurrentActor, crm: Crm, request: Request) -> DeskConfig:
        parameters = crm.parameters
        return DeskConfig(
            pause_reasons=list(await parameters.get("console.pause_reasons")),
            dispositions=list(await parameters.get("followup.dispositions")),
            release_warning_days=int(await parameters.get("protection.release_warning_days")),
            wrapup_seconds=getattr(request.app.state, "wrapup_seconds", None),
            today=crm.wrapups.today(),
            ivr_nodes=_ivr_nodes(request),
        )

    @router.get(
        "/customers",
        response_model=MyCustomers,
        summary="My customers: owned and shared, with protection status and release day",
    )
    async def my_customers(actor: CurrentActor, crm: Crm) -> MyCustomers:
        # One screen, one audit row (written below, before anything is returned).
        owned = await crm.customers.list(actor, status="owned", page_size=_LIST_PAGE, audit_view=None)
        locked = await crm.customers.list(actor, status="locked", page_size=_LIST_PAGE, audit_view=None)
        summaries = sorted([*owned.items, *locked.items], key=lambda c: (c.name.lower(), c.id))
        now = utcnow()
        releases = await _release_days(crm, summaries)
        today = now.date()
        items = []
        for summary in summaries:
            release = releases.get(summary.id) if summary.status == "owned" else None
            items.append(
                MyCustomer(
                    id=summary.id,
                    name=summary.name,
                    tier=summary.tier,
                    status=summary.status,
                    deal_status=summary.deal_status,
                    owner_login=summary.owner_login,
                    owner_name=summary.owner_name,
                    shared=summary.owner_login != actor.login,
                    phone_masked=summary.phone_masked,
                    last_follow_up_at=summary.last_follow_up_at.isoformat()
                    if summary.last_follow_up_at
                    else None,
                    release_on=release[0] if release else None,
                    days_until_release=(release[0] - today).days if release else None,
                    release_rule=release[1] if release else None,
                )
            )
        policy = await crm.protection.policy()
        await crm.customers.audit_listing(
            actor, "desk", [s.id for s in summaries], {"total": owned.total + locked.total}
        )
        return MyCustomers(
            today=today,
            release_warning_days=policy.release_warning_days,
            items=items,
            total=owned.total + locked.total,
        )

    return router


def _ivr_nodes(request: Request) -> dict[str, IvrNodeLabel]:
    labels = getattr(request.app.state, "ivr_labels", None)
    if labels is None:
        return {}
    return {node: IvrNodeLabel(label=en, label_zh=zh) for node, (en, zh) in labels().items()}


async def _release_days(crm: Crm, summaries: list[CustomerSummary]) -> dict[int, tuple[date, str]]:
    """Customer id → (release day, rule) for the owned customers among ``summaries``."""
    owners = sorted({s.owner_login for s in summaries if s.status == "owned" and s.owner_login})
    if not owners or crm.sessions is None:
        return {}
    wanted = {s.id for s in summaries}
    async with crm.sessions() as session:
        owner_ids = list(await session.scalars(select(Agent.id).where(Agent.login.in_(owners))))
        due = await crm.protection.due_for_release(
            session, utcnow(), _RELEASE_HORIZON_DAYS, owner_ids=owner_ids
        )
    return {d.customer_id: (d.release_on, d.rule) for d in due if d.customer_id in wanted}
