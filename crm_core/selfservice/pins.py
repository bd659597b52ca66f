"""Phone-banking PINs: how they are stored, checked, and locked after too many wrong tries.

A PIN is never stored.  An account keeps ``v1$<salt>$<digest>`` where the
digest is ``HMAC-SHA256(K, salt ‖ PIN)``, ``K = HMAC-SHA256(pepper,
"bankcti/ivr-pin/v1")`` and the salt is 16 random bytes per account.  The
pepper lives outside the database (see :mod:`crm_core.customers.accounts`), so a
stolen database alone gives nothing to brute-force; the lockout below is
what stops guessing over the phone.

Lockout: ``ivr.pin_max_failures`` wrong PINs within ``ivr.pin_lockout_minutes``
lock the account's PIN entry for ``ivr.pin_lockout_minutes``.  A right PIN
resets the count.  Both are one conditional ``UPDATE`` each, so concurrent
attempts on one account (two calls at once) are each counted exactly once
on SQLite and PostgreSQL; a lock taken by one attempt is seen by the other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, literal, null, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import InvalidInput
from crm_core.models import Account
from crm_core.models.coltypes import UtcDateTime

__all__ = [
    "PIN_MAX_LENGTH",
    "PIN_MIN_LENGTH",
    "FailureOutcome",
    "check_pin_format",
    "hash_pin",
    "not_locked",
    "pin_matches",
    "record_failure",
    "record_success",
]

PIN_MIN_LENGTH, PIN_MAX_LENGTH = 4, 6
_SCHEME = "v1"
_KEY_LABEL = b"bankcti/ivr-pin/v1"
_SALT_BYTES = 16


def _is_pin(pin: object) -> bool:
    return (
        isinstance(pin, str)
        and PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH
        and pin.isascii()
        and pin.isdigit()
    )


def check_pin_format(pin: str) -> str:
    """``pin`` if it is 4 to 6 ASCII digits; :class:`InvalidInput` (field ``pin``, no echo) otherwise."""
    if not _is_pin(pin):
        raise InvalidInput("pin", f"must be {PIN_MIN_LENGTH} to {PIN_MAX_LENGTH} digits")
    return pin


def _key(pepper: bytes) -> bytes:
    # A key of its own: a PIN digest can never equal an account-number hash made with the bare pepper.
    return hmac.new(pepper, _KEY_LABEL, hashlib.sha256).digest()


def _digest(pepper: bytes, salt: bytes, pin: str) -> str:
    return hmac.new(_key(pepper), salt + pin.encode("ascii"), hashlib.sha256).hexdigest()


def hash_pin(pepper: bytes, pin: str) -> str:
    """The stored form of ``pin`` under a fresh salt (:class:`InvalidInput` if not 4–6 digits)."""
    check_pin_format(pin)
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"{_SCHEME}${salt.hex()}${_digest(pepper, salt, pin)}"


def pin_matches(pepper: bytes, pin: str, stored: str) -> bool:
    """Whether ``pin`` is the PIN behind ``stored``; a malformed PIN or stored value never matches."""
    if not _is_pin(pin):
        return False
    try:
        scheme, salt_hex, digest = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if scheme != _SCHEME:
        return False
    return hmac.compare_digest(_digest(pepper, salt, pin), digest)


def not_locked(now: datetime) -> ColumnElement[bool]:
    """SQL: the account's PIN entry is not locked at ``now``."""
    return or_(Account.pin_locked_until.is_(None), Account.pin_locked_until <= _at(now))


def _at(moment: datetime) -> ColumnElement[datetime]:
    return literal(moment, UtcDateTime())


@dataclass(frozen=True)
class FailureOutcome:
    """A wrong PIN counted: failures in the current window, and the lock it caused (if any)."""

    failures: int
    locked_until: datetime | None


async def record_failure(
    session: AsyncSession,
    account_id: int,
    seen_hash: str,
    *,
    now: datetime,
    max_failures: int,
    lockout: timedelta,
) -> FailureOutcome | None:
    """Count a wrong PIN on ``account_id`` in one conditional UPDATE.

    Returns ``None`` without changing anything if the account is locked at
    ``now`` or its PIN is no longer ``seen_hash`` (changed meanwhile): the
    caller re-reads.  The window restarts when the first failure of the
    current run is older than ``lockout``; reaching ``max_failures`` sets
    ``pin_locked_until = now + lockout`` and clears the count, so the caller
    gets a full allowance once the lock has passed.
    """
    fresh = or_(Account.pin_first_failure_at.is_(None), Account.pin_first_failure_at <= _at(now - lockout))
    failures = case((fresh, 1), else_=Account.pin_failures + 1)
    locks = failures >= max_failures
    result = await session.execute(
        update(Account)
        .where(Account.id == account_id, Account.pin_hash == seen_hash, not_locked(now))
        .values(
            pin_failures=case((locks, 0), else_=failures),
            pin_first_failure_at=case((locks, null()), (fresh, _at(now)), else_=Account.pin_first_failure_at),
            pin_locked_until=case((locks, _at(now + lockout)), else_=null()),
        )
        .returning(Account.pin_failures, Account.pin_locked_until)
        .execution_options(synchronize_session=False)
    )
    row = result.one_or_none()
    if row is None:
        return None
    locked_until = row.pin_locked_until
    return FailureOutcome(
        failures=max_failures if locked_until else int(row.pin_failures), locked_until=locked_until
    )


async def record_success(session: AsyncSession, account_id: int, seen_hash: str, *, now: datetime) -> bool:
    """Reset the failure count after a right PIN; false if locked meanwhile or the PIN changed."""
    result = await session.execute(
        update(Account)
        .where(and_(Account.id == account_id, Account.pin_hash == seen_hash, not_locked(now)))
        .values(pin_failures=0, pin_first_failure_at=None, pin_locked_until=None)
        .returning(Account.id)
        .execution_options(synchronize_session=False)
    )
    return result.one_or_none() is not None
