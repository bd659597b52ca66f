"""``bankcti bench soak``: CPU and memory of the service under a steady call rate, for minutes.

Three processes, as in production and as in ``bench pop``: the service
(``python -m bankcti serve``), a simulated Asterisk (``python -m
cti.simulator --rate R --duration S``) and this one, which seeds the
database and plays the agents' consoles (logged in over HTTP, one websocket
each, acknowledging pops as the browser does).

While the calls arrive, :class:`ProcessProbe` samples each process's CPU
time (``utime + stime`` of ``/proc/<pid>/stat``) and resident memory
(``VmRSS`` of ``/proc/<pid>/status``) every few seconds.  The figures:

* CPU % of one core of the service and of the simulator over the steady
  part (after the warm-up, until the last call is placed), CPU seconds per
  call (fairer than % on a busy machine), and CPU % per minute;
* the service's RSS series from the end of the warm-up: first, last, growth;
* calls placed, answered, unfinished (the simulator's), the interactions
  written (rows in the database at the end, by outcome: every call must have
  its row) and the history spool left.

The exit status is 1 when a call is lost: placed but unfinished, or without
its interaction row.

Agents: each call holds an agent for ``answer_after + talk`` simulated
seconds (ring, then talk; wrap-up is 0), ``speed`` times faster in real
time, so the offered load is ``rate x (answer_after + talk) / speed``
agents; :func:`agents_needed` staffs twice that (at least 10), so the queue
does not grow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bankcti.bench.console_client import AgentConsoleClient
from bankcti.bench.pop_seed import BENCH_PASSWORD, agent_device, seed_bench_agents, seed_bench_customers
from bankcti.bench.processes import free_port, start_process, stop_process, wait_healthy
from bankcti.bench.report import host_facts, table_rows
from bankcti.settings import Settings
from crm_core.db import create_engine, upgrade
from crm_core.models.activity import Interaction

__all__ = [
    "ProcessProbe",
    "SoakBenchError",
    "SoakOptions",
    "agents_needed",
    "run_soak_benchmark",
    "soak_command",
    "summarise",
]

ANSWER_AFTER = 1.0  # simulated seconds an agent's phone rings
TALK = 2.0  # simulated seconds of conversation (both sides hang up after it)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Real seconds after the last call is placed before a call still up counts as unfinished (lost).
CALL_TIMEOUT = 60.0


class SoakBenchError(Exception):
    """Options that cannot make a run (the message says why)."""


def agents_needed(rate: float, speed: float) -> int:
    """Twice the offered load in agents (rate x real seconds an agent is held per call), at least 10."""
    held = (ANSWER_AFTER + TALK) / speed
    return max(10, math.ceil(2 * rate * held))


def _cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    # Fields after the command name (which may hold spaces) start at field 3: utime is 14, stime 15.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise OSError(f"no VmRSS for process {pid}")


@dataclass
class Sample:
    at: float  # seconds since the first call was placed
    cpu: dict[str, float]  # process name -> CPU seconds so far
    rss: dict[str, float]  # process name -> MiB


@dataclass
class ProcessProbe:
    """Samples CPU time and RSS of named processes every ``every`` seconds, from ``origin`` (monotonic)."""

    pids: dict[str, int]
    origin: float
    every: float = 5.0
    samples: list[Sample] = field(default_factory=list)

    def take(self) -> None:
        at = time.monotonic() - self.origin
        self.samples.append(
            Sample(
                at=at,
                cpu={name: _cpu_seconds(pid) for name, pid in self.pids.items()},
                rss={name: _rss_mib(pid) for name, pid in self.pids.items()},
            )
        )


async def _memory_marks(pid: int, origin: float, options: SoakOptions) -> None:
    """Tell the traced service when the warm-up ends (first snapshot) and when the calls stop (second)."""
    for at in (options.warmup, options.seconds):
        await asyncio.sleep(max(0.0, origin + at - time.monotonic()))
        os.kill(pid, signal.SIGUSR2)  # the probe's mark (SIGUSR1 reloads the service's agents)


async def _sample(probe: ProcessProbe, clients: list[AgentConsoleClient]) -> None:
    """Sample until cancelled, on an absolute schedule; the consoles forget what they received."""
    n = 0
    while True:
        probe.take()
        for client in clients:
            # A run's frames are not looked at, and 10 minutes of them would grow this process.
            client.received.clear()
        n += 1
        await asyncio.sleep(max(0.0, probe.origin + n * probe.every - time.monotonic()))


def _at_or_after(samples: list[Sample], at: float) -> Sample:
    return next((s for s in samples if s.at >= at - 1e-6), samples[-1])


def _at_or_before(samples: list[Sample], at: float) -> Sample:
    return next((s for s in reversed(samples) if s.at <= at + 1e-6), samples[0])


def summarise(samples: list[Sample], *, warmup: float, until: float, calls_per_s: float) -> dict[str, Any]:
    """CPU and RSS figures of every process between ``warmup`` and ``until`` seconds (see the module)."""
    first, last = _at_or_after(samples, warmup), _at_or_before(samples, until)
    span = last.at - first.at
    if span <= 0:
        raise SoakBenchError("the steady part has fewer than two samples: run longer or sample more often")
    out: dict[str, Any] = {"steady_seconds": round(span, 1)}
    for name in first.cpu:
        used = last.cpu[name] - first.cpu[name]
        per_minute = []
        start = first
        while start.at < last.at - 1e-6:
            end = _at_or_before(samples, min(start.at + 60.0, last.at))
            if end.at <= start.at:
                break
            per_minute.append(round((end.cpu[name] - start.cpu[name]) / (end.at - start.at) * 100, 1))
            start = end
        out[f"{name}_cpu"] = {
            "percent_of_core": round(used / span * 100, 1),
            "ms_per_call": round(used / (span * calls_per_s) * 1000, 3),
            "per_minute_percent": per_minute,
        }
    series = [round(s.rss["service"], 1) for s in samples if first.at <= s.at <= last.at]
    out["service_rss"] = {
        "after_warmup_mib": series[0],
        "end_mib": series[-1],
        "max_mib": max(series),
        "growth_percent": round((series[-1] - series[0]) / series[0] * 100, 1),
        "every_seconds": samples[1].at - samples[0].at if len(samples) > 1 else 0.0,
        "series_mib": series,
    }
    out["simulator_rss_mib"] = {
        "after_warmup": round(first.rss["simulator"], 1),
        "end": round(last.rss["simulator"], 1),
    }
    return out


async def _interactions(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(Interaction.outcome, func.count()).group_by(Interaction.outcome))
            return {str(outcome): int(count) for outcome, count in rows}
    finally:
        await engine.dispose()


def _spool_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.glob("*spool*.jsonl"))


@dataclass(frozen=True)
class SoakOptions:
    """One run's sizes (see ``bankcti bench soak --help``)."""

    rate: float
    seconds: float
    agents: int
    speed: float = 5.0
    warmup: float = 60.0
    every: float = 5.0
    customers: int = 300
    tracemalloc: Path | None = None  # run the service under bankcti.bench.soak_probe, growths written here

    def check(self) -> None:
        if self.rate <= 0 or self.seconds <= 0:
            raise SoakBenchError("--rate and the duration must be positive")
        if self.agents < 1:
            raise SoakBenchError("--agents must be at least 1")
        if self.speed <= 0 or self.every <= 0:
            raise SoakBenchError("--speed and --sample-every must be positive")
        if not 0 <= self.warmup < self.seconds:
            raise SoakBenchError("--warmup must be shorter than the run")


