"""``/api/admin/agents``: agent accounts for admins: list, add, change, disable, enable, new password, import.

Every route is for admins only (403 for anyone else, before any input is
used); bad input is a 422 naming the field and changes nothing; a login
already taken is a 409.  Each change is audited by the service
(:mod:`crm_core.contact_center.agent_admin`) and then applied to the running
ACD through the :class:`AgentRosterPort` before the answer, so an agent added
here can be offered a call at once.  Disabling an account or giving it a new
password ends its console sessions (its open pages get a 401 and the
websockets close).  A generated password is in the answer once and never again.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency aliases.

import logging
from collections.abc import Collection, Sequence
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from agent_console.crm.deps import Crm, CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute, ErrorBody
from agent_console.hub import Hub
from agent_console.ports import QueueAdmin
from agent_console.sessions import SessionStore
from agent_console.ws import CLOSE_UNAUTHORIZED
from crm_core.actor import Actor
from crm_core.contact_center.agent_admin import (
    AgentAdmin,
    AgentChange,
    AgentSaved,
    AgentSpec,
    AgentView,
    require_admin,
)
from crm_core.contact_center.agent_import import AgentFileError, AgentRowProblem, import_agents
from crm_core.errors import InvalidInput

__all__ = ["AgentRosterPort", "admin_router", "end_agent_sessions"]

log = logging.getLogger(__name__)

_LOGIN = Path(
    min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="The agent's login"
)
_MAX_CSV = 2_000_000


class AgentRosterPort(Protocol):
    """The running ACD's side: apply committed account changes now (see :mod:`bankcti.roster`)."""

    async def agents_changed(self, logins: Sequence[str]) -> None: ...


class PasswordReset(BaseModel):
    """A new password; ``null`` (or no body field) generates one, returned once."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, max_length=1024)


class AgentImport(BaseModel):
    """A CSV file's text (header row, one account per line) and whether to check it only."""

    model_config = ConfigDict(extra="forbid")

    csv: str = Field(
        max_length=_MAX_CSV, description="columns: login, name, extension; device, role, team, …"
    )
    dry_run: bool = False


class AgentImportResult(BaseModel):
    """Every account imported (``passwords``: the generated ones, shown once) or, on a dry run, checked."""

    rows: int
    imported: int
    committed: bool
    dry_run: bool
    logins: list[str]
    passwords: list[tuple[str, str]]


class ImportRefused(ErrorBody):
    """Nothing was imported: every problem, by line (the header is line 1) and field.

    A request the API could not read at all has the usual error body (no ``problems``).
    """

    problems: list[AgentRowProblem] = Field(default_factory=list)


def end_agent_sessions(app: FastAPI, logins: Collection[str]) -> int:
    """End the console sessions of ``logins`` and close their websockets; return how many ended."""
    sessions: SessionStore = app.state.sessions
    hub: Hub = app.state.hub
    ended = 0
    for login in logins:
        for session in sessions.revoke_agent(login):
            hub.close_session(session.key, CLOSE_UNAUTHORIZED, "your account changed; log in again")
            ended += 1
    if ended:
        log.info("admin.sessions_ended", extra={"logins": sorted(logins), "sessions": ended})
    return ended


