"""CRM API, administration: parameters (admins change them) and the audit log (supervisors, admins)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_harness import CrmConsole, ok, refused


async def test_everyone_reads_parameters_only_admins_change_them(crm_console: CrmConsole) -> None:
    listed = ok(await crm_console.call("GET", "/api/crm/parameters", "alice"))
    keys = {p["key"] for p in listed}
    assert {"protection.daily_claim_cap", "followup.dispositions", "console.pause_reasons"} <= keys
    cap = ok(await crm_console.call("GET", "/api/crm/parameters/protection.daily_claim_cap", "bob"))
    assert (cap["value"], cap["default"], cap["is_default"]) == (10, 10, True)
    refused(await crm_console.call("GET", "/api/crm/parameters/no.such.key", "bob"), 404)

    change = {"value": 5, "reason": "pilot team"}
    path = "/api/crm/parameters/protection.daily_claim_cap"
    refused(await crm_console.call("PUT", path, "sue", json=change), 403)
    refused(await crm_console.call("PUT", path, "alice", json=change), 403)
    changed = ok(await crm_console.call("PUT", path, "root", json=change))
    assert (changed["value"], changed["is_default"], changed["updated_by"]) == (5, False, "root")
    assert ok(await crm_console.call("GET", path, "alice"))["value"] == 5

    for body, field in [
        ({"value": 0, "reason": "x"}, "protection.daily_claim_cap"),
        ({"value": "5", "reason": "x"}, "protection.daily_claim_cap"),
        ({"value": 5, "reason": ""}, "reason"),
        ({"reason": "x"}, "value"),
    ]:
        refused(await crm_console.call("PUT", path, "root", json=body), 422, field)
    refused(await crm_console.call("PUT", "/api/crm/parameters/made.up", "root", json=change), 404)

    history = ok(await crm_console.call("GET", f"{path}/history", "root"))
    assert [(h["old_value"], h["new_value"], h["reason"]) for h in history] == [(None, 5, "pilot team")]
    refused(await crm_console.call("GET", f"{path}/history", "sue"), 403)
    [row] = await crm_console.audit_rows(action="set-parameter")
    assert (row.actor_login, row.entity_id) == ("root", "protection.daily_claim_cap")


async def test_audit_log_for_supervisors_and_admins_only(crm_console: CrmConsole) -> None:
    zhang, wang = crm_console.customer("zhang"), crm_console.customer("wang")
    ok(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "alice"))
    ok(await crm_console.call("GET", f"/api/crm/customers/{wang}", "carol"))

    refused(await crm_console.call("GET", "/api/crm/audit", "alice"), 403)
    everything = ok(await crm_console.call("GET", "/api/crm/audit", "root", params={"action": "view"}))
    assert {(e["actor_login"], e["entity_id"]) for e in everything["items"]} == {
        ("alice", str(zhang)),
        ("carol", str(wang)),
    }
    north = ok(await crm_console.call("GET", "/api/crm/audit", "sue", params={"action": "view"}))
    assert [(e["actor_login"], e["entity_id"]) for e in north["items"]] == [("alice", str(zhang))]

    mine = ok(await crm_console.call("GET", "/api/crm/audit", "root", params={"actor": "alice", "limit": 1}))
    assert (mine["total"], len(mine["items"]), mine["limit"]) == (1, 1, 1)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert ok(await crm_console.call("GET", "/api/crm/audit", "root", params={"since": later}))["items"] == []
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"offset": -1}, "offset"),
        ({"since": "yesterday"}, "since"),
        ({"since": "0001-01-01T00:00:00+09:00"}, "since"),
        ({"entity": "x" * 40}, "entity"),
    ]:
        refused(await crm_console.call("GET", "/api/crm/audit", "root", params=params), 422, field)
