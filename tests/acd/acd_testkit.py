"""Shared helpers of the ACD tests: a hand-moved clock, a recording sink."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from acd import Acd, Offer
from acd.events import AgentStateChanged, BusEvent


class Clock:
    """A clock the test moves by hand (one second per reading unless frozen)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


class Sink:
    """Records published events; lets a test await one."""

    def __init__(self) -> None:
        self.events: list[BusEvent] = []
        self._changed = asyncio.Condition()

    async def publish(self, event: BusEvent) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, match: Callable[[BusEvent], bool], since: int = 0) -> BusEvent:
        """The first event from index ``since`` on that matches (waits up to 2 s)."""
        async with asyncio.timeout(2), self._changed:
            while True:
                for event in self.events[since:]:
                    if match(event):
                        return event
                await self._changed.wait()

    def states(self, login: str) -> list[tuple[str, str | None]]:
        return [
            (e.state, e.reason)
            for e in self.events
            if isinstance(e, AgentStateChanged) and e.agent_login == login
        ]


def make_acd(wrapup: float = 0.0, queues: tuple[str, ...] = ("general",)) -> tuple[Acd, Sink]:
    sink = Sink()
    acd = Acd(sink, ring_timeout=15, wrapup_seconds=wrapup, clock=Clock())
    for queue in queues:
        acd.add_queue(queue)
    return acd, sink


async def offered_to(ticket_offer: asyncio.Future[Offer]) -> Offer:
    async with asyncio.timeout(1):
        return await ticket_offer


async def standby(acd: Acd, queue: str = "general") -> None:
    """Log in a paused agent so ``queue`` accepts calls without offering them."""
    acd.register_agent("standby", "Standby", "PJSIP/standby", [queue])
    await acd.set_agent_state("standby", "paused", "break")
