"""CRM API, customers: list, view (audited), create, change, phones and contacts, delete/restore/purge."""

from __future__ import annotations

from crm_harness import ZHANG_ACCOUNT, CrmConsole, ok, refused


async def test_without_a_live_token_every_crm_route_is_401(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    for method, path in [
        ("GET", "/api/crm/customers"),
        ("GET", f"/api/crm/customers/{zhang}"),
        ("POST", f"/api/crm/customers/{zhang}/claim"),
        ("GET", "/api/crm/contracts"),
        ("GET", "/api/crm/audit"),
    ]:
        response = await crm_console.call(method, path, None)
        assert refused(response, 401) == "log in first"
        assert response.headers["www-authenticate"] == "Bearer"
    forged = await crm_console.http.get("/api/crm/customers", headers={"Authorization": "Bearer forged"})
    assert "log in again" in refused(forged, 401)


async def test_each_role_lists_the_customers_it_may_see(crm_console: CrmConsole) -> None:
    def names(body: dict[str, object]) -> set[str]:
        return {item["name"] for item in body["items"]}  # type: ignore[attr-defined, index]

    alice = ok(await crm_console.call("GET", "/api/crm/customers", "alice"))
    assert names(alice) == {"Zhang Wei", "Chen Jie"}  # her own and the public pool
    assert alice["total"] == 2
    sue = ok(await crm_console.call("GET", "/api/crm/customers", "sue"))
    assert names(sue) == {"Zhang Wei", "Li Na", "Chen Jie"}  # North's customers and the pool
    root = ok(await crm_console.call("GET", "/api/crm/customers", "root"))
    assert names(root) == {"Zhang Wei", "Li Na", "Wang Fang", "Chen Jie"}

    mine = ok(await crm_console.call("GET", "/api/crm/customers", "alice", params={"mine": "true"}))
    assert names(mine) == {"Zhang Wei"}
    pool = ok(await crm_console.call("GET", "/api/crm/customers", "root", params={"status": "public"}))
    assert names(pool) == {"Chen Jie"}
    by_owner = ok(await crm_console.call("GET", "/api/crm/customers", "root", params={"owner": "bob"}))
    assert names(by_owner) == {"Li Na"}
    by_phone = ok(await crm_console.call("GET", "/api/crm/customers", "root", params={"q": "138 0013 8000"}))
    assert names(by_phone) == {"Zhang Wei"}
    by_last4 = ok(
        await crm_console.call("GET", "/api/crm/customers", "root", params={"q": ZHANG_ACCOUNT[-4:]})
    )
    assert names(by_last4) == {"Zhang Wei"}
    paged = ok(
        await crm_console.call("GET", "/api/crm/customers", "root", params={"page_size": 1, "page": 2})
    )
    assert (len(paged["items"]), paged["total"], paged["page"]) == (1, 4, 2)


async def test_bad_list_filters_are_422_naming_the_field(crm_console: CrmConsole) -> None:
    for params, field in [
        ({"status": "gone"}, "status"),
        ({"page_size": 500}, "page_size"),
        ({"page": 0}, "page"),
        ({"deal_status": "maybe"}, "deal_status"),
        ({"q": "x" * 201}, "q"),
        ({"q": "zh\x00ang"}, "q"),
        ({"mine": "perhaps"}, "mine"),
    ]:
        response = await crm_console.call("GET", "/api/crm/customers", "alice", params=params)
        refused(response, 422, field)
        assert "\x00" not in response.text


async def test_a_view_is_masked_and_audited_and_invisible_records_are_404(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    detail = ok(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "alice"))
    assert detail["access"] == "write" and not detail["limited"]
    assert detail["accounts"][0]["masked_number"] == "**** " + ZHANG_ACCOUNT[-4:]
    assert detail["accounts"][0]["balance"] == "1520.50"  # money as an exact string
    assert detail["id_number_masked"].endswith("7351") and detail["id_number_masked"].startswith("****")
    [row] = await crm_console.audit_rows(action="view", entity_id=str(zhang))
    assert (row.actor_login, row.entity, row.remote_addr) == ("alice", "customer", "127.0.0.1")

    # bob's and carol's records exist but are not alice's to see (403); a made-up id does not exist (404)
    for key in ("li", "wang"):
        detail = refused(
            await crm_console.call("GET", f"/api/crm/customers/{crm_console.customer(key)}", "alice"), 403
        )
        assert detail == "you may not see this customer"
    missing = refused(await crm_console.call("GET", "/api/crm/customers/999999", "alice"), 404)
    assert missing == "no customer 999999"
    refused(await crm_console.call("GET", "/api/crm/customers/0", "alice"), 422, "customer_id")
    refused(await crm_console.call("GET", "/api/crm/customers/99999999999", "alice"), 422, "customer_id")

    # the pool is visible to everyone, in limited form to agents
    pool = ok(await crm_console.call("GET", f"/api/crm/customers/{crm_console.customer('pool')}", "bob"))
    assert pool["limited"] and pool["access"] == "read"
    assert pool["phones"][0]["raw"] is None and pool["phones"][0]["e164"].startswith("*")
    # the supervisor of alice's team may change her customer; the other supervisor cannot see it
    assert ok(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "sue"))["access"] == "write"
    refused(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "sam"), 403)


