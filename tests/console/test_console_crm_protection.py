"""CRM API, protection and sharing: claim, release, assign, transfer, lock; grants and their rights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_harness import CrmConsole, ok, refused


async def test_claim_from_the_pool_then_release_it(crm_console: CrmConsole) -> None:
    pool = crm_console.customer("pool")
    claimed = ok(await crm_console.call("POST", f"/api/crm/customers/{pool}/claim", "alice"))
    assert (claimed["status"], claimed["owner_login"]) == ("owned", "alice")
    assert "already" not in refused(
        await crm_console.call("POST", f"/api/crm/customers/{pool}/claim", "bob"), 403
    )
    refused(await crm_console.call("POST", f"/api/crm/customers/{pool}/claim", "alice"), 409)
    assert ok(await crm_console.call("GET", f"/api/crm/customers/{pool}", "alice"))["access"] == "write"

    refused(
        await crm_console.call("POST", f"/api/crm/customers/{pool}/release", "alice", json={}), 422, "reason"
    )
    refused(
        await crm_console.call("POST", f"/api/crm/customers/{pool}/release", "alice", json={"reason": "  "}),
        422,
        "reason",
    )
    released = ok(
        await crm_console.call(
            "POST", f"/api/crm/customers/{pool}/release", "alice", json={"reason": "moved abroad"}
        )
    )
    assert released["status"] == "public" and released["previous_owner_id"] is not None
    # the previous owner is barred from claiming it back for a while
    assert "released" in refused(
        await crm_console.call("POST", f"/api/crm/customers/{pool}/claim", "alice"), 409
    )

    history = ok(await crm_console.call("GET", f"/api/crm/customers/{pool}/ownership/history", "root"))
    assert [h["action"] for h in history] == ["claim", "release"]
    assert history[1]["reason"] == "moved abroad"
    claims = await crm_console.audit_rows(action="claim")
    assert [r.actor_login for r in claims] == ["alice"]


async def test_the_daily_claim_cap_is_a_409(crm_console: CrmConsole) -> None:
    ok(
        await crm_console.call(
            "PUT",
            "/api/crm/parameters/protection.daily_claim_cap",
            "root",
            json={"value": 1, "reason": "pilot"},
        )
    )
    first = ok(
        await crm_console.call("POST", "/api/crm/customers", "root", json={"name": "P1", "status": "public"}),
        201,
    )
    second = ok(
        await crm_console.call("POST", "/api/crm/customers", "root", json={"name": "P2", "status": "public"}),
        201,
    )
    ok(await crm_console.call("POST", f"/api/crm/customers/{first['id']}/claim", "bob"))
    assert "claim" in refused(
        await crm_console.call("POST", f"/api/crm/customers/{second['id']}/claim", "bob"), 409
    )


async def test_supervisors_assign_and_transfer_within_their_teams(crm_console: CrmConsole) -> None:
    pool, zhang = crm_console.customer("pool"), crm_console.customer("zhang")
    hand_over = {"to_login": "bob", "reason": "language"}
    refused(await crm_console.call("POST", f"/api/crm/customers/{pool}/assign", "alice", json=hand_over), 403)
    refused(await crm_console.call("POST", f"/api/crm/customers/{pool}/assign", "sam", json=hand_over), 403)
    assigned = ok(await crm_console.call("POST", f"/api/crm/customers/{pool}/assign", "sue", json=hand_over))
    assert assigned["owner_login"] == "bob"
    refused(await crm_console.call("POST", f"/api/crm/customers/{pool}/assign", "sue", json=hand_over), 409)

    moved = ok(await crm_console.call("POST", f"/api/crm/customers/{zhang}/transfer", "sue", json=hand_over))
    assert moved["owner_login"] == "bob"
    to_carol = {"to_login": "carol", "reason": "region"}
    refused(await crm_console.call("POST", f"/api/crm/customers/{zhang}/transfer", "sue", json=to_carol), 403)
    ok(await crm_console.call("POST", f"/api/crm/customers/{zhang}/transfer", "root", json=to_carol))
    nobody = {"to_login": "mallory", "reason": "x"}
    refused(
        await crm_console.call("POST", f"/api/crm/customers/{zhang}/transfer", "root", json=nobody),
        422,
        "to_login",
    )
    refused(
        await crm_console.call("POST", f"/api/crm/customers/{zhang}/transfer", "root", json={"reason": "x"}),
        422,
        "to_login",
    )


async def test_lock_and_unlock_with_an_optional_reason(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    locked = ok(
        await crm_console.call("POST", f"/api/crm/customers/{zhang}/lock", "alice", json={"reason": "VIP"})
    )
    assert locked["status"] == "locked"
    refused(await crm_console.call("POST", f"/api/crm/customers/{zhang}/lock", "alice"), 409)
    refused(
        await crm_console.call("POST", f"/api/crm/customers/{zhang}/release", "alice", json={"reason": "x"}),
        409,
    )
    refused(await crm_console.call("POST", f"/api/crm/customers/{zhang}/unlock", "bob"), 403)
    assert (
        ok(await crm_console.call("POST", f"/api/crm/customers/{zhang}/unlock", "alice"))["status"] == "owned"
    )
    ownership = ok(await crm_console.call("GET", f"/api/crm/customers/{zhang}/ownership", "sue"))
    assert (ownership["owner_login"], ownership["status"]) == ("alice", "owned")


async def test_share_read_only_then_read_write_then_revoke(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    grants = f"/api/crm/customers/{zhang}/grants"
    refused(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "bob"), 403)

    grant = ok(await crm_console.call("POST", grants, "alice", json={"user_login": "bob"}), 201)
    assert (grant["access"], grant["grantee_login"], grant["active"]) == ("read", "bob", True)
    assert ok(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "bob"))["access"] == "read"
    refused(await crm_console.call("PATCH", f"/api/crm/customers/{zhang}", "bob", json={"tier": "vip"}), 403)
    refused(
        await crm_console.call("POST", grants, "bob", json={"user_login": "carol"}), 403
    )  # only the owner shares
    refused(await crm_console.call("GET", grants, "bob"), 403)

    ok(await crm_console.call("POST", grants, "alice", json={"user_login": "bob", "access": "write"}), 201)
    ok(await crm_console.call("PATCH", f"/api/crm/customers/{zhang}", "bob", json={"tier": "vip"}))
    listed = ok(await crm_console.call("GET", grants, "sue"))  # alice's supervisor manages her grants
    assert [(g["grantee_login"], g["access"]) for g in listed] == [("bob", "write")]
    assert len(ok(await crm_console.call("GET", grants, "alice", params={"include_inactive": "true"}))) == 2

    revoked = ok(await crm_console.call("DELETE", f"/api/crm/grants/{listed[0]['id']}", "alice"))
    assert revoked["revoked_at"] is not None and not revoked["active"]
    refused(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "bob"), 403)
    refused(await crm_console.call("DELETE", "/api/crm/grants/999999", "alice"), 404)
    assert [r.action for r in await crm_console.audit_rows(entity="grant")] == ["share", "share", "unshare"]


async def test_team_grants_and_bad_grants(crm_console: CrmConsole) -> None:
    li = crm_console.customer("li")
    grants = f"/api/crm/customers/{li}/grants"
    south = crm_console.office.team_ids["South"]
    ok(await crm_console.call("POST", grants, "bob", json={"team_id": south, "access": "write"}), 201)
    assert ok(await crm_console.call("GET", f"/api/crm/customers/{li}", "carol"))["access"] == "write"

    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for body, field in [
        ({}, "grantee"),
        ({"user_login": "alice", "team_id": south}, "grantee"),
        ({"user_login": "nobody"}, "user_login"),
        ({"user_login": "bob"}, "user_login"),  # the owner
        ({"team_id": 424242}, "team_id"),
        ({"user_login": "alice", "access": "admin"}, "access"),
        ({"user_login": "alice", "expires_at": past}, "expires_at"),
        ({"user_login": "alice", "expires_at": "0001-01-01T00:00:00+05:00"}, "expires_at"),
        ({"user_login": "alice", "expires_at": "soon"}, "expires_at"),
    ]:
        refused(await crm_console.call("POST", grants, "bob", json=body), 422, field)
    pool = crm_console.customer("pool")
    refused(
        await crm_console.call(
            "POST", f"/api/crm/customers/{pool}/grants", "root", json={"user_login": "bob"}
        ),
        409,
    )
