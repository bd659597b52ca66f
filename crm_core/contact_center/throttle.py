"""Login throttling: password guessing slowed per login, per client address and per pair of both.

Three failure counts cover every attempt (defaults of :class:`ThrottlePolicy`):

===========  ===========================  ============  ===========  =============
scope        counts the failed logins of  delays after  first delay  longest delay
===========  ===========================  ============  ===========  =============
``pair``     one login from one address  5             1 s          5 min
``address``  any login from one address  50            1 s          5 min
``login``    one login from any address  20            1 s          30 s
===========  ===========================  ============  ===========  =============

A failure within :attr:`ThrottlePolicy.window` (15 min) of the previous one
of the same count adds one; a count whose last failure is older starts over.
Once a count has reached its threshold, each failure locks the attempts it
covers for ``first_delay · 2^(failures − threshold)`` seconds, capped.
While a lock runs the gateway answers 429 with ``Retry-After`` *without
checking the password* (no timing says whether it was right) and *without
counting the refused attempt*, so hammering on a lock neither extends it nor
costs a password hash.

Why these three, so that an attacker cannot keep an agent out for long:

* The attacker's own ``pair`` count stops them first: five guesses, then one
  guess per delay, the delay doubling up to one per five minutes.
* The agent logging in from another address has a clean ``pair`` and
  ``address`` count.  The one count they share with the attacker is
  ``login``, deliberately loose (20 failures) and short (at most 30 s): an
  agent under attack gets in within 30 s, while a botnet guessing one
  password from many addresses still gets only one guess per 30 s.  At the
  ``pair`` pace an attacker on one address needs almost 40 minutes to bring
  a login to 20 failures.  A lock keyed on the login alone would let anyone
  keep an agent out at will; one keyed on (login, address) alone would let
  a botnet guess freely.
* ``address`` is a separate, higher budget against one address spraying
  many logins.  A contact-center floor behind one NAT address shares it,
  hence 50 failures in 15 minutes rather than 5.

On success the ``pair`` count of that address and the ``login`` count are
cleared; the ``address`` count only gives back the attempt just counted (a
valid account of the attacker's own must not reset the address they spray
from).

Several console gateways share one database, so the counts live there
(table ``login_failures``) and time is the database's clock.  An attempt is
counted *before* its password is checked, in one transaction that locks the
rows it touches (``SELECT … FOR UPDATE`` on PostgreSQL, in one order, so no
deadlock; SQLite has one writer at a time), and given back when the password
was right: fifty guesses sent at once get the same five checks as fifty sent
one after the other.  Rows idle for a whole window are deleted whenever a
new one is added, so the table holds only the last window's activity.

Every lock is audited (``login-locked``), every refused attempt
(``login-throttled``) and every unlock by an admin (``login-unlocked``):
entity ``login``, the login typed, and the client's address.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.dbtime import database_now
from crm_core.errors import AccessDenied, InvalidInput
from crm_core.models import LoginFailures

__all__ = ["LoginAttempt", "LoginLock", "LoginThrottle", "ThrottlePolicy", "ThrottleRule"]

log = logging.getLogger(__name__)

_MAX_KEY = 64  # the columns' width (a login is at most 64 characters, an IPv6 address fewer)
#: The name refused and locked attempts are audited under: no user is known yet.
THROTTLE_ACTOR = "login-throttle"


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    """When one count starts delaying attempts, and by how much."""

    threshold: int  # failures within the window before the first delay
    first_delay: float  # seconds, at the threshold
    max_delay: float  # seconds, the cap of the doubling

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.first_delay <= 0 or self.max_delay < self.first_delay:
            raise ValueError("a throttle rule needs threshold ≥ 1 and 0 < first_delay ≤ max_delay")

    def delay(self, failures: int) -> float | None:
        """Seconds the next attempt waits after ``failures`` failures (``None``: no wait)."""
        if failures < self.threshold:
            return None
        # min() before the power: 2 ** 10_000 would overflow a float.
        return min(self.max_delay, self.first_delay * 2.0 ** min(failures - self.threshold, 64))


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """The three counts' rules and the window a failure is remembered (see the module docstring)."""

    pair: ThrottleRule = ThrottleRule(threshold=5, first_delay=1.0, max_delay=300.0)
    address: ThrottleRule = ThrottleRule(threshold=50, first_delay=1.0, max_delay=300.0)
    login: ThrottleRule = ThrottleRule(threshold=20, first_delay=1.0, max_delay=30.0)
    window: float = 900.0  # seconds

    def rule(self, scope: str) -> ThrottleRule:
        rule: ThrottleRule = getattr(self, scope)
        return rule


