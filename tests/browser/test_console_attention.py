"""The agent console gets the agent's attention and keeps them out of trouble (issue 14, item 5).

Against the whole running service in Chromium:

* a call offered to the agent blinks the tab title with the caller, turns the favicon to its ringing
  variant, plays the (opted-in) ring tone and shows a desktop notification whose click focuses the tab;
  all of it stops when the call is answered; the notification permission is asked once, on Ready;
* the keyboard shortcuts go ready, hold, resume, save the wrap-up and hang up — checked in the ACD
  and the database, not only on screen — and Alt+H does nothing while typing in the notes;
* right after login the state shows the server's truth and the time already spent in it;
* with the server unreachable (API requests failing, then the service stopped) a banner says so, every
  state-changing button is disabled and the api() helper refuses state changes; once the server is back
  the banner goes, the buttons come back and the notes typed meanwhile are still there.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from doc_screenshots import publish
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from crm_core.models import Interaction
from cti.simulator import CallerScript

if TYPE_CHECKING:
    from conftest import LiveStack, LiveStackFactory, PageProblems

NORMAL_TITLE = "bankcti · agent console"
FAVICON = "/static/favicon.svg"
FAVICON_RINGING = "/static/favicon-ringing.svg"
NOTE = "Customer asked for a new debit card PIN letter."
OFFLINE_NOTE = "Typed while the server was away: call back about the loan."

# Records what the page does with notifications and sound. Notification.permission reads "default"
# until the page has asked (remembered across reloads, as a browser does); the browser context has
# really granted the permission, so the request is answered "granted".
RECORDER = """
(() => {
  const record = { requests: 0, shown: [], closed: 0, focus: 0, tones: 0 };
  window.__attention = record;
  const Real = window.Notification;
  let asked = localStorage.getItem("test.notification.asked") === "1";
  class RecordingNotification extends EventTarget {
    constructor(title, options = {}) {
      super();
      this.title = title;
      this.body = options.body;
      record.shown.push({ title, body: options.body, tag: options.tag });
      record.last = this;
    }
    static get permission() { return asked && Real ? Real.permission : "default"; }
    static requestPermission() {
      record.requests += 1;
      asked = true;
      localStorage.setItem("test.notification.asked", "1");
      return Real ? Real.requestPermission() : Promise.resolve("granted");
    }
    close() { record.closed += 1; }
  }
  window.Notification = RecordingNotification;
  const focus = window.focus.bind(window);
  window.focus = () => { record.focus += 1; focus(); };
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) { record.tones += 1; return start.apply(this, args); };
})();
"""

# Every text the state label and its timer show, from the first paint on.
STATE_HISTORY = """
window.__stateHistory = [];
document.addEventListener("DOMContentLoaded", () => {
  const remember = () => {
    const state = document.getElementById("state");
    const timer = document.getElementById("state-timer");
    const seen = `${state ? state.textContent : ""}|${timer ? timer.textContent : ""}`;
    const history = window.__stateHistory;
    if (history[history.length - 1] !== seen) history.push(seen);
  };
  const watch = { subtree: true, childList: true, characterData: true };
  new MutationObserver(remember).observe(document.body, watch);
  remember();
});
"""


@pytest.fixture
async def notifying_page(browser: Browser, page_problems: PageProblems) -> AsyncIterator[Page]:
    """A page whose context granted notifications, with :data:`RECORDER` installed."""
    context = await browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="en-US", permissions=["notifications"]
    )
    context.set_default_timeout(15_000)
    await context.add_init_script(RECORDER)
    page = await context.new_page()
    page.on("pageerror", lambda exc: page_problems.errors.append(f"pageerror: {exc}"))
    try:
        yield page
    finally:
        await context.close()


def _server_state(live: LiveStack, login: str = "agent1") -> str:
    agent = next(a for a in live.service.acd.snapshot().agents if a.login == login)
    return str(agent.state)


async def _until_state(live: LiveStack, state: str, login: str = "agent1") -> None:
    """Wait (bounded) until the ACD has ``login`` in ``state``."""
    for _ in range(300):
        if _server_state(live, login) == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{login} is {_server_state(live, login)}, not {state}")


async def _recorded(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(
        "() => { const r = window.__attention; return { ...r, last: undefined }; }"
    )
    return result


def _keep_screenshot(page_shot: Path, name: str) -> None:
    publish(page_shot, name)


async def test_ringing_gets_attention_and_shortcuts_drive_the_call(
    live_stack_factory: LiveStackFactory, notifying_page: Page, artifacts: Path, page_problems: PageProblems
) -> None:
    page = notifying_page
    # The phone rings 100 simulated seconds (10 s real) before it answers: time to look at the ringing.
    live = await live_stack_factory(answer_after=100.0)
    vip = await live.caller("vip", owner_login="agent1")
    await live.log_in(page)
    await expect(page.locator("#state")).to_have_attribute("data-state", "logged_out")
    await expect(page).to_have_title(NORMAL_TITLE)
    assert (await _recorded(page))["requests"] == 0

    # The ring tone is off by default; the agent switches it on (kept in localStorage).
    ring_sound = page.locator("#ring-sound")
    await expect(ring_sound).not_to_be_checked()
    await ring_sound.check()
    # The shortcuts are listed behind "?" and named on the buttons.
    await page.click("#btn-keys")
    await expect(page.locator("#keys-help")).to_contain_text("Alt+H")
    await expect(page.locator("#keys-help")).to_contain_text("Ctrl+Enter / Alt+S")
    await expect(page.locator("#btn-ready")).to_have_attribute("title", "Alt+R")

    # Alt+R: ready, as the ACD sees it; that first Ready asks for the notification permission.
    await page.keyboard.press("Alt+r")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert _server_state(live) == "available"
    assert (await _recorded(page))["requests"] == 1

    call = await live.place_call(
        CallerScript(caller_id=vip.e164, keys=["2", "0"], key_delay=0.5, hangup_after_answer=600.0)
    )
    pop = page.locator("article.pop[data-call-id]")
    await expect(pop.locator(".call-state")).to_have_text("ringing", timeout=30_000)
    assert call.answered_by is None
    favicon = page.locator("link[rel~='icon']")
    await expect(favicon).to_have_attribute("href", FAVICON_RINGING)
    await expect(page).to_have_title(f"☎ Incoming call — {vip.name}")
    # ... alternating with the normal title while it rings.
    await page.wait_for_function(
        """(normal) => document.title === normal
             && document.querySelector("link[rel~='icon']").getAttribute("href").includes("ringing")""",
        arg=NORMAL_TITLE,
    )
    await page.wait_for_function("() => window.__attention.shown.length === 1")
    recorded = await _recorded(page)
    assert recorded["shown"][0]["title"] == "Incoming call"
    assert vip.name in recorded["shown"][0]["body"]
    await page.wait_for_function("() => window.__attention.tones > 0")
    await expect(pop.locator(".btn-hangup")).to_have_attribute("title", "Alt+X")
    await page.screenshot(path=str(artifacts / "console-ringing.png"), full_page=False)
    # Clicking the notification brings the agent to the console's tab.
    await page.evaluate("() => window.__attention.last.dispatchEvent(new Event('click'))")
    assert (await _recorded(page))["focus"] >= 1

    # The phone answers: the title, the favicon and the notification are back to normal.
    await expect(pop.locator(".call-state")).to_have_text("connected", timeout=30_000)
    await expect(favicon).to_have_attribute("href", FAVICON)
    await expect(page).to_have_title(NORMAL_TITLE)
    assert (await _recorded(page))["closed"] >= 1
    assert await page.evaluate("() => document.body.hasAttribute('data-ringing')") is False

    # Alt+H holds and resumes the call, in the ACD.
    await page.locator("body").click(position={"x": 5, "y": 5})  # focus outside any field
    await page.keyboard.press("Alt+h")
    await _until_state(live, "on_hold")
    await expect(pop.locator(".btn-resume")).to_be_visible()
    await page.keyboard.press("Alt+h")
    await _until_state(live, "on_call")
    await expect(pop.locator(".btn-hold")).to_be_visible()

    # While typing in the notes Alt+H types nothing and holds nothing; Ctrl+Enter saves from the field.
    notes = pop.locator(".wrap-notes")
    await notes.fill(NOTE)
    await pop.locator(".wrap-disposition").select_option("resolved")
    await notes.focus()
    await page.keyboard.press("Alt+h")
    await page.keyboard.press("Control+Enter")
    await expect(pop.locator(".wrap-status")).to_have_text("saved to the follow-up history")
    assert _server_state(live) == "on_call"
    async with live.service.sessions() as session:
        row = await session.scalar(select(Interaction).where(Interaction.call_id == call.linkedid))
    assert row is not None and row.content == NOTE and row.disposition == "resolved"

    # Alt+X hangs up; the agent wraps up; Alt+R ends the wrap-up (ready again).
    await page.locator("body").click(position={"x": 5, "y": 5})
    await page.keyboard.press("Alt+x")
    await call.wait_finished(timeout=30)
    await expect(pop.locator(".call-state")).to_contain_text("ended", timeout=15_000)
    await _until_state(live, "wrap_up")
    await page.keyboard.press("Alt+r")
    await _until_state(live, "available")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")

    # The permission was asked once: not again on the next Ready, nor after a reload (remembered).
    await page.click("#btn-pause")
    await expect(page.locator("#state")).to_have_attribute("data-state", "paused")
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert (await _recorded(page))["requests"] == 1
    await page.reload()
    await expect(page.locator("#connection")).to_have_class("connection live")
    await expect(ring_sound).to_be_checked()  # the tone choice is remembered too
    await page.click("#btn-pause")
    await expect(page.locator("#state")).to_have_attribute("data-state", "paused")
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert (await _recorded(page))["requests"] == 0

    # A second call rings and the caller gives up before anyone answers: everything is restored.
    second = await live.place_call(CallerScript(caller_id=vip.e164, keys=["2", "0"], key_delay=0.5))
    ringing_pop = page.locator("article.pop[data-call-id]").first
    await expect(ringing_pop.locator(".call-state")).to_have_text("ringing", timeout=30_000)
    await expect(favicon).to_have_attribute("href", FAVICON_RINGING)
    await expect(page).to_have_title(f"☎ Incoming call — {vip.name}")
    await page.wait_for_function("() => window.__attention.shown.length === 1")
    await second.hangup()
    await expect(ringing_pop.locator(".call-state")).to_contain_text("ended", timeout=15_000)
    await expect(favicon).to_have_attribute("href", FAVICON)
    await expect(page).to_have_title(NORMAL_TITLE)
    assert (await _recorded(page))["closed"] >= 1

    # The console asks only once even when the agent dismissed the browser's question (still "default").
    await page.evaluate("() => localStorage.removeItem('test.notification.asked')")
    await page.reload()
    await expect(page.locator("#connection")).to_have_class("connection live")
    await page.click("#btn-pause")
    await expect(page.locator("#state")).to_have_attribute("data-state", "paused")
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    assert await page.evaluate("() => Notification.permission") == "default"
    assert (await _recorded(page))["requests"] == 0
    assert page_problems.errors == []
    _keep_screenshot(artifacts / "console-ringing.png", "console-ringing.png")


async def test_after_login_the_state_is_the_servers_with_its_time(
    live_stack: LiveStack, page: Page, page_problems: PageProblems
) -> None:
    # agent2 paused from another device a while ago.
    async with httpx.AsyncClient(base_url=live_stack.url) as client:
        login = await client.post("/api/login", json={"login": "agent2", "password": "demo"})
        token = login.json()["token"]
        paused = await client.post(
            "/api/agent/state",
            json={"state": "paused", "reason": "break"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert paused.status_code == 200, paused.text
    await asyncio.sleep(2.5)  # time spent paused before this login

    await page.add_init_script(STATE_HISTORY)
    await live_stack.log_in(page, "agent2")
    await expect(page.locator("#state")).to_have_attribute("data-state", "paused")
    timer = await page.locator("#state-timer").text_content()
    assert timer is not None and re.fullmatch(r"\d+:\d\d", timer), timer
    assert timer != "0:00" and timer != "0:01", timer
    # Before the server's status arrived the label never claimed "logged out" (nor any time).
    history: list[str] = await page.evaluate("() => window.__stateHistory")
    assert not any(seen.startswith("logged out") for seen in history), history
    assert not any(seen.endswith("|0:00") for seen in history), history
    assert page_problems.errors == []


async def test_server_unreachable_banner_disabled_buttons_refused_calls_and_back(
    live_stack_factory: LiveStackFactory, page: Page, artifacts: Path, page_problems: PageProblems
) -> None:
    live = await live_stack_factory(answer_after=20.0)
    vip = await live.caller("vip", owner_login="agent1")
    await live.log_in(page)
    banner = page.locator("#offline-banner")
    await expect(banner).to_be_hidden()
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    call = await live.place_call(
        CallerScript(caller_id=vip.e164, keys=["2", "0"], key_delay=0.5, hangup_after_answer=600.0)
    )
    pop = page.locator("article.pop[data-call-id]")
    await expect(pop.locator(".call-state")).to_have_text("connected", timeout=30_000)
    assert call.answered_by == live.phones["agent1"].device
    await pop.locator(".wrap-notes").fill(OFFLINE_NOTE)
    state_buttons = [
        page.locator("#btn-pause"),
        page.locator("#btn-logout"),
        pop.locator(".btn-hold"),
        pop.locator(".btn-hangup"),
        pop.locator(".transfer-form button[type=submit]"),
        pop.locator(".wrap-save"),
        page.locator(".customers .dial").first,
    ]
    for button in state_buttons:
        await expect(button).to_be_enabled()

    # 1. The API fails (the websocket stays up): banner, disabled buttons; back once /api/health answers.
    await page.route("**/api/**", lambda route: route.abort())
    failed = await page.evaluate(
        """() => import('/static/state.js')
             .then((m) => m.api('GET', '/api/agent/state'))
             .then(() => 'ok', (e) => e.status)"""
    )
    assert failed == 0
    await expect(banner).to_be_visible()
    await expect(banner).to_have_text("Connection to the server lost — retrying…")
    await expect(page.locator("body")).to_have_attribute("data-offline", "")
    for button in state_buttons:
        await expect(button).to_be_disabled()
    await page.unroute("**/api/**")
    await expect(banner).to_be_hidden(timeout=20_000)
    for button in state_buttons:
        await expect(button).to_be_enabled()

    # 2. The service stops: the websocket is down too.
    await live.stop_service()
    await expect(banner).to_be_visible(timeout=20_000)
    for button in state_buttons:
        await expect(button).to_be_disabled()
    await expect(page.locator("#btn-keys")).to_be_enabled()  # only looks: stays usable
    # Whatever still asks for a state change is refused with a clear message, and nothing is sent.
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    refused = await page.evaluate(
        """() => import('/static/state.js')
             .then((m) => m.api('POST', '/api/agent/state', { state: 'paused', reason: 'break' }))
             .then(() => 'sent', (e) => e.message)"""
    )
    assert refused == "Not sent: the server is unreachable. Try again once the connection is back."
    assert not any("/api/agent/state" in url for url in requests)
    # A shortcut presses nothing while its button is disabled.
    await pop.locator(".wrap-notes").focus()
    await page.keyboard.press("Control+Enter")
    await expect(pop.locator(".wrap-status")).to_have_text("")
    await page.screenshot(path=str(artifacts / "console-offline.png"), full_page=False)

    # 3. The service is back: banner gone, buttons enabled, the typed notes still there.
    await live.start_service()
    await expect(page.locator("#connection")).to_have_class("connection live", timeout=30_000)
    await expect(banner).to_be_hidden()
    await expect(page.locator("body")).not_to_have_attribute("data-offline", "")
    await expect(page.locator("[data-offline-disabled]")).to_have_count(0)
    await expect(page.locator("#btn-logout")).to_be_enabled()
    await expect(pop.locator(".wrap-save")).to_be_enabled()
    await expect(pop.locator(".wrap-notes")).to_have_value(OFFLINE_NOTE)
    # The refused pause never reached the ACD.
    assert _server_state(live) != "paused"
    assert page_problems.errors == []
    _keep_screenshot(artifacts / "console-offline.png", "console-offline.png")