async def run_soak_benchmark(
    settings: Settings,
    options: SoakOptions,
    *,
    json_path: Path | None,
    service_env: dict[str, str] | None = None,
) -> int:
    """Run the soak (see the module); ``service_env`` adds variables to the service's environment."""
    options.check()
    # One line per agent's login and state request would bury the service's warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bankcti-soak-") as tmp:
        data = Path(tmp)
        url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
        await upgrade(url)
        logins = await seed_bench_agents(url, options.agents)
        callers = await seed_bench_customers(url, data, options.customers) if options.customers else []
        seeded = await _interactions(url)  # the demo customers' past calls: not the run's
        ami_port, agi_port, http_port = free_port(), free_port(), free_port()
        phones = [arg for n in range(options.agents) for arg in ("--phone", agent_device(n))]
        simulator = await start_process(
            "-m", "cti.simulator", "--ami-port", str(ami_port), "--agi-port", str(agi_port),
            "--ami-username", settings.ami_username, "--ami-secret", settings.ami_secret,
            "--speed", str(options.speed), "--answer-after", str(ANSWER_AFTER), "--talk", str(TALK),
            "--hangup-after-answer", str(TALK), "--keys", "2,0",
            "--rate", str(options.rate), "--duration", str(options.seconds), "--wait-stdin",
            "--timeout", str(CALL_TIMEOUT), *phones,
            *(arg for number in callers for arg in ("--caller", number)),
        )  # fmt: skip
        service = await start_process(
            *(("-m", "bankcti.bench.soak_probe", str(options.tracemalloc)) if options.tracemalloc
              else ("-m", "bankcti", "serve")),
            env={
                "BANKCTI_DATABASE_URL": url, "BANKCTI_DATA_DIR": tmp, "BANKCTI_HTTP_PORT": str(http_port),
                "BANKCTI_FASTAGI_PORT": str(agi_port), "BANKCTI_AMI_PORT": str(ami_port),
                "BANKCTI_ACD_WRAPUP_SECONDS": "0", "BANKCTI_ACD_HOLD_POLL_MS": "50",
                "BANKCTI_LOG_LEVEL": "WARNING", "BANKCTI_MQTT_URL": settings.mqtt_url,
                "BANKCTI_IVR_IGNORE_BUSINESS_HOURS": "true", **(service_env or {}),
            },
        )  # fmt: skip
        base = f"http://127.0.0.1:{http_port}"
        clients = [AgentConsoleClient(base) for _ in logins]
        probe: ProcessProbe | None = None
        sampling: asyncio.Task[None] | None = None
        marks: asyncio.Task[None] | None = None
        spool_at_end = 0
        try:
            assert simulator.stdout is not None and simulator.stdin is not None
            await simulator.stdout.readline()  # {"ami_port": ...}: listening
            # Tracing memory slows the service's start several times over.
            await wait_healthy(base, service, limit=180.0 if options.tracemalloc else 30.0)
            for client, login in zip(clients, logins, strict=True):
                await client.login(login, BENCH_PASSWORD)
                await client.connect()
                await client.set_state("available")
            probe = ProcessProbe({"service": service.pid, "simulator": simulator.pid}, time.monotonic())
            probe.every = options.every
            simulator.stdin.write(b"go\n")
            await simulator.stdin.drain()
            sampling = asyncio.create_task(_sample(probe, clients), name="soak-probe")
            if options.tracemalloc:
                marks = asyncio.create_task(
                    _memory_marks(service.pid, probe.origin, options), name="soak-marks"
                )
            line = await simulator.stdout.readline()
            if marks is not None and service.stdout is not None:
                await marks
                async with asyncio.timeout(120):  # comparing two snapshots takes a while
                    await service.stdout.readline()  # {"written": FILE}
            outcome: dict[str, Any] = json.loads(line or b"{}")
            sampling.cancel()
            await asyncio.gather(sampling, return_exceptions=True)
            spool_at_end = _spool_bytes(data)
        finally:
            if sampling is not None:
                sampling.cancel()
            for client in clients:
                await client.close()
            await stop_process(service)
            await stop_process(simulator)
        recorded = {
            outcome_: n - seeded.get(outcome_, 0)
            for outcome_, n in (await _interactions(url)).items()
            if n > seeded.get(outcome_, 0)
        }
        spool_after_stop = _spool_bytes(data)
    assert probe is not None
    placed = int(outcome.get("calls", 0))
    written = sum(recorded.values())
    lost = max(0, placed - written) + int(outcome.get("unfinished", 0))
    result: dict[str, Any] = {
        "benchmark": "soak",
        "rate": options.rate,
        "minutes": round(options.seconds / 60, 2),
        "agents": options.agents,
        "simulator_speed": options.speed,
        "talk_seconds_simulated": TALK,
        "warmup_seconds": options.warmup,
        "calls": {
            "placed": placed,
            "answered": outcome.get("answered"),
            "abandoned": sum(n for outcome_, n in recorded.items() if outcome_.startswith("abandoned")),
            "unfinished": outcome.get("unfinished"),
            "placing_seconds": outcome.get("placing_seconds"),
        },
        "interactions": {"written": written, "lost": lost, "by_outcome": recorded},
        "spool_bytes": {"at_end": spool_at_end, "after_stop": spool_after_stop},
        **summarise(probe.samples, warmup=options.warmup, until=options.seconds, calls_per_s=options.rate),
        "bus": "mqtt" if settings.mqtt_url else "in-process",
        "host": host_facts(),
    }
    _print(result)
    if json_path is not None:
        await asyncio.to_thread(json_path.write_text, json.dumps(result, indent=2) + "\n")
        print(f"written: {json_path}")
    return 0 if lost == 0 else 1


async def soak_command(args: argparse.Namespace, settings: Settings) -> int:
    """``bankcti bench soak``: the options as parsed by :mod:`bankcti.cli.main`."""
    seconds = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(60.0, seconds / 5)
    options = SoakOptions(
        rate=args.rate,
        seconds=seconds,
        agents=args.agents or agents_needed(args.rate, args.speed),
        speed=args.speed,
        warmup=warmup,
        every=args.sample_every,
        customers=args.customers,
        tracemalloc=args.tracemalloc,
    )
    return await run_soak_benchmark(settings, options, json_path=args.json_path)


def _print(result: dict[str, Any]) -> None:
    shown = {**result, "service_rss": {k: v for k, v in result["service_rss"].items() if k != "series_mib"}}
    rows = table_rows(shown)
    rows.append(("service_rss.series_mib", " ".join(f"{v:g}" for v in result["service_rss"]["series_mib"])))
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
