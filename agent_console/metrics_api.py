"""``GET /api/metrics``: the service's counters (supervisors and admins only).

Today one family: ``pops`` — how the screen-pops of the calls dialled fared
against the phone's ring (see :class:`bankcti.calls.pop_gate.PopCounters`):
``gated``, ``received_in_time``, ``late``, ``no_console``.  Counters start
at 0 when the process starts.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency aliases.

from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from agent_console.auth import bearer_session
from agent_console.crm.guard import ErrorBody
from agent_console.sessions import Session

__all__ = ["Metrics", "metrics_router"]

#: Counter families by name, each a mapping of counter name to value.
Metrics = Callable[[], Mapping[str, Mapping[str, int]]]


def metrics_router(metrics: Metrics) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["supervisor"])

    @router.get(
        "/metrics",
        responses={
            401: {"model": ErrorBody, "description": "Not logged in, or the session ended"},
            403: {"model": ErrorBody, "description": "Only supervisors and admins read the counters"},
        },
        summary="The service's counters since it started (late screen-pops…)",
    )
    async def read_metrics(session: Annotated[Session, Depends(bearer_session)]) -> dict[str, dict[str, int]]:
        if not session.is_observer:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only supervisors and admins read the counters")
        return {family: dict(counters) for family, counters in metrics().items()}

    return router
