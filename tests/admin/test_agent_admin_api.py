"""``/api/admin/agents`` over the real console app and database: admins only, checked, audited, 409/422."""

from __future__ import annotations

import json

from admin_harness import AdminConsole

NEW = {
    "login": "bob",
    "name": "Bob Builder",
    "extension": "1002",
    "device": "pjsip/1002",
    "team": "North",
    "queues": ["general", "cards"],
    "skills": {"cards": 4, "wealth": 2},
}


async def test_an_admin_adds_an_agent_who_logs_in_with_the_password_shown_once(
    admin_console: AdminConsole,
) -> None:
    created = await admin_console.call("POST", "/api/admin/agents", "root", json=NEW)
    assert created.status_code == 201, created.text
    body = created.json()
    agent, password = body["agent"], body["password"]
    assert agent["device"] == "PJSIP/1002"  # the technology as Asterisk spells its channels
    assert (agent["team"], agent["queues"], agent["skills"], agent["active"]) == (
        "North",
        ["general", "cards"],
        {"cards": 4, "wealth": 2},
        True,
    )
    assert password and len(password) >= 12
    assert (await admin_console.login("bob", password)).status_code == 200
    shown = await admin_console.call("GET", "/api/admin/agents/bob", "root")
    assert shown.status_code == 200 and "password" not in shown.json()
    listed = await admin_console.call("GET", "/api/admin/agents", "root")
    assert [a["login"] for a in listed.json()] == ["ann", "bob", "root", "sue"]
    rows = await admin_console.audit_rows()
    assert [(r.action, r.entity_id, r.actor_login) for r in rows] == [("create", "bob", "root")]
    assert rows[0].detail is not None and rows[0].detail["after"]["device"] == "PJSIP/1002"
    assert password not in json.dumps(rows[0].detail) and "scrypt" not in json.dumps(rows[0].detail)
    assert [r.entity for r in await admin_console.audit_rows("team")] == ["team"]  # North was created


async def test_only_admins_manage_accounts_even_with_a_bad_body(admin_console: AdminConsole) -> None:
    for login in ("sue", "ann"):
        assert (await admin_console.call("GET", "/api/admin/agents", login)).status_code == 403
        bad = await admin_console.call("POST", "/api/admin/agents", login, json={"login": 5})
        assert bad.status_code == 403, bad.text
        assert (await admin_console.call("POST", "/api/admin/agents", login, json=NEW)).status_code == 403
        assert (await admin_console.call("POST", "/api/admin/agents/ann/disable", login)).status_code == 403
        patch = await admin_console.call("PATCH", "/api/admin/agents/ann", login, json={"role": "admin"})
        assert patch.status_code == 403
    assert await admin_console.agent_count() == 3
    assert await admin_console.audit_rows() == []


async def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(admin_console: AdminConsole) -> None:
    cases = [
        ({**NEW, "device": "PJSIP 1002"}, "device"),
        ({**NEW, "device": "Local/1002"}, "device"),  # a Local device names extension@context
        ({**NEW, "device": "PJSIP/1002&PJSIP/1003"}, "device"),
        ({**NEW, "device": "XMPP/1002"}, "device"),
        ({**NEW, "skills": {"cards": 7}}, "skills"),
        ({**NEW, "role": "owner"}, "role"),
        ({**NEW, "login": "bob smith"}, "login"),
        ({**NEW, "extension": "10a2"}, "extension"),
        ({**NEW, "password": "short1"}, "password"),
        ({**NEW, "password": "onlyletters"}, "password"),
        ({**NEW, "supervises": ["North"]}, "supervises"),  # only a supervisor supervises
    ]
    for body, field in cases:
        answer = await admin_console.call("POST", "/api/admin/agents", "root", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == field, (body, answer.json())
    patch = await admin_console.call("PATCH", "/api/admin/agents/ann", "root", json={"skills": {"x": 0}})
    assert patch.status_code == 422 and patch.json()["field"] == "skills"
    assert await admin_console.agent_count() == 3
    assert await admin_console.audit_rows() == []
    ann = (await admin_console.call("GET", "/api/admin/agents/ann", "root")).json()
    assert ann["skills"] == {}


async def test_a_taken_login_is_a_409_in_any_letter_case(admin_console: AdminConsole) -> None:
    for login in ("ann", "ANN"):
        answer = await admin_console.call("POST", "/api/admin/agents", "root", json={**NEW, "login": login})
        assert answer.status_code == 409, answer.text
    assert await admin_console.agent_count() == 3


async def test_changes_are_audited_with_before_and_after(admin_console: AdminConsole) -> None:
    change = {"device": "SIP/3003", "queues": ["general", "loans"], "skills": {"loans": 3}, "team": "South"}
    saved = await admin_console.call("PATCH", "/api/admin/agents/ann", "root", json=change)
    assert saved.status_code == 200, saved.text
    assert saved.json()["agent"]["device"] == "SIP/3003"
    (row,) = await admin_console.audit_rows()
    assert row.action == "update" and row.detail is not None
    assert (row.detail["before"]["device"], row.detail["after"]["device"]) == (
        "Local/3003@agents",
        "SIP/3003",
    )
    assert row.detail["before"]["team"] is None and row.detail["after"]["team"] == "South"
    supervise = await admin_console.call(
        "PATCH", "/api/admin/agents/sue", "root", json={"supervises": ["South", "North"]}
    )
    assert supervise.json()["agent"]["supervises"] == ["North", "South"]


async def test_a_disabled_agent_is_logged_out_cannot_log_in_and_keeps_the_history(
    admin_console: AdminConsole,
) -> None:
    token = await admin_console.token("ann")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await admin_console.http.get("/api/me", headers=headers)).status_code == 200
    disabled = await admin_console.call("POST", "/api/admin/agents/ann/disable", "root")
    assert disabled.status_code == 200 and disabled.json()["agent"]["active"] is False
    assert (await admin_console.http.get("/api/me", headers=headers)).status_code == 401
    assert (await admin_console.login("ann")).status_code == 401
    listed = await admin_console.call("GET", "/api/admin/agents", "root")
    assert {a["login"]: a["active"] for a in listed.json()}["ann"] is False  # never deleted
    (row,) = await admin_console.audit_rows()
    assert row.detail == {"before": {"active": True}, "after": {"active": False}}
    enabled = await admin_console.call("POST", "/api/admin/agents/ann/enable", "root")
    assert enabled.json()["agent"]["active"] is True
    assert (await admin_console.login("ann")).status_code == 200


