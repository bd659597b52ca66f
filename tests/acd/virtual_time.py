"""A hand-moved clock shared with the event loop, for ACD tests that need its timers.

The ACD schedules reviews and wrap-ups with ``loop.call_later``; with
:class:`VirtualTimeLoop` as the loop and ``loop.time`` as the ACD's clock,
moving ``loop.now`` and calling :func:`settle` fires every timer due by then,
deterministically and without waiting.
"""

from __future__ import annotations

import asyncio

from acd.events import BusEvent


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock moves only when the test moves it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1_000.0

    def time(self) -> float:
        return self.now


class Sink:
    def __init__(self) -> None:
        self.events: list[BusEvent] = []

    async def publish(self, event: BusEvent) -> None:
        self.events.append(event)


async def settle() -> None:
    """Let due timers and the flush tasks they start run."""
    for _ in range(4):
        await asyncio.sleep(0)
