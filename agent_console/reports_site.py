"""What the wallboard and the reports share: the site time zone and each queue's service-level threshold.

Both pages count "answered within T" with the same per-queue threshold and
cut days and intervals in the same zone, and both show which they use:

* the site zone is the wallboard's zone (``site_timezone`` in the
  settings); a report asked without ``tz`` uses it;
* the threshold of a queue is the live queue settings' (the ACD's, the
  lookup the wallboard folds with), else its ``acd_queues`` row, else the
  default 20 s (:func:`crm_core.stats.contact_center.build_report`).

``GET /api/reports/site`` tells the reports page both, with the queues'
display names.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from agent_console.crm.deps import CurrentActor
from agent_console.wallboard.board import Wallboard
from crm_core.errors import AccessDenied
from crm_core.stats.contact_center import ContactCenterStats

__all__ = [
    "SiteQueue",
    "SiteSettings",
    "add_site_route",
    "contact_center_stats",
    "known_queues",
    "site_zone",
]


class SiteQueue(BaseModel):
    name: str
    display_name: str
    service_level_seconds: float


class SiteSettings(BaseModel):
    """The zone and thresholds both the wallboard and the reports use."""

    timezone: str = Field(description="IANA name of the site time zone: days and intervals")
    default_service_level_seconds: float = Field(description="The threshold of a queue without one")
    queues: list[SiteQueue]


def _board(request: Request) -> Wallboard | None:
    board: Wallboard | None = getattr(request.app.state, "wallboard", None)
    return board


def site_zone(request: Request) -> str:
    """The site time zone (the wallboard's), ``UTC`` without a wallboard."""
    board = _board(request)
    return board.timezone if board is not None else "UTC"


def contact_center_stats(request: Request) -> ContactCenterStats:
    """The app's statistics service, thresholds looked up as the wallboard does (made on first use)."""
    stats: ContactCenterStats | None = getattr(request.app.state, "cc_stats", None)
    if stats is None:
        crm = getattr(request.app.state, "crm", None)
        sessions = getattr(crm, "sessions", None)
        if sessions is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "reports need the CRM database")
        board = _board(request)
        lookup = board.service_level_lookup() if board is not None else None
        stats = request.app.state.cc_stats = ContactCenterStats(sessions, service_levels=lookup)
    return stats


async def known_queues(request: Request, stats: ContactCenterStats) -> list[str]:
    """The queues defined in the database and those the live ACD runs (the wallboard's)."""
    board = _board(request)
    live = board.queue_names() if board is not None else []
    return sorted(set(await stats.queue_names()) | set(live))


def add_site_route(router: APIRouter) -> None:
    """``GET /site`` on the reports router."""

    @router.get(
        "/site",
        response_model=SiteSettings,
        summary="The site time zone and each queue's service-level threshold (as the wallboard uses them)",
    )
    async def site(
        request: Request,
        actor: CurrentActor,
        stats: Annotated[ContactCenterStats, Depends(contact_center_stats)],
    ) -> SiteSettings:
        if not (actor.is_admin or actor.is_supervisor):
            raise AccessDenied("only supervisors and admins may see queue figures")
        board = _board(request)
        live = board.queue_names() if board is not None else []
        levels = await stats.service_levels(live)
        titles = await stats.queue_titles()
        default = board.default_service_level if board is not None else 20.0

        def title(name: str) -> str:
            shown = board.queue_title(name) if board is not None else name
            return shown if shown != name else titles.get(name) or name

        return SiteSettings(
            timezone=site_zone(request),
            default_service_level_seconds=default,
            queues=[
                SiteQueue(name=name, display_name=title(name), service_level_seconds=seconds)
                for name, seconds in levels.items()
            ],
        )
