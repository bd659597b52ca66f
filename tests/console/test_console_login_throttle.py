"""Brute-force protection of POST /api/login over real HTTP, on SQLite and PostgreSQL.

Clients connect from different loopback addresses (127.0.0.1, 127.0.0.2, …:
Linux routes all of 127/8 to the host), so the throttle sees each one's own
socket address.  The tests run with short delays (:data:`POLICY`) so that a
lock ends within seconds; the defaults are checked in
``tests/crm/test_crm_login_throttle.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from console_harness import WAIT, MemoryBus, MemoryControl
from crm_harness import CrmConsole, CrmConsoleFactory, ok, refused

from agent_console.app import create_app
from agent_console.server import start_console
from crm_core.contact_center.agents import AgentDirectory
from crm_core.contact_center.throttle import LoginThrottle, ThrottlePolicy, ThrottleRule

#: Five guesses per (login, address), then 3 s; a login from everywhere: 8 failures, then 1 s doubling to 2 s.
POLICY = ThrottlePolicy(
    pair=ThrottleRule(threshold=5, first_delay=3.0, max_delay=3.0),
    address=ThrottleRule(threshold=1000, first_delay=1.0, max_delay=1.0),
    login=ThrottleRule(threshold=8, first_delay=1.0, max_delay=2.0),
)
ATTACKER, AGENT_DESK, BOTNET = "127.0.0.1", "127.0.0.2", ("127.0.0.3", "127.0.0.4")


@asynccontextmanager
async def client_from(console: CrmConsole, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose connections leave from ``address``."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=console.server.url, transport=transport, timeout=WAIT) as http:
        yield http


async def login(http: httpx.AsyncClient, password: str, user: str = "alice") -> httpx.Response:
    return await http.post("/api/login", json={"login": user, "password": password})


async def throttled_console(make: CrmConsoleFactory) -> CrmConsole:
    console = await make()
    assert console.services.logins is not None
    console.services.logins.policy = POLICY
    return console


async def until_admitted(send: Callable[[], object], retry_after: int) -> tuple[httpx.Response, float, int]:
    """Repeat ``send`` every 0.2 s until it is not 429; (response, seconds waited, 429s met) — bounded."""
    started, refusals = time.monotonic(), 0
    async with asyncio.timeout(retry_after + WAIT):
        while True:
            response = await send()  # type: ignore[misc]
            assert isinstance(response, httpx.Response)
            if response.status_code != 429:
                return response, time.monotonic() - started, refusals
            refusals += 1
            assert 1 <= int(response.headers["Retry-After"]) <= retry_after
            await asyncio.sleep(0.2)


async def test_fifty_wrong_passwords_then_the_right_one_waits_for_the_delay(
    make_crm_console: CrmConsoleFactory,
) -> None:
    console = await throttled_console(make_crm_console)
    async with client_from(console, ATTACKER) as attacker:
        answers = [(await login(attacker, f"guess-{n}")).status_code for n in range(50)]
        assert answers == [401] * 5 + [429] * 45  # five checks, then refused without a check

        right = await login(attacker, "alice-pw")
        detail = refused(right, 429)
        wait = int(right.headers["Retry-After"])
        assert 1 <= wait <= 3 and f"{wait} s" in detail
        # Refused attempts do not extend the lock: the right password is taken once it ends.
        admitted, waited, refusals = await until_admitted(lambda: login(attacker, "alice-pw"), wait)
        assert ok(admitted)["agent"]["login"] == "alice"
        assert waited >= wait - 1.5 and refusals >= 1

    [locked] = await console.audit_rows(action="login-locked")
    assert (locked.entity, locked.entity_id, locked.remote_addr) == ("login", "alice", ATTACKER)
    assert locked.detail is not None and (locked.detail["scope"], locked.detail["failures"]) == ("pair", 5)
    throttled = await console.audit_rows(action="login-throttled")
    assert len(throttled) == 45 + 1 + refusals  # every refused attempt, none more
    assert {(r.entity_id, r.remote_addr) for r in throttled} == {("alice", ATTACKER)}


async def test_the_agent_at_another_desk_is_not_locked_out(make_crm_console: CrmConsoleFactory) -> None:
    console = await throttled_console(make_crm_console)
    async with client_from(console, ATTACKER) as attacker:
        for n in range(50):
            await login(attacker, f"guess-{n}")
        refused(await login(attacker, "alice-pw"), 429)
    async with client_from(console, AGENT_DESK) as desk:
        first = await login(desk, "alice-pw")
        assert ok(first)["agent"]["login"] == "alice"  # at once: the attacker's lock is not hers
        # A botnet guessing from many addresses brings the login's own count past its threshold:
        # the agent then waits, but never longer than the login rule's cap (2 s here).
        for address in BOTNET:
            async with client_from(console, address) as bot:
                for n in range(4):
                    refused(await login(bot, f"bot-{n}"), 401)
        waiting = await login(desk, "alice-pw")
        refused(waiting, 429)
        wait = int(waiting.headers["Retry-After"])
        assert 1 <= wait <= POLICY.login.max_delay
        admitted, _, _ = await until_admitted(lambda: login(desk, "alice-pw"), wait)
        assert ok(admitted)["agent"]["login"] == "alice"
    scopes = {r.detail["scope"] for r in await console.audit_rows(action="login-locked") if r.detail}
    assert scopes == {"pair", "login"}


async def test_guesses_sent_at_once_to_two_gateways_get_five_checks(
    make_crm_console: CrmConsoleFactory,
) -> None:
    first = await throttled_console(make_crm_console)
    # A second gateway process: its own throttle object, the same database.
    second = await make_crm_console(login_guard=LoginThrottle(first.sessions, POLICY))
    async with client_from(first, ATTACKER) as one, client_from(second, ATTACKER) as two:
        answers = await asyncio.gather(*(login(one if n % 2 else two, f"g{n}") for n in range(30)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [401] * 5 + [429] * 25


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(make_crm_console: CrmConsoleFactory) -> None:
    console = await throttled_console(make_crm_console)
    async with client_from(console, ATTACKER) as attacker:
        answers = []
        for n in range(8):
            forged = {"X-Forwarded-For": f"10.0.0.{n}"}
            response = await attacker.post(
                "/api/login", json={"login": "alice", "password": "nope"}, headers=forged
            )
            answers.append(response.status_code)
    assert answers == [401] * 5 + [429] * 3  # the socket's address, whatever the header says
    assert {r.remote_addr for r in await console.audit_rows(action="login-throttled")} == {ATTACKER}

    # Behind a configured reverse proxy the header names the client.
    bus = MemoryBus()
    app = create_app(
        authenticator=AgentDirectory(console.sessions),
        control=MemoryControl(bus),
        events=bus,
        crm=console.services,
    )
    proxied = await start_console(app, "127.0.0.1", 0, trusted_proxies=[ATTACKER])
    try:
        async with httpx.AsyncClient(base_url=proxied.url, timeout=WAIT) as via_proxy:

            async def from_client(client: str) -> int:
                response = await via_proxy.post(
                    "/api/login",
                    json={"login": "bob", "password": "nope"},
                    headers={"X-Forwarded-For": f"{client}, {ATTACKER}"},
                )
                return response.status_code

            assert [await from_client("198.51.100.7") for _ in range(6)] == [401] * 5 + [429]
            assert await from_client("198.51.100.8") == 401  # another client behind the proxy
    finally:
        async with asyncio.timeout(10):
            await proxied.close()
    [locked] = await console.audit_rows(action="login-locked", entity_id="bob")
    assert locked.remote_addr == "198.51.100.7"


async def test_admin_sees_and_clears_a_lock(make_crm_console: CrmConsoleFactory) -> None:
    console = await throttled_console(make_crm_console)
    for user in ("root", "alice", "sue"):
        await console.token(user)  # logged in before the attack, from the attacker's address
    async with client_from(console, ATTACKER) as attacker:
        for n in range(6):
            await login(attacker, f"guess-{n}")
        refused(await login(attacker, "alice-pw"), 429)

        locks = ok(await console.call("GET", "/api/crm/login-locks", "root"))
        assert [(x["scope"], x["login"], x["address"], x["failures"]) for x in locks] == [
            ("pair", "alice", ATTACKER, 5)
        ]
        assert 1 <= locks[0]["retry_after"] <= 3
        for login_ in ("alice", "sue"):
            refused(await console.call("GET", "/api/crm/login-locks", login_), 403)
            refused(await console.call("DELETE", "/api/crm/login-locks", login_, params={"login": "x"}), 403)
        refused(await console.call("DELETE", "/api/crm/login-locks", "root"), 422, "login")

        cleared = ok(await console.call("DELETE", "/api/crm/login-locks", "root", params={"login": "alice"}))
        assert {(x["scope"], x["address"]) for x in cleared["cleared"]} == {
            ("pair", ATTACKER),
            ("login", None),
        }
        assert ok(await console.call("GET", "/api/crm/login-locks", "root")) == []
        assert ok(await login(attacker, "alice-pw"))["agent"]["login"] == "alice"  # at once

    [unlocked] = await console.audit_rows(action="login-unlocked")
    assert (unlocked.actor_login, unlocked.entity, unlocked.entity_id) == ("root", "login", "alice")
    audit = ok(await console.call("GET", "/api/crm/audit", "root", params={"entity": "login"}))
    assert {"login-locked", "login-throttled", "login-unlocked"} <= {e["action"] for e in audit["items"]}
    spec = ok(await console.call("GET", "/openapi.json", None))
    assert {"get", "delete"} <= set(spec["paths"]["/api/crm/login-locks"])
    assert "429" in spec["paths"]["/api/login"]["post"]["responses"]
