"""CRM API, contracts: open, change, approve (four eyes), sign, pay, list, delete drafts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crm_harness import CrmConsole, ok, refused


def terms(**changes: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    body: dict[str, Any] = {
        "title": "Time deposit",
        "product_type": "deposit",
        "start_on": today.isoformat(),
        "end_on": (today + timedelta(days=365)).isoformat(),
        "lines": [{"product": "12-month deposit", "quantity": 1, "unit_price": "100000.00"}],
        "installments": [
            {"due_on": (today + timedelta(days=30)).isoformat(), "amount": "33333.33"},
            {"due_on": (today + timedelta(days=60)).isoformat(), "amount": "33333.33"},
            {"due_on": (today + timedelta(days=90)).isoformat(), "amount": "33333.34"},
        ],
    }
    body.update(changes)
    return body


async def test_a_contract_from_draft_to_paid(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    draft = ok(
        await crm_console.call("POST", f"/api/crm/customers/{zhang}/contracts", "alice", json=terms()), 201
    )
    assert (draft["status"], draft["amount"], draft["owner_login"]) == ("draft", "100000.00", "alice")
    assert draft["number"].startswith("C-")
    path = f"/api/crm/contracts/{draft['id']}"

    changed = ok(await crm_console.call("PATCH", path, "alice", json={"title": "Time deposit, 1 year"}))
    assert changed["title"] == "Time deposit, 1 year"
    ok(await crm_console.call("POST", f"{path}/transition", "alice", json={"action": "submit"}))
    # four eyes: the owner may not approve their own contract; the other team's supervisor does not see it
    refused(await crm_console.call("POST", f"{path}/transition", "alice", json={"action": "approve"}), 403)
    refused(await crm_console.call("POST", f"{path}/transition", "sam", json={"action": "approve"}), 404)
    approved = ok(await crm_console.call("POST", f"{path}/transition", "sue", json={"action": "approve"}))
    assert approved["status"] == "approved" and approved["approved_by"] == "sue"
    refused(await crm_console.call("PATCH", path, "alice", json={"title": "late change"}), 409)
    active = ok(await crm_console.call("POST", f"{path}/transition", "alice", json={"action": "sign"}))
    assert active["status"] == "active" and active["signed_on"] is not None

    today = datetime.now(UTC).date().isoformat()
    paid = ok(
        await crm_console.call(
            "POST",
            f"{path}/payments",
            "alice",
            json={"amount": "33333.33", "received_on": today, "method": "transfer"},
        ),
        201,
    )
    assert (paid["received"], paid["outstanding"]) == ("33333.33", "66666.67")
    assert [i["status"] for i in paid["installments"]] == ["paid", "due", "due"]
    too_much = {"amount": "70000.00", "received_on": today, "method": "cash"}
    refused(await crm_console.call("POST", f"{path}/payments", "alice", json=too_much), 409)
    float_amount = {"amount": 10.5, "received_on": today, "method": "cash"}
    refused(await crm_console.call("POST", f"{path}/payments", "alice", json=float_amount), 422, "amount")
    refused(
        await crm_console.call("POST", f"{path}/transition", "alice", json={"action": "terminate"}),
        422,
        "reason",
    )
    ended = ok(
        await crm_console.call(
            "POST", f"{path}/transition", "sue", json={"action": "terminate", "reason": "early"}
        )
    )
    assert ended["status"] == "terminated"
    assert "terminated" in refused(
        await crm_console.call("POST", f"{path}/transition", "sue", json={"action": "approve"}), 409
    )
    transitions = await crm_console.audit_rows(entity="contract", action="transition")
    assert [r.detail["to"] for r in transitions if r.detail] == [
        "pending",
        "approved",
        "active",
        "terminated",
    ]


async def test_contract_reads_follow_the_customers_rights(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    draft = ok(
        await crm_console.call("POST", f"/api/crm/customers/{zhang}/contracts", "alice", json=terms()), 201
    )
    path = f"/api/crm/contracts/{draft['id']}"
    assert ok(await crm_console.call("GET", path, "sue"))["id"] == draft["id"]
    refused(await crm_console.call("GET", path, "bob"), 404)
    refused(await crm_console.call("GET", path, "carol"), 404)
    assert [r.actor_login for r in await crm_console.audit_rows(entity="contract", action="view")] == ["sue"]

    def numbers(body: dict[str, Any]) -> list[str]:
        return [c["number"] for c in body["items"]]

    assert numbers(ok(await crm_console.call("GET", "/api/crm/contracts", "alice"))) == [draft["number"]]
    assert numbers(ok(await crm_console.call("GET", "/api/crm/contracts", "bob"))) == []
    assert numbers(
        ok(await crm_console.call("GET", "/api/crm/contracts", "root", params={"status": "draft"}))
    ) == [draft["number"]]
    assert (
        numbers(ok(await crm_console.call("GET", "/api/crm/contracts", "root", params={"status": "active"})))
        == []
    )
    assert numbers(
        ok(
            await crm_console.call(
                "GET", "/api/crm/contracts", "root", params={"owner": "alice", "customer_id": zhang}
            )
        )
    ) == [draft["number"]]
    refused(
        await crm_console.call("GET", "/api/crm/contracts", "root", params={"status": "lost"}), 422, "status"
    )
    refused(
        await crm_console.call("GET", "/api/crm/contracts", "root", params={"expiring_within_days": -1}),
        422,
        "expiring_within_days",
    )

    # an agent who may read the customer (shared read-only) may not open a contract for it
    ok(
        await crm_console.call(
            "POST", f"/api/crm/customers/{zhang}/grants", "alice", json={"user_login": "bob"}
        ),
        201,
    )
    refused(await crm_console.call("POST", f"/api/crm/customers/{zhang}/contracts", "bob", json=terms()), 403)
    refused(await crm_console.call("DELETE", path, "bob"), 403)
    ok(await crm_console.call("DELETE", path, "alice"), 204)
    refused(await crm_console.call("GET", path, "alice"), 404)


async def test_inconsistent_contract_terms_name_the_field(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    path = f"/api/crm/customers/{zhang}/contracts"
    today = datetime.now(UTC).date()
    for body, field in [
        (terms(amount="1.00"), "amount"),
        (terms(lines=[], installments=[]), "amount"),
        (terms(installments=[{"due_on": today.isoformat(), "amount": "1.00"}]), "installments"),
        (terms(end_on=(today - timedelta(days=1)).isoformat()), "end_on"),
        (terms(product_type="bitcoin"), "product_type"),
        (terms(currency="yuan"), "currency"),
        (terms(renewed_from_id=2**40), "renewed_from_id"),
        (terms(renewed_from_id=1), "renewed_from_id"),
        (terms(lines=[{"product": "x", "quantity": 1, "unit_price": "-5"}]), "lines.0.unit_price"),
        (terms(owner_login="nobody"), "owner_login"),
    ]:
        refused(await crm_console.call("POST", path, "alice", json=body), 422, field)
    refused(
        await crm_console.call(
            "POST", f"/api/crm/customers/{crm_console.customer('pool')}/contracts", "alice", json=terms()
        ),
        404,
    )
    refused(await crm_console.call("PATCH", "/api/crm/contracts/424242", "alice", json={"title": "x"}), 404)
    refused(
        await crm_console.call(
            "POST", "/api/crm/contracts/1/transition", "alice", json={"action": "explode"}
        ),
        422,
        "action",
    )
