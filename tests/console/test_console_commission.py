"""CRM API, commission: rules (admin), runs, statements by role, drill-down, approval, CSV, OpenAPI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

from crm_harness import CrmConsole, ok, refused
from sqlalchemy import delete

from crm_core.models import (
    CommissionLine,
    CommissionRule,
    CommissionSplit,
    CommissionStatement,
    Contract,
    Payment,
)

BASE = "/api/crm/commission"
RULE = {
    "product_key": "*",
    "effective_from": "2000-01-01",
    "basis": "collected",
    "date_basis": "paid",
    "tier_method": "slice",
    "tiers": [{"from": "0", "rate": "1"}, {"from": "10000", "rate": "2"}],
}


async def _sales(console: CrmConsole, today: date) -> tuple[int, int]:
    async with console.sessions() as session, session.begin():
        # The harness empties the CRM tables; commission rules may survive it on SQLite.
        for model in (CommissionLine, CommissionStatement, CommissionSplit, CommissionRule):
            await session.execute(delete(model))
        contract = Contract(
            number="C-API-0001",
            customer_id=console.customer("zhang"),
            owner_id=console.office.user_ids["alice"],
            title="Loan",
            product_type="loan",
            amount=Decimal("50000.00"),
            start_on=today,
            end_on=date(today.year + 2, 1, 1),
            status="active",
            signed_on=today,
        )
        session.add(contract)
        await session.flush()
        payment = Payment(
            contract_id=contract.id, received_on=today, amount=Decimal("15000.00"), method="cash"
        )
        session.add(payment)
        await session.flush()
        return contract.id, payment.id


async def test_rules_runs_statements_approval_and_csv(crm_console: CrmConsole) -> None:
    today = datetime.now(UTC).date()
    period = f"{today:%Y-%m}"
    contract_id, payment_id = await _sales(crm_console, today)

    refused(await crm_console.call("POST", f"{BASE}/rules", "sue", json=RULE), 403)
    bad = RULE | {"tiers": [{"from": "5", "rate": "1"}]}
    refused(await crm_console.call("POST", f"{BASE}/rules", "root", json=bad), 422)
    refused(
        await crm_console.call(
            "POST", f"{BASE}/rules", "root", json=RULE | {"tiers": [{"from": "0", "rate": 1.5}]}
        ),
        422,
    )
    rule = ok(await crm_console.call("POST", f"{BASE}/rules", "root", json=RULE), 201)
    assert (rule["version"], rule["tiers"][1]) == (1, {"from": "10000", "rate": "2"})
    change = {k: v for k, v in RULE.items() if k != "product_key"} | {"effective_from": "2001-01-01"}
    second = ok(await crm_console.call("PUT", f"{BASE}/rules/{rule['id']}", "root", json=change), 201)
    assert second["version"] == 2
    assert len(ok(await crm_console.call("GET", f"{BASE}/rules", "alice"))) == 2

    refused(
        await crm_console.call(
            "PUT", f"{BASE}/contracts/{contract_id}/split", "sue",
            json={"shares": [{"login": "alice", "percent": "60"}, {"login": "bob", "percent": "30"}]},
        ),
        422,
        "shares",
    )  # fmt: skip
    split = ok(await crm_console.call("GET", f"{BASE}/contracts/{contract_id}/split", "alice"))
    assert split["shares"] == [{"login": "alice", "percent": "100.00"}] and not split["explicit"]

    refused(await crm_console.call("POST", f"{BASE}/runs", "root", json={"period": "2026/11"}), 422, "period")
    refused(await crm_console.call("POST", f"{BASE}/runs", "sue", json={"period": period}), 403)
    run = ok(await crm_console.call("POST", f"{BASE}/runs", "root", json={"period": period}))
    # 10000 at 1 % + 5000 at 2 %
    assert [(r["agent_login"], r["total"]) for r in run["rows"]] == [("alice", "200.00")]

    assert [
        s["agent_login"]
        for s in ok(await crm_console.call("GET", f"{BASE}/statements?period={period}", "alice"))
    ] == ["alice"]
    assert ok(await crm_console.call("GET", f"{BASE}/statements?period={period}", "bob")) == []
    assert ok(await crm_console.call("GET", f"{BASE}/statements?period={period}", "sam")) == []
    listed = ok(await crm_console.call("GET", f"{BASE}/statements?period={period}", "sue"))
    assert [(s["agent_login"], s["may_approve"]) for s in listed] == [("alice", True)]
    refused(await crm_console.call("GET", f"{BASE}/statements?period=13-2026", "sue"), 422, "period")
    statement_id = listed[0]["id"]
    refused(await crm_console.call("GET", f"{BASE}/statements/{statement_id}", "bob"), 404)
    detail = ok(await crm_console.call("GET", f"{BASE}/statements/{statement_id}", "alice"))
    assert detail["may_approve"] is False
    [line] = detail["items"]
    assert (line["contract_id"], line["payment_id"], line["commission"]) == (
        contract_id,
        payment_id,
        "200.00",
    )

    refused(await crm_console.call("POST", f"{BASE}/statements/{statement_id}/approve", "alice"), 403)
    refused(await crm_console.call("POST", f"{BASE}/statements/{statement_id}/approve", "sam"), 404)
    approved = ok(await crm_console.call("POST", f"{BASE}/statements/{statement_id}/approve", "sue"))
    assert (approved["status"], approved["approved_by"], approved["may_approve"]) == (
        "approved",
        "sue",
        False,
    )
    refused(await crm_console.call("POST", f"{BASE}/statements/{statement_id}/approve", "root"), 409)
    rows = await crm_console.audit_rows(entity="commission_statement")
    assert [(r.actor_login, r.action) for r in rows] == [("sue", "transition")]

    response = await crm_console.call("GET", f"{BASE}/statements.csv?period={period}", "sue")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["agent_login"], r["status"], r["total"]) for r in table] == [("alice", "approved", "200.00")]
    response = await crm_console.call("GET", f"{BASE}/statements/{statement_id}/lines.csv", "alice")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["contract_id"], r["payment_id"], r["commission"]) for r in lines] == [
        (str(contract_id), str(payment_id), "200.00")
    ]
    response = await crm_console.call("GET", f"{BASE}/lines.csv?period={period}", "bob")
    assert response.text.strip().count("\n") == 0  # the header only: nothing of bob's

    spec = ok(await crm_console.call("GET", "/openapi.json", None))
    for path in ("/statements", "/statements/{statement_id}", "/statements/{statement_id}/approve",
                 "/rules", "/rules/{rule_id}", "/runs", "/statements.csv", "/lines.csv"):  # fmt: skip
        assert f"{BASE}{path}" in spec["paths"], path
    assert "text/csv" in spec["paths"][f"{BASE}/statements.csv"]["get"]["responses"]["200"]["content"]
