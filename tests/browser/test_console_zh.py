"""Chinese mode is complete: every label a user sees on the console pages is Chinese.

agent1 works in Chinese: a VIP customer calls through the bank IVR and the
screen-pop (tier, accounts, last follow-ups, the IVR path), then the customer
record, are scanned; super1, in Chinese too, has the wallboard (a waiting gold
caller, agents, pause reasons) and every reports tab scanned.  A scan fails on
(a) a catalog key shown instead of its text (``wrap.notes``), (b) a code of a
known enumeration shown as it is where the catalogs translate it (a tier, a
disposition, a channel, a direction, an account type or status, a pause
reason, a described IVR node), or an English catalog text in Chinese mode, and
(c) a 12-hour time (AM/PM, 上午/下午) in Chinese.  Switched to English, the
same page shows human text too, never codes.  Both catalogs have the same keys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from doc_screenshots import publish
from playwright.async_api import Browser, Page, expect

from cti.simulator import CallerScript
from ivr import load_menus

if TYPE_CHECKING:
    from conftest import LiveStack, LiveStackFactory, PageProblems

REPO = Path(__file__).resolve().parents[2]
ZH = "localStorage.setItem('bankcti.console.lang', 'zh')"

# The enumerations the console translates (codes as the server sends them).
CODES = {
    "tier": ["private", "vip", "gold", "standard"],
    "disp": ["resolved", "follow-up", "complaint", "sale", "wrong-number"],
    "channel": ["phone", "ivr", "email", "web", "visit", "sms"],
    "dir": ["inbound", "outbound"],
    "acct.type": ["deposit", "loan", "card", "wealth"],
    "acct.status": ["active", "frozen", "lost"],
    "pausereason": ["break", "lunch", "training", "meeting", "after-call-work", "admin-work"],
}

# Every visible text node (hidden elements and the language button left out), with the
# texts of the options of visible selects; each node is split at the separators the
# pages put between values, so a code shown as it is becomes a token of its own.
VISIBLE_TEXT = """() => {
  const texts = [];
  const visible = (el) => el && el.checkVisibility && el.checkVisibility();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("#btn-lang, script, style, option, svg title")) continue;
    if (!visible(parent) || !node.textContent.trim()) continue;
    texts.push(node.textContent.trim());
  }
  for (const select of document.querySelectorAll("select")) {
    if (!visible(select)) continue;
    for (const option of select.options) texts.push(option.textContent.trim());
  }
  return texts;
}"""

SEPARATORS = re.compile(r"\s*(?:·|→|\(|\)|（|）|,|，|:|：|\[|\]|—|–)\s*")


async def catalogs(page: Page) -> dict[str, dict[str, str]]:
    """The console's catalogs, read from the page's own i18n module."""
    result: dict[str, dict[str, str]] = await page.evaluate(
        "async () => { const m = await import('/static/i18n.js'); return m.catalogs; }"
    )
    return result


def described_nodes() -> set[str]:
    """The IVR node names the menu files describe (label / label_zh)."""
    return set(load_menus(REPO / "config" / "ivr").node_labels("bank"))


async def scan(page: Page, where: str, language: str) -> list[str]:
    """What is wrong with the visible text of ``page`` in ``language``; ``[]`` when nothing."""
    texts: list[str] = await page.evaluate(VISIBLE_TEXT)
    assert texts, f"{where}: nothing visible"
    books = await catalogs(page)
    problems: list[str] = []
    keys = [k for k in books["en"] if "." in k]
    key_pattern = re.compile(
        r"(?<![\w.-])(" + "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True)) + r")(?![\w.-])"
    )
    # A code whose label in this language is the code itself (en "deposit") is human text already.
    raw = {
        code
        for kind, codes in CODES.items()
        for code in codes
        if books[language].get(f"{kind}.{code}", code) != code
    } | described_nodes()
    english_only = {
        value
        for key, value in books["en"].items()
        if value != books["zh"][key] and "{" not in value and len(value) > 1
    }
    for text in texts:
        for match in key_pattern.finditer(text):
            problems.append(f"{where}: catalog key {match.group(1)!r} in {text!r}")
        tokens = [token for token in SEPARATORS.split(text) if token]
        for token in tokens:
            if token in raw:
                problems.append(f"{where}: raw code {token!r} in {text!r}")
            if language == "zh" and token in english_only:
                problems.append(f"{where}: English text {token!r} in Chinese mode ({text!r})")
        if language == "zh" and re.search(r"\b(?:AM|PM|am|pm|a\.m\.|p\.m\.)\b|上午|下午", text):
            problems.append(f"{where}: 12-hour time in {text!r}")
    return problems


async def log_in(page: Page, url: str, login: str) -> None:
    await page.goto(url)
    await page.fill("#login-name", login)
    await page.fill("#login-password", "demo")
    await page.click("#login-form button[type=submit]")


async def test_every_visible_label_is_chinese_in_zh_and_human_in_en(
    live_stack_factory: LiveStackFactory,
    page: Page,
    browser: Browser,
    artifacts: Path,
    page_problems: PageProblems,
) -> None:
    # The phones ring long enough to look at the pop (600 simulated seconds).
    live: LiveStack = await live_stack_factory(answer_after=600.0)
    vip = await live.caller("vip", owner_login="agent1")
    gold = await live.caller("gold")
    await page.add_init_script(ZH)
    await log_in(page, live.url + "/", "agent1")
    await expect(page.locator("#connection")).to_have_class("connection live")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    # Both catalogs have exactly the same keys.
    books = await catalogs(page)
    assert sorted(set(books["en"]) - set(books["zh"])) == []
    assert sorted(set(books["zh"]) - set(books["en"])) == []

    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_attribute("data-state", "available")
    await live.place_call(CallerScript(caller_id=vip.e164, keys=["2", "0"], key_delay=0.5))
    pop = page.locator(".pop")
    await expect(pop.locator(".customer-name")).to_have_text(vip.name, timeout=30_000)
    await expect(pop.locator(".contracts .muted")).to_have_count(0)  # open contracts loaded
    await expect(pop.locator(".followups tbody tr").first).to_be_visible()
    # The tier is a label, the IVR path the menus' descriptions of each step.
    await expect(pop.locator(".badge.tier")).to_have_text("贵宾客户")
    ivr = pop.locator("ol.ivr li")
    await expect(ivr.first).to_have_text("欢迎语")
    await expect(pop.locator("ol.ivr li[data-node=vip-check]")).to_have_text("VIP 识别 → 贵宾客户")
    await expect(pop.locator("ol.ivr li[data-node=choose-language]")).to_have_text("语种选择 → 按 2 键")
    await expect(pop.locator(".pop-head .badge")).to_have_text("队列 私人银行与贵宾（7x24）")
    problems = await scan(page, "screen-pop (zh)", "zh")
    # The scan is not blind: a key, raw codes, English text and a 12-hour time are each caught.
    await page.evaluate(
        """() => { const p = document.createElement("p"); p.id = "leak";
        p.textContent = "wrap.notes · vip · vip-check → x · Private banking · 3:05 PM";
        document.body.append(p); }"""
    )
    leaks = await scan(page, "leak", "zh")
    await page.evaluate("() => document.getElementById('leak').remove()")
    caught = [
        "catalog key 'wrap.notes'",
        "raw code 'vip'",
        "raw code 'vip-check'",
        "English text 'Private banking'",
    ]
    caught.append("12-hour time")
    assert len(leaks) == len(caught) and all(any(c in leak for leak in leaks) for c in caught), leaks
    await page.screenshot(path=str(artifacts / "console-zh.png"), full_page=True)
    publish(artifacts / "console-zh.png")

    # A second caller waits (agent1's phone is still ringing, nobody else is ready).
    await live.place_call(CallerScript(caller_id=gold.e164, keys=["2", "0"], key_delay=0.5))

    # The customer record from "my customers".
    await page.locator(f".customers tr:has-text('{vip.name}') .open-record").click()
    await expect(page.locator(".record-history tbody tr").first).to_be_visible()
    await expect(page.locator(".record .badge.tier")).to_have_text("贵宾客户")
    problems += await scan(page, "customer record (zh)", "zh")

    # The supervisor, in Chinese: the wallboard with the waiting caller, then every report.
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    await context.add_init_script(ZH)
    supervisor = await context.new_page()
    supervisor.on("pageerror", lambda exc: page_problems.errors.append(f"pageerror: {exc}"))
    try:
        await log_in(supervisor, live.url + "/wallboard", "super1")
        waiting = supervisor.locator("#queues .waiting-call")
        await expect(waiting).to_have_count(1, timeout=30_000)
        await expect(waiting.locator(".badge.tier")).to_have_text("金卡客户")
        await expect(supervisor.locator("tr[data-agent=agent1] .a-state")).not_to_be_empty()
        problems += await scan(supervisor, "wallboard (zh)", "zh")

        for tab in ("segments", "crm", "contact-center", "commission"):
            await supervisor.goto(f"{live.url}/reports#{tab}")
            report = supervisor.locator(f"#tab-panel .report[data-report='{tab}']")
            await expect(report).to_be_visible(timeout=30_000)
            await expect(report).not_to_be_empty()
            await supervisor.wait_for_load_state("networkidle")
            problems += await scan(supervisor, f"reports {tab} (zh)", "zh")
    finally:
        await context.close()

    # English: the same record shows human text, never codes.
    await page.click("#btn-lang")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator(".record .badge.tier")).to_have_text("VIP")
    await expect(pop.locator("ol.ivr li[data-node=vip-check]")).to_have_text("VIP check → VIP")
    problems += await scan(page, "console (en)", "en")
    assert problems == [], "\n".join(problems)
    assert page_problems.errors == []
    await page.screenshot(path=str(artifacts / "console-en-after-zh.png"), full_page=True)
