"""``bankcti bench pop``: agent assigned → screen-pop received, over real sockets.

Simulated callers ring through the PBX simulator (AMI + FastAGI over TCP),
either N at once (``--calls N``, a burst) or at a steady rate (``--rate R
--duration S``); M agents are logged in over HTTP with one websocket each.
The callers call from the numbers of seeded demo customers
(:mod:`bankcti.bench.pop_seed`), so each pop carries the full card
(accounts, recent follow-ups) and the IVR path (keys ``2,0`` go through the
menu); the result reports the ``call.offered`` frame's size.  For every pop
the agent's client notes when the frame was decoded; the latency is that
moment minus the instant the ACD reserved the agent (the event's ``at``,
stamped by the ACD).  All processes run on one machine, one clock, so the two
timestamps are comparable.

The agents' consoles are spread over several client processes
(:mod:`bankcti.bench.pop_clients`, about one per 250 agents unless
``client_processes`` says otherwise): with hundreds of websockets in one
event loop, the measuring side's own queueing would be part of the figure.

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
import json
import logging
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bankcti.bench.pop_seed import BENCH_PASSWORD, agent_device, seed_bench_agents, seed_bench_customers
from bankcti.bench.processes import free_port, start_process, stop_process, wait_healthy
from bankcti.bench.report import host_facts, table_rows
from bankcti.settings import Settings
from crm_core.db import upgrade
from cti.ami.client import AmiClient
from cti.ami.message import AmiMessage

__all__ = ["percentile", "run_pop_benchmark"]

log = logging.getLogger(__name__)

#: Agents per client process when the caller does not say.
AGENTS_PER_CLIENT = 250
#: Demo customers seeded; those whose number identifies a full record become the callers.
BENCH_CUSTOMERS = 300


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


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


class _ClientProcess:
    """One :mod:`bankcti.bench.pop_clients` process and its share of the agents."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def ready(self) -> None:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("an agents' client process exited during start-up (see its error above)")

    async def finish(self) -> list[list[Any]]:
        """Stop the agents; the pops they received."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        await self.process.wait()
        rows: list[list[Any]] = json.loads(line or b'{"pops": []}')["pops"]
        return rows


def _distribution(values: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "p99": round(percentile(values, 99), digits),
        "max": round(max(values), digits),
    }


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``; ``None`` elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _simulator_mode(calls: int, rate: float, duration: float) -> list[str]:
    if rate > 0:
        return ["--rate", str(rate), "--duration", str(duration)]
    return ["--calls", str(calls)]


async def run_pop_benchmark(
    settings: Settings,
    *,
    calls: int,
    agents: int,
    json_path: Path | None,
    speed: float = 5.0,
    rate: float = 0.0,
    duration: float = 0.0,
    client_processes: int = 0,
) -> int:
    """Three kinds of processes, as in production: the service, a simulated Asterisk, agents' consoles.

    This process seeds the database and listens to the simulator's AMI; the
    service runs as ``bankcti serve``, the simulator as ``python -m
    cti.simulator`` and the agents' consoles in ``client_processes``
    processes (0: one per :data:`AGENTS_PER_CLIENT` agents), so that no
    side's work delays another's clock.  ``rate`` > 0 places ``rate`` calls
    per second for ``duration`` seconds instead of a burst of ``calls``.
    """
    if agents < 1 or (rate <= 0 and calls < 1):
        raise ValueError("--calls (or --rate) and --agents must be at least 1")
    if rate < 0 or duration < 0 or (rate > 0) != (duration > 0):
        raise ValueError("--rate and --duration go together, both positive")
    expected = max(1, round(rate * duration)) if rate > 0 else calls
    workers = client_processes or math.ceil(agents / AGENTS_PER_CLIENT)
    with tempfile.TemporaryDirectory(prefix="bankcti-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        logins = await seed_bench_agents(url, agents)
        callers = await seed_bench_customers(url, Path(tmp), BENCH_CUSTOMERS)
        ami_port, agi_port, http_port = free_port(), free_port(), free_port()
        phones = [arg for n in range(agents) for arg in ("--phone", agent_device(n))]
        simulator = await start_process(
            "-m", "cti.simulator", "--ami-port", str(ami_port), "--agi-port", str(agi_port),
            "--ami-username", settings.ami_username, "--ami-secret", settings.ami_secret,
            "--speed", str(speed), "--answer-after", "1", "--talk", "2", "--hangup-after-answer", "2",
            "--keys", "2,0", *_simulator_mode(calls, rate, duration), "--wait-stdin", *phones,
            *(arg for number in callers for arg in ("--caller", number)),
        )  # fmt: skip
        service = await start_process(
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
        rings = RingWatch()
        ami = AmiClient(
            host="127.0.0.1",
            port=ami_port,
            username=settings.ami_username,
            secret=settings.ami_secret,
            exclude_events=("VarSet", "Newexten", "DeviceStateChange"),
        )
        ami.on_event(rings.on_event, "DialBegin")
        clients: list[_ClientProcess] = []
        rows: list[list[Any]] = []
        try:
            assert simulator.stdout is not None and simulator.stdin is not None
            await simulator.stdout.readline()  # {"ami_port": ...}: listening
            await ami.connect()
            await wait_healthy(base, service)
            for share in (logins[k::workers] for k in range(workers)):
                if share:
                    args = ["--base", base, "--password", BENCH_PASSWORD, *share]
                    process = await start_process("-m", "bankcti.bench.pop_clients", *args)
                    clients.append(_ClientProcess(process))
            await asyncio.gather(*(client.ready() for client in clients))
            log.info(
                "bench.pop_calling",
                extra={"service_pid": service.pid, "agents": agents, "calls": expected, "rate": rate},
            )
            started, cpu_before = time.perf_counter(), _cpu_seconds(service.pid)
            simulator.stdin.write(b"go\n")
            await simulator.stdin.drain()
            outcome = json.loads(await simulator.stdout.readline() or b"{}")
            elapsed, cpu_after = time.perf_counter() - started, _cpu_seconds(service.pid)
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            for client in clients:
                rows.extend(await client.finish())
        finally:
            for client in clients:
                await stop_process(client.process)
            await ami.close()
            await stop_process(service)
            await stop_process(simulator)
    if not rows:
        raise RuntimeError("no screen-pop was received; the benchmark cannot report anything")
    latencies = [(received - at) * 1000 for _, _, at, received, *_ in rows]
    sizes = [float(row[4]) for row in rows]
    devices = {login: agent_device(n) for n, login in enumerate(logins)}
    pops = [
        (call_id, devices[login], received) for call_id, login, _, received, *_ in rows if login in devices
    ]
    result: dict[str, Any] = {
        "benchmark": "pop",
        "mode": "steady" if rate > 0 else "burst",
        "calls": expected,
        "rate": rate or None,
        "duration": duration or None,
        "agents": agents,
        "client_processes": len(clients),
        "pops": len(rows),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p95_ms": round(percentile(latencies, 95), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "max_ms": round(max(latencies), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
        "pop_bytes": {
            key: int(value) for key, value in _distribution(sizes, 0).items() if key in ("p50", "max")
        },
        "pops_with_customer": sum(1 for row in rows if row[5]),
        "pops_with_accounts": sum(1 for row in rows if row[6]),
        "pops_with_follow_ups": sum(1 for row in rows if row[7]),
        "pops_with_ivr_path": sum(1 for row in rows if row[8]),
        "ring_after_pop": ring_after_pop(pops, rings.rang_at),
        "answered": outcome.get("answered"),
        "wall_seconds": round(elapsed, 2),
        # The service's CPU while the calls ran, per call: what the machine's other load does not skew.
        "service_cpu_ms_per_call": (
            round((cpu_after - cpu_before) * 1000 / expected, 2)
            if cpu_before is not None and cpu_after is not None
            else None
        ),
        "load_average_1m": round(load, 2) if load is not None else None,
        "simulator_speed": speed,
        "bus": "mqtt" if settings.mqtt_url else "in-process",
        "host": host_facts(),
    }
    print(_table(table_rows(result)))
    if json_path is not None:
        await asyncio.to_thread(json_path.write_text, json.dumps(result, indent=2) + "\n")
        print(f"written: {json_path}")
    return 0 if len(rows) >= expected else 1
