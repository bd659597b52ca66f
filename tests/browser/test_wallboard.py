"""The supervisor wallboard and the reports page in Chromium, against the whole running service.

A supervisor (super1) opens the wallboard.  A customer calls while no agent
is ready: the queue shows one call waiting.  agent1 goes ready: the call
rings agent1, the simulated phone answers, the board shows agent1 on the call
and one call answered, and the charts draw it; the caller hangs up and agent1
is in wrap-up.  Then the service is stopped, calls of earlier today are
written to the history meanwhile, and the service starts on the same ports:
the page reconnects by itself and shows the true state — today's figures
seeded back from the history, agent states as the new ACD has them.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from doc_screenshots import publish
from playwright.async_api import Locator, Page, Route, expect
from sqlalchemy import select

from crm_core.db import create_engine, session_factory
from crm_core.models import Agent, Interaction
from cti.simulator import CallerScript

if TYPE_CHECKING:
    from conftest import LiveStack, LiveStackFactory, PageProblems

REPO = Path(__file__).resolve().parents[2]
UNKNOWN_CALLER = "+8613912345678"


async def _log_in(page: Page, live: LiveStack, path: str, login: str = "super1") -> None:
    await page.goto(live.url + path)
    await page.fill("#login-name", login)
    await page.fill("#login-password", "demo")
    await page.click("#login-form button[type=submit]")


def tile(page: Page, name: str) -> Locator:
    return page.locator(f"#summary .t-{name} .tile-value")


async def _earlier_calls_today(live: LiveStack) -> tuple[int, int]:
    """Write 36 calls of the last two hours (or since midnight) to the history; (answered, abandoned).

    "Today" is the site's day (``site_timezone``), as the wallboard counts it: with UTC's midnight the
    calls of the hours between the two midnights were counted as yesterday's (16:00–24:00 UTC for Shanghai).
    """
    engine = create_engine(live.settings.effective_database_url())
    now = time.time()
    site_now = datetime.now(ZoneInfo(live.settings.site_timezone))
    midnight = site_now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    start = max(midnight + 1, now - 2 * 3600)
    # Each call ends by ``queued + 130 s``: all of them end before now, unless the day is younger than that.
    spacing = max(now - 140 - start, 0.0) / 36
    answered = abandoned = 0
    try:
        async with session_factory(engine)() as session, session.begin():
            ids = dict((await session.execute(select(Agent.login, Agent.id))).all())
            for i in range(36):
                queued = start + i * spacing
                row = Interaction(
                    call_id=f"earlier-{i}",
                    queue=("general", "priority", "accounts")[i % 3],
                    caller_number=UNKNOWN_CALLER,
                    queued_at=datetime.fromtimestamp(queued, UTC),
                )
                if i % 7 == 3:
                    row.ended_at = datetime.fromtimestamp(queued + 25 + i % 10, UTC)
                    row.outcome = "abandoned_in_queue"
                    abandoned += 1
                else:
                    wait = (i * 7) % 40
                    row.agent_id = ids[f"agent{1 + i % 5}"]
                    row.answered_at = datetime.fromtimestamp(queued + wait, UTC)
                    row.ended_at = datetime.fromtimestamp(queued + wait + 90, UTC)
                    row.outcome = "answered"
                    answered += 1
                session.add(row)
    finally:
        await engine.dispose()
    return answered, abandoned


async def _agent_state_is_true(page: Page, live: LiveStack, login: str, within: float = 20.0) -> str:
    """Wait until the page shows ``login`` in the state the ACD has now (the ACD may move on meanwhile)."""
    cell = page.locator(f"tr[data-agent={login}] .a-state .state")
    async with asyncio.timeout(within):
        while True:
            truth = next(a.state for a in live.service.acd.snapshot().agents if a.login == login)
            if await cell.count() and await cell.get_attribute("data-state") == truth:
                return truth
            await asyncio.sleep(0.1)


async def test_board_follows_a_waiting_call_and_an_agent_and_survives_restart(
    live_stack_factory: LiveStackFactory, page: Page, artifacts: Path, page_problems: PageProblems
) -> None:
    # Phones answer after 5 simulated seconds (0.5 s real, within the queues' ring timeout);
    # the caller talks 60 (6 s real) then hangs up.
    live = await live_stack_factory(answer_after=5.0)
    await _log_in(page, live, "/wallboard")
    await expect(page.locator("#connection")).to_have_class("connection live")
    await expect(tile(page, "waiting")).to_have_text("0")
    agent1 = page.locator("tr[data-agent=agent1] .a-state .state")
    await expect(agent1).to_have_attribute("data-state", "logged_out")
    # agent1 logs in but takes a break: a queue with nobody logged in would not keep the caller.
    await live.service.acd.set_agent_state("agent1", "paused", "break")
    await expect(agent1).to_have_attribute("data-state", "paused")
    await expect(page.locator("tr[data-agent=agent1] .a-reason")).to_have_text("break")

    call = await live.place_call(
        CallerScript(caller_id=UNKNOWN_CALLER, keys=["2", "0"], key_delay=0.5, hangup_after_answer=60.0)
    )
    await expect(tile(page, "waiting")).to_have_text("1", timeout=30_000)
    busy = page.locator("#queues tr.busy")
    await expect(busy.locator(".q-waiting")).to_have_text("1")
    await expect(busy.locator(".q-offered")).to_have_text("1")
    await expect(page.locator("#queues .waiting-call")).to_have_count(1)
    await expect(tile(page, "longest")).not_to_have_text("0:00", timeout=5_000)

    await live.make_available("agent1")
    await expect(agent1).to_have_attribute("data-state", re.compile("reserved|ringing|on_call"))
    await expect(tile(page, "waiting")).to_have_text("0")
    await expect(agent1).to_have_attribute("data-state", "on_call", timeout=30_000)
    await expect(tile(page, "answered")).to_have_text("1")
    await expect(page.locator("tr[data-agent=agent1] .a-call")).not_to_have_text("")
    await page.locator("tr[data-agent=agent1] .spy-listen").click()
    await expect(page.locator("#board-message")).to_have_text("Your phone rings: listening to agent1.")
    await expect(page.locator("#chart-calls svg .chart-bar")).to_have_count(1)
    await expect(page.locator("#chart-sl svg circle")).not_to_have_count(0)

    await call.wait_finished(timeout=30)
    await expect(agent1).to_have_attribute("data-state", "wrap_up", timeout=15_000)
    await expect(page.locator("tr[data-agent=agent1] .a-handled")).to_have_text("1")

    # Earlier today (written while the service was down, say by another site): the restarted
    # service must count them too, from the history.
    await live.stop_service()
    await expect(page.locator("#connection")).not_to_have_class("connection live")
    answered, abandoned = await _earlier_calls_today(live)
    await live.start_service()
    await expect(page.locator("#connection")).to_have_class("connection live", timeout=30_000)
    await expect(tile(page, "answered")).to_have_text(str(1 + answered), timeout=15_000)
    await expect(tile(page, "offered")).to_have_text(str(1 + answered + abandoned))
    await expect(tile(page, "abandoned")).to_have_text(str(abandoned))
    await expect(tile(page, "waiting")).to_have_text("0")
    await _agent_state_is_true(page, live, "agent1")
    await _agent_state_is_true(page, live, "agent2")
    await expect(page.locator("#chart-calls svg .chart-bar")).not_to_have_count(1)
    await page.screenshot(path=str(artifacts / "wallboard.png"), full_page=True)
    assert page_problems.errors == []

    publish(artifacts / "wallboard.png")


async def test_agents_are_refused_and_chinese_is_remembered(
    live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    live = await live_stack_factory()
    await _log_in(page, live, "/wallboard", login="agent1")
    await expect(page.locator("#login-error")).to_contain_text("supervisors and admins")
    await expect(page.locator("#board-view")).to_be_hidden()

    await page.fill("#login-name", "super1")
    await page.fill("#login-password", "demo")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#connection")).to_have_class("connection live")
    await page.click("#btn-lang")
    await expect(page.locator("#summary .t-waiting .tile-label")).to_have_text("正在排队")
    await page.reload()
    await expect(page.locator("#connection")).to_have_class("connection live")
    await expect(page.locator("#summary .t-waiting .tile-label")).to_have_text("正在排队")
    await expect(page.locator("tr[data-agent=agent1] .a-state .state")).to_have_text("已登出")
    await page.click("#btn-lang")
    await expect(page.locator("#summary .t-waiting .tile-label")).to_have_text("Waiting now")
    assert page_problems.errors == []


STUB_TEXT = "hello super1 en /api/x?a=1&format=csv"
STUB_REPORT = """
export async function render(root, ctx) {
  const me = await ctx.api("/api/me");
  const line = document.createElement("p");
  line.className = "stub";
  line.textContent = [ctx.t("hello", "你好"), me.agent.login, ctx.lang, ctx.csv("/api/x?a=1")].join(" ");
  root.append(line);
}
"""


async def test_reports_shell_loads_modules_passes_the_context_and_survives_a_broken_one(
    live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    async def stub(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/javascript", body=STUB_REPORT)

    async def missing(route: Route) -> None:
        await route.fulfill(status=404, content_type="text/plain", body="not found")

    await page.route("**/static/reports/crm.js", stub)
    await page.route("**/static/reports/segments.js", missing)
    live = await live_stack_factory()
    await _log_in(page, live, "/reports#crm")
    await expect(page.locator("[data-report=crm] .stub")).to_have_text(STUB_TEXT)

    await page.click("button[data-tab=segments]")
    await expect(page.locator("[data-tab-error=segments]")).to_contain_text("Cannot load the report")
    await page.click("button[data-tab=crm]")
    await page.click("#btn-lang")
    await expect(page.locator("[data-report=crm] .stub")).to_have_text("你好 super1 zh /api/x?a=1&format=csv")
    await expect(page.locator("button[data-tab=commission]")).to_have_text("提成核算")
    # The broken module was a failed load, not a page error.
    assert [e for e in page_problems.errors if "segments" not in e] == []


async def test_supervisor_forces_agent_states_and_moves_a_waiting_call(
    live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    live = await live_stack_factory(answer_after=5.0)
    await _log_in(page, live, "/wallboard")
    await expect(page.locator("#connection")).to_have_class("connection live")

    # agent2 is ready; the supervisor pauses them for lunch, makes them ready, logs them out.
    agent2 = page.locator("tr[data-agent=agent2]")
    await live.make_available("agent2")
    await expect(agent2.locator(".a-state .state")).to_have_attribute("data-state", "available")
    await page.select_option("#pause-reason", "lunch")
    await agent2.locator(".force-pause").click()
    await expect(agent2.locator(".a-state .state")).to_have_attribute("data-state", "paused")
    await expect(agent2.locator(".a-reason")).to_have_text("lunch")
    assert live.service.acd.status("agent2").reason == "lunch"
    await agent2.locator(".force-ready").click()
    await expect(agent2.locator(".a-state .state")).to_have_attribute("data-state", "available")
    await agent2.locator(".force-logout").click()
    await expect(agent2.locator(".a-state .state")).to_have_attribute("data-state", "logged_out")
    assert live.service.acd.status("agent2").state == "logged_out"

    # A call waits in general (agent1 is on a break); the supervisor moves it to priority.
    await live.service.acd.set_agent_state("agent1", "paused", "break")
    script = CallerScript(caller_id=UNKNOWN_CALLER, keys=["2", "0"], key_delay=0.5, hangup_after_answer=600)
    await live.place_call(script)
    waiting = page.locator("#queues .waiting-call")
    await expect(waiting).to_have_count(1, timeout=30_000)
    await expect(waiting.locator(".wc-queue")).to_have_text("General enquiries")  # the display name
    await waiting.locator("select.move-target").select_option("priority")
    await waiting.locator(".move button").click()
    await expect(page.locator("#board-message")).to_contain_text("moved to Private banking and VIP (7x24)")
    await expect(waiting.locator(".wc-queue")).to_have_text("Private banking and VIP (7x24)")
    await expect(page.locator("#queues tr[data-queue=priority] .q-waiting")).to_have_text("1")
    await expect(page.locator("#queues tr[data-queue=general] .q-waiting")).to_have_text("0")

    # The supervisor makes agent1 ready: the moved call goes to agent1, answered in priority.
    agent1 = page.locator("tr[data-agent=agent1]")
    await agent1.locator(".force-ready").click()
    await expect(agent1.locator(".a-state .state")).to_have_attribute("data-state", "on_call", timeout=15_000)
    await expect(tile(page, "waiting")).to_have_text("0")
    await expect(page.locator("#queues tr[data-queue=priority] .q-answered")).to_have_text("1")
    assert page_problems.errors == []
