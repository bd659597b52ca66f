"""``bankcti bench history``: interactions/s through the real follow-up history write path.

Each simulated call makes the history writes the inbound call flow makes, as they happen, through the
same classes (:class:`bankcti.calls.live.CallRecords`, :class:`bankcti.calls.legs.CallLegs`) into
:class:`bankcti.history.ResilientHistory` (group commit, ``fsync``-ed spool): its row at arrival, the IVR
result, queueing, the offer, the answer and the final record; its IVR, queue and agent legs opened,
updated and closed; its end.  Two phases per database:

* **throughput** — ``calls`` calls, ``concurrency`` in flight, as fast as the history takes them;
* **steady** — ``rate`` new calls per second for ``duration`` seconds, a few ms between a call's steps:
  p50/p99 of "step recorded → durable" (from the flow handing the step over to the write returning,
  i.e. committed or in the spool, including the wait behind the call's earlier writes).

Then every call's row and legs are read back and compared with what the steps merge to (``lost``: rows
or legs missing or incomplete; must be 0).  The reference, in the same run and database: the same final
rows (interaction + 3 legs per call) written with the plain driver's ``executemany`` (asyncpg, sqlite3).
SQLite runs on a temporary file, PostgreSQL on a scratch database next to ``--postgres`` (dropped after).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, select

from bankcti.bench.history_baseline import plain_driver_baseline
from bankcti.bench.pop import percentile
from bankcti.bench.report import host_facts
from bankcti.calls.legs import CallLegs
from bankcti.calls.live import CallRecords, LiveCall
from bankcti.history import ResilientHistory
from bankcti.history_lanes import lanes_for
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, drop_database, session_factory, upgrade
from crm_core.followups.interactions import InteractionWriter
from crm_core.models import Agent, Interaction, InteractionLeg
from crm_core.schemas import CallEndRecord, InteractionRecord, IvrStep, LegRecord

__all__ = ["HistoryBenchError", "run_history_benchmark"]

AGENT = "benchagent"
_recorded: contextvars.ContextVar[float] = contextvars.ContextVar("recorded")


class HistoryBenchError(Exception):
    """Bad options (the message says which)."""


class _Timed:
    """The history as the call flow sees it, noting for each write how long after its step it returned."""

    def __init__(self, history: ResilientHistory) -> None:
        self._history = history
        self.latencies: list[float] = []

    async def _timed(self, write: Any) -> None:
        recorded = _recorded.get()
        await write
        self.latencies.append(time.perf_counter() - recorded)

    async def upsert(self, record: InteractionRecord) -> None:
        await self._timed(self._history.upsert(record))

    async def upsert_leg(self, leg: LegRecord) -> None:
        await self._timed(self._history.upsert_leg(leg))

    async def end_call(self, end: CallEndRecord) -> None:
        await self._timed(self._history.end_call(end))

    # The call flow's writers queue each step at once (bankcti.calls.live.QueueingHistory): timed the same.

    def queue_upsert(self, record: InteractionRecord) -> asyncio.Future[None]:
        return self._queued(self._history.queue_upsert(record))

    def queue_leg(self, leg: LegRecord) -> asyncio.Future[None]:
        return self._queued(self._history.queue_leg(leg))

    def queue_end(self, end: CallEndRecord) -> asyncio.Future[None]:
        return self._queued(self._history.queue_end(end))

    def _queued(self, future: asyncio.Future[None]) -> asyncio.Future[None]:
        recorded = _recorded.get()
        future.add_done_callback(lambda _: self.latencies.append(time.perf_counter() - recorded))
        return future


def _step() -> None:
    _recorded.set(time.perf_counter())


async def _call(call_id: str, records: CallRecords, legs: CallLegs, gap: float) -> None:
    """One answered call's history writes, in the call flow's order (bankcti.calls.callflow/milestones)."""
    t = time.time()
    call = LiveCall(call_id=call_id, caller_number="13800138000", arrived_at=t)
    _step()
    records.later(call, InteractionRecord(call_id=call_id, caller_number="13800138000", arrived_at=_utc(t)))
    ivr = legs.open(call_id, "ivr", at=t)
    await asyncio.sleep(gap)
    path = [IvrStep(node="welcome", at=t), IvrStep(node="menu", at=t + 0.001)]
    _step()
    legs.close(call_id, ivr, at=time.time(), reason="routed")
    records.later(call, InteractionRecord(call_id=call_id, caller_e164="+8613800138000", ivr_path=path))
    queued = time.time()
    records.later(call, InteractionRecord(call_id=call_id, queue="general", queued_at=_utc(queued)))
    queue_leg = legs.open(call_id, "queue", at=queued, queue="general")
    await asyncio.sleep(gap)
    offered = time.time()
    _step()
    legs.agent_offered(
        call_id, at=offered, agent_login=AGENT, device="PJSIP/5000", queue="general", queue_leg=queue_leg
    )
    records.later(call, InteractionRecord(call_id=call_id, agent_login=AGENT, offered_at=_utc(offered)))
    await asyncio.sleep(gap)
    answered = time.time()
    _step()
    legs.close(call_id, queue_leg, at=answered, reason="answered", queue="general")
    agent_leg = legs.agent_leg(call_id)
    assert agent_leg is not None
    legs.update(call_id, agent_leg, answered_at=answered, agent_login=AGENT)
    records.later(call, InteractionRecord(call_id=call_id, answered_at=_utc(answered)))
    await asyncio.sleep(gap)
    if call.writes is not None:
        await asyncio.shield(call.writes)
    _step()
    await records.now(InteractionRecord(call_id=call_id, agent_login=AGENT, ivr_path=path))
    legs.end(
        CallEndRecord(call_id=call_id, outcome="answered", ended_at=_utc(time.time()), agent_login=AGENT)
    )
    await legs.settled(call_id)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


async def _throughput(history: ResilientHistory, prefix: str, calls: int, concurrency: int) -> dict[str, Any]:
    timed = _Timed(history)
    records, legs = CallRecords(timed), CallLegs(timed)
    numbers = iter(range(calls))

    # ``concurrency`` workers, each starting the next call when its own ends: as many calls in flight as a
    # service would hold, and no more (a task per call created up front left thousands of waiting tasks for
    # the collector to walk).
    async def worker() -> None:
        for n in numbers:
            await _call(f"{prefix}-{n}", records, legs, 0.0)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, calls))))
    seconds = time.perf_counter() - started
    return {
        "calls": calls,
        "concurrency": concurrency,
        "writes": len(timed.latencies),
        "seconds": round(seconds, 3),
        "interactions_per_s": round(calls / seconds, 1),
        "writes_per_s": round(len(timed.latencies) / seconds, 1),
        **_latency(timed.latencies),
    }


async def _steady(history: ResilientHistory, prefix: str, rate: float, duration: float) -> dict[str, Any]:
    timed = _Timed(history)
    records, legs = CallRecords(timed), CallLegs(timed)
    count = max(1, round(rate * duration))
    tasks = []
    started = time.perf_counter()
    for n in range(count):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_call(f"{prefix}-{n}", records, legs, 0.005)))
    await asyncio.gather(*tasks)
    return {"rate": rate, "calls": count, "writes": len(timed.latencies), **_latency(timed.latencies)}


def _latency(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 2),
        "p99_ms": round(percentile(values, 99) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


async def _lost(writer: InteractionWriter, sessions: Any, prefix: str, calls: int) -> int:
    """Calls whose row or legs are missing or not what their steps merge to."""
    async with sessions() as session:
        rows = {
            row.call_id: row
            for row in (
                await session.execute(select(Interaction).where(Interaction.call_id.like(f"{prefix}-%")))
            ).scalars()
        }
        legs: dict[str, list[InteractionLeg]] = {}
        for leg in (
            await session.execute(select(InteractionLeg).where(InteractionLeg.call_id.like(f"{prefix}-%")))
        ).scalars():
            legs.setdefault(leg.call_id, []).append(leg)
    lost = 0
    for n in range(calls):
        call_id = f"{prefix}-{n}"
        row = rows.get(call_id)
        call_legs = legs.get(call_id, [])
        complete = (
            row is not None
            and None not in (row.arrived_at, row.queued_at, row.offered_at, row.answered_at, row.ended_at)
            and row.outcome == "answered"
            and row.queue == "general"
            and row.caller_e164 == "+8613800138000"
            and row.agent_id is not None
            and isinstance(row.ivr_path, list)
            and len(row.ivr_path) == 2
            and row.wait_seconds is not None
            and row.talk_seconds is not None
            and sorted(leg.kind for leg in call_legs) == ["agent", "ivr", "queue"]
            and all(leg.ended_at is not None and leg.end_reason is not None for leg in call_legs)
        )
        lost += not complete
    return lost


async def _one_backend(
    url: str,
    backend: str,
    *,
    calls: int,
    concurrency: int,
    rate: float,
    duration: float,
    spool_dir: Path,
    max_batch: int,
) -> dict[str, Any]:
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    writer = InteractionWriter(sessions)
    await AgentDirectory(sessions).create_agent(AGENT, "Bench Agent", "bench-password", extension="5000")
    spool = spool_dir / f"{backend}-spool.jsonl"
    lanes = lanes_for(engine.dialect.name)
    history = ResilientHistory(writer, spool, serialize=backend == "sqlite", max_batch=max_batch, lanes=lanes)
    await history.start()
    try:
        throughput = await _throughput(history, "tp", calls, concurrency)
        steady = await _steady(history, "st", rate, duration) if duration > 0 else None
        await history.emptied()
        spooled = history.waiting
    finally:
        await history.close()
    lost = await _lost(writer, sessions, "tp", calls)
    if steady is not None:
        lost += await _lost(writer, sessions, "st", steady["calls"])
    async with sessions() as session:
        agent_id = int(await session.scalar(select(Agent.id).where(Agent.login == AGENT)) or 0)
    await engine.dispose()
    baseline = await plain_driver_baseline(url, "base", calls, agent_id, AGENT)
    ratio = throughput["interactions_per_s"] / baseline["interactions_per_s"]
    return {
        "throughput": throughput,
        "steady": steady,
        "baseline": baseline,
        "ratio_to_baseline": round(ratio, 3),
        "lost": lost,
        "spooled_left": spooled,
        "lanes": lanes,
    }


async def run_history_benchmark(
    *,
    postgres_url: str | None,
    backends: list[str],
    calls: int,
    concurrency: int,
    rate: float,
    duration: float,
    json_path: Path | None,
    max_batch: int = 500,
) -> int:
    """Run the benchmark on each backend; print a table; write JSON; exit status 1 if anything was lost."""
    if calls < 1 or concurrency < 1 or max_batch < 1 or rate <= 0 or duration < 0:
        raise HistoryBenchError(
            "--calls, --concurrency and --max-batch must be >= 1, --rate > 0, --duration >= 0"
        )
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown or not backends:
        raise HistoryBenchError(
            f"--backends: sqlite and/or postgresql, not {', '.join(sorted(unknown)) or 'none'}"
        )
    if "postgresql" in backends and not (postgres_url or "").startswith("postgresql"):
        raise HistoryBenchError("--postgres (or database_url) must be a postgresql+asyncpg:// URL")
    if json_path is not None and not json_path.parent.is_dir():
        raise HistoryBenchError(f"--json: no such directory: {json_path.parent}")
    result: dict[str, Any] = {
        "benchmark": "history",
        "calls": calls,
        "concurrency": concurrency,
        "rate": rate,
        "duration_s": duration,
        "writes_per_call": 14,
        "max_batch": max_batch,
    }
    with tempfile.TemporaryDirectory(prefix="bankcti-bench-history-") as scratch:
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(scratch) / 'history.db'}"
            else:
                assert postgres_url is not None
                name = f"bankcti_bench_{secrets.token_hex(4)}"
                url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
            try:
                result[backend] = await _one_backend(
                    url, backend, calls=calls, concurrency=concurrency, rate=rate, duration=duration,
                    spool_dir=Path(scratch), max_batch=max_batch,
                )  # fmt: skip
            finally:
                if backend == "postgresql":
                    await drop_database(url)
    result["host"] = host_facts()
    print(_table(result))
    if json_path is not None:
        await asyncio.to_thread(json_path.write_text, json.dumps(result, indent=2) + "\n")
        print(f"written: {json_path}")
    lost = sum(result[b]["lost"] for b in backends)
    if lost:
        print(f"bankcti: {lost} interaction(s) lost or incomplete", file=sys.stderr)
    return 1 if lost else 0


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"{'database':<11} {'interactions/s':>14} {'writes/s':>9} {'baseline/s':>11} {'ratio':>6} "
        f"{'lost':>5} {'p99 @tp':>9} {'p50 @rate':>10} {'p99 @rate':>10}"
    ]
    for backend in ("postgresql", "sqlite"):
        one = result.get(backend)
        if one is None:
            continue
        steady, run = one["steady"] or {}, one["throughput"]
        lines.append(
            f"{backend:<11} {run['interactions_per_s']:>14} {run['writes_per_s']:>9} "
            f"{one['baseline']['interactions_per_s']:>11} {one['ratio_to_baseline']:>6} {one['lost']:>5} "
            f"{run['p99_ms']!s:>9} {steady.get('p50_ms')!s:>10} {steady.get('p99_ms')!s:>10}"
        )
    return "\n".join(lines)
