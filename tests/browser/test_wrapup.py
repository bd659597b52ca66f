"""One wrap-up path, in Chromium: what the agent saves is what the history shows.

agent1 takes a call from a customer agent2 owns, writes a note in English and
Chinese, picks a disposition, a next contact date and channel, and saves;
the owner reads every field back through the public follow-up API, and the
call's outcome and times are still what the PBX side recorded.  Then an
unknown caller: agent1 creates the customer during the call and the wrap-up
lands in that customer's history.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from doc_screenshots import publish
from playwright.async_api import Page, expect
from sqlalchemy import select

from crm_core.models import Interaction
from cti.simulator import CallerScript

if TYPE_CHECKING:
    from conftest import LiveStack, LiveStackFactory, PageProblems

NOTE = "Wants the card limit raised to 50k; 客户希望把信用卡额度提高到五万。"


async def _api(live: LiveStack, login: str, path: str) -> Any:
    async with httpx.AsyncClient(base_url=live.url) as http:
        token = (await http.post("/api/login", json={"login": login, "password": "demo"})).json()["token"]
        response = await http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


async def _ended_row(live: LiveStack, call_id: str) -> Interaction:
    """The call's row once the PBX side has recorded its end."""
    for _ in range(100):
        async with live.service.sessions() as session:
            row = await session.scalar(select(Interaction).where(Interaction.call_id == call_id))
        if row is not None and row.ended_at is not None:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {call_id} never recorded as ended")


async def test_a_non_owner_saves_the_wrap_up_and_the_owner_reads_every_field(
    live_stack_factory: LiveStackFactory, page: Page, artifacts: Path, page_problems: PageProblems
) -> None:
    live = await live_stack_factory(answer_after=20.0)
    caller = await live.caller("gold", owner_login="agent2")
    await page.set_viewport_size({"width": 1366, "height": 768})
    await live.log_in(page)
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    call = await live.place_call(
        CallerScript(caller_id=caller.e164, keys=["2", "0"], key_delay=0.5, hangup_after_answer=30.0)
    )
    pop = page.locator(".pop")
    await expect(pop.locator(".customer-name")).to_have_text(caller.name, timeout=30_000)
    await expect(pop.locator(".call-state")).to_have_text("connected", timeout=30_000)

    # At 1366x768 the wrap-up is in view during the call, without scrolling.
    for part in (".wrap-notes", ".wrap-disposition", ".wrap-next", ".wrap-save", ".wrap-counter"):
        await expect(pop.locator(part)).to_be_in_viewport()
    assert await page.evaluate("window.scrollY") == 0
    next_contact = date.today() + timedelta(days=5)
    await pop.locator(".wrap-notes").fill(NOTE)
    await expect(pop.locator(".wrap-counter")).to_have_text(f"{len(NOTE)} / 4000")
    await pop.locator(".wrap-disposition").select_option("resolved")
    await pop.locator(".wrap-next").fill(next_contact.isoformat())
    await pop.locator(".wrap-channel").select_option("visit")
    await pop.locator(".wrap-save").click()
    await expect(pop.locator(".wrap-status")).to_have_text("saved to the follow-up history")
    # The pop's own history shows the note at once.
    await expect(pop.locator(".followups")).to_contain_text(NOTE[:20])
    await page.screenshot(path=str(artifacts / "wrapup-saved.png"))

    await call.wait_finished(timeout=30)
    await expect(pop.locator(".call-state")).to_contain_text("ended", timeout=15_000)
    # Saving again after the call edits the same entry (a second thought, not a second entry).
    await pop.locator(".wrap-disposition").select_option("sale")
    await pop.locator(".wrap-save").click()
    await expect(pop.locator(".wrap-status")).to_have_text("saved to the follow-up history")

    row = await _ended_row(live, call.linkedid)
    page_ = await _api(live, "agent2", f"/api/crm/customers/{caller.customer_id}/follow-ups")
    entries = [e for e in page_["items"] if e["call_id"] == call.linkedid]
    assert len(entries) == 1
    [entry] = entries
    assert entry["content"] == NOTE
    assert (entry["disposition"], entry["next_contact_on"], entry["next_contact_channel"]) == (
        "sale",
        next_contact.isoformat(),
        "visit",
    )
    assert (entry["wrapped_up_by"], entry["agent_login"]) == ("agent1", "agent1")
    # What the PBX side recorded is untouched by the two saves.
    assert row.outcome == "answered" and entry["outcome"] == "answered"
    assert row.answered_at is not None and row.ended_at is not None and row.queue is not None
    assert entry["talk_seconds"] is not None and entry["talk_seconds"] > 0
    assert page_problems.errors == []


