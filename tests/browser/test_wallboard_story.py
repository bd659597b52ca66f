"""Wallboard and reports tell one story, in Chromium against the whole running service.

A gold demo customer calls while agent1 is on a break: the wallboard shows
the caller (name, tier, number) — not a call id — under the queue's display
name, the site time zone and each queue's threshold, and live AHT and
occupancy.  agent1 takes the call; afterwards the reports page uses the
same zone and thresholds (and says so), titles its charts with their units,
computes the queue's occupancy, and the staffing forecast reports its
result — or its error when the server fails.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from doc_screenshots import publish
from playwright.async_api import Browser, Page, Route, expect

from cti.simulator import CallerScript

if TYPE_CHECKING:
    from conftest import LiveStack, LiveStackFactory, PageProblems

QUEUE_TITLES = re.compile(r"^(General enquiries|Private banking and VIP \(7x24\))$")


async def _log_in(page: Page, live: LiveStack, path: str) -> None:
    await page.goto(live.url + path)
    await page.fill("#login-name", "super1")
    await page.fill("#login-password", "demo")
    await page.click("#login-form button[type=submit]")


def _keep(page: Page, artifacts: Path, name: str) -> None:
    publish(artifacts / name)


async def test_wallboard_and_reports_tell_one_story(
    live_stack_factory: LiveStackFactory, page: Page, artifacts: Path, page_problems: PageProblems
) -> None:
    live = await live_stack_factory(answer_after=5.0)
    zone = live.settings.site_timezone
    gold = await live.caller("gold")
    await _log_in(page, live, "/wallboard")
    await expect(page.locator("#connection")).to_have_class("connection live")
    await expect(page.locator("#basis")).to_contain_text(f"Time zone: {zone}")
    await expect(page.locator("#basis")).to_contain_text("Private banking and VIP (7x24) 10 s")
    await expect(page.locator("#queues tr[data-queue=general] .q-name")).to_have_text("General enquiries")
    await expect(page.locator("#summary .t-aht .tile-label")).to_have_text("AHT")
    await expect(page.locator("#summary .t-occupancy .tile-label")).to_have_text("Occupancy")

    await live.service.acd.set_agent_state("agent1", "paused", "break")
    script = CallerScript(caller_id=gold.e164, keys=["2", "0"], key_delay=0.5, hangup_after_answer=20.0)
    call = await live.place_call(script)
    waiting = page.locator("#queues .waiting-call")
    await expect(waiting).to_have_count(1, timeout=30_000)
    await expect(waiting.locator(".wc-customer")).to_have_text(gold.name, timeout=10_000)
    await expect(waiting.locator(".badge.tier")).to_have_text("Gold")  # the tier's label, not its code
    await expect(waiting.locator(".badge.tier")).to_have_attribute("data-tier", gold.tier)
    await expect(waiting.locator(".wc-number")).to_have_text(gold.e164)
    await expect(waiting.locator(".wc-queue")).to_have_text(QUEUE_TITLES)
    call_id = await waiting.get_attribute("data-call")
    assert call_id and call_id not in await waiting.inner_text()
    await page.screenshot(path=str(artifacts / "wallboard-caller.png"), full_page=True)

    await live.make_available("agent1")
    agent1 = page.locator("tr[data-agent=agent1]")
    await expect(agent1.locator(".a-state .state")).to_have_attribute("data-state", "on_call", timeout=30_000)
    await call.wait_finished(timeout=40)
    await expect(page.locator("#summary .t-aht .tile-value")).to_have_text(
        re.compile(r"^\d+ s$"), timeout=15_000
    )
    await expect(agent1.locator(".a-occupancy")).to_have_text(re.compile(r"^\d+%$"))
    await expect(page.locator("#summary .t-occupancy .tile-value")).to_have_text(re.compile(r"^\d+%$"))
    assert page_problems.errors == []

    # The reports page: same zone and thresholds, said on the page; charts captioned with units.
    await page.goto(live.url + "/reports#contact-center")
    report = page.locator("[data-report=contact-center]")
    await expect(report.locator("[data-basis=site]")).to_contain_text(f"Site time zone {zone}")
    await expect(report.locator("[data-basis=site]")).to_contain_text("Private banking and VIP (7x24) 10 s")
    await expect(report.locator("input[aria-label='Time zone']")).to_have_value(zone)
    await expect(report.locator("[data-basis=report]")).to_contain_text(f"This report: time zone {zone}")
    captions = report.locator("figure.report-chart figcaption")
    await expect(captions.first).to_be_visible()
    for text in await captions.all_inner_texts():
        assert re.search(r"\((%|number of calls|agents)", text), text
    # Today's row of the queue agent1 answered in: occupancy computed (agent time is recorded in batches).
    occupancy = report.locator("table.report-table").first.locator("td[data-col=occupancy]")
    cells: list[str] = []
    async with asyncio.timeout(30):
        while True:
            cells = await occupancy.all_inner_texts()
            if any(re.fullmatch(r"\d+(\.\d)?%", c) for c in cells):
                break
            await report.locator("form.report-filters").first.locator("button[type=submit]").click()
            await asyncio.sleep(1.0)
    # No chart label is cut: each lies wholly inside its chart.
    cut = await page.evaluate(
        """() => [...document.querySelectorAll("[data-report] svg.chart text")].filter((node) => {
            const box = node.getBoundingClientRect(), frame = node.ownerSVGElement.getBoundingClientRect();
            return box.left < frame.left - 0.5 || box.right > frame.right + 0.5
                || box.top < frame.top - 0.5 || box.bottom > frame.bottom + 0.5;
        }).map((node) => node.textContent)"""
    )
    assert cut == []
    await expect(report.locator("[data-status=staffing]")).to_have_attribute("data-state", "done")
    await expect(report.locator("[data-status=staffing]")).to_contain_text("Forecast for")
    await page.screenshot(path=str(artifacts / "reports-contact-center.png"), full_page=True)

    # The forecast says why there is no result when the server fails.
    async def broken(route: Route) -> None:
        await route.fulfill(status=503, content_type="application/json", body='{"detail": "database away"}')

    await page.route("**/api/reports/staffing*", broken)
    await report.locator("form.report-filters").nth(1).locator("button[type=submit]").click()
    status = report.locator("[data-status=staffing]")
    await expect(status).to_have_attribute("data-state", "error")
    await expect(status).to_contain_text("The forecast failed: database away")
    await page.click("#btn-lang")
    await expect(page.locator("[data-report=contact-center] [data-basis=site]")).to_contain_text(
        f"站点时区 {zone}"
    )
    assert [e for e in page_problems.errors if "503" not in e] == []

    _keep(page, artifacts, "wallboard-caller.png")
    _keep(page, artifacts, "reports-contact-center.png")


async def test_the_reports_count_the_sites_today_in_a_browser_whose_day_differs(
    live_stack_factory: LiveStackFactory, browser: Browser
) -> None:
    """The reports' default day is the site's today, not the browser's (it showed "No data")."""
    live = await live_stack_factory()
    site = ZoneInfo(live.settings.site_timezone)
    now = datetime.now(site)
    # A zone 20 h behind the site's UTC offset or 6 h ahead of it: at any hour one of them is on another day.
    offset = now.utcoffset() or timedelta()
    behind, ahead = "Etc/GMT+12", "Pacific/Kiritimati"  # UTC-12 and UTC+14
    browser_zone = behind if now.date() != datetime.now(ZoneInfo(behind)).date() else ahead
    assert datetime.now(ZoneInfo(browser_zone)).date() != now.date(), (offset, browser_zone)
    context = await browser.new_context(locale="en-US", timezone_id=browser_zone)
    try:
        page = await context.new_page()
        await _log_in(page, live, "/reports#contact-center")
        report = page.locator("[data-report=contact-center]")
        today = datetime.now(site).date()
        await expect(report.locator("input[aria-label=From]")).to_have_value(today.isoformat())
        await expect(report.locator("input[aria-label=To]")).to_have_value(today.isoformat())
        tomorrow = (today + timedelta(days=1)).isoformat()
        await expect(report.locator("input[aria-label='Day to staff']")).to_have_value(tomorrow)
    finally:
        await context.close()
