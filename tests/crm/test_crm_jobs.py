"""Periodic jobs under a database lease: one run per interval across instances, crash takeover."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from protection_world import T0, FakeClock, World
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.jobs import JobRunner, default_holder
from crm_core.models import JobLease
from crm_core.protection.service import ProtectionService

RELEASED = datetime(1970, 1, 1, tzinfo=UTC)


async def _lease(sessions: async_sessionmaker[AsyncSession], name: str) -> JobLease | None:
    async with sessions() as session:
        return await session.scalar(select(JobLease).where(JobLease.name == name))


class Counter:
    """A job body that counts its runs and can be held open."""

    def __init__(self) -> None:
        self.runs = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, session: AsyncSession, now: datetime) -> dict[str, Any]:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        return {"runs": self.runs, "at": now}


async def test_two_instances_racing_run_the_job_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = FakeClock()
    counter = Counter()
    runners = [JobRunner(sessions, f"host-{i}", clock=clock) for i in range(4)]
    for runner in runners:
        runner.register("purge", 3600, counter)
    async with asyncio.timeout(20):
        results = await asyncio.gather(*(runner.run_once("purge") for runner in runners))
    assert counter.runs == 1
    [winner] = [r for r in results if r.ran]
    assert winner.result == {"runs": 1, "at": T0.isoformat()} and winner.error is None
    lease = await _lease(sessions, "purge")
    assert lease is not None
    assert (lease.last_run_at, lease.last_result, lease.expires_at) == (T0, winner.result, RELEASED)
    assert lease.holder in {r.holder for r in runners}


async def test_the_lease_keeps_a_second_instance_out_while_running(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock()
    counter = Counter()
    counter.release.clear()
    first, second = JobRunner(sessions, "first", clock=clock), JobRunner(sessions, "second", clock=clock)
    for runner in (first, second):
        runner.register("release", 60, counter)
    async with asyncio.timeout(20):
        running = asyncio.create_task(first.run_once("release"))
        await counter.started.wait()
        lease = await _lease(sessions, "release")
        assert lease is not None and (lease.holder, lease.expires_at) == ("first", T0 + timedelta(minutes=5))
        assert not (
            await second.run_once("release", force=True)
        ).ran  # force skips the interval, not the lease
        counter.release.set()
        assert (await running).ran
    assert counter.runs == 1


async def test_interval_is_shared_between_instances(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = FakeClock()
    counter = Counter()
    first, second = JobRunner(sessions, "first", clock=clock), JobRunner(sessions, "second", clock=clock)
    for runner in (first, second):
        runner.register("reminders", 600, counter)
    assert (await first.run_once("reminders")).ran
    clock.advance(seconds=599)
    assert not (await second.run_once("reminders")).ran
    assert not (await first.run_once("reminders")).ran
    clock.advance(seconds=1)  # exactly one interval later
    assert (await second.run_once("reminders")).ran
    assert (await first.run_once("reminders", force=True)).ran
    assert counter.runs == 3


async def test_a_crashed_holder_is_taken_over_when_its_lease_expires(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock()
    counter = Counter()
    expires = T0 + timedelta(minutes=5)
    async with sessions() as session, session.begin():
        # What a process that died mid-run leaves behind.
        session.add(JobLease(name="purge", holder="dead-host:1", expires_at=expires))
    survivor = JobRunner(sessions, "survivor", clock=clock)
    survivor.register("purge", 60, counter)
    assert not (await survivor.run_once("purge")).ran
    clock.now = expires  # not yet: the lease runs until strictly after expires_at
    assert not (await survivor.run_once("purge")).ran
    clock.now = expires + timedelta(microseconds=1)
    assert (await survivor.run_once("purge")).ran
    lease = await _lease(sessions, "purge")
    assert lease is not None and lease.holder == "survivor" and counter.runs == 1
    # The holder itself may retake its own lease (a run of its own that died before releasing).
    async with sessions() as session, session.begin():
        row = await session.get(JobLease, "purge")
        assert row is not None
        row.expires_at, row.last_run_at = clock.now + timedelta(hours=1), None
    assert (await survivor.run_once("purge")).ran


async def test_a_failing_job_is_recorded_and_frees_the_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock()

    async def broken(session: AsyncSession, now: datetime) -> dict[str, Any]:
        raise RuntimeError("boom")

    first, second = JobRunner(sessions, "first", clock=clock), JobRunner(sessions, "second", clock=clock)
    first.register("broken", 60, broken)
    second.register("broken", 60, broken)
    run = await first.run_once("broken")
    assert (run.ran, run.error, run.result) == (True, "RuntimeError", None)
    lease = await _lease(sessions, "broken")
    assert lease is not None and lease.last_result == {"error": "RuntimeError"}
    clock.advance(seconds=60)
    assert (await second.run_once("broken")).ran


async def test_a_job_must_return_a_dict(sessions: async_sessionmaker[AsyncSession]) -> None:
    async def wrong(session: AsyncSession, now: datetime) -> Any:
        return ["not", "a", "dict"]

    runner = JobRunner(sessions, "me", clock=FakeClock())
    runner.register("wrong", 60, wrong)
    assert (await runner.run_once("wrong")).error == "TypeError"


async def test_the_release_job_runs_under_the_runner(sessions: async_sessionmaker[AsyncSession]) -> None:
    world = await World(sessions).setup()
    await world.agent("alice")
    customer = await world.customer("Forgotten", owner="alice", owned_since=T0 - timedelta(days=30))
    protection = ProtectionService(sessions, world.parameters, clock=world.clock)
    runner = JobRunner(sessions, "svc-a", clock=world.clock)
    runner.register("protection.release", 3600, protection.release_job)
    run = await runner.run_once("protection.release")
    assert run.result == {"released": 1, "customer_ids": [customer], "more": False}
    assert (await world.get(customer)).status == "public"
    lease = await _lease(sessions, "protection.release")
    assert lease is not None and lease.last_result == run.result


async def test_background_loop_runs_jobs_on_their_interval(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ticks: list[datetime] = []
    three = asyncio.Event()

    async def tick(session: AsyncSession, now: datetime) -> dict[str, Any]:
        ticks.append(now)
        if len(ticks) == 3:
            three.set()
        return {}

    runner = JobRunner(sessions, default_holder())
    runner.register("tick", 0.05, tick)
    runner.start()
    with pytest.raises(RuntimeError):
        runner.start()
    try:
        async with asyncio.timeout(10):
            await three.wait()
    finally:
        await runner.close()
    assert ticks == sorted(ticks) and all(t.tzinfo is UTC for t in ticks)
    # Without a clock the runner uses the database's, which agrees with ours.
    assert abs(ticks[0] - datetime.now(UTC)) < timedelta(seconds=30)
    count = len(ticks)
    await asyncio.sleep(0.15)  # closed: the loop must not run again
    assert len(ticks) == count
    await runner.close()  # closing twice is harmless


async def test_close_cancels_a_job_that_does_not_finish(sessions: async_sessionmaker[AsyncSession]) -> None:
    counter = Counter()
    counter.release.clear()
    runner = JobRunner(sessions, "slow")
    runner.register("slow", 60, counter)
    runner.start()
    async with asyncio.timeout(10):
        await counter.started.wait()
        await runner.close(grace_seconds=0.05)
    assert counter.runs == 1


def test_registration_is_checked() -> None:
    sessions: async_sessionmaker[AsyncSession] = async_sessionmaker()  # never used: no database needed
    runner = JobRunner(sessions, "me")

    async def job(session: AsyncSession, now: datetime) -> dict[str, Any]:
        return {}

    runner.register("job", 1, job)
    with pytest.raises(ValueError, match="already registered"):
        runner.register("job", 1, job)
    with pytest.raises(ValueError, match="interval"):
        runner.register("other", 0, job)
    with pytest.raises(ValueError, match="name"):
        runner.register("x" * 65, 1, job)
    with pytest.raises(ValueError, match="holder"):
        JobRunner(sessions, "")
    with pytest.raises(ValueError, match="lease"):
        JobRunner(sessions, "me", lease_seconds=0)
    assert runner.names == ["job"] and len(default_holder()) <= 64