async def test_an_unknown_caller_becomes_a_customer_with_the_calls_wrap_up(
    live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    live = await live_stack_factory(answer_after=20.0)
    await live.log_in(page)
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    call = await live.place_call(
        CallerScript(caller_id="+8613912345679", keys=["2", "0"], key_delay=0.5, hangup_after_answer=30.0)
    )
    pop = page.locator(".pop")
    await expect(pop.locator(".unknown")).to_have_text("Unknown caller", timeout=30_000)
    await pop.locator(".create-form input").first.fill("Zhou Xun")
    await pop.locator(".create-form button").click()
    await expect(pop.locator(".customer-name")).to_have_text("Zhou Xun")

    # A past date and an empty save get the page's own words, and nothing is sent.
    await pop.locator(".wrap-save").click()
    await expect(pop.locator(".wrap-status")).to_have_text("write a note or choose a disposition")
    await pop.locator(".wrap-notes").fill("New customer, opened a deposit account")
    await pop.locator(".wrap-next").fill((date.today() - timedelta(days=3)).isoformat())
    await pop.locator(".wrap-save").click()
    await expect(pop.locator(".wrap-status")).to_have_text("the next follow-up date cannot be in the past")
    await pop.locator(".wrap-next").fill("")
    await pop.locator(".wrap-disposition").select_option("sale")
    await pop.locator(".wrap-save").click()
    await expect(pop.locator(".wrap-status")).to_have_text("saved to the follow-up history")

    await call.wait_finished(timeout=30)
    row = await _ended_row(live, call.linkedid)
    assert row.customer_id is not None and row.outcome == "answered"
    history = await _api(live, "agent1", f"/api/crm/customers/{row.customer_id}/follow-ups")
    [entry] = [e for e in history["items"] if e["call_id"] == call.linkedid]
    assert (entry["content"], entry["disposition"], entry["wrapped_up_by"]) == (
        "New customer, opened a deposit account",
        "sale",
        "agent1",
    )
    assert page_problems.errors == []


async def test_click_to_dial_is_a_call_on_screen_that_ends_in_the_same_wrap_up(
    live_stack_factory: LiveStackFactory, page: Page, artifacts: Path, page_problems: PageProblems
) -> None:
    live = await live_stack_factory(answer_after=10.0)
    customer = await live.caller("gold", owner_login="agent1")
    await page.set_viewport_size({"width": 1366, "height": 768})
    await live.log_in(page)
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")

    await page.locator(f".customers tr:has-text('{customer.name}') .dial").click()
    pop = page.locator(".pop[data-direction=outbound]")
    await expect(pop.locator(".customer-name")).to_have_text(customer.name, timeout=30_000)
    await expect(pop.locator(".badge.outbound")).to_have_text("outbound call")
    # The customer answers: the card is a live call with its timer and controls, like an inbound one.
    await expect(pop.locator(".call-state")).to_have_text("connected", timeout=30_000)
    await expect(pop.locator(".call-timer")).to_have_text(re.compile(r"^\d+:\d\d$"))
    await expect(pop.locator(".btn-hangup")).to_be_visible()
    await expect(pop.locator(".btn-hold")).to_be_visible()
    await expect(page.locator("#state")).to_have_attribute("data-state", "on_call")
    await page.screenshot(path=str(artifacts / "click-to-dial.png"))
    call_id = await pop.get_attribute("data-call-id")
    assert call_id

    await pop.locator(".btn-hangup").click()
    await expect(pop.locator(".call-state")).to_have_text("ended · answered", timeout=15_000)
    await expect(pop.locator(".btn-hangup")).to_be_hidden()
    await expect(page.locator("#state")).to_have_attribute("data-state", "wrap_up")
    await pop.locator(".wrap-notes").fill("Called back about the mortgage offer")
    await pop.locator(".wrap-disposition").select_option("follow-up")
    await pop.locator(".wrap-save").click()
    await expect(pop.locator(".wrap-status")).to_have_text("saved to the follow-up history")

    row = await _ended_row(live, call_id)
    assert (row.direction, row.outcome, row.customer_id) == ("outbound", "answered", customer.customer_id)
    history = await _api(live, "agent1", f"/api/crm/customers/{customer.customer_id}/follow-ups")
    [entry] = [e for e in history["items"] if e["call_id"] == call_id]
    assert (entry["content"], entry["disposition"], entry["direction"], entry["wrapped_up_by"]) == (
        "Called back about the mortgage offer",
        "follow-up",
        "outbound",
        "agent1",
    )
    publish(artifacts / "click-to-dial.png")
    assert page_problems.errors == []


async def test_a_new_call_never_pushes_an_unsaved_wrap_up_out_of_sight(
    live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    live = await live_stack_factory(answer_after=5.0, acd_wrapup_seconds=10)
    first, second = await live.caller("gold"), await live.caller("vip")
    await live.log_in(page)
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    call = await live.place_call(
        CallerScript(caller_id=first.e164, keys=["2", "0"], key_delay=0.5, hangup_after_answer=10.0)
    )
    card = page.locator(f".pop[data-call-id='{call.linkedid}']")
    await expect(card.locator(".call-state")).to_have_text("connected", timeout=30_000)
    await card.locator(".wrap-notes").fill("Half-written note")
    await call.wait_finished(timeout=30)
    await expect(card.locator(".call-state")).to_contain_text("ended", timeout=15_000)
    # The wrap-up time passes unsaved; the next caller reaches the agent.
    await expect(page.locator("#state")).to_have_attribute("data-state", "available", timeout=30_000)
    await live.place_call(CallerScript(caller_id=second.e164, keys=["2", "0"], key_delay=0.5))
    await expect(page.locator(".pop")).to_have_count(2, timeout=30_000)
    # The unsaved card stays first, its note intact; the new call comes below it.
    await expect(page.locator(".pop").first).to_have_attribute("data-call-id", call.linkedid)
    await expect(card.locator(".wrap-notes")).to_have_value("Half-written note")
    await expect(card).to_be_in_viewport()
    assert page_problems.errors == []
