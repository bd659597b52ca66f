"""``/api/crm/audit``: who viewed or changed which record, when, from where.

Supervisors read their teams' part of the log, admins all of it, agents
none (:class:`crm_core.access.audit.AuditLog`).  Newest entries first.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from agent_console.crm.deps import Crm, CurrentActor, as_utc
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.access.audit import MAX_AUDIT_LIMIT, AuditPage

__all__ = ["router"]

router = APIRouter(
    prefix="/api/crm/audit", tags=["audit"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
)


@router.get("", response_model=AuditPage, summary="Query the audit log (supervisors, admins)")
async def query_audit(
    actor: CurrentActor,
    crm: Crm,
    entity: Annotated[
        str | None, Query(max_length=32, description="customer, contract, grant, parameter…")
    ] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_login: Annotated[str | None, Query(alias="actor", max_length=64, description="Who acted")] = None,
    action: Annotated[str | None, Query(max_length=32, description="view, create, update, claim…")] = None,
    since: Annotated[
        datetime | None, Query(description="Entries at or after this time (UTC if naive)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPage:
    return await crm.audit.query(
        actor,
        entity=entity,
        entity_id=entity_id,
        actor_login=actor_login,
        action=action,
        since=as_utc(since, "since"),
        limit=limit,
        offset=offset,
    )