class LoginLock(BaseModel):
    """One failure count as an admin sees it; ``locked_until`` in the past (or NULL): not locked now."""

    model_config = ConfigDict(frozen=True)

    scope: str  # login, address or pair
    login: str | None
    address: str | None
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None
    retry_after: int  # whole seconds until the lock ends, 0 if it has


@dataclass(frozen=True, slots=True)
class _SetLock:
    scope: str
    failures: int
    delay: float
    until: datetime


@dataclass(slots=True)
class LoginAttempt:
    """One login attempt as the throttle saw it.

    ``retry_after`` > 0: refused (already audited); tell the client to wait
    that many seconds.  Otherwise check the password and report the outcome
    with :meth:`failed` or :meth:`succeeded`.
    """

    throttle: LoginThrottle
    login: str
    address: str
    retry_after: float = 0.0
    scope: str | None = None  # the count that refused it
    _locks: tuple[_SetLock, ...] = field(default=())

    @property
    def refused(self) -> bool:
        return self.retry_after > 0

    @property
    def retry_after_seconds(self) -> int:
        """``Retry-After`` in whole seconds, rounded up (at least 1 when refused)."""
        return max(1, math.ceil(self.retry_after)) if self.refused else 0

    async def failed(self) -> None:
        """The password was wrong: the attempt stays counted; audit the locks it set."""
        await self.throttle._failed(self)

    async def succeeded(self) -> None:
        """The password was right: clear the login's counts, give the address its attempt back."""
        await self.throttle._succeeded(self)


def _system(address: str) -> Actor:
    return Actor(user_id=None, login=THROTTLE_ACTOR, role="system", remote_addr=address or None)


def _key(row: LoginFailures) -> tuple[str, str, str]:
    return row.scope, row.login, row.address


def _matching(keys: Sequence[tuple[str, str, str]]) -> ColumnElement[bool]:
    return or_(
        *(
            and_(LoginFailures.scope == s, LoginFailures.login == lg, LoginFailures.address == a)
            for s, lg, a in keys
        )
    )


def _as_lock(row: LoginFailures, now: datetime) -> LoginLock:
    left = (row.locked_until - now).total_seconds() if row.locked_until is not None else 0.0
    return LoginLock(
        scope=row.scope,
        login=row.login or None,
        address=row.address or None,
        failures=row.failures,
        last_failure_at=row.last_failure_at,
        locked_until=row.locked_until,
        retry_after=max(0, math.ceil(left)),
    )


