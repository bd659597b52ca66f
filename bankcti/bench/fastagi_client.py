"""The client side of ``bankcti bench fastagi``: N concurrent sessions playing Asterisk.

Each session connects, sends the ``agi_*`` block Asterisk 22 sends for ``AGI(agi://127.0.0.1:PORT/bench,K)``
(as recorded in ``tests/fixtures/asterisk/``, plus ``agi_arg_1: K``), then answers every command line with
the reply Asterisk gave to it in the recordings: ``200 result=1 (support)`` to ``GET VARIABLE IVR_CHOICE``,
``200 result=1`` to ``SET VARIABLE``, ``200 result=0 endpos=11360`` to ``STREAM FILE``; anything else gets
``510 Invalid or unknown command`` and is counted as unexpected.  The server closes the session after its
K commands.  The sessions are :class:`asyncio.BufferedProtocol` objects reading into one shared buffer,
so the client spends as little of its loop as it can between a reply and the next command: a heavy client
would be the bottleneck and make any two servers look alike.

*Turnaround* of a command is the time from the client's previous write (the ``agi_*`` block for the first
command, the reply to the previous command for the others) — taken right after ``transport.write`` put
the bytes in the kernel — to the moment the client's loop hands it the command line (``data_received``).
It is what Asterisk waits for between two commands: the server's whole work on one command (reading the
reply, parsing it, the script's next step, writing the command) plus loopback and both loops' scheduling.

With ``think_ms`` > 0 each reply is held back for a uniform random time in [0.5, 1.5] × ``think_ms``, as
if Asterisk were playing a prompt or waiting for digits; the hold is not part of the turnaround.  The
sessions then also start spread evenly over one ``think_ms``, as calls arrive, rather than in one burst
of connects: the phase measures a loaded server in its steady state.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bankcti.bench.fastagi_server import GET_LINE, ROUTE, SET_LINE, STREAM_LINE

__all__ = ["REPLIES", "PhaseResult", "env_block", "run_phase"]

REPLIES: dict[bytes, bytes] = {
    GET_LINE.encode(): b"200 result=1 (support)\n",
    SET_LINE.encode(): b"200 result=1\n",
    STREAM_LINE.encode(): b"200 result=0 endpos=11360\n",
}
"""Asterisk's reply to each command of the benchmark script (from the recorded traces)."""
UNKNOWN_REPLY = b"510 Invalid or unknown command\n"


def env_block(port: int, session: int, commands: int) -> bytes:
    """The ``agi_*`` block of one session, in Asterisk's order, ending with the empty line."""
    fields = [
        ("network", "yes"),
        ("network_script", ROUTE),
        ("request", f"agi://127.0.0.1:{port}/{ROUTE}"),
        ("channel", f"Local/s@ivr-in-{session:08x};2"),
        ("language", "en"),
        ("type", "Local"),
        ("uniqueid", f"1796398590.{session}"),
        ("version", "22.10.1"),
        ("callerid", f"+1555{session:07d}"),
        ("calleridname", "Bench Caller"),
        ("callingpres", "0"),
        ("callingani2", "0"),
        ("callington", "0"),
        ("callingtns", "0"),
        ("dnid", "unknown"),
        ("rdnis", "unknown"),
        ("context", "ivr-in"),
        ("extension", "s"),
        ("priority", "2"),
        ("enhanced", "0.0"),
        ("accountcode", ""),
        ("threadid", str(140388116022976 + session)),
        ("arg_1", str(commands)),
    ]
    return ("".join(f"agi_{key}: {value}\n" for key, value in fields) + "\n").encode()


@dataclass
class PhaseResult:
    """What the client saw in one phase against one server."""

    sessions: int
    commands_per_session: int
    samples_ns: list[int] = field(default_factory=list)
    first_samples_ns: list[int] = field(default_factory=list)
    """The turnaround of each session's first command (accept, ``agi_*`` block, session start), also in
    ``samples_ns``."""
    complete_sessions: int = 0
    unexpected: list[str] = field(default_factory=list)
    failed_connects: int = 0
    timed_out: bool = False
    wall_seconds: float = 0.0

    @property
    def commands(self) -> int:
        return len(self.samples_ns)


