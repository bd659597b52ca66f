"""A world for ACD tests through the PBX simulator: menus, queues, agents, customers, a bus recorder.

The IVR of these tests identifies the caller by caller ID, then one key
picks the queue (1 general, 2 skilled, 3 over, 4 short).  Queue times are
real seconds (the ACD's timers), kept short; the simulator runs faster than
real time for rings and prompts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acd.events import BusEvent, CallOffered, QueueTransition
from bankcti.bus import InProcessBus
from bankcti.settings import load_settings
from bankcti.stack import EmbeddedStack
from crm_core.contact_center.agents import AgentDirectory
from crm_core.customers.directory import CustomerDirectory
from crm_core.db import create_engine, session_factory, upgrade
from cti.simulator import AgentPhone, CallerScript, SimulatedCall

SPEED = 10.0

MENU = """
description = "ACD tests: identify the caller, then one key picks the queue"
entry = "identify"
agent_queue = "general"

[nodes.identify]
type = "identify"
next = "choose"

[nodes.choose]
type = "menu"
prompt = "bankcti/main-menu"
choices = { "1" = "q-general", "2" = "q-skilled", "3" = "q-over", "4" = "q-short" }
timeout_ms = 3000
retries = 1
fallback = "q-general"

[nodes.q-general]
type = "queue"
queue = "general"

[nodes.q-skilled]
type = "queue"
queue = "skilled"
skills = ["fx"]

[nodes.q-over]
type = "queue"
queue = "over"

[nodes.q-short]
type = "queue"
queue = "short"
"""

QUEUES = """
[priority]
aging_per_minute = 2.0
aging_cap = 60

[priority.tier]
private = 40
vip = 30
standard = 0

[queues.general]
rm_grace_seconds = 3
wrapup_seconds = 2
announce_seconds = 60
ring_timeout = 6

[queues.skilled]
skills = ["fx"]
bullseye = [[0, 5], [3, 1]]
wrapup_seconds = 0

[queues.over]
overflow = [{ after = 3, action = "widen", queue = "backup" }]
wrapup_seconds = 0

[queues.backup]
wrapup_seconds = 0

[queues.short]
max_wait_seconds = 3
wrapup_seconds = 0
"""


@dataclass(frozen=True)
class AgentSpec:
    login: str
    extension: str
    queues: tuple[str, ...]
    skills: dict[str, int] = field(default_factory=dict)
    answers: bool = True
    answer_after: float = 1.0
    talk_seconds: float | None = None

    @property
    def device(self) -> str:
        return f"PJSIP/{self.extension}"


@dataclass(frozen=True)
class CustomerSpec:
    name: str
    phone: str  # E.164
    tier: str = "standard"
    owner: str | None = None


async def seed(db_url: str, agents: Iterable[AgentSpec], customers: Iterable[CustomerSpec]) -> dict[str, int]:
    """Create agents and customers; returns customer ids by name."""
    await upgrade(db_url)
    engine = create_engine(db_url)
    ids: dict[str, int] = {}
    try:
        sessions = session_factory(engine)
        directory = AgentDirectory(sessions)
        for agent in agents:
            await directory.create_agent(
                agent.login,
                agent.login.title(),
                "pw-" + agent.login,
                extension=agent.extension,
                device=agent.device,
                queues=list(agent.queues),
                skills=agent.skills,
            )
        people = CustomerDirectory(sessions)
        for customer in customers:
            customer_id = await people.create_customer(
                customer.name, tier=customer.tier, owner_login=customer.owner
            )
            await people.add_phone(customer_id, customer.phone, "CN", is_primary=True)
            ids[customer.name] = customer_id
    finally:
        await engine.dispose()
    return ids


class Recorder:
    """Every bus event, awaitable."""

    def __init__(self, bus: InProcessBus) -> None:
        self.events: list[BusEvent] = []
        self._subscription = bus.subscribe()
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self._subscription:
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def wait_for(self, match: Callable[[BusEvent], bool], within: float = 15.0) -> BusEvent:
        async with asyncio.timeout(within), self._changed:
            while True:
                for event in self.events:
                    if match(event):
                        return event
                await self._changed.wait()

    def offers(self) -> list[tuple[str, str]]:
        """(call_id, agent) of every screen-pop, in order."""
        return [(e.call_id, e.agent_login) for e in self.events if isinstance(e, CallOffered)]

    def transitions(self, call_id: str | None = None) -> list[QueueTransition]:
        return [
            e
            for e in self.events
            if isinstance(e, QueueTransition) and (call_id is None or e.call_id == call_id)
        ]

    async def offered(self, call_id: str, within: float = 15.0) -> str:
        event = await self.wait_for(lambda e: isinstance(e, CallOffered) and e.call_id == call_id, within)
        assert isinstance(event, CallOffered)
        return event.agent_login

    async def transition(self, call_id: str, name: str, within: float = 15.0) -> QueueTransition:
        event = await self.wait_for(
            lambda e: isinstance(e, QueueTransition) and e.call_id == call_id and e.event == name, within
        )
        assert isinstance(event, QueueTransition)
        return event

    async def close(self) -> None:
        self._task.cancel()


@dataclass
class World:
    stack: EmbeddedStack
    recorder: Recorder
    customers: dict[str, int]

    @property
    def acd(self) -> Any:
        assert self.stack.service is not None
        return self.stack.service.acd

    async def call(self, phone: str, key: str, **script: Any) -> SimulatedCall:
        assert self.stack.simulator is not None
        return await self.stack.simulator.place_call(CallerScript(caller_id=phone, keys=[key], **script))

    async def state(self, login: str, state: str, reason: str | None = None) -> None:
        await self.acd.set_agent_state(login, state, reason)

    async def waiting(self, call: SimulatedCall, queue: str, within: float = 15.0) -> None:
        await self.recorder.transition(call.linkedid, "joined", within)


def write_config(tmp_path: Path, queues: str = QUEUES) -> tuple[Path, Path]:
    menus = tmp_path / "menus"
    menus.mkdir(exist_ok=True)
    (menus / "acd.toml").write_text(MENU, encoding="utf-8")
    queue_file = tmp_path / "queues.toml"
    queue_file.write_text(queues, encoding="utf-8")
    return menus, queue_file


@asynccontextmanager
async def world(
    db_url: str,
    tmp_path: Path,
    agents: Iterable[AgentSpec],
    customers: Iterable[CustomerSpec] = (),
    *,
    queues: str = QUEUES,
    seeded: bool = False,
    extra: dict[str, Any] | None = None,
) -> AsyncIterator[World]:
    """A running stack with ``agents`` (logged out) and ``customers``."""
    agents = list(agents)
    ids = {} if seeded else await seed(db_url, agents, customers)
    menus, queue_file = write_config(tmp_path, queues)
    settings = load_settings(
        environ={},
        overrides={
            "database_url": db_url,
            "data_dir": tmp_path / "data",
            "ivr_menu_dir": menus,
            "ivr_entry_menu": "acd",
            "acd_queue_file": queue_file,
            "acd_hold_poll_ms": 50,
            "jobs_enabled": False,
            **(extra or {}),
        },
    )
    phones = [
        AgentPhone(a.device, answer_after=a.answer_after, answers=a.answers, talk_seconds=a.talk_seconds)
        for a in agents
    ]
    bus = InProcessBus()
    recorder = Recorder(bus)
    async with EmbeddedStack(settings, speed=SPEED, phones=phones, bus=bus) as stack:
        try:
            yield World(stack, recorder, ids)
        finally:
            await recorder.close()
