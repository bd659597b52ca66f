"""An agent reserved while the caller hears a long announcement is rung at once (issue 13, item 2).

The simulator's prompts last 40 simulated seconds here (4 s real): the
caller hears the queue announcement when the agent becomes available.  The
announcement must stop and the agent's phone ring within ~250 ms of the
reservation, and ``ring_seconds`` must count the ringing only (the phone
answers after 1 simulated second, 0.1 s real) — not the rest of the prompt.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from acd_kit import AgentSpec, world

from cti.ami.message import AmiMessage

QUEUES = """
[queues.general]
wrapup_seconds = 0
ring_timeout = 20
announce_seconds = 600
"""
PROMPT_MS = 40_000  # simulated; 4 s real at the kit's speed
ANN = AgentSpec("ann", "1001", ("general",), answer_after=1.0)


async def test_a_reservation_stops_the_announcement_and_ring_time_counts_the_ringing_only(
    db_url: str, tmp_path: Path
) -> None:
    async with world(db_url, tmp_path, [ANN], queues=QUEUES, extra={"acd_hold_poll_ms": 250}) as w:
        assert w.stack.simulator is not None
        w.stack.simulator.config.prompt_ms = PROMPT_MS
        streams: list[tuple[float, str]] = []
        rang: list[float] = []

        def listener(message: AmiMessage) -> None:
            if message.get("Event") == "AGIExecStart" and "STREAM FILE" in (message.get("Command") or ""):
                streams.append((time.time(), message.get("Command") or ""))
            elif message.get("Event") == "DialBegin":
                rang.append(time.time())

        w.stack.simulator.pbx.listeners.append(listener)
        await w.state("ann", "paused", "lunch")  # logged in: the call waits for her
        call = await w.call("+8613900000095", "1", hangup_after_answer=1.0)
        await w.waiting(call, "general")
        # Into the announcement: the agent becomes available while a prompt plays.
        await asyncio.sleep(1.0)
        playing = [command for _, command in streams if "bankcti/queue-" in command]
        assert playing, "the caller hears no queue announcement"
        await w.state("ann", "available")
        offered = await w.recorder.transition(call.linkedid, "offered")
        connected = await w.recorder.transition(call.linkedid, "connected", within=20)
        await call.wait_finished(timeout=30)
    assert call.answered_by == ANN.device
    assert rang, "the agent's phone never rang"
    # The prompt had seconds left; the phone rang within ~250 ms of the reservation.
    assert rang[0] - offered.at < 0.3, rang[0] - offered.at
    ring_seconds = connected.data["ring_seconds"]
    assert 0.05 <= ring_seconds < 0.4, ring_seconds