class LoginThrottle:
    """Failed-login counts in the database, shared by every gateway on it (see the module docstring)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], policy: ThrottlePolicy | None = None
    ) -> None:
        self._sessions = sessions
        self.policy = policy or ThrottlePolicy()

    def _keys(self, login: str, address: str) -> list[tuple[str, str, str]]:
        keys = [("login", login, ""), ("pair", login, address)]
        if address:
            keys.append(("address", "", address))
        return sorted(keys)  # one locking order for every transaction: no deadlock

    async def begin(self, login: str, address: str) -> LoginAttempt:
        """Admit or refuse an attempt to log in as ``login`` from ``address``.

        An admitted attempt is counted as a failure at once (see the module
        docstring); a refused one is audited as ``login-throttled`` and not counted.
        """
        login, address = login[:_MAX_KEY], address[:_MAX_KEY]
        keys = self._keys(login, address)
        window = timedelta(seconds=self.policy.window)
        async with self._sessions() as session, session.begin():
            now = await database_now(session)
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            fresh = [
                {"scope": s, "login": lg, "address": a, "failures": 0, "last_failure_at": now}
                for s, lg, a in keys
            ]
            added = await session.execute(
                insert(LoginFailures)
                .values(fresh)
                .on_conflict_do_nothing(index_elements=["scope", "login", "address"])
            )
            if getattr(added, "rowcount", 0):
                await self._prune(session, now - window, now)
            rows = (
                await session.scalars(
                    select(LoginFailures)
                    .where(_matching(keys))
                    .order_by(LoginFailures.scope, LoginFailures.login, LoginFailures.address)
                    .with_for_update()
                )
            ).all()
            locked = [r for r in rows if r.locked_until is not None and r.locked_until > now]
            if locked:
                worst = max(locked, key=lambda r: (r.locked_until or now, r.scope))
                assert worst.locked_until is not None
                wait = (worst.locked_until - now).total_seconds()
                await audit(
                    session,
                    _system(address),
                    "login-throttled",
                    "login",
                    login,
                    {
                        "scope": worst.scope,
                        "retry_after": math.ceil(wait),
                        "locked_until": worst.locked_until,
                    },
                )
                attempt = LoginAttempt(self, login, address, retry_after=wait, scope=worst.scope)
            else:
                attempt = LoginAttempt(self, login, address, _locks=self._count(rows, now, window))
        if attempt.refused:
            log.info(
                "login.throttled",
                extra={
                    "login": login,
                    "address": address,
                    "scope": attempt.scope,
                    "retry_after": attempt.retry_after_seconds,
                },
            )
        return attempt

    def _count(self, rows: Sequence[LoginFailures], now: datetime, window: timedelta) -> tuple[_SetLock, ...]:
        """Count one more failure on each row; the locks that sets."""
        locks: list[_SetLock] = []
        for row in rows:
            if row.last_failure_at < now - window:
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now
            delay = self.policy.rule(row.scope).delay(row.failures)
            if delay is not None:
                row.locked_until = now + timedelta(seconds=delay)
                locks.append(_SetLock(row.scope, row.failures, delay, row.locked_until))
        return tuple(locks)

    @staticmethod
    async def _prune(session: AsyncSession, idle_since: datetime, now: datetime) -> None:
        await session.execute(
            delete(LoginFailures).where(
                LoginFailures.last_failure_at < idle_since,
                or_(LoginFailures.locked_until.is_(None), LoginFailures.locked_until <= now),
            )
        )

    async def _failed(self, attempt: LoginAttempt) -> None:
        if not attempt._locks:
            return
        async with self._sessions() as session, session.begin():
            for lock in attempt._locks:
                await audit(
                    session,
                    _system(attempt.address),
                    "login-locked",
                    "login",
                    attempt.login,
                    {
                        "scope": lock.scope,
                        "failures": lock.failures,
                        "delay_seconds": lock.delay,
                        "locked_until": lock.until,
                    },
                )
        for lock in attempt._locks:
            log.warning(
                "login.locked",
                extra={
                    "login": attempt.login,
                    "address": attempt.address,
                    "scope": lock.scope,
                    "failures": lock.failures,
                    "delay": lock.delay,
                },
            )

    async def _succeeded(self, attempt: LoginAttempt) -> None:
        login, address = attempt.login, attempt.address
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(LoginFailures).where(_matching([("login", login, ""), ("pair", login, address)]))
            )
            if not address:
                return
            at_address = _matching([("address", "", address)])
            await session.execute(
                update(LoginFailures)
                .where(at_address, LoginFailures.failures > 0)
                .values(failures=LoginFailures.failures - 1)
            )
            for lock in attempt._locks:
                if lock.scope == "address":
                    # Undo the lock this attempt set, unless a later failure has set another since.
                    await session.execute(
                        update(LoginFailures)
                        .where(at_address, LoginFailures.locked_until == lock.until)
                        .values(locked_until=None)
                    )

    async def locks(self, actor: Actor) -> list[LoginLock]:
        """The counts that lock attempts now, longest first (admins only: :class:`AccessDenied`)."""
        _require_admin(actor)
        async with self._sessions() as session:
            now = await database_now(session)
            rows = (
                await session.scalars(
                    select(LoginFailures)
                    .where(LoginFailures.locked_until > now)
                    .order_by(LoginFailures.locked_until.desc(), LoginFailures.scope, LoginFailures.login)
                )
            ).all()
            return [_as_lock(r, now) for r in rows]

    async def unlock(
        self, actor: Actor, *, login: str | None = None, address: str | None = None
    ) -> list[LoginLock]:
        """Clear the counts of ``login`` and/or ``address`` (admins only); return what was cleared.

        With ``login`` alone: the login's count and its count from every
        address; with ``address`` alone: the address's count and every login's
        count from it; with both: that pair's count.  Audited as ``login-unlocked``.
        Raises :class:`AccessDenied` for a non-admin, :class:`InvalidInput` with neither.
        """
        _require_admin(actor)
        login = login.strip()[:_MAX_KEY] if login is not None and login.strip() else None
        address = address.strip()[:_MAX_KEY] if address is not None and address.strip() else None
        if login is None and address is None:
            raise InvalidInput("login", "name a login, an address or both")
        filters: list[ColumnElement[bool]] = []
        if login is not None:
            filters.append(LoginFailures.login == login)
        if address is not None:
            filters.append(LoginFailures.address == address)
        async with self._sessions() as session, session.begin():
            now = await database_now(session)
            rows = (await session.scalars(select(LoginFailures).where(*filters).with_for_update())).all()
            cleared = [_as_lock(r, now) for r in sorted(rows, key=_key)]
            await session.execute(delete(LoginFailures).where(*filters))
            detail: dict[str, Any] = {
                "login": login,
                "address": address,
                "cleared": [c.model_dump(include={"scope", "login", "address", "failures"}) for c in cleared],
            }
            entity, entity_id = ("login", login) if login is not None else ("address", address)
            await audit(session, actor, "login-unlocked", entity, entity_id, detail)
        log.info(
            "login.unlocked",
            extra={"login": login, "address": address, "by": actor.login, "cleared": len(cleared)},
        )
        return cleared


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise AccessDenied("only admins see and clear login locks")
