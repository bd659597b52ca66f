"""The agent accounts page (/admin): the demo admin adds an agent, the running ACD has them, then not."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.async_api import Page, expect

from acd.model import UnknownAgent

if TYPE_CHECKING:
    from conftest import LiveStackFactory, PageProblems


async def test_the_demo_admin_adds_and_disables_an_agent_on_the_admin_page(
    live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    live = await live_stack_factory()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(live.url + "/admin")
    await page.fill("#login-name", "admin1")
    await page.fill("#login-password", "demo")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator('#agents-table tr[data-login="agent1"]')).to_be_visible(timeout=15_000)

    await page.click("#btn-new")
    await page.fill("#f-login", "eve")
    await page.fill("#f-name", "Eve Zhou")
    await page.fill("#f-extension", "1010")
    await page.fill("#f-device", "pjsip/1010")
    await page.fill("#f-skills", "cards:3")
    await page.check('#f-queues input[value="general"]')
    await page.click("#agent-form button[type=submit]")
    row = page.locator('#agents-table tr[data-login="eve"]')
    await expect(row).to_contain_text("PJSIP/1010")
    once = page.locator("#one-time")
    await expect(once).to_contain_text("shown once")
    password = re.search(r": (\S+)$", await once.inner_text())
    assert password is not None
    record = live.service.acd.status("eve")  # in the running ACD, no restart
    assert (record.device, record.queues, dict(record.skills)) == ("PJSIP/1010", {"general"}, {"cards": 3})
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        login = {"login": "eve", "password": password[1]}
        assert (await http.post("/api/login", json=login)).status_code == 200

        await row.locator('button[data-action="disable"]').click()
        await expect(row.locator(".state")).to_have_text("disabled")
        assert (await http.post("/api/login", json=login)).status_code == 401
    with pytest.raises(UnknownAgent):
        live.service.acd.status("eve")
    assert page_problems.errors == []
