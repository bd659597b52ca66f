"""Parameters: defaults, validation, admin-only changes with history and audit, the per-process cache."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.errors import AccessDenied, InvalidInput, NotFound
from crm_core.models import Agent, AuditLog, Parameter, ParameterChange
from crm_core.parameters.store import CACHE_TTL_SECONDS, REGISTRY, ParameterStore, tier_thresholds

SPEC_DEFAULTS: dict[str, Any] = {
    "protection.max_owned_customers": 200,
    "protection.count_deal_customers": False,
    "protection.max_locked_customers": 20,
    "protection.release_after_days_without_follow_up": 30,
    "protection.release_after_days_without_deal": 90,
    "protection.release_warning_days": 7,
    "protection.previous_owner_bar_days": 30,
    "protection.daily_claim_cap": 10,
    "recycle.purge_after_days": 30,
    "followup.types": ["phone", "visit", "email", "sms", "web", "ivr"],
    "followup.dispositions": ["resolved", "follow-up", "complaint", "sale", "wrong-number"],
    "contracts.expiry_reminder_days": 30,
    "tiers.thresholds": {"private": "5000000", "vip": "1000000", "gold": "200000"},
    "ivr.pin_max_failures": 3,
    "ivr.pin_lockout_minutes": 15,
    "console.pause_reasons": ["break", "lunch", "training", "meeting", "after-call-work"],
    "analytics.margin_rates": {"deposit": "0.015", "wealth": "0.008", "loan": "0.025", "card": "0.12"},
    "analytics.card_fee_rate": "0.006",
    "analytics.contact_costs": {
        "phone": "4.00",
        "ivr": "0.50",
        "email": "2.00",
        "web": "0.30",
        "visit": "25.00",
        "sms": "0.10",
    },
    "analytics.call_minute_cost": "1.50",
    "analytics.vip_tiers": ["private", "vip"],
    "analytics.segment_a_tier": "vip",
    "analytics.update_service_tier": True,
    "analytics.dormant_days": 180,
    "analytics.balance_drop_percent": 30,
    "analytics.complaint_days": 90,
    "analytics.complaint_dispositions": ["complaint"],
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def admin(sessions: async_sessionmaker[AsyncSession]) -> Actor:
    async with sessions() as session, session.begin():
        row = Agent(
            login="root", name="Root", password_hash="x", extension="900", device="PJSIP/900", role="admin"
        )
        session.add(row)
        await session.flush()
        return Actor(user_id=row.id, login="root", role="admin", remote_addr="10.0.0.9")


@pytest.fixture
def store(sessions: async_sessionmaker[AsyncSession]) -> ParameterStore:
    return ParameterStore(sessions)


async def test_every_spec_key_has_its_default(store: ParameterStore) -> None:
    assert set(REGISTRY) == set(SPEC_DEFAULTS)
    for key, default in SPEC_DEFAULTS.items():
        assert await store.get(key) == default, key
    views = await store.get_all()
    assert [v.key for v in views] == sorted(SPEC_DEFAULTS)
    assert all(v.is_default and v.value == v.default and v.updated_by is None for v in views)
    assert all(v.type and v.description for v in views)


async def test_admin_sets_with_history_and_audit(
    store: ParameterStore, admin: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = "protection.daily_claim_cap"
    view = await store.set(admin, key, 5, "pilot team")
    assert (view.value, view.default, view.is_default, view.updated_by) == (5, 10, False, "root")
    assert await store.get(key) == 5
    await store.set(admin, key, 7, "  wider pilot  ")
    assert await store.get(key) == 7
    history = await store.history(key)
    assert [(h.old_value, h.new_value, h.changed_by, h.reason) for h in history] == [
        (None, 5, "root", "pilot team"),
        (5, 7, "root", "wider pilot"),
    ]
    listed = {v.key: v for v in await store.get_all()}[key]
    assert (listed.value, listed.is_default, listed.updated_by) == (7, False, "root")
    assert listed.updated_at is not None and listed.updated_at.utcoffset() is not None
    async with sessions() as session:
        audits = (await session.scalars(select(AuditLog).order_by(AuditLog.id))).all()
    assert [(a.action, a.entity, a.entity_id, a.actor_login, a.remote_addr) for a in audits] == [
        ("set-parameter", "parameter", key, "root", "10.0.0.9")
    ] * 2
    assert audits[1].detail == {"old": 5, "new": 7, "reason": "wider pilot"}
    assert await store.history("protection.max_owned_customers") == []


@pytest.mark.parametrize("role", ["agent", "supervisor"])
async def test_only_admins_change_parameters(
    store: ParameterStore, role: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(AccessDenied):
        await store.set(
            Actor(user_id=None, login="bob", role=role), "protection.daily_claim_cap", 5, "why not"
        )
    async with sessions() as session:
        assert (await session.scalars(select(Parameter))).all() == []
        assert (await session.scalars(select(ParameterChange))).all() == []
        assert (await session.scalars(select(AuditLog))).all() == []


async def test_system_actor_may_set(store: ParameterStore) -> None:
    view = await store.set(Actor.system("migration"), "ivr.pin_max_failures", 5, "hardening")
    assert (view.value, view.updated_by) == (5, None)
    assert [(h.changed_by, h.new_value) for h in await store.history("ivr.pin_max_failures")] == [(None, 5)]


async def test_unknown_key_is_not_found(store: ParameterStore, admin: Actor) -> None:
    for call in (store.get("no.such"), store.history("no.such"), store.set(admin, "no.such", 1, "x")):
        with pytest.raises(NotFound):
            await call


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("protection.max_owned_customers", 0),
        ("protection.max_owned_customers", -3),
        ("protection.max_owned_customers", "5"),
        ("protection.max_owned_customers", True),
        ("protection.max_owned_customers", 2.5),
        ("protection.max_owned_customers", None),
        ("protection.release_warning_days", -1),
        ("protection.release_after_days_without_deal", 0),
        ("recycle.purge_after_days", 100_000),
        ("protection.count_deal_customers", "yes"),
        ("protection.count_deal_customers", 1),
        ("followup.types", []),
        ("followup.types", ["call", "call"]),
        ("followup.types", ["call", " call "]),
        ("followup.types", ["call", "  "]),
        ("followup.types", "call"),
        ("console.pause_reasons", ["x" * 65]),
        ("tiers.thresholds", {}),
        ("tiers.thresholds", {"vip": "100", "gold": "200"}),
        ("tiers.thresholds", {"vip": "100", "gold": "100"}),
        ("tiers.thresholds", {"vip": 1000000}),
        ("tiers.thresholds", {"vip": "1e6"}),
        ("tiers.thresholds", {"vip": "-5"}),
        ("tiers.thresholds", {"vip": "0"}),
        ("tiers.thresholds", {"vip": "NaN"}),
        ("tiers.thresholds", ["5000000"]),
    ],
)
async def test_invalid_values_are_refused_naming_the_key(
    store: ParameterStore, admin: Actor, key: str, value: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.set(admin, key, value, "test")
    assert info.value.field == key
    assert "expected" in info.value.message
    async with sessions() as session:
        assert (await session.scalars(select(Parameter))).all() == []
    assert await store.get(key) == SPEC_DEFAULTS[key]


@pytest.mark.parametrize("reason", ["", "   ", "x" * 256])
async def test_a_reason_is_required(store: ParameterStore, admin: Actor, reason: str) -> None:
    with pytest.raises(InvalidInput) as info:
        await store.set(admin, "protection.daily_claim_cap", 3, reason)
    assert info.value.field == "reason"


async def test_values_are_stored_canonical(
    store: ParameterStore, admin: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await store.set(admin, "followup.dispositions", [" sale ", "lost"], "trim")
    assert await store.get("followup.dispositions") == ["sale", "lost"]
    thresholds = {"diamond": "10000000.50", "private": "5000000", "vip": "1000000", "gold": "200000"}
    await store.set(admin, "tiers.thresholds", thresholds, "new top tier")
    stored = await ParameterStore(sessions).get("tiers.thresholds")
    assert list(stored) == ["diamond", "private", "vip", "gold"]  # order kept on both backends
    assert tier_thresholds(stored)[0] == ("diamond", Decimal("10000000.50"))
    await store.set(admin, "protection.count_deal_customers", True, "count them")
    assert await ParameterStore(sessions).get("protection.count_deal_customers") is True


async def test_cache_serves_for_ttl_then_reloads(
    sessions: async_sessionmaker[AsyncSession], admin: Actor
) -> None:
    clock = FakeClock()
    reader = ParameterStore(sessions, clock=clock)
    writer = ParameterStore(sessions, clock=clock)
    key = "protection.max_locked_customers"
    assert await reader.get(key) == 20
    await writer.set(admin, key, 25, "more locks")
    assert await writer.get(key) == 25  # the writing store forgets its cache at once
    assert await reader.get(key) == 20  # another process keeps its cached value…
    clock.now += CACHE_TTL_SECONDS - 0.01
    assert await reader.get(key) == 20
    clock.now += 0.02
    assert await reader.get(key) == 25  # …until the TTL runs out
    reader.invalidate()
    await writer.set(admin, key, 30, "even more")
    assert await reader.get(key) == 30


async def test_bad_stored_value_falls_back_to_default(
    store: ParameterStore, sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    async with sessions() as session, session.begin():
        session.add(Parameter(key="protection.daily_claim_cap", value="lots"))
        session.add(Parameter(key="retired.parameter", value=1))
        session.add(Parameter(key="protection.release_warning_days", value=3))
    assert await store.get("protection.daily_claim_cap") == 10
    assert await store.get("protection.release_warning_days") == 3
    assert "parameters.stored_value_invalid" in caplog.messages
    assert "retired.parameter" not in {v.key for v in await store.get_all()}
