"""Browser-test fixtures: the whole service with demo data, and Debian's Chromium driven by Playwright.

``live_stack`` is an :class:`~bankcti.stack.EmbeddedStack` (PBX simulator +
bankcti service, SQLite in ``tmp_path``, in-process bus, the bank IVR open
around the clock) seeded with the demo bank of ``bankcti demo``: agents
``agent1``..``agent6`` and supervisor ``super1``, password ``demo``.  Every
demo agent has a simulated phone that answers after ``answer_after``
simulated seconds.  Nobody is logged in to the ACD: tests make agents
available through the page or :meth:`LiveStack.make_available`.

``browser`` launches ``/usr/bin/chromium`` (never a downloaded browser),
``page`` opens a fresh context on it, and ``artifacts`` is the git-ignored
directory for screenshots.  Every test here carries ``pytest.mark.browser``
(added by :func:`pytest_collection_modifyitems`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import func, select, update

from bankcti.app import Service
from bankcti.settings import Settings, load_settings
from bankcti.stack import EmbeddedStack
from crm_core.customers.accounts import load_or_create_pepper
from crm_core.db import create_engine, session_factory, upgrade
from crm_core.demo.seed import DemoSummary, seed_demo
from crm_core.models import Agent, Customer, PhoneNumber
from crm_core.models.coltypes import utcnow
from cti.simulator import AgentPhone, CallerScript, PbxSimulator, SimulatedCall

CHROMIUM = Path(os.environ.get("BANKCTI_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
#: The simulator runs this many times faster than real time (IVR prompts, ringing, talking).
SPEED = 10.0
DEMO_PASSWORD = "demo"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium through Playwright (tests/browser)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@dataclass(frozen=True)
class DemoCaller:
    """A demo customer a test can call as: the only live customer on ``e164``."""

    customer_id: int
    name: str
    tier: str
    e164: str


@dataclass
class LiveStack:
    """A running demo stack, plus what tests do to it (calls, restarts)."""

    stack: EmbeddedStack
    settings: Settings
    summary: DemoSummary
    phones: dict[str, AgentPhone] = field(default_factory=dict)  # by agent login

    @property
    def url(self) -> str:
        """Base URL of the console, e.g. ``http://127.0.0.1:41234``."""
        return self.stack.http_url

    @property
    def service(self) -> Service:
        assert self.stack.service is not None, "the service is stopped"
        return self.stack.service

    @property
    def simulator(self) -> PbxSimulator:
        assert self.stack.simulator is not None
        return self.stack.simulator

    async def log_in(self, page: Page, login: str = "agent1") -> None:
        """Log ``login`` (password ``demo``) in to the agent console and wait for the live connection."""
        await page.goto(self.url + "/")
        await page.fill("#login-name", login)
        await page.fill("#login-password", DEMO_PASSWORD)
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#connection")).to_have_class("connection live")

    async def make_available(self, login: str) -> None:
        """Put an agent in the ACD as available without a browser (a colleague who takes calls)."""
        await self.service.set_agent_available(login)

    async def place_call(self, script: CallerScript) -> SimulatedCall:
        """A customer calls the bank: the call runs through the bank IVR with ``script.keys``."""
        return await self.simulator.place_call(script)

    async def caller(self, tier: str, *, owner_login: str | None = None) -> DemoCaller:
        """A live demo customer of ``tier`` whose primary number belongs to nobody else.

        With ``owner_login`` the customer is made that agent's own (protected) customer.
        """
        async with self.service.sessions() as session:
            shared = (
                select(PhoneNumber.e164)
                .join(Customer, Customer.id == PhoneNumber.customer_id)
                .where(Customer.deleted_at.is_(None))
                .group_by(PhoneNumber.e164)
                .having(func.count(func.distinct(PhoneNumber.customer_id)) > 1)
            )
            row = (
                await session.execute(
                    select(Customer.id, Customer.name, Customer.tier, PhoneNumber.e164)
                    .join(PhoneNumber, PhoneNumber.customer_id == Customer.id)
                    .where(
                        Customer.tier == tier,
                        Customer.deleted_at.is_(None),
                        PhoneNumber.is_primary.is_(True),
                        PhoneNumber.e164.not_in(shared),
                    )
                    .order_by(Customer.id)
                    .limit(1)
                )
            ).first()
        if row is None:
            raise LookupError(f"no demo customer of tier {tier!r} with a number of their own")
        if owner_login is not None:
            async with self.service.sessions() as session, session.begin():
                owner = await session.scalar(select(Agent.id).where(Agent.login == owner_login))
                await session.execute(
                    update(Customer)
                    .where(Customer.id == row[0])
                    .values(owner_agent_id=owner, status="owned", owned_since=utcnow())
                )
        return DemoCaller(customer_id=row[0], name=row[1], tier=row[2], e164=row[3])

    async def stop_service(self) -> None:
        """Stop the bankcti service (the simulator keeps running); its ports stay in ``settings``."""
        service = self.service
        ports = service.ports
        self.settings = self.settings.model_copy(
            update={"http_port": ports.http, "fastagi_port": ports.fastagi}
        )
        await service.close()
        self.stack.service = None

    async def start_service(self) -> None:
        """Start a new service process-equivalent on the same HTTP and FastAGI ports."""
        assert self.stack.service is None, "stop_service() first"
        settings = self.settings.model_copy(update={"ami_port": self.simulator.ami_port})
        service = Service(settings)
        await service.start()
        self.stack.service = service

    async def restart_service(self) -> None:
        """Stop and start the service on the same ports: what an operator's restart looks like."""
        await self.stop_service()
        await self.start_service()


