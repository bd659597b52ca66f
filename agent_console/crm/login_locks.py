"""``/api/crm/login-locks``: the login throttle's current locks, for admins, who may clear them.

Failed logins are counted per login, per client address and per pair of
both (:mod:`crm_core.contact_center.throttle`); a count past its threshold
locks further attempts for a growing delay.  An admin sees every lock in
force and clears the counts of a login, an address or one pair (an agent
who mistyped their password too often, an address that was a false
alarm); each clearing is audited (``login-unlocked``).
"""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from agent_console.crm.deps import Crm, CrmServices, CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.contact_center.throttle import LoginLock, LoginThrottle
from crm_core.errors import NotFound

__all__ = ["ClearedLocks", "router"]

router = APIRouter(
    prefix="/api/crm/login-locks",
    tags=["login security"],
    route_class=CleanInputRoute,
    responses=ERROR_RESPONSES,
)


class ClearedLocks(BaseModel):
    """The failure counts an admin's request removed (locked or not)."""

    model_config = ConfigDict(frozen=True)

    cleared: list[LoginLock]


def _throttle(crm: CrmServices) -> LoginThrottle:
    if crm.logins is None:
        raise NotFound("login throttling is not configured on this server")
    return crm.logins


@router.get("", response_model=list[LoginLock], summary="Login locks in force now (admins)")
async def list_locks(actor: CurrentActor, crm: Crm) -> list[LoginLock]:
    return await _throttle(crm).locks(actor)


@router.delete(
    "",
    response_model=ClearedLocks,
    summary="Clear the failed-login counts of a login, an address or both (admins; audited)",
)
async def clear_locks(
    actor: CurrentActor,
    crm: Crm,
    login: Annotated[
        str | None, Query(max_length=64, description="The login; alone: its counts from every address")
    ] = None,
    address: Annotated[
        str | None, Query(max_length=64, description="The client address; alone: every login's count from it")
    ] = None,
) -> ClearedLocks:
    return ClearedLocks(cleared=await _throttle(crm).unlock(actor, login=login, address=address))
