"""kill -9 in the middle of the history's writes: every step acknowledged before the kill is kept."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from history_databases import BACKENDS, new_database_url
from sqlalchemy import select

from bankcti.history import ResilientHistory
from bankcti.history_lanes import lanes_for
from crm_core.db import create_engine, drop_database, session_factory, upgrade
from crm_core.followups.interactions import InteractionWriter
from crm_core.models import InteractionLeg

CHILD = Path(__file__).with_name("history_crash_child.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    url = new_database_url(request.param, tmp_path)
    await upgrade(url)
    yield url
    await drop_database(url)


def _acknowledged_until_killed(url: str, spool: Path, wanted: int) -> set[tuple[str, str]]:
    """Run the child until it acknowledged ``wanted`` steps, SIGKILL it, return every step it acknowledged."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, str(CHILD), url, str(spool)], stdout=subprocess.PIPE, env=env)
    assert child.stdout is not None
    killer = threading.Timer(60, child.kill)  # bounded: a stuck child fails the test, never hangs it
    killer.start()
    acknowledged: set[tuple[str, str]] = set()
    try:
        assert child.stdout.readline().strip() == b"ready"
        while len(acknowledged) < wanted:
            line = child.stdout.readline()
            assert line, "the writer stopped on its own"
            call_id, leg_key = line.decode().split()
            acknowledged.add((call_id, leg_key))
        child.send_signal(signal.SIGKILL)  # mid-load: writes are in flight
        for line in child.stdout.read().decode().splitlines():  # printed before it died: acknowledged too
            parts = line.split()
            if len(parts) == 2:
                acknowledged.add((parts[0], parts[1]))
    finally:
        killer.cancel()
        if child.poll() is None:
            child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    return acknowledged


async def test_every_acknowledged_step_survives_kill_9(db_url: str, tmp_path: Path) -> None:
    spool = tmp_path / "history-spool.jsonl"
    acknowledged = await asyncio.to_thread(_acknowledged_until_killed, db_url, spool, 400)
    # The writer starts again on the same database and spool, replays, and nothing acknowledged is missing.
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    history = ResilientHistory(InteractionWriter(sessions), spool, lanes=lanes_for(engine.dialect.name))
    try:
        await history.start()
        await asyncio.wait_for(history.emptied(), 30)
        async with sessions() as session:
            rows = await session.execute(select(InteractionLeg.call_id, InteractionLeg.leg_key))
            stored = {(row.call_id, row.leg_key) for row in rows}
        assert acknowledged <= stored, sorted(acknowledged - stored)[:5]
        for call_id in {call_id for call_id, _ in acknowledged}:
            record = await history.writer.get(call_id)
            assert record is not None and record.arrived_at is not None
    finally:
        await history.close()
        await engine.dispose()
