"""The VIP flag of cards and customer values follows ``analytics.vip_tiers`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.analytics.value import CustomerValues
from crm_core.customers.directory import CustomerDirectory
from crm_core.parameters.store import ParameterStore


async def _flags(directory: CustomerDirectory, values: CustomerValues, *ids: int) -> list[tuple[bool, bool]]:
    flags = []
    for customer_id in ids:
        card, value = await directory.card(customer_id), await values.value(customer_id)
        assert card is not None and value is not None
        flags.append((card.vip, value.vip))
    return flags


async def test_cards_and_values_follow_the_parameter(sessions: async_sessionmaker[AsyncSession]) -> None:
    parameters = ParameterStore(sessions)
    directory = CustomerDirectory(sessions, parameters)
    values = CustomerValues(sessions, parameters)
    gold = await directory.create_customer("Zhou Min", tier="gold")
    await directory.add_phone(gold, "+86 137 0013 7000", "CN")
    vip = await directory.create_customer("Li Na", tier="vip")
    private = await directory.create_customer("Qian Hao", tier="private")
    assert await _flags(directory, values, gold, vip, private) == [(False, False), (True, True), (True, True)]

    await parameters.set(Actor.system(), "analytics.vip_tiers", ["gold", "private"], reason="test")
    assert await _flags(directory, values, gold, vip, private) == [(True, True), (False, False), (True, True)]
    [card] = await directory.lookup_by_caller_id("13700137000", "CN")  # the IVR's lookup
    assert (card.id, card.vip) == (gold, True)