async def test_create_an_agents_customer_and_the_rules_around_owners(crm_console: CrmConsole) -> None:
    body = {"name": "  Zhou Min ", "phones": [{"number": "139 1234 5678"}], "source": "walk-in"}
    created = ok(await crm_console.call("POST", "/api/crm/customers", "bob", json=body), 201)
    assert (created["name"], created["owner_login"], created["status"]) == ("Zhou Min", "bob", "owned")
    assert created["phones"][0]["e164"] == "+8613912345678" and created["phones"][0]["is_primary"]

    other = {"name": "X", "owner_login": "alice"}
    refused(await crm_console.call("POST", "/api/crm/customers", "bob", json=other), 403)
    assigned = ok(await crm_console.call("POST", "/api/crm/customers", "sue", json=other), 201)
    assert assigned["owner_login"] == "alice"
    refused(
        await crm_console.call(
            "POST", "/api/crm/customers", "sue", json={"name": "Y", "owner_login": "carol"}
        ),
        403,
    )
    pooled = ok(
        await crm_console.call("POST", "/api/crm/customers", "root", json={"name": "Z", "status": "public"}),
        201,
    )
    assert pooled["status"] == "public" and pooled["owner_login"] is None


async def test_bad_or_duplicate_customers_are_refused_with_the_field_named(crm_console: CrmConsole) -> None:
    cases = [
        ({"name": ""}, "name"),
        ({"name": "A", "kind": "robot"}, "kind"),
        ({"name": "A", "phones": [{"number": "12"}]}, "phones[0].number"),
        ({"name": "A", "id_number": "12"}, "id_number"),
        ({"name": "A", "favourite": "blue"}, "favourite"),
        ({"name": "A\x00B"}, "name"),
        ({"name": "A", "contacts": [{"name": "Mr \ud800"}]}, "contacts.0.name"),
    ]
    for body, field in cases:
        response = await crm_console.call("POST", "/api/crm/customers", "alice", json=body)
        refused(response, 422, field)
    bad_json = await crm_console.http.post(
        "/api/crm/customers",
        content=b'{"name": ',
        headers={
            "Authorization": f"Bearer {await crm_console.token('alice')}",
            "Content-Type": "application/json",
        },
    )
    refused(bad_json, 422, "body")
    duplicate = {"name": "Twin", "id_number": "110101199003077351"}
    assert "already on file" in refused(
        await crm_console.call("POST", "/api/crm/customers", "alice", json=duplicate), 409
    )
    # the ID number typed in is never echoed, not even in an error
    response = await crm_console.call(
        "POST", "/api/crm/customers", "alice", json={"name": "A", "id_number": "99-!"}
    )
    assert "99-!" not in response.text


async def test_update_needs_write_rights(crm_console: CrmConsole) -> None:
    zhang, pool = crm_console.customer("zhang"), crm_console.customer("pool")
    changed = ok(
        await crm_console.call("PATCH", f"/api/crm/customers/{zhang}", "alice", json={"tier": "vip"})
    )
    assert changed["tier"] == "vip"
    refused(await crm_console.call("PATCH", f"/api/crm/customers/{pool}", "alice", json={"tier": "vip"}), 403)
    refused(await crm_console.call("PATCH", f"/api/crm/customers/{zhang}", "bob", json={"tier": "x"}), 403)
    refused(
        await crm_console.call("PATCH", f"/api/crm/customers/{zhang}", "alice", json={"name": None}),
        422,
        "name",
    )
    [row] = await crm_console.audit_rows(action="update", entity_id=str(zhang))
    assert row.detail == {"changes": {"tier": ["gold", "vip"]}}


