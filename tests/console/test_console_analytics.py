"""CRM API, analytics: CRM statistics by role, segmentation runs and views, CSV, bad input, OpenAPI.

The office of crm_harness (sue supervises alice and bob, sam supervises
carol, root is admin), plus today: a 50 000 contract signed by alice for
zhang with 10 000 collected, a phone follow-up by bob for li, li a prospect,
and deposits for li and wang (zhang has one already) so all three are segmented.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from crm_harness import CrmConsole, ok, refused
from sqlalchemy import delete, update

from crm_core.customers.accounts import AccountBook
from crm_core.models import AnalyticsRun, Contract, Customer, CustomerSegment, Interaction, Payment

BASE = "/api/crm/analytics"
PEPPER = b"p" * 32


async def _activity(console: CrmConsole) -> None:
    today = datetime.now(UTC).date()
    async with console.sessions() as session, session.begin():
        # The harness empties the CRM tables it knows; segmentation history may survive on SQLite.
        for model in (CustomerSegment, AnalyticsRun):
            await session.execute(delete(model))
        contract = Contract(
            number="C-AN-0001", customer_id=console.customer("zhang"),
            owner_id=console.office.user_ids["alice"],
            title="Loan", product_type="loan", amount=Decimal("50000.00"), start_on=today,
            end_on=date(today.year + 2, 1, 1), status="active", signed_on=today,
        )  # fmt: skip
        session.add(contract)
        await session.flush()
        session.add(
            Payment(contract_id=contract.id, received_on=today, amount=Decimal("10000"), method="cash")
        )
        session.add(
            Interaction(
                channel="phone", direction="outbound", customer_id=console.customer("li"),
                agent_id=console.office.user_ids["bob"], arrived_at=datetime.now(UTC),
            )
        )  # fmt: skip
        await session.execute(
            update(Customer).where(Customer.id == console.customer("li")).values(deal_status="prospect")
        )
    book = AccountBook(console.sessions, PEPPER)
    await book.open_account(
        console.customer("li"), type="deposit", number="6222020000000000011", balance="90000"
    )
    await book.open_account(
        console.customer("wang"), type="deposit", number="6222020000000000022", balance="500"
    )


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _agents(body: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        a["agent_login"]: (a["follow_ups"], a["new_customers"], a["contracts_signed"], a["contract_amount"],
                           a["collected"])
        for a in body["agents"]
    }  # fmt: skip


async def test_crm_statistics_are_scoped_by_role(crm_console: CrmConsole) -> None:
    await _activity(crm_console)
    path = f"{BASE}/crm"
    alice = ok(await crm_console.call("GET", path, "alice"))
    assert _agents(alice) == {"alice": (0, 1, 1, "50000.00", "10000.00")}
    # alice's cohort (zhang) has a signed contract: a prospect with a contract, never contacted.
    assert [(s["stage"], s["customers"]) for s in alice["funnel"]] == [
        ("prospects", 1), ("contacted", 0), ("with_contract", 1)
    ]  # fmt: skip
    sue = ok(await crm_console.call("GET", path, "sue"))
    assert set(_agents(sue)) == {"alice", "bob", "sue"}
    assert _agents(sue)["bob"] == (1, 1, 0, "0.00", "0.00")
    assert sue["follow_ups"] == [{"agent_login": "bob", "channel": "phone", "follow_ups": 1}]
    assert [s["customers"] for s in sue["funnel"]] == [2, 1, 1]  # zhang, li; li contacted; zhang signed
    sam = ok(await crm_console.call("GET", path, "sam"))
    assert set(_agents(sam)) == {"carol", "sam"} and sam["follow_ups"] == []
    root = ok(await crm_console.call("GET", path, "root"))
    assert set(_agents(root)) == {"root", "sue", "sam", "alice", "bob", "carol"}
    assert root["agents"][0]["agent_login"] == "alice" and root["agents"][0]["rank_amount"] == 1
    refused(await crm_console.call("GET", path, None), 401)


async def test_period_filter_and_csv(crm_console: CrmConsole) -> None:
    await _activity(crm_console)
    today = datetime.now(UTC).date()
    # A period that ends before today sees nothing of today's activity.
    old = ok(
        await crm_console.call("GET", f"{BASE}/crm", "sue", params={"from": "2020-01-01", "to": "2020-12-31"})
    )
    assert (old["start"][:10], old["end"][:10]) == ("2020-01-01", "2021-01-01")
    assert {a["contracts_signed"] for a in old["agents"]} == {0}
    day = {"from": today.isoformat(), "to": today.isoformat()}
    response = await crm_console.call("GET", f"{BASE}/crm/agents.csv", "sue", params=day)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = {row["agent_login"]: row for row in _csv(response.text)}
    assert set(rows) == {"alice", "bob", "sue"}
    assert (rows["alice"]["contract_amount"], rows["alice"]["collected"], rows["alice"]["rank_amount"]) == (
        "50000.00", "10000.00", "1"
    )  # fmt: skip
    # The report shell asks for CSV links with ?format=csv appended: the same table.
    shell = await crm_console.call("GET", f"{BASE}/crm/follow-ups.csv?format=csv", "bob")
    assert _csv(shell.text) == [{"agent_login": "bob", "channel": "phone", "follow_ups": "1"}]
    funnel = _csv((await crm_console.call("GET", f"{BASE}/crm/funnel.csv", "root")).text)
    assert [(r["stage"], r["customers"]) for r in funnel] == [
        ("prospects", "2"), ("contacted", "1"), ("with_contract", "1")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("from=yesterday", 422, "from"),
        ("to=2025-02-30", 422, "to"),
        ("from=2025-03-02&to=2025-03-01", 422, "from"),
        ("to=9999-12-31", 422, "to"),
        ("to=0001-01-02", 422, "to"),
    ],
)
async def test_bad_parameters_are_refused_clearly(
    crm_console: CrmConsole, query: str, status: int, field: str
) -> None:
    for path in (f"{BASE}/crm", f"{BASE}/crm/agents.csv"):
        detail = refused(await crm_console.call("GET", f"{path}?{query}", "sue"), status, field)
        assert detail.startswith(f"{field}: ")


async def test_unknown_table_and_roles_are_refused(crm_console: CrmConsole) -> None:
    detail = refused(await crm_console.call("GET", f"{BASE}/crm/people.csv", "root"), 404)
    assert "agents, follow-ups, funnel" in detail
    for path in ("/segments", "/segments.csv", "/runs"):
        assert "supervisors" in refused(await crm_console.call("GET", f"{BASE}{path}", "alice"), 403)
    assert "admin" in refused(await crm_console.call("POST", f"{BASE}/runs", "sue"), 403)


async def test_segmentation_run_overview_and_csv_scope(crm_console: CrmConsole) -> None:
    await _activity(crm_console)
    before = ok(await crm_console.call("GET", f"{BASE}/segments", "sue"))
    assert before["run"] is None and before["pareto_contribution"] == []
    run = ok(await crm_console.call("POST", f"{BASE}/runs", "root"), 201)
    assert run["status"] == "done" and run["customers"] == 3 and run["trigger"] == "api"
    overview = ok(await crm_console.call("GET", f"{BASE}/segments", "sam"))
    assert overview["run"]["id"] == run["id"]
    assert overview["pareto_contribution"][-1]["customer_share"] == pytest.approx(1.0)
    assert sum(t["customers"] for t in overview["tiers"]) == 3
    assert [r["id"] for r in ok(await crm_console.call("GET", f"{BASE}/runs", "sue"))] == [run["id"]]
    names = {"zhang": "Zhang Wei", "li": "Li Na", "wang": "Wang Fang"}
    expected = {"sue": {"zhang", "li"}, "sam": {"wang"}, "root": {"zhang", "li", "wang"}}
    for login, keys in expected.items():
        response = await crm_console.call("GET", f"{BASE}/segments.csv", login)
        assert response.headers["content-type"].startswith("text/csv")
        rows = _csv(response.text)
        assert {row["name"] for row in rows} == {names[k] for k in keys}, login
    # li holds 90 000 of 92 020.50: alone in segment A by AUM, as the run summary counts it too.
    by_name = {
        row["name"]: row for row in _csv((await crm_console.call("GET", f"{BASE}/segments.csv", "root")).text)
    }
    assert [by_name[n]["abc_aum"] for n in ("Li Na", "Zhang Wei", "Wang Fang")] == ["A", "C", "C"]
    assert run["abc_aum"] == {"A": 1, "C": 2}


async def test_endpoints_are_in_the_openapi_spec(crm_console: CrmConsole) -> None:
    spec = ok(await crm_console.call("GET", "/openapi.json", None))
    for path in ("/segments", "/segments.csv", "/runs", "/crm", "/crm/{section}.csv"):
        assert f"{BASE}{path}" in spec["paths"], path
    for path in ("/segments.csv", "/crm/{section}.csv"):
        assert "text/csv" in spec["paths"][f"{BASE}{path}"]["get"]["responses"]["200"]["content"]
    params = {p["name"] for p in spec["paths"][f"{BASE}/crm"]["get"]["parameters"]}
    assert params == {"from", "to"}
