"""``bankcti bench pop``: agent assigned → screen-pop received, over real sockets.

N simulated callers ring at once through the PBX simulator (AMI + FastAGI over
TCP); M agents are logged in over HTTP with one websocket each.  For every
pop the agent's client notes when the ``call.offered`` frame arrived; the
latency is that moment minus the instant the ACD assigned the agent (the
event's ``at``, stamped by the ACD).  Everything runs in one process on one
clock, so the two timestamps are comparable.

It also measures pop received → phone rings: this process listens to the
simulator's AMI as a second client and notes when each ``DialBegin`` (the
agent's device starts ringing) arrives; ``ring_after_pop`` is that moment
minus the moment the agent's client received the pop of the same call, for
every (call, agent) pair.  The call flow dials only once the console
acknowledged the pop, so every figure is positive (``rang_first`` counts
the exceptions: pops that missed their bounded wait).  The AMI event reaches
this process a little after the PBX sent it, so the figures are at most
that much too high.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bankcti.bench.console_client import AgentConsoleClient
from bankcti.bench.report import host_facts, table_rows
from bankcti.settings import Settings
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, session_factory, upgrade
from cti.ami.client import AmiClient
from cti.ami.message import AmiMessage

__all__ = ["percentile", "run_pop_benchmark"]

PASSWORD = "bench-password"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


async def _seed_agents(url: str, count: int) -> list[str]:
    engine = create_engine(url)
    try:
        directory = AgentDirectory(session_factory(engine))
        logins = []
        for n in range(count):
            login = f"bench{n:04d}"
            await directory.create_agent(
                login,
                f"Bench Agent {n}",
                PASSWORD,
                extension=f"{5000 + n}",
                device=f"PJSIP/{5000 + n}",
                queues=["general"],
            )
            logins.append(login)
        return logins
    finally:
        await engine.dispose()


class RingWatch:
    """When each agent's device started ringing, per call: ``DialBegin`` as an AMI client sees it."""

    def __init__(self) -> None:
        self.rang_at: dict[tuple[str, str], float] = {}  # (linkedid, device) -> first DialBegin seen

    def on_event(self, message: AmiMessage) -> None:
        seen = time.time()
        linkedid = message.get("Linkedid") or ""
        device = (message.get("DestChannel") or "").rsplit("-", 1)[0]
        if linkedid and device:
            self.rang_at.setdefault((linkedid, device), seen)