async def test_phones_and_contacts_are_added_and_removed(crm_console: CrmConsole) -> None:
    zhang = crm_console.customer("zhang")
    base = f"/api/crm/customers/{zhang}"
    phone = ok(
        await crm_console.call(
            "POST", f"{base}/phones", "alice", json={"number": "010 6552 9988", "type": "landline"}
        ),
        201,
    )
    assert phone["e164"] == "+861065529988" and not phone["is_primary"]
    refused(
        await crm_console.call("POST", f"{base}/phones", "alice", json={"number": "not a phone"}),
        422,
        "number",
    )
    contact = ok(
        await crm_console.call(
            "POST", f"{base}/contacts", "alice", json={"name": "Liu Yang", "email": "liu@example.cn"}
        ),
        201,
    )
    detail = ok(await crm_console.call("GET", base, "alice"))
    assert {p["id"] for p in detail["phones"]} >= {phone["id"]}
    assert [c["name"] for c in detail["contacts"]] == ["Liu Yang"]

    ok(await crm_console.call("DELETE", f"{base}/phones/{phone['id']}", "alice"), 204)
    refused(await crm_console.call("DELETE", f"{base}/phones/{phone['id']}", "alice"), 404)
    refused(await crm_console.call("DELETE", f"{base}/contacts/{contact['id']}", "bob"), 403)
    ok(await crm_console.call("DELETE", f"{base}/contacts/{contact['id']}", "alice"), 204)
    assert ok(await crm_console.call("GET", base, "alice"))["contacts"] == []


async def test_delete_restore_and_purge_through_the_recycle_bin(crm_console: CrmConsole) -> None:
    zhang, li = crm_console.customer("zhang"), crm_console.customer("li")
    entry = ok(await crm_console.call("DELETE", f"/api/crm/customers/{zhang}", "alice"))
    assert entry["id"] == zhang and entry["deleted_by_login"] == "alice"
    refused(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "alice"), 404)
    assert ok(await crm_console.call("GET", f"/api/crm/customers/{zhang}", "root"))["deleted_at"] is not None
    listed = ok(await crm_console.call("GET", "/api/crm/recycle-bin", "alice"))
    assert [e["id"] for e in listed["items"]] == [zhang]
    assert ok(await crm_console.call("GET", "/api/crm/recycle-bin", "bob"))["items"] == []

    restored = ok(await crm_console.call("POST", f"/api/crm/recycle-bin/{zhang}/restore", "alice"))
    assert restored["id"] == zhang
    refused(await crm_console.call("POST", f"/api/crm/recycle-bin/{zhang}/restore", "root"), 409)

    ok(await crm_console.call("DELETE", f"/api/crm/customers/{li}", "sue"))  # bob's supervisor
    refused(await crm_console.call("DELETE", f"/api/crm/recycle-bin/{li}", "sue"), 403)  # purge: admins only
    refused(await crm_console.call("DELETE", f"/api/crm/recycle-bin/{zhang}", "root"), 409)  # not in the bin
    ok(await crm_console.call("DELETE", f"/api/crm/recycle-bin/{li}", "root"), 204)
    refused(await crm_console.call("GET", f"/api/crm/customers/{li}", "root"), 404)
    [purge] = await crm_console.audit_rows(action="purge")
    assert purge.entity_id == str(li) and purge.actor_login == "root"


async def test_bodies_the_database_or_parser_cannot_take_are_422_naming_body(crm_console: CrmConsole) -> None:
    headers = {
        "Authorization": f"Bearer {await crm_console.token('alice')}",
        "Content-Type": "application/json",
    }
    for content, fragment in [
        (b'{"name": "\xff\xfe"}', "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
    ]:
        response = await crm_console.http.post("/api/crm/customers", content=content, headers=headers)
        assert fragment in refused(response, 422, "body")
    # the console's own routes are guarded too: a NUL in a login never reaches the database
    login = await crm_console.http.post("/api/login", json={"login": "ali\x00ce", "password": "x"})
    refused(login, 422, "login")
