"""The console's HTTP side: login/session, agent state, page and OpenAPI."""

from __future__ import annotations

import asyncio
import re

from console_harness import Console, ConsoleFactory


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_returns_a_token_usable_on_the_api(console: Console) -> None:
    response = await console.http.post("/api/login", json={"login": "alice", "password": "alice-pw"})
    assert response.status_code == 200
    body = response.json()
    assert body["agent"] == {"login": "alice", "name": "Alice Wang", "role": "agent"}
    assert len(body["token"]) >= 40
    assert response.headers["cache-control"] == "no-store"

    me = await console.http.get("/api/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json()["agent"]["login"] == "alice"
    assert me.json()["token"] is None
    assert me.json()["expires_at"] > 0

    other = await console.login("alice")
    assert other != body["token"]  # each login gets its own random token


async def test_wrong_credentials_are_refused_with_a_message(console: Console) -> None:
    for login, password in [("alice", "nope"), ("mallory", "alice-pw")]:
        response = await console.http.post("/api/login", json={"login": login, "password": password})
        assert response.status_code == 401
        assert response.json() == {"detail": "wrong login or password"}


async def test_bad_login_body_is_422_without_echoing_the_password(console: Console) -> None:
    response = await console.http.post("/api/login", json={"login": "", "password": "s3cret-pin"})
    assert response.status_code == 422
    assert "login" in response.json()["detail"]
    assert "s3cret-pin" not in response.text

    response = await console.http.post(
        "/api/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


async def test_api_needs_a_live_token(console: Console) -> None:
    assert (await console.http.get("/api/me")).status_code == 401
    response = await console.http.get("/api/me", headers=bearer("forged"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "log in again" in response.json()["detail"]


async def test_expired_token_is_refused_and_cannot_be_renewed(make_console: ConsoleFactory) -> None:
    console = await make_console(session_ttl=0.05)
    token = await console.login("alice")
    await asyncio.sleep(0.1)  # let the session's lifetime pass: time is the point here
    assert (await console.http.get("/api/me", headers=bearer(token))).status_code == 401
    assert (await console.http.post("/api/session/renew", headers=bearer(token))).status_code == 401


async def test_renew_extends_and_logout_ends_the_session(console: Console) -> None:
    token = await console.login("bob")
    first = (await console.http.get("/api/me", headers=bearer(token))).json()["expires_at"]
    renewed = await console.http.post("/api/session/renew", headers=bearer(token))
    assert renewed.status_code == 200
    assert renewed.json()["token"] == token
    assert renewed.json()["expires_at"] >= first

    assert (await console.http.post("/api/logout", headers=bearer(token))).status_code == 204
    assert (await console.http.get("/api/me", headers=bearer(token))).status_code == 401


async def test_state_transitions_and_illegal_ones(console: Console) -> None:
    token = await console.login("alice")
    state = await console.http.get("/api/agent/state", headers=bearer(token))
    assert state.json()["state"] == "logged_out"

    # logged_out -> paused is not allowed by the ACD: 400 with its message
    response = await console.http.post(
        "/api/agent/state", json={"state": "paused", "reason": "lunch"}, headers=bearer(token)
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "cannot go from logged_out to paused"}

    ready = await console.http.post("/api/agent/state", json={"state": "available"}, headers=bearer(token))
    assert ready.status_code == 200
    assert ready.json()["state"] == "available"
    assert ready.json()["login"] == "alice"

    paused = await console.http.post(
        "/api/agent/state", json={"state": "paused", "reason": " lunch "}, headers=bearer(token)
    )
    assert paused.json()["state"] == "paused"
    assert paused.json()["reason"] == "lunch"
    assert (await console.http.get("/api/agent/state", headers=bearer(token))).json()["state"] == "paused"


async def test_bad_state_bodies_are_422_never_500(console: Console) -> None:
    token = await console.login("alice")
    for body in [
        {"state": "on_call"},  # only the ACD puts an agent on a call
        {"state": "dancing"},
        {"state": "paused"},  # a pause needs a reason
        {"state": "paused", "reason": "   "},
        {},
        ["available"],
    ]:
        response = await console.http.post("/api/agent/state", json=body, headers=bearer(token))
        assert response.status_code == 422, body
        assert isinstance(response.json()["detail"], str)


async def test_supervisor_without_acd_seat_gets_404_on_state(console: Console) -> None:
    token = await console.login("sue")
    response = await console.http.get("/api/agent/state", headers=bearer(token))
    assert response.status_code == 404
    assert response.json() == {"detail": "sue is not an ACD agent"}


async def test_custom_dispositions_are_listed_and_enforced(make_console: ConsoleFactory) -> None:
    console = await make_console(dispositions=["done", "callback"])
    token = await console.login("alice")
    response = await console.http.get("/api/dispositions", headers=bearer(token))
    assert response.json() == {"dispositions": ["done", "callback"]}


async def test_health(console: Console) -> None:
    response = await console.http.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_page_is_served_with_its_script_and_stylesheet(console: Console) -> None:
    page = await console.http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert 'src="/static/app.js"' in html
    assert 'href="/static/app.css"' in html
    assert "http://" not in html and "https://" not in html  # no external assets

    # app.js and every module it imports, transitively, are served as JavaScript
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        script = await console.http.get(f"/static/{name}")
        assert script.status_code == 200, name
        assert "javascript" in script.headers["content-type"]
        assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
        pending += [m for m in re.findall(r'from "\./([\w-]+\.js)"', script.text) if m not in seen]
    assert {"app.js", "pop.js", "dom.js"} <= seen

    style = await console.http.get("/static/app.css")
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")


async def test_openapi_lists_the_endpoints(console: Console) -> None:
    spec = (await console.http.get("/openapi.json")).json()
    paths = spec["paths"]
    for path, method in [
        ("/api/login", "post"),
        ("/api/logout", "post"),
        ("/api/me", "get"),
        ("/api/session/renew", "post"),
        ("/api/agent/state", "get"),
        ("/api/agent/state", "post"),
        ("/api/dispositions", "get"),
        ("/api/health", "get"),
    ]:
        assert method in paths[path], (path, method)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    # A call's wrap-up needs the CRM (PUT /api/calls/{call_id}/wrap-up, mounted with it): no notes route here.
    assert "/api/calls/{call_id}/note" not in paths