def ring_after_pop(
    pops: list[tuple[str, str, float]], rang_at: dict[tuple[str, str], float]
) -> dict[str, Any]:
    """Distribution of (phone rings − pop received) in ms over (call id, device, received at) pops."""
    gaps = [
        (rang_at[(call_id, device)] - received) * 1000
        for call_id, device, received in pops
        if (call_id, device) in rang_at
    ]
    if not gaps:
        return {"pairs": 0}
    return {
        "pairs": len(gaps),
        "min_ms": round(min(gaps), 3),
        "p50_ms": round(percentile(gaps, 50), 3),
        "p95_ms": round(percentile(gaps, 95), 3),
        "max_ms": round(max(gaps), 3),
        "rang_first": sum(1 for gap in gaps if gap <= 0),
    }


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _start_process(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


async def _wait_healthy(url: str, process: asyncio.subprocess.Process, limit: float = 30.0) -> None:
    async with httpx.AsyncClient() as http, asyncio.timeout(limit):
        while True:
            if process.returncode is not None:
                raise RuntimeError("the service exited during start-up (see its log above)")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/api/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


async def run_pop_benchmark(
    settings: Settings, *, calls: int, agents: int, json_path: Path | None, speed: float = 5.0
) -> int:
    """Three processes, as in production: the service, a simulated Asterisk, agents' consoles.

    This process seeds the database and plays the M agents' consoles; the
    service runs as ``bankcti serve`` and the simulator as
    ``python -m cti.simulator``, so neither's work delays the other's clock.
    """
    if calls < 1 or agents < 1:
        raise ValueError("--calls and --agents must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bankcti-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        logins = await _seed_agents(url, agents)
        ami_port, agi_port, http_port = _free_port(), _free_port(), _free_port()
        phones = [arg for n in range(agents) for arg in ("--phone", f"PJSIP/{5000 + n}")]
        simulator = await _start_process(
            "-m", "cti.simulator", "--ami-port", str(ami_port), "--agi-port", str(agi_port),
            "--ami-username", settings.ami_username, "--ami-secret", settings.ami_secret,
            "--speed", str(speed), "--answer-after", "1", "--talk", "2", "--hangup-after-answer", "2",
            "--keys", "2,0", "--calls", str(calls), "--wait-stdin", *phones,
        )  # fmt: skip
        service = await _start_process(
            "-m", "bankcti", "serve",
            env={
                "BANKCTI_DATABASE_URL": url, "BANKCTI_DATA_DIR": tmp, "BANKCTI_HTTP_PORT": str(http_port),
                "BANKCTI_FASTAGI_PORT": str(agi_port), "BANKCTI_AMI_PORT": str(ami_port),
                "BANKCTI_ACD_WRAPUP_SECONDS": "0", "BANKCTI_ACD_HOLD_POLL_MS": "50",
                "BANKCTI_LOG_LEVEL": "WARNING", "BANKCTI_MQTT_URL": settings.mqtt_url,
                "BANKCTI_IVR_IGNORE_BUSINESS_HOURS": "true",
            },
        )  # fmt: skip
        base = f"http://127.0.0.1:{http_port}"
        clients = [AgentConsoleClient(base) for _ in logins]
        rings = RingWatch()
        ami = AmiClient(
            host="127.0.0.1",
            port=ami_port,
            username=settings.ami_username,
            secret=settings.ami_secret,
            exclude_events=("VarSet", "Newexten", "DeviceStateChange"),
        )
        ami.on_event(rings.on_event, "DialBegin")
        try:
            assert simulator.stdout is not None and simulator.stdin is not None
            await simulator.stdout.readline()  # {"ami_port": ...}: listening
            await ami.connect()
            await _wait_healthy(base, service)
            for client, login in zip(clients, logins, strict=True):
                await client.login(login, PASSWORD)
                await client.connect()
                await client.set_state("available")
            started = time.perf_counter()
            simulator.stdin.write(b"go\n")
            await simulator.stdin.drain()
            outcome = json.loads(await simulator.stdout.readline() or b"{}")
            elapsed = time.perf_counter() - started
        finally:
            for client in clients:
                await client.close()
            await ami.close()
            await _stop(service)
            await _stop(simulator)
        latencies = [
            (message.received_at - float(message.event["at"])) * 1000
            for client in clients
            for message in client.received
            if message.type == "call.offered"
        ]
    if not latencies:
        raise RuntimeError("no screen-pop was received; the benchmark cannot report anything")
    devices = {login: f"PJSIP/{5000 + n}" for n, login in enumerate(logins)}
    pops = [
        (str(message.event["call_id"]), devices[str(message.event["agent_login"])], message.received_at)
        for client in clients
        for message in client.received
        if message.type == "call.offered" and message.event.get("agent_login") in devices
    ]
    result: dict[str, Any] = {
        "benchmark": "pop",
        "calls": calls,
        "agents": agents,
        "pops": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p95_ms": round(percentile(latencies, 95), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "max_ms": round(max(latencies), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
        "ring_after_pop": ring_after_pop(pops, rings.rang_at),
        "answered": outcome.get("answered"),
        "wall_seconds": round(elapsed, 2),
        "simulator_speed": speed,
        "bus": "mqtt" if settings.mqtt_url else "in-process",
        "host": host_facts(),
    }
    print(_table(table_rows(result)))
    if json_path is not None:
        await asyncio.to_thread(json_path.write_text, json.dumps(result, indent=2) + "\n")
        print(f"written: {json_path}")
    return 0 if len(latencies) >= calls else 1
