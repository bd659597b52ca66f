"""No socket gets two wallboard messages closer than the push interval: greeting, late page, re-subscribe.

Real console on 127.0.0.1, real database (the board looks names up there),
real websockets.  Each frame is stamped with ``time.monotonic()`` as this
test's reader takes it; the console's own rule is on the same clock, at the
moment it queues a message, so what a socket reads may come a little
earlier or later than that: the tests allow a tenth of the interval for it
and hold the console's own figure (:attr:`Wallboard.closest_gap`) to the
whole interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from typing import Any

from console_harness import WAIT
from crm_harness import CrmConsole, CrmConsoleFactory
from websockets.asyncio.client import ClientConnection

from acd.events import AgentStateChanged, CallOffered, CallQueued
from agent_console.wallboard import DbWallboardDirectory, Wallboard, WallboardConfig

INTERVAL = 0.4  # a tenth of it (40 ms) covers this process being put off the CPU a moment
SLACK = 0.9  # the share of the interval a socket must see between two frames (delivery jitter)

Frame = tuple[float, dict[str, Any]]  # (monotonic stamp as read, the board)


class Reader:
    """Every wallboard frame of one socket, stamped as read."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[Frame] = []
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                stamp = time.monotonic()
                message = json.loads(raw)
                if message["type"] == "wallboard":
                    self.frames.append((stamp, message["event"]))

    async def subscribe(self) -> None:
        await self.ws.send(json.dumps({"type": "subscribe", "topic": "wallboard"}))

    async def until(self, check: Any) -> dict[str, Any]:
        """Wait for a frame whose board passes ``check``."""
        async with asyncio.timeout(WAIT):
            while True:
                for _, board in self.frames:
                    if check(board):
                        return board
                await asyncio.sleep(0.01)

    def gaps(self) -> list[float]:
        return [b[0] - a[0] for a, b in itertools.pairwise(self.frames)]

    async def close(self) -> None:
        await self.ws.close()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def offered(count: int) -> Any:
    return lambda board: board["totals"]["offered"] >= count


async def console_with_board(make_crm_console: CrmConsoleFactory, interval: float) -> CrmConsole:
    first = await make_crm_console()
    config = WallboardConfig(directory=DbWallboardDirectory(first.sessions), push_interval=interval)
    return await make_crm_console(wallboard=config)


async def test_a_greeting_is_not_followed_by_a_push_sooner_than_the_interval(
    make_crm_console: CrmConsoleFactory,
) -> None:
    interval = 0.5  # long enough that a push right after the greeting could not pass for jitter
    console = await console_with_board(make_crm_console, interval)
    board: Wallboard = console.app.state.wallboard
    sue = Reader((await console.socket("sue"))[0])
    # The board's start-up push (names looked up) is long past: the board idles, waiting for a change.
    await asyncio.sleep(2 * interval)
    await sue.subscribe()
    await sue.until(lambda b: True)
    await console.bus.publish(CallQueued(call_id="G1", queue="retail"))  # the change comes at once
    await sue.until(offered(1))
    (greeted, _), (pushed, board_after) = sue.frames[:2]
    assert pushed - greeted >= SLACK * interval
    assert board_after["totals"]["offered"] == 1
    assert board.closest_gap >= interval
    await sue.close()


async def test_no_socket_gets_two_frames_closer_than_the_interval_under_a_stream_of_calls(
    make_crm_console: CrmConsoleFactory,
) -> None:
    console = await console_with_board(make_crm_console, INTERVAL)
    board: Wallboard = console.app.state.wallboard
    first = Reader((await console.socket("sue"))[0])
    await first.subscribe()
    await first.until(lambda b: True)
    late = Reader((await console.socket("sue"))[0])  # a second screen, opened while the calls flow
    calls = 160

    async def stream() -> None:
        for n in range(calls):
            call = f"S{n:03d}"
            await console.bus.publish(CallQueued(call_id=call, queue="retail"))
            await console.bus.publish(AgentStateChanged(agent_login="alice", state="ringing", call_id=call))
            await console.bus.publish(CallOffered(call_id=call, agent_login="alice", queue="retail"))
            await console.bus.publish(AgentStateChanged(agent_login="alice", state="available"))
            if n == calls // 3:
                await late.subscribe()  # greeted between two pushes
            if n == calls // 2:
                await first.subscribe()  # subscribing again on the same socket
            await asyncio.sleep(0.01)

    await stream()
    await first.until(offered(calls))
    await late.until(offered(calls))
    for reader in (first, late):
        assert len(reader.frames) >= 3
        assert min(reader.gaps()) >= SLACK * INTERVAL, sorted(reader.gaps())[:3]
    # The stream lasted over 1.6 s: several waves went, and none sooner than the interval on any socket.
    assert len(first.frames) >= 4
    assert board.closest_gap >= INTERVAL
    await first.close()
    await late.close()
