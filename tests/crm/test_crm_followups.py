"""Follow-ups and call wrap-ups: validation, access, merging with a call, last_follow_up_at, paging, audit."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from protection_world import T0, World
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.followups.interactions import InteractionWriter
from crm_core.followups.service import MAX_CONTENT_LENGTH, FollowUpService
from crm_core.followups.wrapup import WrapUp, WrapUpService
from crm_core.models import Interaction
from crm_core.schemas import InteractionRecord, LegRecord

TODAY = T0.date()


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    world = await World(sessions).setup()
    team = await world.team("sales", "sup1")
    other = await world.team("wealth", "sup2")
    await world.agent("alice", team=team)
    await world.agent("bob", team=team)
    await world.agent("carol", team=other)
    return world


@pytest.fixture
def follow_ups(world: World) -> FollowUpService:
    return FollowUpService(world.sessions, world.parameters, clock=world.clock)


def _fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "channel": "phone",
        "direction": "outbound",
        "content": "Offered a 3-year deposit; will think about it.",
        "outcome": "reached",
        "disposition": "follow-up",
        "next_contact_on": TODAY + timedelta(days=3),
    }
    fields.update(overrides)
    return fields


async def test_add_stores_audits_and_moves_last_follow_up(world: World, follow_ups: FollowUpService) -> None:
    customer = await world.customer("Wang Fang", owner="alice")
    view = await follow_ups.add(world["alice"], customer, urgent=True, **_fields())
    assert (view.customer_id, view.at, view.channel, view.direction, view.disposition) == (
        customer,
        T0,
        "phone",
        "outbound",
        "follow-up",
    )
    assert (view.content, view.outcome, view.next_contact_on, view.urgent) == (
        "Offered a 3-year deposit; will think about it.",
        "reached",
        TODAY + timedelta(days=3),
        True,
    )
    assert (view.agent_login, view.agent_name, view.call_id) == ("alice", "Alice", None)
    assert (await world.get(customer)).last_follow_up_at == T0
    [entry] = await world.audits("create", view.id)
    assert (
        entry.entity == "follow_up" and entry.detail is not None and entry.detail["customer_id"] == customer
    )
    # An earlier clock (a late write) never moves last_follow_up_at back.
    world.clock.now = T0 - timedelta(hours=5)
    await follow_ups.add(world["alice"], customer, **_fields(next_contact_on=None))
    assert (await world.get(customer)).last_follow_up_at == T0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"content": "   "}, "content"),
        ({"content": "x" * (MAX_CONTENT_LENGTH + 1)}, "content"),
        ({"outcome": "y" * 33}, "outcome"),
        ({"disposition": "maybe"}, "disposition"),
        ({"next_contact_on": TODAY - timedelta(days=1)}, "next_contact_on"),
    ],
)
async def test_bad_input_names_the_field(
    world: World, follow_ups: FollowUpService, overrides: dict[str, Any], field: str
) -> None:
    customer = await world.customer("Li Lei", owner="alice")
    with pytest.raises(InvalidInput) as error:
        await follow_ups.add(world["alice"], customer, **_fields(**overrides))
    assert error.value.field == field
    assert await world.count(Interaction) == 0


async def test_boundaries_and_the_disposition_parameter(world: World, follow_ups: FollowUpService) -> None:
    customer = await world.customer("Li Lei", owner="alice")
    await follow_ups.add(world["alice"], customer, **_fields(next_contact_on=TODAY))  # today is fine
    await follow_ups.add(world["alice"], customer, **_fields(content="x" * MAX_CONTENT_LENGTH))
    await world.set("followup.dispositions", ["resolved", "callback-vip"])
    await follow_ups.add(world["alice"], customer, **_fields(disposition="callback-vip"))
    with pytest.raises(InvalidInput):
        await follow_ups.add(world["alice"], customer, **_fields(disposition="follow-up"))


async def test_followup_types_parameter_limits_channels(world: World, follow_ups: FollowUpService) -> None:
    customer = await world.customer("Han Mei", owner="alice")
    await follow_ups.add(world["alice"], customer, **_fields(channel="visit"))
    await world.set("followup.types", ["phone", "email", "no-such-channel"])
    await follow_ups.add(world["alice"], customer, **_fields(channel="email"))
    with pytest.raises(InvalidInput) as error:
        await follow_ups.add(world["alice"], customer, **_fields(channel="visit"))
    assert error.value.field == "channel"
    assert "no-such-channel" not in error.value.message  # only real channels are offered


async def test_write_access_is_required(world: World, follow_ups: FollowUpService) -> None:
    customer = await world.customer("Zhao Min", owner="alice")
    with pytest.raises(NotFound):
        await follow_ups.add(world["carol"], customer, **_fields())  # cannot even see it
    await world.share(customer, user="bob", access="read")
    with pytest.raises(AccessDenied):
        await follow_ups.add(world["bob"], customer, **_fields())
    assert (await follow_ups.list(world["bob"], customer)).total == 0  # reading is allowed
    await world.share(customer, user="bob", access="write")
    await follow_ups.add(world["bob"], customer, **_fields())
    await follow_ups.add(world["sup1"], customer, **_fields())  # the owner's supervisor
    with pytest.raises(NotFound):
        await follow_ups.add(world["sup2"], customer, **_fields())
    pool = await world.customer("Pool")
    with pytest.raises(AccessDenied):
        await follow_ups.add(world["carol"], pool, **_fields())
    with pytest.raises(AccessDenied, match="claim"):
        await follow_ups.list(world["carol"], pool)  # a pool glimpse shows no history
    deleted = await world.customer("Deleted", owner="alice", deleted_at=T0)
    with pytest.raises(NotFound):
        await follow_ups.add(world.admin, deleted, **_fields())
    with pytest.raises(NotFound):
        await follow_ups.list(world["alice"], 424242)


async def test_list_pages_newest_first_and_audits_the_view(world: World, follow_ups: FollowUpService) -> None:
    customer = await world.customer("Sun Yue", owner="alice")
    ids = []
    for i in range(5):
        world.clock.now = T0 + timedelta(minutes=i)
        ids.append((await follow_ups.add(world["alice"], customer, **_fields(content=f"note {i}"))).id)
    page = await follow_ups.list(world["alice"], customer, page=1, page_size=2)
    assert ([v.id for v in page.items], page.total, page.page, page.page_size) == ([ids[4], ids[3]], 5, 1, 2)
    last = await follow_ups.list(world["alice"], customer, page=3, page_size=2)
    assert [v.content for v in last.items] == ["note 0"]
    with pytest.raises(InvalidInput) as error:
        await follow_ups.list(world["alice"], customer, page=0)
    assert error.value.field == "page"
    views = await world.audits("view", customer)
    assert [v.detail for v in views] == [{"view": "follow-ups", "page": 1}, {"view": "follow-ups", "page": 3}]


@pytest.fixture
def wrap_ups(world: World) -> WrapUpService:
    return WrapUpService(world.sessions, world.parameters, clock=world.clock)


async def test_a_wrap_up_merges_into_the_calls_row(world: World, wrap_ups: WrapUpService) -> None:
    customer = await world.customer("Chen Hao", owner="bob")
    writer = InteractionWriter(world.sessions)
    call_row = await writer.upsert(
        InteractionRecord(
            call_id="1700.1",
            customer_id=customer,
            agent_login="alice",
            caller_number="13800138000",
            arrived_at=T0 - timedelta(minutes=5),
            answered_at=T0 - timedelta(minutes=4),
            ended_at=T0 - timedelta(minutes=1),
            outcome="answered",
        )
    )
    wrap = WrapUp(notes="Wants a card", disposition="follow-up", next_contact_on=TODAY + timedelta(days=1))
    # alice answered it (the stored call says so): she may wrap it up although bob owns the customer.
    view = await wrap_ups.save(world["alice"], "1700.1", wrap, vouched=False)
    again = await wrap_ups.save(world["alice"], "1700.1", WrapUp(notes="updated"), vouched=False)
    assert view.follow_up_id == again.follow_up_id == call_row and again.edited
    assert await world.count(Interaction) == 1
    # The call's own facts stay as the call history recorded them.
    stored = await writer.get("1700.1")
    assert stored is not None
    assert (stored.customer_id, stored.agent_login, stored.outcome, stored.arrived_at, stored.ended_at) == (
        customer,
        "alice",
        "answered",
        T0 - timedelta(minutes=5),
        T0 - timedelta(minutes=1),
    )
    [entry] = (await FollowUpService(world.sessions, world.parameters).list(world["bob"], customer)).items
    assert (entry.content, entry.disposition, entry.wrapped_up_by, entry.agent_login) == (
        "updated",
        None,
        "alice",
        "alice",
    )
    # A wrap-up saved before the call history arrives creates the row; the history merges in.
    customer = await world.customer("Own", owner="alice")
    early = await wrap_ups.save(
        world["alice"], "1700.2", WrapUp(disposition="sale", customer_id=customer), vouched=True
    )
    await writer.upsert(InteractionRecord(call_id="1700.2", queue="cards", outcome="answered"))
    stored = await writer.get("1700.2")
    assert stored is not None and (stored.disposition, stored.outcome, stored.customer_id) == (
        "sale",
        "answered",
        customer,
    )
    assert early.follow_up_id != call_row and await world.count(Interaction) == 2


async def test_only_who_handled_the_call_may_wrap_it_up(world: World, wrap_ups: WrapUpService) -> None:
    customer = await world.customer("Liu Yang", owner="alice")
    writer = InteractionWriter(world.sessions)
    await writer.upsert(InteractionRecord(call_id="2.1", customer_id=customer, agent_login="alice"))
    # carol rang but never answered; bob talked after a transfer (an answered agent leg).
    await writer.upsert_leg(LegRecord(call_id="2.1", leg_key="agent-1", kind="agent", agent_login="carol",
                                      started_at=T0, end_reason="no_answer", ended_at=T0))  # fmt: skip
    await writer.upsert_leg(LegRecord(call_id="2.1", leg_key="agent-2", kind="agent", agent_login="bob",
                                      started_at=T0, answered_at=T0))  # fmt: skip
    with pytest.raises(AccessDenied):
        await wrap_ups.save(world["carol"], "2.1", WrapUp(notes="x"), vouched=False)
    with pytest.raises(AccessDenied):
        await wrap_ups.save(world["sup2"], "2.1", WrapUp(notes="x"), vouched=False)
    assert (
        await wrap_ups.save(world["bob"], "2.1", WrapUp(notes="after transfer"), vouched=False)
    ).notes == ("after transfer")
    with pytest.raises(AccessDenied):  # an unknown call: nothing is created
        await wrap_ups.save(world["bob"], "nope", WrapUp(notes="x"), vouched=False)
    assert await world.count(Interaction) == 1


async def test_a_call_of_another_customer_is_refused(world: World, wrap_ups: WrapUpService) -> None:
    mine = await world.customer("Mine", owner="alice")
    theirs = await world.customer("Theirs", owner="alice")
    await InteractionWriter(world.sessions).upsert(InteractionRecord(call_id="x.1", customer_id=theirs))
    await world.update(theirs, last_follow_up_at=None)
    with pytest.raises(Conflict, match="another customer"):
        await wrap_ups.save(world["alice"], "x.1", WrapUp(notes="n", customer_id=mine), vouched=True)
    assert (await world.get(mine)).last_follow_up_at is None
    assert (await world.get(theirs)).last_follow_up_at is None


async def test_the_call_history_writer_moves_last_follow_up(world: World) -> None:
    customer = await world.customer("Caller", owner="alice")
    writer = InteractionWriter(world.sessions)
    await writer.upsert(InteractionRecord(call_id="h.1", customer_id=customer, arrived_at=T0))
    assert (await world.get(customer)).last_follow_up_at == T0
    await writer.upsert(
        InteractionRecord(
            call_id="h.1", answered_at=T0 + timedelta(seconds=20), ended_at=T0 + timedelta(minutes=3)
        )
    )
    assert (await world.get(customer)).last_follow_up_at == T0 + timedelta(minutes=3)
    # A replay of an older call never moves it back.
    await writer.upsert(
        InteractionRecord(call_id="h.0", customer_id=customer, arrived_at=T0 - timedelta(days=2))
    )
    assert (await world.get(customer)).last_follow_up_at == T0 + timedelta(minutes=3)
    # A source clock far ahead is capped at the time of writing, not dated in the future.
    future = await world.customer("Future", owner="alice")
    await writer.upsert(
        InteractionRecord(call_id="h.2", customer_id=future, arrived_at=T0 + timedelta(days=3650))
    )
    stamped = (await world.get(future)).last_follow_up_at
    assert stamped is not None and stamped.date() < date(2035, 1, 1)
    # A note on a call of a known customer counts too; a call without a customer touches nothing.
    noted = await world.customer("Noted", owner="alice")
    await writer.upsert(InteractionRecord(call_id="h.3", customer_id=noted))
    await world.update(noted, last_follow_up_at=None)
    await writer.save_note("h.3", agent_login="alice", notes="call back Friday", disposition="follow-up")
    assert (await world.get(noted)).last_follow_up_at is not None
    await writer.upsert(InteractionRecord(call_id="h.4", caller_number="999"))
    assert await world.count(Interaction) == 5


async def test_system_actor_may_write(world: World, follow_ups: FollowUpService) -> None:
    customer = await world.customer("Batch", owner="alice")
    view = await follow_ups.add(Actor.system("import"), customer, **_fields(channel="sms"))
    assert (view.agent_login, view.channel) == (None, "sms")