async def _seed(settings: Settings, customers: int) -> DemoSummary:
    url = settings.effective_database_url()
    await upgrade(url)
    engine = create_engine(url)
    try:
        pepper = load_or_create_pepper(settings.data_dir / "account-pepper")
        return await seed_demo(session_factory(engine), customers=customers, pepper=pepper)
    finally:
        await engine.dispose()


LiveStackFactory = Callable[..., Awaitable[LiveStack]]


@pytest.fixture
async def live_stack_factory(tmp_path: Path) -> AsyncIterator[LiveStackFactory]:
    """``await live_stack_factory(answer_after=..., customers=..., **settings_overrides)``.

    ``answer_after``: simulated seconds every demo agent's phone rings before
    it answers (the phones then wait for the caller to hang up).
    """
    started: list[EmbeddedStack] = []

    async def start(*, answer_after: float = 60.0, customers: int = 30, **overrides: Any) -> LiveStack:
        data_dir = tmp_path / f"data{len(started)}"
        values: dict[str, Any] = {
            "database_url": f"sqlite+aiosqlite:///{data_dir / 'bankcti.db'}",
            "data_dir": data_dir,
            "ivr_ignore_business_hours": True,
            # Simulated seconds: long enough for a person-like test to look at a ringing pop.
            "acd_ring_timeout": 300,
            "acd_wrapup_seconds": 30,
            "acd_hold_poll_ms": 50,
            "jobs_enabled": False,
        }
        values.update(overrides)
        settings = load_settings(environ={}, overrides=values)
        data_dir.mkdir(parents=True, exist_ok=True)
        summary = await _seed(settings, customers)
        phones: dict[str, AgentPhone] = {}
        for index, login in enumerate(summary.agent_logins):
            phones[login] = AgentPhone(device=f"Local/{1001 + index}@agents", answer_after=answer_after)
        stack = EmbeddedStack(settings, speed=SPEED, phones=phones.values())
        await stack.start()
        started.append(stack)
        return LiveStack(stack=stack, settings=settings, summary=summary, phones=phones)

    yield start
    for stack in reversed(started):
        await stack.close()


@pytest.fixture
async def live_stack(live_stack_factory: LiveStackFactory) -> LiveStack:
    """The demo stack with default settings (see :func:`live_stack_factory`)."""
    return await live_stack_factory()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat before any I/O starts
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests not run")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class PageProblems:
    """JavaScript errors and console errors seen on a page: a test should end with none."""

    errors: list[str] = field(default_factory=list)


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
async def page(browser: Browser, page_problems: PageProblems) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    page = await context.new_page()
    page.on("pageerror", lambda exc: page_problems.errors.append(f"pageerror: {exc}"))
    try:
        yield page
    finally:
        await context.close()


@pytest.fixture
def artifacts() -> Path:
    """``tests/browser/artifacts/`` (git-ignored): screenshots and traces of browser tests."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
