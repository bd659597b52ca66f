"""CRM API, follow-ups and reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_harness import CrmConsole, ok, refused


async def test_follow_ups_are_written_by_writers_and_read_by_readers(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    path = f"/api/crm/customers/{zhang}/follow-ups"
    today = datetime.now(UTC).date()
    body = {
        "channel": "phone",
        "direction": "outbound",
        "content": "Asked about a mortgage; call back",
        "disposition": "follow-up",
        "next_contact_on": today.isoformat(),
        "urgent": True,
    }
    written = ok(await crm_console.call("POST", path, "alice", json=body), 201)
    assert (written["agent_login"], written["customer_id"], written["urgent"]) == ("alice", zhang, True)
    again = ok(await crm_console.call("POST", path, "alice", json={**body, "call_id": "call-77"}), 201)
    same = ok(
        await crm_console.call("POST", path, "alice", json={**body, "call_id": "call-77", "content": "v2"}),
        201,
    )
    assert same["id"] == again["id"] and same["content"] == "v2"  # one row per call

    listed = ok(await crm_console.call("GET", path, "sue"))
    assert listed["total"] == 2
    refused(await crm_console.call("GET", path, "bob"), 404)
    refused(await crm_console.call("POST", path, "bob", json=body), 404)
    pool = crm_console.customer("pool")
    refused(
        await crm_console.call("GET", f"/api/crm/customers/{pool}/follow-ups", "bob"), 403
    )  # pool glimpse only
    refused(await crm_console.call("POST", f"/api/crm/customers/{pool}/follow-ups", "bob", json=body), 403)

    yesterday = (today - timedelta(days=1)).isoformat()
    for bad, field in [
        ({**body, "channel": "pigeon"}, "channel"),
        ({**body, "disposition": "maybe"}, "disposition"),
        ({**body, "next_contact_on": yesterday}, "next_contact_on"),
        ({**body, "content": ""}, "content"),
        ({**body, "content": "a\x00b"}, "content"),
    ]:
        refused(await crm_console.call("POST", path, "alice", json=bad), 422, field)

    li = crm_console.customer("li")
    ok(
        await crm_console.call(
            "POST", f"/api/crm/customers/{li}/follow-ups", "bob", json={**body, "call_id": "call-88"}
        ),
        201,
    )
    clash = {**body, "call_id": "call-88"}
    assert "another customer" in refused(await crm_console.call("POST", path, "alice", json=clash), 409)


async def test_reminders_show_each_user_their_own_scope(crm_console: CrmConsole) -> None:
    today = datetime.now(UTC).date().isoformat()
    body = {"channel": "visit", "direction": "outbound", "content": "Bring forms", "disposition": "follow-up",
            "next_contact_on": today}  # fmt: skip
    for login, key in [("alice", "zhang"), ("bob", "li"), ("carol", "wang")]:
        path = f"/api/crm/customers/{crm_console.customer(key)}/follow-ups"
        ok(await crm_console.call("POST", path, login, json=body), 201)

    def to_contact(login_body: dict[str, object]) -> set[str]:
        return {r["customer_name"] for r in login_body["to_contact"]}  # type: ignore[attr-defined, index]

    alice = ok(await crm_console.call("GET", "/api/crm/reminders/today", "alice"))
    assert alice["today"] == today
    assert to_contact(alice) == {"Zhang Wei"}
    assert to_contact(ok(await crm_console.call("GET", "/api/crm/reminders/today", "sue"))) == {
        "Zhang Wei",
        "Li Na",
    }
    assert to_contact(ok(await crm_console.call("GET", "/api/crm/reminders/today", "root"))) == {
        "Zhang Wei",
        "Li Na",
        "Wang Fang",
    }
