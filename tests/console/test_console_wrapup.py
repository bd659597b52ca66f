"""One wrap-up path: PUT /api/calls/{call_id}/wrap-up, read back through the public API.

Every case checks that the call's own facts (outcome, times, queue, IVR path,
handling agent) are exactly what the PBX side recorded before the save.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from console_harness import offer, recv
from crm_harness import CrmConsole, ok, refused
from sqlalchemy import func, select

from acd.events import CallConnected
from crm_core.followups.interactions import InteractionWriter
from crm_core.models import AuditLog, Interaction
from crm_core.schemas import CustomerCard, InteractionRecord, IvrStep

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
NOTES = "Customer asked to raise the card limit; 客户要求提高信用卡额度。"
PBX_FIELDS = ("outcome", "at", "wait_seconds", "talk_seconds", "agent_login", "channel", "direction")


def card(customer_id: int, name: str = "Wang Fang") -> CustomerCard:
    return CustomerCard(id=customer_id, name=name, tier="gold", phone_e164="+8613700137000")


async def pbx_recorded(console: CrmConsole, call_id: str, agent: str, customer_id: int | None) -> None:
    """What the call flow writes for an answered, ended call (times, queue, IVR path, outcome)."""
    await InteractionWriter(console.sessions).upsert(
        InteractionRecord(
            call_id=call_id,
            customer_id=customer_id,
            agent_login=agent,
            caller_number="13700137000",
            queue="cards",
            ivr_path=[IvrStep(node="main", at=T0.timestamp(), keys="2", result="cards")],
            arrived_at=T0,
            queued_at=T0 + timedelta(seconds=20),
            offered_at=T0 + timedelta(seconds=30),
            answered_at=T0 + timedelta(seconds=35),
            ended_at=T0 + timedelta(seconds=200),
            outcome="answered",
        )
    )


async def offered(console: CrmConsole, call_id: str, agent: str, customer: CustomerCard | None) -> None:
    """The ACD offers ``call_id`` to ``agent`` (their console receives the pop) and they answer."""
    ws, _ = await console.socket(agent)
    await console.bus.publish(offer(call_id, agent, customer=customer))
    assert (await recv(ws))["event"]["call_id"] == call_id
    await console.bus.publish(CallConnected(call_id=call_id, agent_login=agent, queue="cards"))
    await recv(ws)
    await ws.close()


async def row(console: CrmConsole, call_id: str) -> dict[str, Any]:
    async with console.sessions() as session:
        found = await session.scalar(select(Interaction).where(Interaction.call_id == call_id))
    assert found is not None
    return {c.name: getattr(found, c.name) for c in Interaction.__table__.columns}


async def history(console: CrmConsole, customer_id: int, login: str) -> list[dict[str, Any]]:
    page = ok(await console.call("GET", f"/api/crm/customers/{customer_id}/follow-ups", login))
    return list(page["items"])


def wrap(**fields: Any) -> dict[str, Any]:
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    return {
        "notes": NOTES,
        "disposition": "resolved",
        "next_contact_on": tomorrow,
        "next_contact_channel": "phone",
        **fields,
    }


async def test_a_non_owner_records_the_wrap_up_of_a_call_they_handled(crm_console: CrmConsole) -> None:
    wang = crm_console.customer("wang")  # owned by carol, another team's agent
    await pbx_recorded(crm_console, "1733.10", "alice", wang)
    await offered(crm_console, "1733.10", "alice", card(wang))
    before = await row(crm_console, "1733.10")
    body = wrap()

    saved = ok(await crm_console.call("PUT", "/api/calls/1733.10/wrap-up", "alice", json=body))
    assert (saved["notes"], saved["disposition"], saved["next_contact_on"]) == (
        NOTES,
        "resolved",
        body["next_contact_on"],
    )
    assert (saved["wrapped_up_by"], saved["agent_login"], saved["outcome"]) == ("alice", "alice", "answered")

    # The owner sees the entry in the customer's history, with every field the agent saved.
    [entry] = await history(crm_console, wang, "carol")
    assert entry["call_id"] == "1733.10"
    assert (entry["content"], entry["disposition"], entry["next_contact_on"]) == (
        NOTES,
        "resolved",
        body["next_contact_on"],
    )
    assert (entry["next_contact_channel"], entry["wrapped_up_by"], entry["agent_login"]) == (
        "phone",
        "alice",
        "alice",
    )
    assert entry["outcome"] == "answered" and entry["talk_seconds"] == 165.0
    after = await row(crm_console, "1733.10")
    times = ("arrived_at", "queued_at", "offered_at", "answered_at", "ended_at")
    links = ("agent_id", "customer_id", "caller_number")
    for name in ("outcome", *times, "queue", "ivr_path", *links, "wait_seconds", "talk_seconds"):
        assert after[name] == before[name], name
    # Read back on the call too.
    again = ok(await crm_console.call("GET", "/api/calls/1733.10/wrap-up", "alice"))
    assert again["notes"] == NOTES and again["customer_id"] == wang


async def test_saving_twice_edits_the_one_entry_and_both_saves_are_audited(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")  # alice's own customer
    await pbx_recorded(crm_console, "1733.20", "alice", zhang)
    await offered(crm_console, "1733.20", "alice", card(zhang, "Zhang Wei"))
    first = ok(await crm_console.call("PUT", "/api/calls/1733.20/wrap-up", "alice", json=wrap()))
    assert first["edited"] is False
    second = ok(
        await crm_console.call(
            "PUT",
            "/api/calls/1733.20/wrap-up",
            "alice",
            json=wrap(
                notes="Limit raised after all",
                disposition="sale",
                next_contact_on=None,
                next_contact_channel=None,
            ),
        )
    )
    assert second["edited"] is True and second["follow_up_id"] == first["follow_up_id"]
    entries = [e for e in await history(crm_console, zhang, "alice") if e["call_id"] == "1733.20"]
    assert len(entries) == 1
    [entry] = entries
    assert (entry["content"], entry["disposition"], entry["next_contact_on"], entry["outcome"]) == (
        "Limit raised after all",
        "sale",
        None,
        "answered",
    )
    async with crm_console.sessions() as session:
        actions = (
            await session.scalars(
                select(AuditLog.action)
                .where(AuditLog.entity == "follow_up", AuditLog.entity_id == str(first["follow_up_id"]))
                .order_by(AuditLog.id)
            )
        ).all()
    assert actions == ["create", "update"]


async def test_a_supervisor_saving_is_credited_and_the_handler_kept(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    await pbx_recorded(crm_console, "1733.30", "alice", zhang)
    await offered(crm_console, "1733.30", "alice", card(zhang, "Zhang Wei"))
    ok(await crm_console.call("PUT", "/api/calls/1733.30/wrap-up", "sue", json=wrap(notes="Checked by sue")))
    [entry] = [e for e in await history(crm_console, zhang, "alice") if e["call_id"] == "1733.30"]
    assert (entry["wrapped_up_by"], entry["agent_login"], entry["outcome"]) == ("sue", "alice", "answered")
    # A supervisor of another team may not.
    refused(await crm_console.call("PUT", "/api/calls/1733.30/wrap-up", "sam", json=wrap()), 403)


async def test_a_call_the_agent_did_not_handle_is_refused_and_nothing_is_written(
    crm_console: CrmConsole,
) -> None:
    zhang = crm_console.customer("zhang")
    await pbx_recorded(crm_console, "1733.40", "alice", zhang)
    await offered(crm_console, "1733.40", "alice", card(zhang, "Zhang Wei"))
    before = await row(crm_console, "1733.40")
    # bob (same team, never offered the call) and the owner's colleague get 403; so does an unknown call.
    refused(await crm_console.call("PUT", "/api/calls/1733.40/wrap-up", "bob", json=wrap()), 403)
    refused(await crm_console.call("GET", "/api/calls/1733.40/wrap-up", "bob"), 403)
    refused(await crm_console.call("PUT", "/api/calls/never-seen/wrap-up", "alice", json=wrap()), 403)
    assert await row(crm_console, "1733.40") == before
    async with crm_console.sessions() as session:
        assert await session.scalar(select(func.count()).where(Interaction.call_id == "never-seen")) == 0


async def test_bad_wrap_ups_get_a_clear_error_and_change_nothing(crm_console: CrmConsole) -> None:
    zhang, wang = crm_console.customer("zhang"), crm_console.customer("wang")
    await pbx_recorded(crm_console, "1733.50", "alice", zhang)
    await offered(crm_console, "1733.50", "alice", card(zhang, "Zhang Wei"))
    before = await row(crm_console, "1733.50")
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    path = "/api/calls/1733.50/wrap-up"
    for bad, field in [
        (wrap(next_contact_on=yesterday), "next_contact_on"),
        (wrap(disposition="maybe"), "disposition"),
        (wrap(notes="  ", disposition=None), "notes"),
        (wrap(notes="x" * 4001), "notes"),
        (wrap(next_contact_on=None), "next_contact_on"),  # a channel without a date
        (wrap(next_contact_channel="pigeon"), "next_contact_channel"),
        (wrap(surprise=1), None),
    ]:
        refused(await crm_console.call("PUT", path, "alice", json=bad), 422, field)
    # The call is zhang's: it cannot be filed under another customer.
    assert "another customer" in refused(
        await crm_console.call("PUT", path, "alice", json=wrap(customer_id=wang)), 409
    )
    assert await row(crm_console, "1733.50") == before
    refused(await crm_console.call("GET", path, "alice"), 404)  # nothing recorded yet
    # The old ways in are closed: the follow-up API takes no call.
    old = {"channel": "phone", "direction": "inbound", "content": "x", "disposition": "resolved",
           "call_id": "1733.50"}  # fmt: skip
    assert "wrap-up" in refused(
        await crm_console.call("POST", f"/api/crm/customers/{zhang}/follow-ups", "alice", json=old), 422
    )
    assert (
        await crm_console.call("POST", "/api/calls/1733.50/note", "alice", json={"notes": "x"})
    ).status_code in (
        404,
        405,
    )


async def test_an_unknown_caller_then_a_customer_created_during_the_call(crm_console: CrmConsole) -> None:
    await pbx_recorded(crm_console, "1733.60", "alice", None)
    await offered(crm_console, "1733.60", "alice", None)
    saved = ok(
        await crm_console.call(
            "PUT", "/api/calls/1733.60/wrap-up", "alice", json=wrap(disposition="follow-up")
        )
    )
    assert saved["customer_id"] is None and saved["notes"] == NOTES and saved["outcome"] == "answered"

    created = ok(
        await crm_console.call(
            "POST",
            "/api/crm/customers",
            "alice",
            json={"name": "Chen Jie", "phones": [{"number": "13700137000", "is_primary": True}]},
        ),
        201,
    )
    linked = ok(
        await crm_console.call(
            "PUT", "/api/calls/1733.60/wrap-up", "alice", json=wrap(customer_id=created["id"])
        )
    )
    assert linked["customer_id"] == created["id"] and linked["edited"] is True
    [entry] = await history(crm_console, created["id"], "alice")
    assert (entry["call_id"], entry["content"], entry["outcome"], entry["agent_login"]) == (
        "1733.60",
        NOTES,
        "answered",
        "alice",
    )
    assert entry["talk_seconds"] == 165.0


async def test_the_wrap_up_arrives_before_the_call_history(crm_console: CrmConsole) -> None:
    """The PBX side's write may still be spooled when the agent saves: neither overwrites the other."""
    zhang = crm_console.customer("zhang")
    await offered(crm_console, "1733.70", "alice", card(zhang, "Zhang Wei"))
    ok(await crm_console.call("PUT", "/api/calls/1733.70/wrap-up", "alice", json=wrap(customer_id=zhang)))
    await pbx_recorded(crm_console, "1733.70", "alice", zhang)
    [entry] = [e for e in await history(crm_console, zhang, "alice") if e["call_id"] == "1733.70"]
    assert (entry["content"], entry["disposition"], entry["outcome"], entry["wrapped_up_by"]) == (
        NOTES,
        "resolved",
        "answered",
        "alice",
    )
