"""The OpenAPI schema states the limits the console enforces, and the console enforces what it states.

Call control, reports and commission (the whole contract is fuzzed by
test_console_schemathesis.py; these are the hand-picked cases): the 422 of
a call-control route is the console's error body, not FastAPI's default;
periods, days, zones, intervals, rates and shares carry their patterns and
bounds; a value the schema forbids — a day or a rate sent as a number, a
number as a boolean, a property no model has — is refused, not taken.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from crm_harness import CrmConsole, CrmConsoleFactory, ok, refused
from test_console_calls import RecordingCalls

from agent_console.schemas import AgentStatus

COMMISSION = "/api/crm/commission"
RULE = {
    "effective_from": "2000-01-01",
    "basis": "collected",
    "date_basis": "paid",
    "tier_method": "slice",
    "tiers": [{"from": "0", "rate": "1"}, {"from": "10000", "rate": "2"}],
}


@pytest.fixture
async def desk(make_crm_console: CrmConsoleFactory) -> CrmConsole:
    console = await make_crm_console(calls=RecordingCalls())
    console.control.statuses["alice"] = AgentStatus.model_validate(
        {"login": "alice", "state": "on_call", "since": time.time(), "call_id": "c1"}
    )
    return console


async def _openapi(console: CrmConsole) -> dict[str, Any]:
    return dict(ok(await console.call("GET", "/openapi.json", None)))


def _parameter(spec: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    [found] = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
    return dict(found["schema"])


async def test_call_control_documents_the_422_it_answers(desk: CrmConsole) -> None:
    spec = await _openapi(desk)
    call_routes = [
        (path, ops) for path, ops in spec["paths"].items() if path.startswith(("/api/calls/", "/api/dial"))
    ]
    call_routes += [(path, ops) for path, ops in spec["paths"].items() if path.startswith("/api/supervisor/")]
    assert len(call_routes) >= 9
    for path, operations in call_routes:
        for method, operation in operations.items():
            schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    answer = await desk.call("POST", "/api/supervisor/agents/alice/spy", "root", json={"mode": "shout"})
    body = answer.json()
    assert answer.status_code == 422 and set(body) <= {"detail", "field", "errors"}
    assert isinstance(body["detail"], str) and body["field"] == "mode"


async def test_call_control_bodies_take_no_unknown_property(desk: CrmConsole) -> None:
    transfer = {"kind": "blind", "target_type": "queue", "target": "general"}
    refused(await desk.call("POST", "/api/calls/c1/transfer", "alice", json=transfer | {"priority": 9}), 422)
    ok(await desk.call("POST", "/api/calls/c1/transfer", "alice", json=transfer))
    refused(
        await desk.call("POST", "/api/calls/c1/transfer", "alice", json=transfer | {"target": "gen\x1b"}), 422
    )
    refused(await desk.call("POST", "/api/dial", "alice", json={"customer_id": 1, "number": "call me"}), 422)


async def test_periods_are_months_of_the_schema(crm_console: CrmConsole) -> None:
    spec = await _openapi(crm_console)
    pattern = _parameter(spec, f"{COMMISSION}/statements", "period")["pattern"]
    assert pattern == r"^2[0-9]{3}-(0[1-9]|1[0-2])$"
    run = spec["paths"][f"{COMMISSION}/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert (
        spec["components"]["schemas"][run["$ref"].rsplit("/", 1)[1]]["properties"]["period"]["pattern"]
        == pattern
    )
    for period in ("2026-13", "1999-12", " 2026-11", "2026-1"):
        refused(
            await crm_console.call("GET", f"{COMMISSION}/statements", "root", params={"period": period}), 422
        )
    ok(await crm_console.call("GET", f"{COMMISSION}/statements", "root", params={"period": "2026-11"}))


async def test_report_days_zones_and_intervals(crm_console: CrmConsole) -> None:
    spec = await _openapi(crm_console)
    first = _parameter(spec, "/api/reports/contact-center", "from")
    assert first["format"] == "date" and re.fullmatch(first["pattern"], "1970-01-01")
    assert not re.fullmatch(first["pattern"], "1969-12-31") and not re.fullmatch(first["pattern"], "0")
    zone = _parameter(spec, "/api/reports/contact-center", "tz")
    assert (zone["format"], zone["maxLength"]) == ("iana-time-zone", 64)
    minutes = _parameter(spec, "/api/reports/staffing", "interval_minutes")["$ref"].rsplit("/", 1)[1]
    assert spec["components"]["schemas"][minutes]["enum"] == [15, 30, 60]
    report = "/api/reports/contact-center"
    # A number is not a day (pydantic would read "0" as 1970-01-01).
    refused(await crm_console.call("GET", report, "root", params={"from": "0"}), 422, "from")
    refused(
        await crm_console.call("GET", report, "root", params={"from": "2026-11-01", "tz": "Mars/Olympus"}),
        422,
        "tz",
    )
    ok(await crm_console.call("GET", report, "root", params={"from": "2026-11-01", "tz": "Asia/Shanghai"}))
    staffing = {"day": "2026-11-02", "interval_minutes": "45"}
    refused(
        await crm_console.call("GET", "/api/reports/staffing", "root", params=staffing),
        422,
        "interval_minutes",
    )
    ok(
        await crm_console.call(
            "GET", "/api/reports/staffing", "root", params=staffing | {"interval_minutes": "15"}
        )
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tiers": [{"from": "0", "rate": 1}]}, "tiers.0.rate"),  # a rate as a JSON number
        ({"tiers": [{"from": "0", "rate": "100.5"}]}, "tiers.0.rate"),  # above 100 %
        ({"tiers": [{"from": "0", "rate": "01"}]}, "tiers.0.rate"),  # not a canonical decimal
        ({"tiers": [{"from": 0, "rate": "1"}]}, "tiers.0.from"),  # a threshold as a JSON number
        ({"active": 0}, "active"),  # a number is not a boolean
        ({"effective_from": 0}, "effective_from"),  # nor a day
    ],
    ids=[
        "rate-number",
        "rate-above-100",
        "rate-leading-zero",
        "threshold-number",
        "active-number",
        "day-number",
    ],
)
async def test_rule_amounts_and_flags_are_exact(
    crm_console: CrmConsole, change: dict[str, Any], field: str
) -> None:
    body = RULE | {"product_key": "card"} | change
    refused(await crm_console.call("POST", f"{COMMISSION}/rules", "root", json=body), 422, field)


async def test_rule_and_share_schemas_state_their_bounds(crm_console: CrmConsole) -> None:
    schemas = (await _openapi(crm_console))["components"]["schemas"]
    tier = schemas["TierIn"]["properties"]
    assert re.fullmatch(tier["rate"]["pattern"], "100") and not re.fullmatch(
        tier["rate"]["pattern"], "100.01"
    )
    assert re.fullmatch(tier["from"]["pattern"], "0.50") and not re.fullmatch(tier["from"]["pattern"], "-1")
    share = schemas["SplitShare"]["properties"]["percent"]["pattern"]
    assert [
        p for p in ("0", "0.00", "0.01", "33.33", "100", "100.01", "50.555") if re.fullmatch(share, p)
    ] == [
        "0.01",
        "33.33",
        "100",
    ]
