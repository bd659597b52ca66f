"""An agent finds a customer again (issue 14 item 4), in Chromium against the whole running service.

agent1 answers a call from a customer agent2 owns; after the call and its
wrap-up, "Recent calls" lists it and reopens the record read-only (the
handled-call grant: no edit, lock, share or transfer, no follow-up form).
agent1 then finds their own customer by a formatted phone number, records a
visit from the record page and sees it in the history; the record shows the
contracts and the actions agent1's rights allow.  Once the handled call is
older than the grant's time, reopening it says "you may not see this
customer" — in English and in Chinese.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from doc_screenshots import publish
from playwright.async_api import Page, expect
from sqlalchemy import delete, select, update

from crm_core.models import AgentStateRow, AuditLog, Interaction, InteractionLeg, SharingGrant
from crm_core.models.coltypes import utcnow
from cti.simulator import CallerScript

if TYPE_CHECKING:
    from conftest import LiveStackFactory, PageProblems

VISIT = "Came to the branch about the 3-year deposit; brought the signed form."


def _formatted(e164: str) -> str:
    """``+8613800138000`` as a person writes it: ``+86 138 0013 8000``."""
    national = e164.removeprefix("+86")
    return f"+86 {national[:3]} {national[3:7]} {national[7:]}"


async def test_recent_call_reopens_a_colleagues_customer_then_search_and_record_a_visit(
    live_stack_factory: LiveStackFactory, page: Page, artifacts: Path, page_problems: PageProblems
) -> None:
    live = await live_stack_factory(answer_after=10.0, acd_wrapup_seconds=10)
    theirs = await live.caller("gold", owner_login="agent2")
    mine = await live.caller("vip", owner_login="agent1")
    async with live.service.sessions() as session, session.begin():
        # The demo shares some customers: this one is shared with nobody, so only the call lets agent1 in.
        await session.execute(delete(SharingGrant).where(SharingGrant.customer_id == theirs.customer_id))
    await live.log_in(page)
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")

    # agent1 answers agent2's customer; the caller hangs up; wrap-up runs out.
    call = await live.place_call(
        CallerScript(caller_id=theirs.e164, keys=["2", "0"], key_delay=0.5, hangup_after_answer=20.0)
    )
    pop = page.locator(".pop")
    await expect(pop.locator(".customer-name")).to_have_text(theirs.name, timeout=30_000)
    await call.wait_finished(timeout=60)
    # The pop's last follow-ups: only entries with something written in them (not this bare call).
    await expect(pop.locator(".contracts .muted")).to_have_count(0)  # the pop's refresh is done
    notes = await pop.locator(".followups tbody tr td:nth-child(4)").all_inner_texts()
    assert len(notes) <= 5 and all(text.strip() for text in notes), notes
    await expect(page.locator("#state")).to_have_attribute("data-state", "available", timeout=30_000)

    # Recent calls: the call is there; opening it shows the record read-only, through the grant.
    await page.click("button[data-tab=recent]")
    row = page.locator(f".recent-calls tr:has-text('{theirs.name}')")
    await expect(row).to_have_count(1)
    await row.locator(".open-record").click()
    record = page.locator("article.record")
    await expect(record.locator("h2")).to_have_text(theirs.name)
    await expect(record.locator(".badge.readonly")).to_have_text(
        "read-only · you handled this customer's call"
    )
    await expect(record.locator(".record-actions button")).to_have_count(0)
    await expect(record.locator(".followup-form")).to_have_count(0)
    async with live.service.sessions() as session:
        details = await session.scalars(
            select(AuditLog.detail).where(
                AuditLog.actor_login == "agent1", AuditLog.entity_id == str(theirs.customer_id)
            )
        )
        reasons = [(detail or {}).get("reason") for detail in details]
    assert f"handled call {call.linkedid}" in reasons

    # Search by a formatted phone number: agent1's own customer.
    await page.click("button[data-tab=search]")
    await page.fill(".customer-search", _formatted(mine.e164))
    await page.click(".customers form button[type=submit]")
    found = page.locator(f".search-results tr:has-text('{mine.name}')")
    await expect(found).to_have_count(1)
    await found.locator(".open-record").click()
    await expect(record.locator("h2")).to_have_text(mine.name)
    # The owner may edit, lock and share; transfer is a supervisor's.
    actions = record.locator(".record-actions button")
    await expect(actions).to_have_text(["Edit", "Lock", "Share"])
    await expect(record.locator(".record-contracts table")).to_have_count(1)

    # Record a visit outside a call; it shows in the record's history.
    form = record.locator(".followup-form")
    await form.locator("select[name=channel]").select_option("visit")
    await form.locator("select[name=disposition]").select_option("resolved")
    await form.locator("textarea[name=content]").fill(VISIT)
    await form.locator("button[type=submit]").click()
    await expect(page.locator(".record-message")).to_have_text("Follow-up recorded.")
    first = page.locator(".record-history tbody tr").first
    await expect(first).to_contain_text(VISIT)
    await expect(first).to_contain_text("visit")

    # A contract opened through the API shows in the record.
    status = await page.evaluate(
        """async ([id, today, end]) => {
            const token = sessionStorage.getItem("bankcti.console.token");
            const response = await fetch(`/api/crm/customers/${id}/contracts`, {
                method: "POST",
                headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
                body: JSON.stringify({ title: "3-year time deposit", product_type: "deposit",
                                       amount: "200000.00", start_on: today, end_on: end }),
            });
            return response.status;
        }""",
        [mine.customer_id, date.today().isoformat(), (date.today() + timedelta(days=3 * 365)).isoformat()],
    )
    assert status == 201
    await page.locator(".record-actions .action-edit").click()
    await page.locator(".action-form input[name=name]").fill(mine.name)
    await page.locator(".action-form button[type=submit]").click()
    await expect(page.locator(".confirm")).to_contain_text(f"Save the changes to {mine.name}?")
    await page.locator(".confirm .confirm-yes").click()
    await expect(page.locator(".record-message")).to_have_text(f"{mine.name} saved.")
    await expect(record.locator(".record-contracts tbody tr")).to_contain_text(["3-year time deposit"])

    # Lock, confirmed, with its result message.
    await page.locator("article.record .action-lock").click()
    await expect(page.locator(".confirm")).to_contain_text(f"Lock {mine.name}?")
    await page.locator(".confirm .confirm-yes").click()
    await expect(page.locator(".record-message")).to_have_text(f"{mine.name} is locked.")
    await expect(page.locator("article.record .record-actions button")).to_have_text(
        ["Edit", "Unlock", "Share"]
    )
    await pop.locator("button:has-text('Close')").click()
    await expect(pop).to_have_count(0)
    await page.screenshot(path=str(artifacts / "console-customer-record.png"), full_page=True)

    # The handled call is now older than the grant: reopening it is refused, in the user's language.
    old = utcnow() - timedelta(hours=2)
    async with live.service.sessions() as session, session.begin():
        await session.execute(
            update(Interaction)
            .where(Interaction.call_id == call.linkedid)
            .values(ended_at=old, wrapped_up_at=None)
        )
        await session.execute(
            update(InteractionLeg).where(InteractionLeg.call_id == call.linkedid).values(ended_at=old)
        )
        await session.execute(
            update(AgentStateRow).where(AgentStateRow.call_id == call.linkedid).values(call_id=None)
        )
    await page.click("button[data-tab=recent]")
    await row.locator(".open-record").click()
    refused = page.locator(".record-refused")
    await expect(refused).to_have_text("You may not see this customer.")
    await page.click("#btn-lang")
    await expect(refused).to_have_text("您无权查看该客户。")
    await page.click("#btn-lang")
    assert page_problems.errors == []

    publish(artifacts / "console-customer-record.png")
