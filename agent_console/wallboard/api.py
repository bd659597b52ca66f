"""``GET /api/wallboard``: the supervisor wallboard's snapshot (supervisors and admins only)."""

# No ``from __future__ import annotations``: FastAPI must see the dependency aliases.

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status

from agent_console.auth import bearer_session
from agent_console.crm.guard import ErrorBody
from agent_console.ports import WatchScopes
from agent_console.sessions import Session
from agent_console.wallboard.board import Wallboard
from agent_console.wallboard.schemas import WallboardSnapshot

__all__ = ["wallboard_router"]

log = logging.getLogger(__name__)


_session = bearer_session


def wallboard_router() -> APIRouter:
    """The wallboard route; the app keeps the :class:`Wallboard` in ``app.state.wallboard``."""
    router = APIRouter(prefix="/api", tags=["supervisor"])

    @router.get(
        "/wallboard",
        response_model=WallboardSnapshot,
        responses={
            401: {"model": ErrorBody, "description": "Not logged in, or the session ended"},
            403: {"model": ErrorBody, "description": "Only supervisors and admins see the wallboard"},
            503: {"model": ErrorBody, "description": "The user's teams cannot be looked up now"},
        },
        summary="Today's live queue and agent figures",
    )
    async def wallboard(
        request: Request, session: Annotated[Session, Depends(_session)]
    ) -> WallboardSnapshot:
        if not session.is_observer:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only supervisors and admins see the wallboard")
        board: Wallboard = request.app.state.wallboard
        scopes: WatchScopes | None = getattr(request.app.state, "watch_scopes", None)
        watch: frozenset[str] | None = None
        if scopes is not None:
            try:
                watch = await scopes.watched_logins(session.agent.login)
            except Exception as exc:
                log.warning(
                    "wallboard.scope_failed", extra={"login": session.agent.login, "error": repr(exc)}
                )
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE, "cannot load your teams now; try again"
                ) from None
        return board.snapshot(watch)

    return router
