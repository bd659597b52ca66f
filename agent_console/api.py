"""The console's JSON API under ``/api`` (bearer-token authenticated)."""

# No ``from __future__ import annotations``: FastAPI must see the route
# signatures' dependency aliases, which are local to build_router.

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent_console.crm.guard import UNAVAILABLE_RESPONSE, CleanInputRoute, ErrorBody
from agent_console.hub import Hub
from agent_console.ports import AgentControl, Authenticator, LoginGuard, WatchScopes
from agent_console.schemas import (
    AgentInfo,
    AgentStatus,
    Dispositions,
    Health,
    LoginRequest,
    SessionInfo,
    StateRequest,
    WrapUpExtension,
)
from agent_console.sessions import Session, SessionStore
from agent_console.ws import CLOSE_UNAUTHORIZED

__all__ = ["BEARER", "UNAUTHORIZED_HEADERS", "ConsoleServices", "build_router"]

log = logging.getLogger(__name__)

#: The API's one security scheme: ``Authorization: Bearer <token from POST /api/login>``.
BEARER = HTTPBearer(auto_error=False, description="The token returned by POST /api/login")
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}
_INVALID = {"model": ErrorBody, "description": "Invalid input; `field` names it"}
_LOGGED_OUT: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Not logged in, or the session ended"}
}


@dataclass(frozen=True, slots=True)
class ConsoleServices:
    authenticator: Authenticator
    control: AgentControl
    sessions: SessionStore
    hub: Hub
    dispositions: Sequence[str]
    scopes: WatchScopes | None = None  # narrows the calls an observer may annotate
    login_guard: LoginGuard | None = None  # brute-force protection of the login


def _message(exc: BaseException, default: str) -> str:
    """A human message from an exception raised by a port (KeyError quotes its arg)."""
    if exc.args and isinstance(exc.args[0], str) and exc.args[0].strip():
        return exc.args[0]
    return default


def build_router(services: ConsoleServices) -> APIRouter:
    """All ``/api`` routes, bound to ``services``."""
    router = APIRouter(prefix="/api", route_class=CleanInputRoute, responses={422: _INVALID})
    sessions = services.sessions

    def bearer_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> str:
        if credentials is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first", headers=UNAUTHORIZED_HEADERS)
        return credentials.credentials

    def current_session(token: Annotated[str, Depends(bearer_token)]) -> Session:
        session = sessions.get(token)
        if session is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "session expired or unknown; log in again",
                headers=UNAUTHORIZED_HEADERS,
            )
        return session

    Token = Annotated[str, Depends(bearer_token)]
    CurrentSession = Annotated[Session, Depends(current_session)]

    def session_info(session: Session, token: str | None = None) -> SessionInfo:
        return SessionInfo(token=token, expires_at=sessions.expires_at(session), agent=session.agent)

    @router.post(
        "/login",
        response_model=SessionInfo,
        responses={
            401: {"model": ErrorBody, "description": "Wrong login or password"},
            429: {
                "model": ErrorBody,
                "description": "Too many failed logins: the password was not checked; retry after the delay",
                "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
            },
            503: UNAVAILABLE_RESPONSE,
        },
        summary="Log in and get a bearer token",
    )
    async def login(body: LoginRequest, request: Request) -> SessionInfo:
        # The socket's peer: uvicorn rewrites it from X-Forwarded-For only for configured trusted proxies.
        address = request.client.host if request.client else ""
        attempt = None
        if services.login_guard is not None:
            attempt = await services.login_guard.begin(body.login, address)
            if attempt.refused:
                wait = attempt.retry_after_seconds
                raise HTTPException(
                    status.HTTP_429_TOO_MANY_REQUESTS,
                    f"too many failed logins; try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
        identity = await services.authenticator.authenticate(body.login, body.password)
        if identity is None:
            if attempt is not None:
                await attempt.failed()
            log.info("console.login_failed", extra={"login": body.login, "address": address})
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong login or password")
        if attempt is not None:
            await attempt.succeeded()
        agent = AgentInfo(login=identity.login, name=identity.name, role=identity.role)
        token, session = sessions.create(agent)
        log.info("console.login", extra={"login": agent.login, "role": agent.role})
        return session_info(session, token)

    @router.post(
        "/logout", status_code=status.HTTP_204_NO_CONTENT, responses=_LOGGED_OUT, summary="End the session"
    )
    async def logout(token: Token) -> Response:
        session = sessions.revoke(token)
        if session is not None:
            closed = services.hub.close_session(session.key, CLOSE_UNAUTHORIZED, "logged out")
            log.info("console.logout", extra={"login": session.agent.login, "sockets": closed})
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/me", response_model=SessionInfo, responses=_LOGGED_OUT, summary="Who is logged in")
    async def me(session: CurrentSession) -> SessionInfo:
        return session_info(session)

    @router.post(
        "/session/renew", response_model=SessionInfo, responses=_LOGGED_OUT, summary="Extend the session"
    )
    async def renew(token: Token) -> SessionInfo:
        session = sessions.renew(token)
        if session is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "session expired or unknown; log in again",
                headers=UNAUTHORIZED_HEADERS,
            )
        return session_info(session, token)

    @router.get(
        "/agent/state",
        response_model=AgentStatus,
        responses={**_LOGGED_OUT, 404: {"description": "Not an ACD agent"}},
        summary="The agent's current state",
    )
    async def get_state(session: CurrentSession) -> AgentStatus:
        try:
            return services.control.status(session.agent.login)
        except LookupError as exc:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, _message(exc, f"{session.agent.login} is not an ACD agent")
            ) from None

    @router.post(
        "/agent/state",
        response_model=AgentStatus,
        responses={
            **_LOGGED_OUT,
            400: {"description": "Transition not allowed now"},
            404: {"description": "Not an ACD agent"},
        },
        summary="Go ready, pause or log out of the queues",
    )
    async def set_state(body: StateRequest, session: CurrentSession) -> AgentStatus:
        login = session.agent.login
        try:
            result = await services.control.set_state(login, body.state, body.reason)
        except LookupError as exc:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, _message(exc, f"{login} is not an ACD agent")
            ) from None
        except ValueError as exc:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, _message(exc, f"cannot go {body.state} now")
            ) from None
        log.info("console.state", extra={"login": login, "state": result.state, "reason": result.reason})
        return result

    @router.post(
        "/agent/wrap-up/extend",
        response_model=AgentStatus,
        responses={
            **_LOGGED_OUT,
            404: {"description": "Not an ACD agent"},
            409: {"model": ErrorBody, "description": "Not in wrap-up, or beyond the queue's maximum"},
        },
        summary="Extend the agent's wrap-up (up to the queue's maximum after the call)",
    )
    async def extend_wrapup(body: WrapUpExtension, session: CurrentSession) -> AgentStatus:
        login = session.agent.login
        try:
            result = await services.control.extend_wrapup(login, body.seconds)
        except LookupError as exc:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, _message(exc, f"{login} is not an ACD agent")
            ) from None
        except ValueError as exc:
            raise HTTPException(
                status.HTTP_409_CONFLICT, _message(exc, "the wrap-up cannot be extended now")
            ) from None
        log.info("console.wrapup_extended", extra={"login": login, "until": result.wrapup_until})
        return result

    @router.get(
        "/dispositions",
        response_model=Dispositions,
        responses=_LOGGED_OUT,
        summary="Dispositions an agent may choose",
    )
    async def dispositions(_: CurrentSession) -> Dispositions:
        return Dispositions(dispositions=list(services.dispositions))

    @router.get("/health", response_model=Health, summary="Liveness")
    async def health() -> Health:
        return Health()

    return router