def admin_router(queues: QueueAdmin | None, roster: AgentRosterPort | None) -> APIRouter:
    """The account routes: queues checked against ``queues`` (the ACD's), changes applied via ``roster``."""
    router = APIRouter(
        prefix="/api/admin/agents",
        tags=["agent accounts"],
        route_class=CleanInputRoute,
        responses=ERROR_RESPONSES,
    )

    def known_queues() -> list[str] | None:
        return None if queues is None else [queue.name for queue in queues.queues()]

    def admin(crm: Crm) -> AgentAdmin:
        assert crm.sessions is not None
        return AgentAdmin(crm.sessions)

    async def applied(request: Request, saved: AgentSaved) -> AgentSaved:
        login = saved.agent.login
        if saved.credentials_changed:
            end_agent_sessions(request.app, [login])
        await apply(login)
        return saved

    async def apply(*logins: str) -> None:
        if roster is None:
            return
        try:
            await roster.agents_changed(logins)
        except Exception as exc:
            # Committed already: the roster's periodic check applies it shortly.
            log.warning("admin.apply_failed", extra={"logins": list(logins), "error": repr(exc)})

    async def admin_actor(actor: CurrentActor) -> Actor:
        # A dependency: it runs before the body is validated, so a non-admin gets 403, never a 422.
        require_admin(actor)
        return actor

    AdminActor = Annotated[Actor, Depends(admin_actor)]

    @router.get("", response_model=list[AgentView], summary="Every agent account (admins)")
    async def list_agents(
        actor: AdminActor,
        crm: Crm,
        include_disabled: Annotated[bool, Query(description="also disabled accounts")] = True,
    ) -> list[AgentView]:
        return await admin(crm).list_agents(actor, include_disabled=include_disabled)

    @router.get("/{login}", response_model=AgentView, summary="One agent account (admins)")
    async def get_agent(actor: AdminActor, crm: Crm, login: Annotated[str, _LOGIN]) -> AgentView:
        return await admin(crm).get(actor, login)

    @router.post(
        "",
        response_model=AgentSaved,
        status_code=status.HTTP_201_CREATED,
        summary="Add an account (admins; audited); a generated password is returned once",
    )
    async def create_agent(request: Request, actor: AdminActor, crm: Crm, body: AgentSpec) -> AgentSaved:
        return await applied(request, await admin(crm).create(actor, body, known_queues()))

    @router.patch("/{login}", response_model=AgentSaved, summary="Change an account (admins; audited)")
    async def update_agent(
        request: Request, actor: AdminActor, crm: Crm, login: Annotated[str, _LOGIN], body: AgentChange
    ) -> AgentSaved:
        return await applied(request, await admin(crm).update(actor, login, body, known_queues()))

    @router.post(
        "/{login}/disable",
        response_model=AgentSaved,
        summary="Disable an account: no login, out of the ACD, sessions ended, history kept (admins)",
    )
    async def disable_agent(
        request: Request, actor: AdminActor, crm: Crm, login: Annotated[str, _LOGIN]
    ) -> AgentSaved:
        return await applied(request, await admin(crm).set_active(actor, login, False))

    @router.post(
        "/{login}/enable", response_model=AgentSaved, summary="Enable an account again (admins; audited)"
    )
    async def enable_agent(
        request: Request, actor: AdminActor, crm: Crm, login: Annotated[str, _LOGIN]
    ) -> AgentSaved:
        return await applied(request, await admin(crm).set_active(actor, login, True))

    @router.post(
        "/{login}/password",
        response_model=AgentSaved,
        summary="Set a new password or generate one (shown once); the account's sessions end (admins)",
    )
    async def reset_password(
        request: Request, actor: AdminActor, crm: Crm, login: Annotated[str, _LOGIN], body: PasswordReset
    ) -> AgentSaved:
        return await applied(request, await admin(crm).reset_password(actor, login, body.password))

    @router.post(
        "/import",
        response_model=AgentImportResult,
        responses={
            422: {"model": ImportRefused, "description": "Nothing imported: every problem by line and field"}
        },
        summary="Import accounts from CSV, all or none (admins; audited)",
    )
    async def import_csv(actor: AdminActor, crm: Crm, body: AgentImport) -> AgentImportResult | JSONResponse:
        assert crm.sessions is not None
        try:
            report = await import_agents(
                crm.sessions, actor, body.csv.encode("utf-8"), known_queues(), dry_run=body.dry_run
            )
        except AgentFileError as exc:
            raise InvalidInput("csv", str(exc)) from None
        if report.problems:
            refused = ImportRefused(
                detail=f"{len(report.problems)} problem(s); nothing was imported",
                field="csv",
                problems=report.problems,
            )
            return JSONResponse(status_code=422, content=refused.model_dump(mode="json", exclude_none=True))
        if report.committed:
            await apply(*report.logins)
        return AgentImportResult(
            rows=report.rows,
            imported=report.imported,
            committed=report.committed,
            dry_run=report.dry_run,
            logins=report.logins,
            passwords=report.passwords,
        )

    return router
