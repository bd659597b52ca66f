"""Queue definitions over HTTP: supervisors read them, admins change them.

``GET /api/queues`` lists every queue as the ACD runs it; ``PUT
/api/queues/{name}`` (admins) stores a database definition of the queue
and applies it at once — calls already waiting keep their place.  Settings
that only the queue file can hold (bullseye steps, callback retries…) are
refused with a message saying so.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency aliases.

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel, Field

from acd.config import QueueConfig
from agent_console.auth import SessionDep
from agent_console.crm.guard import CleanInputRoute, ErrorBody
from agent_console.ports import QueueAdmin
from agent_console.sessions import Session

__all__ = ["DB_QUEUE_FIELDS", "queues_router"]

log = logging.getLogger(__name__)

#: What a database row can hold (table ``acd_queues``).
DB_QUEUE_FIELDS = frozenset(
    {
        "display_name", "skills", "priority", "strategy", "ring_timeout", "wrapup_seconds",
        "max_wait_seconds", "max_wait_queue", "service_level_seconds", "overflow", "open_hours",
        "no_agents", "no_agents_queue", "announce_seconds", "rm_grace_seconds",
    }
)  # fmt: skip

_NAME = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Not logged in"},
    403: {"model": ErrorBody, "description": "Not allowed for this role"},
    422: {"model": ErrorBody, "description": "A setting is invalid (the message names it)"},
}


class OverflowView(BaseModel):
    after: float
    action: str = Field(description="widen (its agents may take the call too) or move (the call goes there)")
    queue: str


class QueueView(BaseModel):
    """A queue as the ACD runs it."""

    name: str
    display_name: str
    skills: list[str]
    priority: int
    strategy: str
    ring_timeout: int
    auto_pause: bool
    wrapup_seconds: float
    max_wait_seconds: float
    max_wait_queue: str | None
    service_level_seconds: float
    overflow: list[OverflowView]
    bullseye: list[tuple[float, int]]
    open_hours: str | None
    no_agents: str
    no_agents_queue: str | None
    announce_seconds: float
    rm_grace_seconds: float
    callback_key: str


class QueueSettings(BaseModel):
    """The database definition of a queue; omitted keys take the service's defaults."""

    settings: dict[str, Any] = Field(
        description=f"Any of: {', '.join(sorted(DB_QUEUE_FIELDS))} (see config/queues.toml for their meaning)"
    )


def _view(queue: QueueConfig) -> QueueView:
    return QueueView(
        name=queue.name,
        display_name=queue.display_name,
        skills=sorted(queue.skills),
        priority=queue.priority,
        strategy=queue.strategy.value,
        ring_timeout=queue.ring_timeout,
        auto_pause=queue.auto_pause,
        wrapup_seconds=queue.wrapup_seconds,
        max_wait_seconds=queue.max_wait_seconds,
        max_wait_queue=queue.max_wait_queue,
        service_level_seconds=queue.service_level_seconds,
        overflow=[
            OverflowView(after=r.after_seconds, action=r.action, queue=r.queue) for r in queue.overflow
        ],
        bullseye=[(step.after_seconds, step.min_proficiency) for step in queue.bullseye],
        open_hours=queue.open_hours,
        no_agents=queue.no_agents.value,
        no_agents_queue=queue.no_agents_queue,
        announce_seconds=queue.announce_seconds,
        rm_grace_seconds=queue.rm_grace_seconds,
        callback_key=queue.callback_key,
    )


def queues_router(admin: QueueAdmin) -> APIRouter:
    """The queue routes, bound to the ``admin`` port."""
    router = APIRouter(prefix="/api/queues", route_class=CleanInputRoute, tags=["queues"], responses=_ERRORS)

    def observer(session: SessionDep) -> Session:
        if not session.is_observer:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only supervisors and admins see queue settings")
        return session

    Observer = Annotated[Session, Depends(observer)]

    @router.get("", summary="Every queue with its routing settings")
    async def list_queues(session: Observer) -> list[QueueView]:
        return [_view(queue) for queue in admin.queues()]

    @router.put("/{name}", summary="Define or change a queue in the database (admins)")
    async def save_queue(session: Observer, body: QueueSettings, name: Annotated[str, _NAME]) -> QueueView:
        if session.agent.role != "admin":
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins change queues")
        unknown = sorted(set(body.settings) - DB_QUEUE_FIELDS)
        if unknown:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"{unknown[0]}: not a database queue setting (set it in the queue file; "
                f"the database holds {', '.join(sorted(DB_QUEUE_FIELDS))})",
            )
        try:
            queue = await admin.save_queue(name, body.settings)
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        log.info("queues.saved", extra={"queue": name, "by": session.agent.login})
        return _view(queue)

    return router
