"""Who is calling: the session behind a request's bearer token (401 otherwise)."""

# No ``from __future__ import annotations``: FastAPI must see the dependency aliases.

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from agent_console.api import BEARER, UNAUTHORIZED_HEADERS
from agent_console.sessions import Session, SessionStore

__all__ = ["SessionDep", "bearer_session"]


def bearer_session(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Session:
    """The live session of the request's bearer token; 401 with a clear message when there is none."""
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first", headers=UNAUTHORIZED_HEADERS)
    sessions: SessionStore = request.app.state.sessions
    session = sessions.get(credentials.credentials)
    if session is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "session expired or unknown; log in again",
            headers=UNAUTHORIZED_HEADERS,
        )
    return session


#: A route parameter receiving the caller's session.
SessionDep = Annotated[Session, Depends(bearer_session)]
