"""The login throttle's policy and its counts in the database (SQLite and PostgreSQL).

The HTTP behaviour (429, Retry-After, other desks, two gateways, admin
unlock) is in ``tests/console/test_console_login_throttle.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.contact_center.throttle import LoginThrottle, ThrottlePolicy, ThrottleRule
from crm_core.dbtime import database_now
from crm_core.errors import AccessDenied
from crm_core.models import AuditLog, LoginFailures

Sessions = async_sessionmaker[AsyncSession]
ROOT = Actor(user_id=1, login="root", role="admin")


@pytest.fixture
async def throttle_sessions(sessions: Sessions) -> Sessions:
    async with sessions() as session, session.begin():
        await session.execute(text("DELETE FROM login_failures"))
    return sessions


def test_default_policy_bounds_every_wait() -> None:
    policy = ThrottlePolicy()
    pair, address, login = policy.pair, policy.address, policy.login
    assert [pair.delay(n) for n in range(1, 9)] == [None, None, None, None, 1.0, 2.0, 4.0, 8.0]
    assert pair.delay(13) == 256.0 and pair.delay(14) == pair.delay(10_000) == 300.0  # five minutes at most
    assert address.delay(49) is None and address.delay(50) == 1.0 and address.delay(10**6) == 300.0
    # The one count an attacker shares with the agent at another desk: loose and short.
    assert login.delay(19) is None and login.delay(20) == 1.0 and login.delay(10_000) == 30.0
    # At the pair's pace, one address needs almost 40 minutes to bring a login to 20 failures.
    assert sum(pair.delay(n) or 0.0 for n in range(1, login.threshold)) == 2311.0
    assert policy.window == 900.0
    for bad in ((0, 1.0, 1.0), (3, 0.0, 1.0), (3, 2.0, 1.0)):
        with pytest.raises(ValueError, match="threshold"):
            ThrottleRule(*bad)


async def _fail(throttle: LoginThrottle, login: str, address: str) -> None:
    attempt = await throttle.begin(login, address)
    assert not attempt.refused
    await attempt.failed()


async def _counts(sessions: Sessions) -> dict[tuple[str, str, str], int]:
    async with sessions() as session:
        rows = (await session.scalars(select(LoginFailures))).all()
    return {(r.scope, r.login, r.address): r.failures for r in rows}


async def test_a_failure_older_than_the_window_starts_the_count_over(throttle_sessions: Sessions) -> None:
    throttle = LoginThrottle(throttle_sessions)
    for _ in range(5):
        await _fail(throttle, "alice", "10.0.0.9")
    locked = await throttle.begin("alice", "10.0.0.9")
    assert locked.refused and locked.scope == "pair" and locked.retry_after_seconds == 1
    async with throttle_sessions() as session, session.begin():
        long_ago = await database_now(session) - timedelta(seconds=901)
        await session.execute(update(LoginFailures).values(last_failure_at=long_ago, locked_until=long_ago))
    await _fail(throttle, "alice", "10.0.0.9")
    assert (await _counts(throttle_sessions))[("pair", "alice", "10.0.0.9")] == 1
    assert not (await throttle.begin("alice", "10.0.0.9")).refused


async def test_success_clears_the_login_but_gives_the_address_back_only_its_attempt(
    throttle_sessions: Sessions,
) -> None:
    spray = ThrottleRule(threshold=3, first_delay=60.0, max_delay=60.0)
    throttle = LoginThrottle(throttle_sessions, ThrottlePolicy(address=spray))
    await _fail(throttle, "bob", "10.0.0.5")
    await _fail(throttle, "carol", "10.0.0.5")
    # The attacker's own valid account: this attempt reaches the address's threshold, then succeeds.
    own = await throttle.begin("mallory", "10.0.0.5")
    assert not own.refused
    await own.succeeded()
    counts = await _counts(throttle_sessions)
    assert counts[("address", "", "10.0.0.5")] == 2  # not reset
    assert ("pair", "mallory", "10.0.0.5") not in counts and ("login", "mallory", "") not in counts
    await _fail(throttle, "dan", "10.0.0.5")  # the third failure locks the address for everyone
    refused = await throttle.begin("erin", "10.0.0.5")
    assert refused.refused and refused.scope == "address" and 59 <= refused.retry_after <= 60
    assert not (await throttle.begin("erin", "10.0.0.6")).refused


async def test_idle_counts_are_pruned_and_admins_alone_see_locks(throttle_sessions: Sessions) -> None:
    throttle = LoginThrottle(throttle_sessions)
    for _ in range(5):
        await _fail(throttle, "alice", "10.0.0.9")
    async with throttle_sessions() as session, session.begin():
        long_ago = await database_now(session) - timedelta(seconds=901)
        await session.execute(
            update(LoginFailures).where(LoginFailures.scope != "pair").values(last_failure_at=long_ago)
        )
    [lock] = await throttle.locks(ROOT)
    assert (lock.scope, lock.login, lock.address, lock.failures) == ("pair", "alice", "10.0.0.9", 5)
    with pytest.raises(AccessDenied):
        await throttle.locks(Actor(user_id=2, login="sue", role="supervisor"))
    await _fail(throttle, "bob", "10.0.0.7")  # new rows: the idle, unlocked ones go
    counts = await _counts(throttle_sessions)
    assert ("login", "alice", "") not in counts and ("address", "", "10.0.0.9") not in counts
    assert counts[("pair", "alice", "10.0.0.9")] == 5  # still locked: kept
    async with throttle_sessions() as session:
        locked = (await session.scalars(select(AuditLog).where(AuditLog.action == "login-locked"))).all()
    assert [(r.actor_login, r.entity_id, r.remote_addr) for r in locked] == [
        ("login-throttle", "alice", "10.0.0.9")
    ]
