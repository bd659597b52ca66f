"""The wallboard shows admins the login throttle's locks and lets them unlock; supervisors never see it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from playwright.async_api import Page, expect

from crm_core.contact_center.agents import AgentDirectory
from crm_core.contact_center.throttle import LoginThrottle, ThrottlePolicy, ThrottleRule

if TYPE_CHECKING:
    from conftest import LiveStackFactory, PageProblems


async def _log_in(page: Page, url: str, login: str, password: str = "demo") -> None:
    await page.goto(url + "/wallboard")
    await page.fill("#login-name", login)
    await page.fill("#login-password", password)
    await page.click("#login-form button[type=submit]")


async def _api_login(http: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await http.post("/api/login", json={"login": login, "password": password})


async def test_admin_sees_a_locked_login_and_unlocks_it(
    live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    live = await live_stack_factory()
    await AgentDirectory(live.service.sessions).create_agent(
        "root", "Root Admin", "demo", extension="1999", role="admin"
    )
    # The default policy's first pair lock lasts 1 s: gone before a browser on a loaded machine shows it. The
    # five guesses are counted by a second gateway on the same database whose pair lock lasts ten minutes;
    # the counts live in the database, so the service's own gateway refuses the pair and the panel lists it.
    guarded = LoginThrottle(
        live.service.sessions, ThrottlePolicy(pair=ThrottleRule(threshold=5, first_delay=600, max_delay=600))
    )
    for _ in range(5):
        attempt = await guarded.begin("agent3", "127.0.0.1")
        assert not attempt.refused
        await attempt.failed()
    assert (await guarded.begin("agent3", "127.0.0.1")).refused  # locked for this address
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        refused = await _api_login(http, "agent3", "demo")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60

        await _log_in(page, live.url, "root")
        panel = page.locator("#locks-panel")
        await expect(panel).to_be_visible(timeout=15_000)
        pair = panel.locator('tr[data-login="agent3"][data-address="127.0.0.1"]')
        await expect(pair.locator(".lock-state")).to_contain_text("locked")
        await expect(pair.locator("td").nth(3)).to_have_text("5")
        await pair.locator("button.unlock").click()
        await expect(page.locator("#locks-message")).to_have_text("Cleared agent3.")
        await expect(panel.locator('tr[data-login="agent3"]')).to_have_count(0)

        # The agent gets in again at once, and the unlock is in the audit log.
        assert (await _api_login(http, "agent3", "demo")).status_code == 200
        token = (await _api_login(http, "root", "demo")).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        audit = await http.get("/api/crm/audit", params={"action": "login-unlocked"}, headers=auth)
        assert audit.status_code == 200, audit.text
        assert [row["actor_login"] for row in audit.json()["items"]] == ["root"]
    assert page_problems.errors == []


async def test_supervisors_never_see_the_panel(
    live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    live = await live_stack_factory()
    await _log_in(page, live.url, "super1")
    await expect(page.locator("#board-view")).to_be_visible(timeout=15_000)
    await expect(page.locator("#locks-panel")).to_be_hidden()
    assert page_problems.errors == []
