"""What the fault tests share: a migrated database on a private cluster, seed data, a service, waits."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from pg_cluster import PgCluster
from sqlalchemy import make_url

from acd.events import AgentStateChanged, BusEvent, QueueTransition
from bankcti.bus import InProcessBus
from bankcti.settings import Settings, load_settings
from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.directory import CustomerDirectory
from crm_core.db import create_database_if_missing, create_engine, session_factory, upgrade

#: One identify node, then goodbye: the call's history is all the IVR writes.
MENU = """
description = "fault tests: identify the caller by caller ID, then hang up"
entry = "identify"
agent_queue = "general"

[nodes.identify]
type = "identify"
next = "bye"

[nodes.bye]
type = "hangup"
"""

QUEUES = """
[queues.general]
wrapup_seconds = 0

[queues.nobody]
wrapup_seconds = 0
"""


async def new_database(cluster: PgCluster) -> str:
    """A new database on ``cluster``, migrated to head; its asyncpg URL."""
    url = make_url(cluster.url).set(database=f"bankcti_fault_{secrets.token_hex(4)}")
    rendered = url.render_as_string(hide_password=False)
    await create_database_if_missing(rendered)
    await upgrade(rendered)
    return rendered


async def seed_agents(
    db_url: str, logins: Iterable[str], queues: Iterable[str] = ("general",), *, role: str = "agent"
) -> None:
    engine = create_engine(db_url)
    try:
        directory = AgentDirectory(session_factory(engine))
        for number, login in enumerate(logins, 1):
            await directory.create_agent(
                login,
                login.title(),
                "pw-" + login,
                extension=str(2000 + number),
                device=f"PJSIP/{2000 + number}",
                role=role,
                queues=list(queues),
            )
    finally:
        await engine.dispose()


async def seed_customer(db_url: str, name: str, phone: str) -> int:
    engine = create_engine(db_url)
    try:
        people = CustomerDirectory(session_factory(engine))
        customer_id = await people.create_customer(name, tier="standard")
        await people.add_phone(customer_id, phone, "CN", is_primary=True)
        return customer_id
    finally:
        await engine.dispose()


def fault_settings(tmp_path: Path, db_url: str, **overrides: Any) -> Settings:
    """Settings of a service on ``db_url`` with the fault menu and queues, every port chosen by the system."""
    menus = tmp_path / "menus"
    menus.mkdir(exist_ok=True)
    (menus / "faults.toml").write_text(MENU, encoding="utf-8")
    queue_file = tmp_path / "queues.toml"
    queue_file.write_text(QUEUES, encoding="utf-8")
    return load_settings(
        environ={},
        overrides={
            "database_url": db_url,
            "data_dir": tmp_path / "data",
            "ivr_menu_dir": menus,
            "ivr_entry_menu": "faults",
            "acd_queue_file": queue_file,
            "http_port": 0,
            "fastagi_port": 0,
            "jobs_enabled": False,
            "ivr_ignore_business_hours": True,
            **overrides,
        },
    )


class AcdEventLog:
    """The ACD's queue and agent events in the order they reached the bus (what the recorder is given)."""

    def __init__(self, bus: InProcessBus) -> None:
        self.events: list[QueueTransition | AgentStateChanged] = []
        self._subscription = bus.subscribe()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self._subscription:
            self._keep(event)

    def _keep(self, event: BusEvent) -> None:
        if isinstance(event, QueueTransition | AgentStateChanged):
            self.events.append(event)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float = 0.1
) -> None:
    """Poll ``check`` until it holds; ``AssertionError`` naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            if await check():
                return
        except Exception:  # the database may still be coming back: keep polling until the deadline
            if time.monotonic() >= deadline:
                raise
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(every)
