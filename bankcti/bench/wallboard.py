"""``bankcti bench wallboard``: queue event → the supervisor's wallboard message, and the gaps between pushes.

The real console runs in this process (``create_app`` + ``start_console`` on a
free port of 127.0.0.1) over a real database — SQLite on a temporary file, or a
scratch PostgreSQL database next to ``--postgres`` (dropped after) — with the
agents' names looked up there as in production.  A steady stream of calls is
published on the in-process bus, ``--rate`` calls a second for ``--seconds``,
each call the events the ACD publishes: queued, ringing an agent (offered),
answered, ended, the agent's wrap-up and return to available; ``--agents``
agents take them in turn, each call waiting :data:`WAIT` seconds in one of
``--queues`` queues.

A supervisor logs in over HTTP and watches with two websockets, each read in
its own process (so that the console's work never delays the stamp of a
frame; both processes read the system's monotonic clock): ``first``
subscribes to the wallboard before the calls start; ``late`` subscribes
halfway through, as a page opened (or reopened) during the day, so its
greeting falls anywhere between two pushes.

Measured:

* latency — from the moment each ``call.queued`` event is published to the
  first wallboard message on ``first`` that reflects it: the first whose
  count of calls offered today (``totals.offered``, calls are queued in order)
  includes it;
* gaps — every interval between two consecutive wallboard messages on one
  socket, greeting included, as the supervisor's processes read them; and
  the shortest time the console left between queueing two messages to one
  socket (:attr:`~agent_console.wallboard.board.Wallboard.closest_gap`),
  which may never be shorter than ``--interval`` (exit status 1 if it is).
  What the sockets read adds the delivery's jitter — the console's event
  loop, the kernel, the reading process being scheduled — both ways;
* pushes/s on ``first`` while the calls flow, and the cost of one picture
  (snapshot built and serialised) at the end.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url

from acd import Acd
from acd.events import AgentStateChanged, BusEvent, CallConnected, CallEnded, CallOffered, CallQueued
from agent_console.app import create_app
from agent_console.server import start_console
from agent_console.wallboard import DbWallboardDirectory, Wallboard, WallboardConfig
from bankcti.adapters import AcdAgentControl, CrmAuthenticator
from bankcti.bench.pop import percentile
from bankcti.bench.report import host_facts, table_rows
from bankcti.bus import InProcessBus
from crm_core.contact_center.agents import AgentDirectory, hash_password
from crm_core.db import create_engine, drop_database, session_factory, upgrade
from crm_core.models import Agent

__all__ = ["WallboardBenchError", "run_wallboard_benchmark"]

WAIT = 2.0  # seconds each call waits in its queue before an agent rings
RING = 0.2  # seconds an agent's phone rings
WRAP_UP = 0.3  # seconds of wrap-up after each call
SUPERVISOR = "bench-sup"
_PASSWORD = "bench-password"
Frame = tuple[float, int]  # (time.monotonic() when a frame arrived, calls offered today in it)


class WallboardBenchError(ValueError):
    """An option the benchmark cannot use; the message names it."""


#: The supervisor's browser, as a separate process: its frames are stamped without waiting for this
#: process's GIL.  Prints "subscribed", then "<monotonic stamp> <offered today>" per wallboard frame;
#: closes its socket when its stdin ends.  ``time.monotonic`` is the system-wide CLOCK_MONOTONIC.
_WATCHER = """
import asyncio, json, sys, time
from websockets.asyncio.client import connect