class _AsteriskSession(asyncio.BufferedProtocol):
    """One call leg's AGI socket, Asterisk side."""

    def __init__(
        self,
        env: bytes,
        samples: list[int],
        result: PhaseResult,
        hold: Callable[[], float],
        expected: int,
        scratch: memoryview,
        on_closed: Callable[[asyncio.Transport | None], None],
    ) -> None:
        self._scratch = scratch
        self._on_closed = on_closed
        self._env = env
        self._samples = samples
        self._result = result
        self._hold = hold
        self._expected = expected
        self._buffer = b""
        self._sent = 0
        self._commands = 0
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(self._env)
        self._sent = time.perf_counter_ns()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        now = time.perf_counter_ns()
        self._buffer += self._scratch[:nbytes]
        while (end := self._buffer.find(b"\n")) >= 0:
            line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
            self._samples.append(now - self._sent)
            if not self._commands:
                self._result.first_samples_ns.append(now - self._sent)
            self._commands += 1
            reply = REPLIES.get(line.removesuffix(b"\r"))
            if reply is None:
                self._result.unexpected.append(line[:80].decode("utf-8", "replace"))
                reply = UNKNOWN_REPLY
            delay = self._hold()
            if delay > 0:
                self._loop.call_later(delay, self._reply, reply)
            else:
                self._reply(reply)

    def _reply(self, reply: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(reply)
            self._sent = time.perf_counter_ns()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._commands == self._expected and not self._buffer:
            self._result.complete_sessions += 1
        self._on_closed(self._transport)


async def run_phase(
    port: int,
    *,
    sessions: int,
    commands: int,
    think_ms: float,
    seed: int,
    time_limit: float,
    total_sessions: int = 0,
) -> PhaseResult:
    """Keep *sessions* sessions open at once against ``127.0.0.1:port`` until *total_sessions* have run.

    The first *sessions* start together (spread over one ``think_ms`` when there is one); each session
    that ends is replaced by a new one while fewer than *total_sessions* (default: *sessions*) have
    started, so the concurrency holds for the whole phase.  Each session expects *commands* commands.
    Returns the turnaround samples and what went wrong, if anything; after *time_limit* seconds the
    sessions still open are aborted and ``timed_out`` is set.
    """
    loop = asyncio.get_running_loop()
    total = max(sessions, total_sessions)
    result = PhaseResult(total, commands)
    rng = random.Random(seed)
    hold_s = think_ms / 1000

    def hold() -> float:
        return rng.uniform(0.5 * hold_s, 1.5 * hold_s) if hold_s > 0 else 0.0

    scratch = memoryview(bytearray(64 * 1024))  # every read is copied out before the next one
    transports: set[asyncio.Transport] = set()
    pending: set[asyncio.Task[None]] = set()
    finished = loop.create_future()
    counts = {"started": 0, "closed": 0}

    def closed(transport: asyncio.Transport | None) -> None:
        if transport is not None:
            transports.discard(transport)
        counts["closed"] += 1
        if result.timed_out:
            return  # aborted: no new sessions
        if counts["started"] < total:
            launch()
        elif counts["closed"] == total and not finished.done():
            finished.set_result(None)

    def launch() -> None:
        index = counts["started"]
        counts["started"] += 1
        protocol = _AsteriskSession(
            env_block(port, index, commands), result.samples_ns, result, hold, commands, scratch, closed
        )
        task = loop.create_task(connect(index, protocol))
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def connect(index: int, protocol: _AsteriskSession) -> None:
        if hold_s > 0 and index < sessions:
            await asyncio.sleep(index * hold_s / sessions)  # calls arrive, they do not all ring at once
        try:
            transport, _ = await loop.create_connection(lambda: protocol, "127.0.0.1", port)
        except OSError:
            result.failed_connects += 1
            closed(None)
            return
        if not transport.is_closing():
            transports.add(transport)

    started = time.perf_counter()
    try:
        async with asyncio.timeout(time_limit):
            for _ in range(sessions):
                launch()
            await finished
    except TimeoutError:
        result.timed_out = True
        for task in list(pending):
            task.cancel()
        for transport in list(transports):
            transport.abort()
        await asyncio.sleep(0)  # let the aborted transports report connection_lost
    result.wall_seconds = time.perf_counter() - started
    return result
