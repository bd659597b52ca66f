"""The agent's screen in Chromium, used as an agent would, against the whole running service.

agent1 logs in, goes ready; agent1's own VIP customer calls, goes through the
bank IVR (English, "0" for an agent) and the pop shows that customer while
the simulated phone still rings; the phone answers, the agent writes a note,
picks a disposition and a next follow-up date, saves, and the follow-up is in
the customer's history (on screen and in the database).  Then the service is
stopped and started on the same ports: the page reconnects by itself, still
logged in, and shows the ACD's true state, not the old call.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from doc_screenshots import publish
from playwright.async_api import Page, expect
from sqlalchemy import select

from crm_core.models import Interaction
from cti.simulator import CallerScript

if TYPE_CHECKING:
    from conftest import LiveStackFactory, PageProblems

NOTE = "Asked about the 3-year deposit rate; sending the brochure."


async def test_vip_call_pops_before_answer_saves_follow_up_and_survives_restart(
    live_stack_factory: LiveStackFactory, page: Page, artifacts: Path, page_problems: PageProblems
) -> None:
    # Each demo phone rings 60 simulated seconds (6 s real) before it answers.
    live = await live_stack_factory(answer_after=60.0)
    vip = await live.caller("vip", owner_login="agent1")
    await live.log_in(page)
    await expect(page.locator("#state")).to_have_text("logged out")

    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")

    call = await live.place_call(
        CallerScript(caller_id=vip.e164, keys=["2", "0"], key_delay=0.5, hangup_after_answer=80.0)
    )
    pop = page.locator(".pop")
    await expect(pop.locator(".customer-name")).to_have_text(vip.name, timeout=30_000)
    # The pop is on screen while the phone rings: nobody has answered yet.
    assert call.answered_by is None
    await expect(pop.locator(".call-state")).to_have_text("ringing")
    await expect(pop.locator(".badge.tier")).to_have_text("VIP")  # the tier's label, not its code
    await expect(pop.locator(".badge.tier")).to_have_attribute("data-tier", "vip")
    await expect(pop.locator(".badge.auth-caller_id")).to_have_text("caller ID only")
    await expect(pop.locator(".reason-text")).to_have_text("asked for an agent")
    await expect(pop.locator(".badge.rm")).to_contain_text("relationship manager")
    await expect(pop.locator(".accounts td").first).to_contain_text("****")
    await expect(pop.locator(".contracts .muted")).to_have_count(0)  # open contracts loaded
    await page.screenshot(path=str(artifacts / "agent-pop.png"), full_page=False)

    # The simulated phone answers: the agent talks and writes the follow-up.
    await expect(pop.locator(".call-state")).to_have_text("connected", timeout=30_000)
    assert call.answered_by == live.phones["agent1"].device
    await expect(page.locator("#state")).to_have_attribute("data-state", "on_call")
    next_contact = date.today() + timedelta(days=7)
    await pop.locator(".wrap-notes").fill(NOTE)
    await pop.locator(".wrap-disposition").select_option("resolved")
    await pop.locator(".wrap-next").fill(next_contact.isoformat())
    await pop.locator(".wrap-save").click()
    await expect(pop.locator(".wrap-status")).to_have_text("saved to the follow-up history")
    await expect(pop.locator(".followups tbody tr").first).to_contain_text(NOTE)

    # The caller hangs up: the pop says so and the agent is in wrap-up with a countdown.
    await call.wait_finished(timeout=30)
    await expect(pop.locator(".call-state")).to_contain_text("ended", timeout=15_000)
    await expect(page.locator("#state")).to_have_attribute("data-state", "wrap_up")
    await expect(pop.locator(".wrap-countdown")).to_contain_text("wrap-up")

    async with live.service.sessions() as session:
        row = await session.scalar(select(Interaction).where(Interaction.call_id == call.linkedid))
    assert row is not None
    assert row.customer_id == vip.customer_id
    assert row.content == NOTE and row.disposition == "resolved"
    assert row.next_contact_on == next_contact

    # The follow-up shows in the customer's record from "My customers".
    await page.locator(f".customers tr:has-text('{vip.name}') .open-record").click()
    await expect(page.locator(".record-history tbody tr").first).to_contain_text(NOTE)

    # Restart the service on the same ports: the page goes offline, comes back by itself.
    await live.stop_service()
    await expect(page.locator("#connection")).not_to_have_class("connection live")
    await live.start_service()
    await expect(page.locator("#connection")).to_have_class("connection live", timeout=30_000)
    truth = next(a for a in live.service.acd.snapshot().agents if a.login == "agent1")
    await expect(page.locator("#state")).to_have_attribute("data-state", truth.state)
    await expect(pop.locator(".call-state")).not_to_have_text("connected")
    # Agent states are persisted: agent1 comes back ready (wrap-up does not outlive a restart).
    assert truth.state == "available"
    # Still logged in after the restart: the agent pauses and goes ready again without a new login.
    await page.click("#btn-pause")
    await expect(page.locator("#state")).to_have_attribute("data-state", "paused")
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert page_problems.errors == []

    screenshot = artifacts / "agent-pop.png"
    publish(screenshot)


async def test_language_switch_search_and_unknown_caller(
    live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    live = await live_stack_factory(answer_after=600.0)
    vip = await live.caller("vip")
    await live.log_in(page)

    # Chinese, remembered across a reload.
    await page.click("#btn-lang")
    await expect(page.locator("#btn-ready")).to_have_text("就绪")
    await page.reload()
    await expect(page.locator("#btn-ready")).to_have_text("就绪")
    await page.click("#btn-lang")
    await expect(page.locator("#btn-ready")).to_have_text("Ready")

    # Search by the phone in national format, with spaces.
    national = vip.e164.removeprefix("+86")
    await page.click("button[data-tab=search]")
    await page.fill(".customer-search", f"{national[:3]} {national[3:7]} {national[7:]}")
    await page.click(".customers form button[type=submit]")
    await expect(page.locator(".search-results")).to_contain_text(vip.name)

    # An unknown caller gets the search box and "create customer".
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    await live.place_call(CallerScript(caller_id="+8613912345678", keys=["2", "0"], key_delay=0.5))
    pop = page.locator(".pop")
    await expect(pop.locator(".unknown")).to_have_text("Unknown caller", timeout=30_000)
    await expect(pop.locator(".badge.auth-none")).to_have_text("unknown")
    await expect(pop.locator(".matches")).to_contain_text("no customer found")
    await pop.locator(".create-form input").first.fill("Zhou Xun")
    await pop.locator(".create-form button").click()
    await expect(pop.locator(".customer-name")).to_have_text("Zhou Xun")
    assert page_problems.errors == []