async def main(url, token):
    async with connect(url, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        if json.loads(await ws.recv()).get("type") != "hello":
            sys.exit("the console refused the supervisor's token")
        await ws.send(json.dumps({"type": "subscribe", "topic": "wallboard"}))
        print("subscribed", flush=True)
        frames = []

        async def read():
            async for raw in ws:
                stamp = time.monotonic()
                if raw.startswith('{"type":"wallboard"'):
                    frames.append((stamp, raw))

        reader = asyncio.create_task(read())
        await asyncio.to_thread(sys.stdin.read)
        reader.cancel()
    for stamp, raw in frames:
        print(stamp, json.loads(raw)["event"]["totals"]["offered"])

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


class _Watcher:
    """One supervisor websocket in its own process: every wallboard frame's arrival and calls counted."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.frames: list[Frame] = []

    @classmethod
    async def open(cls, ws_url: str, token: str) -> _Watcher:
        """Start the process; return once its socket has subscribed."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WATCHER, ws_url, token,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        try:
            async with asyncio.timeout(30):
                line = await process.stdout.readline()
            if line.strip() != b"subscribed":
                raise RuntimeError("the supervisor's socket did not subscribe (see its error above)")
        except BaseException:
            if process.returncode is None:
                process.kill()
            await process.wait()
            raise
        return cls(process)

    async def close(self) -> None:
        """End the socket and collect the frames."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()
        async with asyncio.timeout(30):
            out = await self._process.stdout.read()
            await self._process.wait()
        if self._process.returncode != 0:
            raise RuntimeError(f"the supervisor's socket failed (exit {self._process.returncode})")
        self.frames = [
            (float(stamp), int(offered)) for stamp, offered in (line.split() for line in out.splitlines())
        ]


async def _seed(url: str, agents: int, queues: list[str]) -> list[str]:
    """The supervisor (who logs in) and the agents (named, never logging in): one password hash for all."""
    engine = create_engine(url)
    try:
        digest = await asyncio.to_thread(hash_password, _PASSWORD)
        logins = [f"agent{n:04d}" for n in range(agents)]
        async with session_factory(engine)() as session, session.begin():
            session.add(
                Agent(login=SUPERVISOR, name="Bench Supervisor", password_hash=digest, extension="4999",
                      device="PJSIP/4999", role="supervisor", queues=[])
            )  # fmt: skip
            session.add_all(
                Agent(login=login, name=f"Agent {n}", password_hash=digest, extension=f"{5000 + n}",
                      device=f"PJSIP/{5000 + n}", role="agent", queues=queues)
                for n, login in enumerate(logins)
            )  # fmt: skip
        return logins
    finally:
        await engine.dispose()


def _calls(
    rate: float, seconds: float, interval: float, logins: list[str], queues: list[str]
) -> list[tuple[float, int, BusEvent]]:
    """Every event of the run as (seconds from the start, order, event); call ``n`` is queued at n / rate."""
    talk = len(logins) / rate - RING - WRAP_UP - 0.1  # the agent is free before its next call rings
    plan: list[tuple[float, int, BusEvent]] = []

    def at(when: float, event: BusEvent) -> None:
        heapq.heappush(plan, (when, len(plan), event))

    for login in logins:
        at(0.0, AgentStateChanged(agent_login=login, state="available"))
    for n in range(int(rate * seconds)):
        call, agent, queue = f"wb{n:06d}", logins[n % len(logins)], queues[n % len(queues)]
        queued = 0.5 + n / rate  # the agents are available first
        at(queued, CallQueued(call_id=call, queue=queue, caller_number=f"+86138{n:08d}"))
        ring, answer = queued + WAIT, queued + WAIT + RING
        at(ring, AgentStateChanged(agent_login=agent, state="ringing", call_id=call))
        at(ring, CallOffered(call_id=call, agent_login=agent, queue=queue))
        at(answer, CallConnected(call_id=call, agent_login=agent, queue=queue))
        at(answer, AgentStateChanged(agent_login=agent, state="on_call", call_id=call))
        at(answer + talk, CallEnded(call_id=call, outcome="answered", agent_login=agent, queue=queue))
        at(answer + talk, AgentStateChanged(agent_login=agent, state="wrap_up"))
        at(answer + talk + WRAP_UP, AgentStateChanged(agent_login=agent, state="available"))
    ordered = [heapq.heappop(plan) for _ in range(len(plan))]
    # Past the last call's queueing the run goes on only until its push has surely come.
    end = 0.5 + (int(rate * seconds) - 1) / rate + 2 * interval + 0.5
    return [entry for entry in ordered if entry[0] <= end]


async def _drive(
    bus: InProcessBus, plan: list[tuple[float, int, BusEvent]], halfway: Callable[[], object]
) -> list[float]:
    """Publish ``plan`` on time; return when each ``call.queued`` was published (``time.monotonic``)."""
    started = time.monotonic()
    published: list[float] = []
    half = plan[-1][0] / 2 if plan else 0.0
    for when, _, event in plan:
        delay = started + when - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if half and when >= half:
            half = 0.0
            halfway()
        if isinstance(event, CallQueued):
            published.append(time.monotonic())
        event.at = time.time()
        await bus.publish(event)
    return published


def _latencies(published: list[float], frames: list[Frame]) -> list[float]:
    """Per call in publishing order: seconds to the first frame counting it (calls never counted: none)."""
    result: list[float] = []
    k = 0
    for n, sent in enumerate(published):
        while k < len(frames) and (frames[k][1] < n + 1 or frames[k][0] < sent):
            k += 1
        if k == len(frames):
            break
        result.append(frames[k][0] - sent)
    return result


def _gaps(frames: list[Frame]) -> list[float]:
    return [b[0] - a[0] for a, b in itertools.pairwise(frames)]


def _ms(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    millis = [v * 1000 for v in values]
    return {
        "p50_ms": round(percentile(millis, 50), 1),
        "p95_ms": round(percentile(millis, 95), 1),
        "p99_ms": round(percentile(millis, 99), 1),
        "max_ms": round(max(millis), 1),
    }


def _render_cost(board: Wallboard) -> tuple[float, int]:
    """Median milliseconds to build and serialise the whole picture now, and its size in bytes."""
    times, size = [], 0
    for _ in range(5):
        started = time.perf_counter()
        size = len(board.snapshot(None).model_dump_json())
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2), size


async def _run(
    url: str, *, rate: float, seconds: float, agents: int, queues: int, interval: float
) -> dict[str, Any]:
    queue_names = [f"queue{n:02d}" for n in range(queues)]
    await upgrade(url)
    logins = await _seed(url, agents, queue_names)
    plan = _calls(rate, seconds, interval, logins, queue_names)
    engine = create_engine(url)
    bus = InProcessBus(queue_size=max(10_000, len(plan) + 1000))
    acd = Acd(bus)  # the agent-state port of the console; the calls themselves come from the plan
    sessions = session_factory(engine)
    app = create_app(
        authenticator=CrmAuthenticator(AgentDirectory(sessions)),
        control=AcdAgentControl(acd),
        events=bus,
        queue_size=4096,  # the supervisor sees every agent event too: room for a burst
        wallboard=WallboardConfig(directory=DbWallboardDirectory(sessions), push_interval=interval),
    )
    server = await start_console(app, "127.0.0.1", 0)
    watchers: list[_Watcher] = []
    opening: list[asyncio.Task[_Watcher]] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            response = await http.post("/api/login", json={"login": SUPERVISOR, "password": _PASSWORD})
            response.raise_for_status()
            token = str(response.json()["token"])
        ws_url = f"ws://127.0.0.1:{server.port}/ws"
        first = await _Watcher.open(ws_url, token)
        watchers.append(first)
        published = await _drive(
            bus, plan, lambda: opening.append(asyncio.create_task(_Watcher.open(ws_url, token)))
        )
        late = await opening[0]
        watchers.append(late)
        board: Wallboard = app.state.wallboard
        render_ms, frame_bytes = _render_cost(board)
        closest = board.closest_gap
    finally:
        for task in opening:
            task.cancel()
        await asyncio.gather(*opening, return_exceptions=True)
        closing = await asyncio.gather(*(w.close() for w in watchers), return_exceptions=True)
        await server.close()
        await acd.close()
        await engine.dispose()
    for failure in closing:
        if isinstance(failure, BaseException):
            raise failure
    frames = first.frames
    latencies = _latencies(published, frames)
    gaps = _gaps(frames) + _gaps(late.frames)
    during = [stamp for stamp, _ in frames if published and published[0] <= stamp <= published[-1]]
    span = (published[-1] - published[0]) if len(published) > 1 else 0.0
    late_greeting_gap = _gaps(late.frames)[:1]
    return {
        "calls": len(published),
        "events": len(plan),
        "latency": {"calls_measured": len(latencies), "never_shown": len(published) - len(latencies),
                    **_ms(latencies)},
        "gaps": {
            "count": len(gaps),
            "min_ms": round(min(gaps) * 1000, 1) if gaps else None,
            "p50_ms": round(percentile(gaps, 50) * 1000, 1) if gaps else None,
            "below_interval": sum(1 for g in gaps if g < interval),
            "shortest_ms": [round(g * 1000, 1) for g in sorted(gaps)[:5]],
            "server_closest_ms": round(closest * 1000, 1) if closest != float("inf") else None,
            "server_kept_interval": closest >= interval,
            "late_greeting_to_next_ms": round(late_greeting_gap[0] * 1000, 1) if late_greeting_gap else None,
        },
        "pushes": {"messages": len(frames), "late_messages": len(late.frames),
                   "per_s": round(len(during) / span, 2) if span else None,
                   "render_ms": render_ms, "frame_bytes": frame_bytes},
    }  # fmt: skip


async def run_wallboard_benchmark(
    *,
    rate: float = 50.0,
    seconds: float = 30.0,
    agents: int = 200,
    queues: int = 4,
    interval: float = 1.0,
    postgres_url: str | None = None,
    json_path: Path | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Run once, print the table (and write JSON); 1 if the console queued two messages to a socket
    closer than the interval (the figure the board keeps, :attr:`Wallboard.closest_gap`), else 0."""
    if rate <= 0 or seconds <= 0 or interval <= 0:
        raise WallboardBenchError("--rate, --seconds and --interval must be positive")
    if int(rate * seconds) < 2:
        raise WallboardBenchError("--rate × --seconds must make at least 2 calls")
    if queues < 1:
        raise WallboardBenchError(f"--queues must be at least 1, got {queues}")
    least = int(rate * (RING + WRAP_UP + 0.2)) + 1
    if agents < least:
        raise WallboardBenchError(f"--agents must be at least {least} at --rate {rate:g} (each agent's call, "
                                  f"ring, wrap-up and a pause fit before the next)")  # fmt: skip
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)  # an INFO line per event would time the log handler, not the board
    try:
        with tempfile.TemporaryDirectory(prefix="bankcti-bench-wallboard-") as scratch:
            if postgres_url is None:
                url, backend = f"sqlite+aiosqlite:///{Path(scratch) / 'wallboard.db'}", "sqlite"
            else:
                name = f"bankcti_wallboard_{secrets.token_hex(4)}"
                url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
                backend = "postgresql"
            try:
                figures = await _run(url, rate=rate, seconds=seconds, agents=agents, queues=queues,
                                     interval=interval)  # fmt: skip
            finally:
                if backend == "postgresql":
                    await drop_database(url)
    finally:
        logging.disable(previous)
    result: dict[str, Any] = {
        "benchmark": "wallboard",
        "measured": "call.queued published -> first wallboard frame counting it, on the supervisor's socket",
        "rate": rate,
        "seconds": seconds,
        "agents": agents,
        "queues": queues,
        "interval_s": interval,
        "database": backend,
        **figures,
        "goal_p99_within_1s": figures["latency"]["p99_ms"] is not None
        and figures["latency"]["p99_ms"] <= 1000,
        "host": host_facts(),
    }
    rows = table_rows(result)
    width = max(len(key) for key, _ in rows)
    out("\n".join(f"{key:<{width}}  {value}" for key, value in rows))
    if json_path is not None:
        await asyncio.to_thread(json_path.write_text, json.dumps(result, indent=2) + "\n", "utf-8")
        out(f"written: {json_path}")
    gaps = figures["gaps"]
    if gaps["below_interval"]:
        out(
            f"{gaps['below_interval']} wallboard message(s) reached the supervisor sooner than "
            f"{interval:g} s after the previous one (shortest {gaps['min_ms']} ms; the console queued "
            f"none closer than {gaps['server_closest_ms']} ms: the rest is the delivery's jitter)"
        )
    return 0 if gaps["server_kept_interval"] else 1
