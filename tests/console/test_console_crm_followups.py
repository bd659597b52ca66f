"""CRM API, follow-ups and reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_harness import CrmConsole, ok, refused

from crm_core.followups.interactions import InteractionWriter
from crm_core.schemas import CallEndRecord, InteractionRecord, LegRecord


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
    ok(await crm_console.call("POST", path, "alice", json={**body, "channel": "visit"}), 201)

    listed = ok(await crm_console.call("GET", path, "sue"))
    assert listed["total"] == 2
    refused(await crm_console.call("GET", path, "bob"), 403)
    refused(await crm_console.call("POST", path, "bob", json=body), 403)
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
    # A call's wrap-up has its own path (tests/console/test_console_wrapup.py).
    with_call = {**body, "call_id": "c"}
    assert "wrap-up" in refused(await crm_console.call("POST", path, "alice", json=with_call), 422)


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


async def test_a_calls_follow_up_shows_its_legs_and_totals(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    writer = InteractionWriter(crm_console.sessions)
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def at(seconds: int) -> datetime:
        return t0 + timedelta(seconds=seconds)

    call = "call-legs-1"
    await writer.upsert(InteractionRecord(call_id=call, customer_id=zhang, arrived_at=at(0)))
    for leg in (
        LegRecord(
            call_id=call, leg_key="q1", kind="queue", queue="general", started_at=at(0), ended_at=at(5)
        ),
        LegRecord(
            call_id=call,
            leg_key="a1",
            kind="agent",
            agent_login="alice",
            started_at=at(2),
            answered_at=at(5),
            ended_at=at(35),
            end_reason="transferred_blind",
            transferred_to="queue",
        ),
        LegRecord(
            call_id=call, leg_key="q2", kind="queue", queue="cards", started_at=at(35), ended_at=at(45)
        ),
        LegRecord(
            call_id=call, leg_key="a2", kind="agent", agent_login="bob", started_at=at(40), answered_at=at(45)
        ),
    ):
        await writer.upsert_leg(leg)
    await writer.end_call(CallEndRecord(call_id=call, outcome="answered", ended_at=at(65)))

    listed = ok(await crm_console.call("GET", f"/api/crm/customers/{zhang}/follow-ups", "alice"))
    item = next(entry for entry in listed["items"] if entry["call_id"] == call)
    assert [(leg["kind"], leg["agent_login"] or leg["queue"], leg["end_reason"]) for leg in item["legs"]] == [
        ("queue", "general", None),
        ("agent", "alice", "transferred_blind"),
        ("queue", "cards", None),
        ("agent", "bob", "completed"),
    ]
    assert item["legs"][1]["transferred_to"] == "queue"
    assert item["legs"][3]["ended_at"].startswith("2026-12-01T09:01:05")
    assert (item["wait_seconds"], item["talk_seconds"], item["hold_seconds"]) == (15.0, 50.0, None)
