"""The agent page during a CRM outage: a notice, "the CRM is unavailable, retrying", then on by itself.

The demo stack runs on a private PostgreSQL cluster (``tests/faults/pg_cluster.py``) that the test
stops: the agent logs in, the server answers 503 with ``Retry-After``, and the page shows the notice
(English, then Chinese after the language switch) instead of an error while it retries.  Once the
cluster is started again the login goes through without the agent doing anything.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import make_url

from crm_core.db import create_database_if_missing

# The private-cluster helper lives with the fault tests; pytest puts only this directory on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))
from pg_cluster import PgCluster, pg_cluster

if TYPE_CHECKING:
    from conftest import LiveStackFactory, PageProblems


@pytest.fixture
def pg() -> Iterator[PgCluster]:
    # Requested before the stack, so it is torn down after it.
    with pg_cluster() as cluster:
        yield cluster


async def test_login_during_a_crm_outage_shows_a_notice_and_goes_through_once_the_database_is_back(
    pg: PgCluster, live_stack_factory: LiveStackFactory, page: Page, page_problems: PageProblems
) -> None:
    url = make_url(pg.url).set(database=f"bankcti_browser_{secrets.token_hex(4)}")
    database_url = url.render_as_string(hide_password=False)
    await create_database_if_missing(database_url)
    live = await live_stack_factory(database_url=database_url, customers=5)
    await page.goto(live.url)
    await expect(page.locator("#login-view")).to_be_visible()

    await pg.stop_async("fast")
    await page.fill("#login-name", "agent1")
    await page.fill("#login-password", "demo")
    await page.click("#login-form button[type=submit]")
    notice = page.locator("#crm-unavailable")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("The CRM is unavailable, retrying in")
    await expect(page.locator("#login-error")).to_have_text("")  # a notice, not an error
    await page.click("#btn-lang")
    await expect(notice).to_contain_text("CRM 暂时不可用")

    await pg.start_async()
    # The page retries on its own after Retry-After (5 s): the agent is in without clicking again.
    await expect(page.locator("#console-view")).to_be_visible(timeout=20_000)
    await expect(notice).to_be_hidden()
    assert page_problems.errors == []
