"""The audit log: who viewed or changed which record, when, from where.

:func:`audit` appends one row inside the caller's transaction, so the entry
commits (or rolls back) with the change it records.  Rows are never updated
or deleted — no code here does, and a database trigger refuses it anyway.

Details are scrubbed before they are stored: values under secret-looking
keys (``password``, ``pin``, ``id_number``, ``account_number``…) are
replaced and long digit runs (an account or card number that slipped in)
cut to their last four.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, String, and_, cast, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.rules import visible_customers_clause
from crm_core.actor import Actor
from crm_core.errors import AccessDenied, InvalidInput
from crm_core.models import AUDIT_ACTIONS, Agent, Customer
from crm_core.models import AuditLog as AuditRow
from crm_core.models.coltypes import utcnow

__all__ = [
    "MAX_AUDIT_LIMIT",
    "REDACTED",
    "AuditEntry",
    "AuditLog",
    "AuditPage",
    "audit",
    "audit_once",
    "scrub",
]

log = logging.getLogger(__name__)


class AuditEntry(BaseModel):
    """One row of the audit log."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    actor_id: int | None
    actor_login: str
    action: str
    entity: str
    entity_id: str | None
    remote_addr: str | None
    detail: dict[str, Any] | None


REDACTED = "[redacted]"
MAX_AUDIT_LIMIT = 1000
_SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|pin|secret|token|pepper|hash|id_number|account_number|card_number|pan)($|_)",
    re.IGNORECASE,
)
# An account or card number is 12+ digits; an E.164 phone keeps its "+" and is left alone.
_LONG_DIGITS = re.compile(r"(?<![+\d])\d{8,}(\d{4})(?!\d)")
_MAX_TEXT = 500
_MAX_DEPTH = 5


def scrub(value: Any, _depth: int = 0) -> Any:
    """``value`` made JSON-able and safe to keep: secrets redacted, long digit runs masked."""
    if _depth > _MAX_DEPTH:
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return scrub(value.value, _depth)
    if isinstance(value, str):
        return _LONG_DIGITS.sub(r"****\1", value[:_MAX_TEXT])
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {
            str(k)[:64]: REDACTED if _SECRET_KEY.search(str(k)) else scrub(v, _depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [scrub(v, _depth + 1) for v in items]
    return scrub(str(value), _depth)


async def audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | str | None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append an audit row to ``session``'s transaction (committed with the caller's change).

    ``action`` is one of :data:`crm_core.models.AUDIT_ACTIONS`; any other
    value is a programming error (:class:`ValueError`).
    """
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(
        AuditRow(
            at=utcnow(),
            actor_id=actor.user_id,
            actor_login=actor.login[:64],
            action=action,
            entity=entity[:32],
            entity_id=None if entity_id is None else str(entity_id)[:64],
            remote_addr=actor.remote_addr[:64] if actor.remote_addr else None,
            detail=scrub(dict(detail)) if detail is not None else None,
        )
    )


async def audit_once(
    session: AsyncSession,
    *,
    key: str,
    at: datetime,
    login: str,
    remote_addr: str | None,
    action: str,
    entity: str,
    entity_id: int | str | None,
    detail: Mapping[str, Any] | None = None,
) -> bool:
    """Append the audit row identified by ``key`` unless it is stored already; ``True`` if it was added.

    For rows written through a spool (:mod:`crm_core.spool`): the row is
    dated ``at``, when the audited thing happened rather than when the
    database took it, and a replay of a write that did commit adds nothing.
    The user is found by ``login`` inside the insert (``actor_id`` NULL if
    there is no such user any more: the row still says who it was).
    """
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not key or len(key) > 32:
        raise ValueError("audit key must be 1 to 32 characters")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(AuditRow)
        .values(
            event_key=key,
            at=at,
            actor_id=select(Agent.id).where(Agent.login == login[:64]).scalar_subquery(),
            actor_login=login[:64],
            action=action,
            entity=entity[:32],
            entity_id=None if entity_id is None else str(entity_id)[:64],
            remote_addr=remote_addr[:64] if remote_addr else None,
            detail=scrub(dict(detail)) if detail is not None else None,
        )
        .on_conflict_do_nothing(index_elements=[AuditRow.event_key])
        .returning(AuditRow.id)
    )
    return (await session.execute(stmt)).first() is not None


class AuditPage(BaseModel):
    """Audit entries newest first, and how many match in all."""

    model_config = ConfigDict(frozen=True)

    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


def _scope(actor: Actor) -> ColumnElement[bool] | None:
    """What part of the log ``actor`` may read (``None``: all of it)."""
    if actor.is_admin:
        return None
    if not actor.is_supervisor:
        raise AccessDenied("only supervisors and admins read the audit log")
    # A supervisor reads what their teams did, and everything done to the customers they oversee.
    members = select(Agent.id).where(Agent.team_id.in_(sorted(actor.team_ids)))
    customers = select(cast(Customer.id, String(64))).where(visible_customers_clause(actor))
    by_team = or_(AuditRow.actor_id == actor.user_id, AuditRow.actor_id.in_(members.scalar_subquery()))
    on_customers = and_(AuditRow.entity == "customer", AuditRow.entity_id.in_(customers.scalar_subquery()))
    return or_(by_team, on_customers)


class AuditLog:
    """Reads the audit log for supervisors (their teams' part) and admins (all of it)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def query(
        self,
        actor: Actor,
        *,
        entity: str | None = None,
        entity_id: int | str | None = None,
        actor_login: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> AuditPage:
        """Entries matching every filter given, newest first.

        Raises :class:`AccessDenied` for an agent and :class:`InvalidInput`
        for a ``limit`` outside 1…:data:`MAX_AUDIT_LIMIT` or a negative ``offset``.
        """
        if not 1 <= limit <= MAX_AUDIT_LIMIT:
            raise InvalidInput("limit", f"must be 1 to {MAX_AUDIT_LIMIT}")
        if offset < 0:
            raise InvalidInput("offset", "must be 0 or more")
        scope = _scope(actor)
        filters: list[ColumnElement[bool]] = [] if scope is None else [scope]
        if entity is not None:
            filters.append(AuditRow.entity == entity[:32])
        if entity_id is not None:
            filters.append(AuditRow.entity_id == str(entity_id)[:64])
        if actor_login is not None:
            filters.append(AuditRow.actor_login == actor_login[:64])
        if action is not None:
            filters.append(AuditRow.action == action[:32])
        if since is not None:
            filters.append(AuditRow.at >= since)
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(AuditRow).where(*filters))
            rows = (
                await session.scalars(
                    select(AuditRow)
                    .where(*filters)
                    .order_by(AuditRow.at.desc(), AuditRow.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
        return AuditPage(items=[_entry(r) for r in rows], total=total or 0, limit=limit, offset=offset)


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor_id=row.actor_id,
        actor_login=row.actor_login,
        action=row.action,
        entity=row.entity,
        entity_id=row.entity_id,
        remote_addr=row.remote_addr,
        detail=row.detail,
    )
