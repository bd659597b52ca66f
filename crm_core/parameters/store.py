"""Typed, validated, audited parameters with defaults (the knobs of the protection rules and more).

Every parameter is declared once in :data:`~crm_core.parameters.registry.REGISTRY` with its type, its
default and a description; the ``parameters`` table holds only the values an
admin has set.  :class:`ParameterStore` reads them through a short per-process
cache and writes them with a ``parameter_changes`` row and an audit entry in
the same transaction.

Values are JSON: integers, booleans, lists of names, and tier thresholds as
decimal *strings* (money is never a float)::

    store = ParameterStore(sessions)
    cap = await store.get("protection.daily_claim_cap")          # 10 until changed
    await store.set(admin, "protection.daily_claim_cap", 5, reason="pilot team")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.errors import AccessDenied, InvalidInput, NotFound
from crm_core.models import Agent, Parameter, ParameterChange
from crm_core.models.coltypes import utcnow
from crm_core.parameters.registry import REGISTRY, ParameterSpec, tier_thresholds

__all__ = [
    "CACHE_TTL_SECONDS",
    "REGISTRY",
    "ParameterChangeView",
    "ParameterSpec",
    "ParameterStore",
    "ParameterView",
    "tier_thresholds",
]

log = logging.getLogger(__name__)

#: How long a process trusts its cached values; another instance's change shows within this.
CACHE_TTL_SECONDS = 5.0


class ParameterView(BaseModel):
    """A parameter as an admin sees it: current value, default, and who last set it."""

    model_config = ConfigDict(frozen=True)

    key: str
    value: Any
    default: Any
    is_default: bool
    type: str
    description: str
    updated_at: datetime | None
    updated_by: str | None


class ParameterChangeView(BaseModel):
    """One recorded change; ``old_value`` is ``None`` when the parameter had its default."""

    model_config = ConfigDict(frozen=True)

    key: str
    old_value: Any
    new_value: Any
    changed_by: str | None
    reason: str
    at: datetime


class ParameterStore:
    """Reads parameters (cached per process for :data:`CACHE_TTL_SECONDS`) and lets admins change them.

    ``clock`` is a monotonic clock in seconds (injectable for tests).  A set
    through this store is visible to it at once; other stores and other
    service instances see it when their cache expires.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl: float = CACHE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, Any] | None = None
        self._loaded_at = 0.0

    @staticmethod
    def _spec(key: str) -> ParameterSpec:
        spec = REGISTRY.get(key)
        if spec is None:
            raise NotFound(f"no parameter {key!r}")
        return spec

    async def get(self, key: str) -> Any:
        """The value of ``key`` (its default when never set); :class:`NotFound` for an unknown key."""
        spec = self._spec(key)
        values = await self._values()
        return values.get(key, spec.default)

    async def _values(self) -> dict[str, Any]:
        if self._cache is not None and self._clock() - self._loaded_at < self._ttl:
            return self._cache
        async with self._sessions() as session:
            rows = (await session.execute(select(Parameter.key, Parameter.value))).all()
        values: dict[str, Any] = {}
        for key, value in rows:
            spec = REGISTRY.get(key)
            if spec is None:
                continue  # left by a newer version or an old one: not ours to interpret
            try:
                values[key] = spec.validate(value)
            except InvalidInput:
                # A stored value the rules no longer accept must not take the service down.
                log.warning("parameters.stored_value_invalid", extra={"key": key})
        self._cache, self._loaded_at = values, self._clock()
        return values

    def invalidate(self) -> None:
        """Forget the cached values (the next read goes to the database)."""
        self._cache = None

    async def get_all(self) -> list[ParameterView]:
        """Every registered parameter, ordered by key, read fresh from the database."""
        self.invalidate()
        values = await self._values()
        setter = aliased(Agent)
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Parameter.key, Parameter.updated_at, setter.login).outerjoin(
                        setter, setter.id == Parameter.updated_by_id
                    )
                )
            ).all()
        stamps = {key: (at, login) for key, at, login in rows}
        return [
            self._view(spec, values, stamps.get(key, (None, None))) for key, spec in sorted(REGISTRY.items())
        ]

    @staticmethod
    def _view(
        spec: ParameterSpec, values: dict[str, Any], stamp: tuple[datetime | None, str | None]
    ) -> ParameterView:
        return ParameterView(
            key=spec.key,
            value=values.get(spec.key, spec.default),
            default=spec.default,
            is_default=spec.key not in values,
            type=spec.type,
            description=spec.description,
            updated_at=stamp[0],
            updated_by=stamp[1],
        )

    async def set(self, actor: Actor, key: str, value: Any, reason: str) -> ParameterView:
        """Set ``key`` to ``value`` (admins only), recording the change and an audit entry.

        Raises :class:`AccessDenied` for a non-admin, :class:`NotFound` for an
        unknown key, :class:`InvalidInput` (field = the key, or ``reason``)
        for a value the parameter's type refuses or a missing reason.
        """
        if not actor.is_admin:
            raise AccessDenied("only an admin may change parameters")
        spec = self._spec(key)
        new = spec.validate(value)
        reason = reason.strip()
        if not reason or len(reason) > 255:
            raise InvalidInput("reason", "give a reason of 1 to 255 characters")
        now = utcnow()
        try:
            await self._write(actor, key, new, reason, now)
        except IntegrityError:
            # Another admin set this never-set key at the same moment: their row exists now.
            await self._write(actor, key, new, reason, now)
        self.invalidate()
        log.info("parameters.set", extra={"key": key, "actor": actor.login})
        return ParameterView(
            key=key,
            value=new,
            default=spec.default,
            is_default=False,
            type=spec.type,
            description=spec.description,
            updated_at=now,
            updated_by=actor.login if actor.user_id is not None else None,
        )

    async def _write(self, actor: Actor, key: str, new: Any, reason: str, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(Parameter, key, with_for_update=True, populate_existing=True)
            old = None if row is None else row.value
            if row is None:
                session.add(Parameter(key=key, value=new, updated_at=now, updated_by_id=actor.user_id))
                await session.flush()
            else:
                row.value, row.updated_at, row.updated_by_id = new, now, actor.user_id
            session.add(
                ParameterChange(
                    key=key, old_value=old, new_value=new, changed_by_id=actor.user_id, reason=reason, at=now
                )
            )
            await audit(
                session, actor, "set-parameter", "parameter", key, {"old": old, "new": new, "reason": reason}
            )

    async def history(self, key: str) -> list[ParameterChangeView]:
        """The recorded changes of ``key``, oldest first; :class:`NotFound` for an unknown key."""
        self._spec(key)
        changer = aliased(Agent)
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(ParameterChange, changer.login)
                    .outerjoin(changer, changer.id == ParameterChange.changed_by_id)
                    .where(ParameterChange.key == key)
                    .order_by(ParameterChange.at, ParameterChange.id)
                )
            ).all()
        return [
            ParameterChangeView(
                key=change.key,
                old_value=change.old_value,
                new_value=change.new_value,
                changed_by=login,
                reason=change.reason,
                at=change.at,
            )
            for change, login in rows
        ]
