"""All CRM routes as one router, to mount on the console app (see :func:`agent_console.app.create_app`)."""

from __future__ import annotations

from fastapi import APIRouter

from agent_console.crm import (
    analytics,
    audit,
    commission,
    contracts,
    customers,
    followups,
    login_locks,
    parameters,
    protection,
    recent,
    recycle,
    reminders,
    sharing,
)

__all__ = ["crm_router"]


def crm_router() -> APIRouter:
    """Every ``/api/crm/...`` route, and ``/api/me/recent-calls``."""
    router = APIRouter()
    for area in (customers, protection, sharing, followups, recycle, contracts, reminders, parameters, audit):
        router.include_router(area.router)
    router.include_router(commission.router)
    router.include_router(analytics.router)
    router.include_router(login_locks.router)
    router.include_router(recent.router)
    return router
