"""Finding a customer again (issue 14 item 4): recent calls, the handled-call grant, search, 403 vs 404.

Calls are stored as the call flow stores them (an ``interactions`` row and
the answering agent's ``agent`` leg); times are set relative to now, and the
grant is decided against the database's clock, so "expired" is a call that
ended longer ago than ``recent_customer_access_minutes`` (60 by default).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from crm_harness import ZHANG_ACCOUNT, CrmConsole, ok, refused
from sqlalchemy import delete, update

from agent_console.crm.actors import DbActorResolver
from bankcti.settings import SettingsError, load_settings
from crm_core.access.rules import NOT_VISIBLE
from crm_core.actor import Actor
from crm_core.errors import AccessDenied
from crm_core.models import AgentStateRow, Interaction, InteractionLeg
from crm_core.models.coltypes import utcnow


async def handled(
    console: CrmConsole,
    call_id: str,
    login: str,
    customer: str | None,
    *,
    ended_minutes_ago: float | None = 5,
    disposition: str | None = None,
    caller: str = "+8613900139000",
    legs: bool = True,
) -> None:
    """Store a call ``login`` answered from ``customer`` (a key of the office; None: unknown caller)."""
    now = utcnow()
    ended = None if ended_minutes_ago is None else now - timedelta(minutes=ended_minutes_ago)
    answered = (ended or now) - timedelta(minutes=3)
    async with console.sessions() as session, session.begin():
        row = Interaction(
            call_id=call_id,
            channel="phone",
            direction="inbound",
            customer_id=console.customer(customer) if customer else None,
            agent_id=console.office.user_ids[login],
            caller_number=caller,
            caller_e164=caller,
            queue="retail",
            arrived_at=answered - timedelta(seconds=20),
            answered_at=answered,
            ended_at=ended,
            outcome="completed" if ended else None,
            disposition=disposition,
            created_at=answered,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        if legs:
            session.add(
                InteractionLeg(
                    interaction_id=row.id,
                    call_id=call_id,
                    leg_key=f"agent-{login}",
                    kind="agent",
                    agent_login=login,
                    started_at=answered - timedelta(seconds=5),
                    offered_at=answered - timedelta(seconds=5),
                    answered_at=answered,
                    ended_at=ended,
                    end_reason="completed" if ended else None,
                )
            )


async def age(console: CrmConsole, call_id: str, minutes: float) -> None:
    """The call (and its legs) ended ``minutes`` ago."""
    ended = utcnow() - timedelta(minutes=minutes)
    async with console.sessions() as session, session.begin():
        await session.execute(
            update(Interaction).where(Interaction.call_id == call_id).values(ended_at=ended)
        )
        await session.execute(
            update(InteractionLeg).where(InteractionLeg.call_id == call_id).values(ended_at=ended)
        )


@pytest.fixture
async def desk(crm_console: CrmConsole) -> CrmConsole:
    async with crm_console.sessions() as session, session.begin():
        await session.execute(delete(AgentStateRow))  # not among the harness's tables
    return crm_console


async def test_recent_calls_lists_the_calls_the_agent_answered_newest_first(desk: CrmConsole) -> None:
    await handled(desk, "c-old", "alice", "zhang", ended_minutes_ago=120, disposition="resolved")
    await handled(desk, "c-li", "alice", "li", ended_minutes_ago=10, disposition="callback")
    await handled(desk, "c-unknown", "alice", None, ended_minutes_ago=5, caller="+8613311112222")
    await handled(desk, "c-bob", "bob", "wang", ended_minutes_ago=1)
    calls = ok(await desk.call("GET", "/api/me/recent-calls", "alice"))
    assert [c["call_id"] for c in calls] == ["c-unknown", "c-li", "c-old"]
    unknown, li, old = calls
    assert (unknown["customer_id"], unknown["customer_name"], unknown["caller_number"]) == (
        None,
        None,
        "+8613311112222",
    )
    assert unknown["can_open"] is False
    assert (li["customer_name"], li["disposition"], li["can_open"]) == ("Li Na", "callback", True)
    assert (old["customer_name"], old["disposition"], old["can_open"]) == ("Zhang Wei", "resolved", True)
    assert li["at"] and li["ended_at"]
    # Bob's call is not Alice's; Bob sees only his.
    assert [c["call_id"] for c in ok(await desk.call("GET", "/api/me/recent-calls", "bob"))] == ["c-bob"]
    rows = [
        r
        for r in await desk.audit_rows(actor_login="alice")
        if (r.detail or {}).get("view") == "recent-calls"
    ]
    assert rows and rows[-1].detail["customer_ids"] == sorted([desk.customer("zhang"), desk.customer("li")])


async def test_recent_calls_are_the_last_twenty_and_the_limit_is_checked(desk: CrmConsole) -> None:
    for index in range(23):
        await handled(desk, f"c{index:02}", "alice", "zhang", ended_minutes_ago=200 - index)
    calls = ok(await desk.call("GET", "/api/me/recent-calls", "alice"))
    assert [c["call_id"] for c in calls] == [f"c{index:02}" for index in range(22, 2, -1)]
    assert len(ok(await desk.call("GET", "/api/me/recent-calls", "alice", params={"limit": 3}))) == 3
    for bad in (0, 51, "x"):
        refused(await desk.call("GET", "/api/me/recent-calls", "alice", params={"limit": bad}), 422, "limit")
    refused(await desk.call("GET", "/api/me/recent-calls", None), 401)


async def test_a_call_without_legs_counts_for_its_agent(desk: CrmConsole) -> None:
    await handled(desk, "c-nolegs", "alice", "li", legs=False)
    calls = ok(await desk.call("GET", "/api/me/recent-calls", "alice"))
    assert [(c["call_id"], c["can_open"]) for c in calls] == [("c-nolegs", True)]
    ok(await desk.call("GET", f"/api/crm/customers/{desk.customer('li')}", "alice"))


async def test_the_handled_call_grant_reads_the_record_and_is_audited(desk: CrmConsole) -> None:
    li = desk.customer("li")  # Bob's customer, not shared with Alice
    await handled(desk, "c-li", "alice", "li", ended_minutes_ago=30)
    detail = ok(await desk.call("GET", f"/api/crm/customers/{li}", "alice"))
    assert (detail["name"], detail["access"], detail["limited"]) == ("Li Na", "read", False)
    assert detail["access_reason"] == "handled call c-li"
    assert detail["actions"] == []  # read-only: no edit, follow-up, lock, share or transfer
    views = await desk.audit_rows(actor_login="alice", entity="customer", entity_id=str(li))
    assert views[-1].action == "view" and views[-1].detail["reason"] == "handled call c-li"
    # The follow-up history is readable through the grant too, and that read is audited with the reason.
    ok(await desk.call("GET", f"/api/crm/customers/{li}/follow-ups", "alice"))
    reasons = [
        (r.detail or {}).get("reason")
        for r in await desk.audit_rows(actor_login="alice", entity="customer", entity_id=str(li))
    ]
    assert reasons.count("handled call c-li") == 2
    # Read-only: no change, no follow-up, no lock, no share.
    before = len(await desk.audit_rows())
    refused(await desk.call("PATCH", f"/api/crm/customers/{li}", "alice", json={"tier": "vip"}), 403)
    follow_up = {"channel": "visit", "direction": "outbound", "content": "x", "disposition": "resolved"}
    refused(await desk.call("POST", f"/api/crm/customers/{li}/follow-ups", "alice", json=follow_up), 403)
    refused(await desk.call("POST", f"/api/crm/customers/{li}/lock", "alice"), 403)
    share = {"user_login": "carol"}
    refused(await desk.call("POST", f"/api/crm/customers/{li}/grants", "alice", json=share), 403)
    assert len(await desk.audit_rows()) == before  # refusals changed nothing, wrote nothing
    assert ok(await desk.call("GET", f"/api/crm/customers/{li}", "bob"))["tier"] == "gold"


async def test_the_grant_expires_after_the_configured_time(desk: CrmConsole) -> None:
    li = desk.customer("li")
    await handled(desk, "c-li", "alice", "li", ended_minutes_ago=59)
    ok(await desk.call("GET", f"/api/crm/customers/{li}", "alice"))
    await age(desk, "c-li", 61)
    assert refused(await desk.call("GET", f"/api/crm/customers/{li}", "alice"), 403) == NOT_VISIBLE
    calls = ok(await desk.call("GET", "/api/me/recent-calls", "alice"))
    assert [(c["call_id"], c["customer_name"], c["can_open"]) for c in calls] == [("c-li", "Li Na", False)]


async def test_the_grant_holds_during_the_call_and_its_wrap_up(desk: CrmConsole) -> None:
    li = desk.customer("li")
    await handled(desk, "c-live", "alice", "li", ended_minutes_ago=None)  # still talking
    assert (
        ok(await desk.call("GET", f"/api/crm/customers/{li}", "alice"))["access_reason"]
        == "handled call c-live"
    )
    await age(desk, "c-live", 180)  # ended long ago, but Alice is still wrapping it up
    async with desk.sessions() as session, session.begin():
        session.add(AgentStateRow(login="alice", state="wrap_up", since=utcnow(), call_id="c-live"))
    ok(await desk.call("GET", f"/api/crm/customers/{li}", "alice"))
    async with desk.sessions() as session, session.begin():
        await session.execute(
            update(AgentStateRow)
            .where(AgentStateRow.login == "alice")
            .values(state="available", call_id=None)
        )
    assert refused(await desk.call("GET", f"/api/crm/customers/{li}", "alice"), 403) == NOT_VISIBLE


async def test_another_agent_gets_403_and_a_missing_customer_404(desk: CrmConsole) -> None:
    li = desk.customer("li")
    await handled(desk, "c-li", "alice", "li")
    ok(await desk.call("GET", f"/api/crm/customers/{li}", "alice"))
    for path in (
        f"/api/crm/customers/{li}",
        f"/api/crm/customers/{li}/follow-ups",
        f"/api/crm/customers/{li}/ownership",
        f"/api/crm/customers/{li}/grants",
    ):
        assert refused(await desk.call("GET", path, "carol"), 403) == NOT_VISIBLE
    body = {"channel": "visit", "direction": "inbound", "content": "hi", "disposition": "resolved"}
    follow_ups = f"/api/crm/customers/{li}/follow-ups"
    assert refused(await desk.call("POST", follow_ups, "carol", json=body), 403) == NOT_VISIBLE
    contract = {
        "title": "x",
        "product_type": "deposit",
        "amount": "1.00",
        "start_on": "2030-01-01",
        "end_on": "2030-02-01",
    }
    for method, path, payload in [
        ("POST", f"/api/crm/customers/{li}/contracts", contract),
        ("POST", f"/api/crm/customers/{li}/grants", {"user_login": "alice"}),
        ("POST", f"/api/crm/customers/{li}/lock", None),
    ]:
        response = await desk.call(method, path, "carol", **({"json": payload} if payload else {}))
        assert refused(response, 403) == NOT_VISIBLE, path
    assert (
        refused(await desk.call("PATCH", f"/api/crm/customers/{li}", "carol", json={"tier": "x"}), 403)
        == NOT_VISIBLE
    )
    for path in ("/api/crm/customers/999999", "/api/crm/customers/999999/follow-ups"):
        assert refused(await desk.call("GET", path, "carol"), 404) == "no customer 999999"
    assert refused(await desk.call("POST", "/api/crm/customers/999999/follow-ups", "carol", json=body), 404)
    # A customer in the recycle bin is gone for everyone but admins: 404, not 403.
    ok(await desk.call("DELETE", f"/api/crm/customers/{li}", "root"))
    assert refused(await desk.call("GET", f"/api/crm/customers/{li}", "carol"), 404) == f"no customer {li}"
    assert refused(await desk.call("GET", f"/api/crm/customers/{li}", "alice"), 404) == f"no customer {li}"


SEARCH_FORMATS = [
    "+86 138 0013 8000",
    "+8613800138000",
    "13800138000",
    "138-0013-8000",
    "138 0013 8000",
    "0086 138 0013 8000",
    "008613800138000",
    "8613800138000",
    "(+86) 138-0013-8000",
    "１３８００１３８０００",  # full-width digits, as a Chinese input method types them
    ZHANG_ACCOUNT[-4:],
    "****" + ZHANG_ACCOUNT[-4:],
]


@pytest.mark.parametrize("q", SEARCH_FORMATS)
async def test_search_finds_a_customer_by_phone_in_any_format_and_account_last_four(
    desk: CrmConsole, q: str
) -> None:
    found = ok(await desk.call("GET", "/api/crm/customers", "alice", params={"q": q}))
    assert [c["name"] for c in found["items"]] == ["Zhang Wei"]
    search = [
        r for r in await desk.audit_rows(actor_login="alice") if (r.detail or {}).get("view") == "search"
    ]
    assert search and search[-1].detail["customer_ids"] == [desk.customer("zhang")]


async def test_search_finds_only_customers_the_agent_may_see(desk: CrmConsole) -> None:
    for q in ("+86 139 0013 9000", "13900139000", "Li Na"):  # Bob's customer
        assert ok(await desk.call("GET", "/api/crm/customers", "alice", params={"q": q}))["items"] == []
        assert [
            c["name"]
            for c in ok(await desk.call("GET", "/api/crm/customers", "bob", params={"q": q}))["items"]
        ] == ["Li Na"]
    assert ok(await desk.call("GET", "/api/crm/customers", "alice", params={"q": "0000"}))["items"] == []
    refused(await desk.call("GET", "/api/crm/customers", "alice", params={"q": "1" * 201}), 422, "q")


async def test_a_follow_up_outside_a_call_is_read_back(desk: CrmConsole) -> None:
    zhang = desk.customer("zhang")
    path = f"/api/crm/customers/{zhang}/follow-ups"
    next_week = (date.today() + timedelta(days=7)).isoformat()
    for channel, direction in [
        ("visit", "inbound"),
        ("email", "outbound"),
        ("sms", "outbound"),
        ("web", "inbound"),
        ("phone", "outbound"),
    ]:
        body = {
            "channel": channel,
            "direction": direction,
            "content": f"{channel} about the deposit",
            "disposition": "resolved",
            "next_contact_on": next_week,
        }
        created = ok(await desk.call("POST", path, "alice", json=body), 201)
        assert (created["channel"], created["direction"], created["call_id"]) == (channel, direction, None)
    items = ok(await desk.call("GET", path, "alice"))["items"]
    assert [i["channel"] for i in items] == ["phone", "web", "sms", "email", "visit"]  # newest first
    visit = items[-1]
    assert (visit["content"], visit["disposition"], visit["next_contact_on"], visit["agent_login"]) == (
        "visit about the deposit",
        "resolved",
        next_week,
        "alice",
    )
    # Bad input is refused with the field named, and nothing is stored.
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    for bad, field in [
        ({"channel": "fax"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"content": "   "}, "content"),
        ({"disposition": "made-up"}, "disposition"),
        ({"next_contact_on": yesterday}, "next_contact_on"),
    ]:
        body = {"channel": "visit", "direction": "inbound", "content": "x", "disposition": "resolved", **bad}
        response = await desk.call("POST", path, "alice", json=body)
        assert response.status_code == 422, (bad, response.text)
        assert field in response.text
    assert ok(await desk.call("GET", path, "alice"))["total"] == 5


async def test_the_record_shows_contracts_and_the_actions_the_user_may_take(desk: CrmConsole) -> None:
    zhang = desk.customer("zhang")
    today = date.today()
    contract = {
        "title": "Time deposit",
        "product_type": "deposit",
        "amount": "50000.00",
        "start_on": today.isoformat(),
        "end_on": (today + timedelta(days=365)).isoformat(),
    }
    created = ok(
        await desk.call("POST", f"/api/crm/customers/{zhang}/contracts", "alice", json=contract), 201
    )
    page = ok(await desk.call("GET", "/api/crm/contracts", "alice", params={"customer_id": zhang}))
    assert [(c["number"], c["title"], c["status"]) for c in page["items"]] == [
        (created["number"], "Time deposit", "draft")
    ]
    assert ok(await desk.call("GET", f"/api/crm/customers/{zhang}", "alice"))["actions"] == [
        "edit",
        "follow-up",
        "lock",
        "share",
    ]
    assert ok(await desk.call("GET", f"/api/crm/customers/{zhang}", "sue"))["actions"] == [
        "edit",
        "follow-up",
        "lock",
        "share",
        "transfer",
    ]
    ok(await desk.call("POST", f"/api/crm/customers/{zhang}/lock", "alice"))
    assert "unlock" in ok(await desk.call("GET", f"/api/crm/customers/{zhang}", "alice"))["actions"]
    pool = ok(await desk.call("GET", f"/api/crm/customers/{desk.customer('pool')}", "alice"))
    assert (pool["limited"], pool["actions"]) == (True, [])


def test_the_grant_time_is_a_setting() -> None:
    assert load_settings(environ={}).http_recent_customer_access_minutes == 60
    assert (
        load_settings(
            environ={"BANKCTI_HTTP_RECENT_CUSTOMER_ACCESS_MINUTES": "0"}
        ).http_recent_customer_access_minutes
        == 0
    )
    for bad in ("-1", "1441", "soon"):
        with pytest.raises(SettingsError, match="http_recent_customer_access_minutes"):
            load_settings(environ={"BANKCTI_HTTP_RECENT_CUSTOMER_ACCESS_MINUTES": bad})


async def test_the_grant_lasts_the_configured_minutes(desk: CrmConsole) -> None:
    li = desk.customer("li")
    await handled(desk, "c-li", "alice", "li", ended_minutes_ago=3)

    def alice(minutes: int | None) -> Actor:
        return replace(desk.office.actor("alice"), recent_call_minutes=minutes)

    assert (await desk.services.customers.get(alice(5), li)).access_reason == "handled call c-li"
    for minutes in (2, 0, None):  # 0: only during the call and its wrap-up; None: no such grant
        with pytest.raises(AccessDenied, match=NOT_VISIBLE):
            await desk.services.customers.get(alice(minutes), li)
    resolver = DbActorResolver(desk.sessions, recent_call_minutes=5)
    assert (await resolver.actor("alice", None, frozenset())).recent_call_minutes == 5
    with pytest.raises(ValueError, match="recent_call_minutes"):
        DbActorResolver(desk.sessions, recent_call_minutes=-1)
