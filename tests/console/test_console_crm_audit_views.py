"""Every view of customer data is audited: lists, searches and the agent desk, one row per request.

And who reads those rows: admins all of them, supervisors their teams' (as the README says), agents none.
"""

from __future__ import annotations

from typing import Any

from crm_harness import CrmConsole, ok, refused

from crm_core.models import AuditLog


async def _new_rows(console: CrmConsole, seen: int) -> list[AuditLog]:
    rows = await console.audit_rows(action="view")
    return rows[seen:]


async def _one_view(console: CrmConsole, login: str, path: str, **params: Any) -> tuple[Any, AuditLog]:
    """``GET path`` as ``login``; its body and the one audit row it wrote."""
    seen = len(await console.audit_rows(action="view"))
    body = ok(await console.call("GET", path, login, params=params))
    [row] = await _new_rows(console, seen)
    assert (row.actor_login, row.entity, row.entity_id, row.remote_addr) == (
        login,
        "customer",
        None,
        "127.0.0.1",
    )
    assert row.detail is not None
    return body, row


async def test_list_search_and_desk_each_write_one_row_naming_the_customers(crm_console: CrmConsole) -> None:
    zhang, li = crm_console.customer("zhang"), crm_console.customer("li")

    page, row = await _one_view(crm_console, "alice", "/api/crm/customers")
    shown = [c["id"] for c in page["items"]]
    assert zhang in shown and li not in shown  # alice's own customer, not bob's
    assert row.detail is not None
    assert (row.detail["view"], row.detail["customer_ids"], row.detail["total"]) == (
        "list",
        shown,
        page["total"],
    )

    page, row = await _one_view(
        crm_console, "alice", "/api/crm/customers", q="+86 138 0013 8000", status="owned"
    )
    assert [c["id"] for c in page["items"]] == [zhang]
    assert row.detail is not None
    assert (row.detail["view"], row.detail["customer_ids"]) == ("search", [zhang])
    assert row.detail["filters"] == {"q": "+86 138 0013 8000", "status": "owned"}

    page, row = await _one_view(crm_console, "sue", "/api/crm/customers", q="nobody at all")
    assert page["items"] == [] and row.detail is not None
    assert (row.detail["view"], row.detail["customer_ids"]) == (
        "search",
        [],
    )  # a search is audited, hit or not

    desk, row = await _one_view(crm_console, "bob", "/api/desk/customers")
    assert [c["id"] for c in desk["items"]] == [li]
    assert row.detail is not None
    assert (row.detail["view"], row.detail["customer_ids"], row.detail["total"]) == ("desk", [li], 1)


async def test_supervisors_read_their_teams_rows_and_agents_none(crm_console: CrmConsole) -> None:
    ok(await crm_console.call("GET", "/api/crm/customers", "alice"))  # North
    ok(await crm_console.call("GET", "/api/desk/customers", "carol"))  # South

    def views(page: dict[str, Any]) -> set[tuple[str, str]]:
        return {(e["actor_login"], e["detail"]["view"]) for e in page["items"] if e["action"] == "view"}

    north = ok(await crm_console.call("GET", "/api/crm/audit", "sue", params={"action": "view"}))
    assert views(north) == {("alice", "list")} and north["total"] == 1
    south = ok(await crm_console.call("GET", "/api/crm/audit", "sam", params={"action": "view"}))
    assert views(south) == {("carol", "desk")}
    everyone = ok(await crm_console.call("GET", "/api/crm/audit", "root", params={"action": "view"}))
    assert views(everyone) == {("alice", "list"), ("carol", "desk")}
    assert "supervisors and admins" in refused(await crm_console.call("GET", "/api/crm/audit", "alice"), 403)