async def test_an_admin_keeps_the_last_admin_and_their_own_account(admin_console: AdminConsole) -> None:
    own = await admin_console.call("POST", "/api/admin/agents/root/disable", "root")
    assert own.status_code == 409
    demote = await admin_console.call("PATCH", "/api/admin/agents/root", "root", json={"role": "agent"})
    assert demote.status_code == 409, demote.text
    assert (await admin_console.login("root")).status_code == 200


async def test_a_password_reset_ends_the_sessions_and_only_the_new_password_works(
    admin_console: AdminConsole,
) -> None:
    old_token = await admin_console.token("ann")
    path = "/api/admin/agents/ann/password"
    weak = await admin_console.call("POST", path, "root", json={"password": "abc"})
    assert weak.status_code == 422 and weak.json()["field"] == "password"
    assert (await admin_console.login("ann")).status_code == 200  # unchanged by the refused reset
    reset = await admin_console.call("POST", "/api/admin/agents/ann/password", "root", json={})
    assert reset.status_code == 200, reset.text
    generated = reset.json()["password"]
    me = await admin_console.http.get("/api/me", headers={"Authorization": f"Bearer {old_token}"})
    assert me.status_code == 401
    assert (await admin_console.login("ann")).status_code == 401
    assert (await admin_console.login("ann", generated)).status_code == 200
    chosen = await admin_console.call(
        "POST", "/api/admin/agents/ann/password", "root", json={"password": "N3w-secret"}
    )
    assert chosen.status_code == 200 and chosen.json()["password"] is None
    assert (await admin_console.login("ann", "N3w-secret")).status_code == 200
    rows = await admin_console.audit_rows()
    assert [r.detail for r in rows] == [
        {"credential": "new password generated"},
        {"credential": "new password set by the admin"},
    ]
    assert generated not in json.dumps([r.detail for r in rows])


CSV_BAD = (
    "login,name,extension,device,queues,skills\n"
    "carl,Carl,1005,PJSIP/1005,general,cards:4\n"
    "dora,Dora,10x6,PJSIP/1006,general,cards:9\n"
    "\n"
    "ann,Ann Again,1007,PJSIP/1007,general,\n"
    "Carl,Carl Twice,1008,SIP 1008,general,\n"
)
CSV_GOOD = (
    "login;name;extension;device;role;team;queues;skills;password\n"
    "carl;Carl;1005;PJSIP/1005;agent;North;general cards;cards:4 wealth:1;\n"
    "dora;Dora;1006;Local/1006@agents;supervisor;;general;;D0ra-secret\n"
)


async def test_a_csv_import_is_all_or_nothing_with_every_problem_by_line_and_field(
    admin_console: AdminConsole,
) -> None:
    refused = await admin_console.call("POST", "/api/admin/agents/import", "root", json={"csv": CSV_BAD})
    assert refused.status_code == 422, refused.text
    problems = [(p["line"], p["field"]) for p in refused.json()["problems"]]
    assert problems == [(3, "extension"), (3, "skills"), (5, "login"), (6, "device"), (6, "login")]
    assert await admin_console.agent_count() == 3
    assert await admin_console.audit_rows() == []
    unreadable = await admin_console.call(
        "POST", "/api/admin/agents/import", "root", json={"csv": "a,b\n1,2\n"}
    )
    assert unreadable.status_code == 422 and unreadable.json()["field"] == "csv"
    done = await admin_console.call("POST", "/api/admin/agents/import", "root", json={"csv": CSV_GOOD})
    assert done.status_code == 200, done.text
    result = done.json()
    assert (result["imported"], result["committed"], result["logins"]) == (2, True, ["carl", "dora"])
    ((login, password),) = result["passwords"]  # carl had none: generated, shown once
    assert login == "carl" and (await admin_console.login("carl", password)).status_code == 200
    assert (await admin_console.login("dora", "D0ra-secret")).status_code == 200
    actions = [(r.action, r.entity_id) for r in await admin_console.audit_rows()]
    assert actions == [("create", "carl"), ("create", "dora"), ("import", None)]
