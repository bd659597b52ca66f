"""`bankcti bench wallboard` as a user runs it, small sizes: table, JSON, the interval kept, bad options."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

POSTGRES_ENV = "BANKCTI_TEST_POSTGRES_URL"
ARGS = ["--rate", "20", "--seconds", "1.5", "--agents", "16", "--queues", "2", "--interval", "0.5"]


def bankcti(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BANKCTI_")}
    return subprocess.run(
        [sys.executable, "-m", "bankcti", "bench", "wallboard", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def test_bench_wallboard_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "wallboard.json"
    done = bankcti(*ARGS, "--json", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for row in ("latency.p99_ms", "gaps.min_ms", "gaps.below_interval", "pushes.per_s"):
        assert row in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["benchmark"] == "wallboard"
    assert (result["rate"], result["seconds"], result["agents"], result["queues"]) == (20, 1.5, 16, 2)
    assert (result["interval_s"], result["database"]) == (0.5, "sqlite")
    assert result["calls"] == 30
    latency = result["latency"]
    assert latency["calls_measured"] == 30 and latency["never_shown"] == 0
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    gaps = result["gaps"]
    # The console never queued two frames to one socket closer than the interval.
    assert gaps["server_kept_interval"] is True and gaps["server_closest_ms"] >= 500
    # What the sockets read: the same, but for the delivery's jitter.
    assert gaps["count"] >= 3 and gaps["min_ms"] >= 0.9 * 500
    assert result["pushes"]["messages"] >= 3 and result["pushes"]["late_messages"] >= 1
    assert result["pushes"]["per_s"] > 0 and result["pushes"]["frame_bytes"] > 0
    assert {"date", "cpu", "python"} <= result["host"].keys()


def test_too_few_agents_is_one_clear_line(tmp_path: Path) -> None:
    done = bankcti("--rate", "50", "--agents", "3", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("bankcti: --agents must be at least 36 at --rate 50")


@pytest.mark.postgres
def test_bench_wallboard_on_a_scratch_postgresql_database(tmp_path: Path) -> None:
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL backend not tested")
    out = tmp_path / "wallboard.json"
    done = bankcti(*ARGS, "--seconds", "1", "--postgres", admin, "--json", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert (result["database"], result["calls"]) == ("postgresql", 20)
    assert result["latency"]["never_shown"] == 0
    assert result["gaps"]["server_kept_interval"] is True
    assert "bankcti_wallboard_" not in asyncio.run(_databases(admin))  # the scratch database is gone


async def _databases(admin: str) -> str:
    url = make_url(admin).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        return " ".join(r["datname"] for r in await connection.fetch("SELECT datname FROM pg_database"))
    finally:
        await connection.close()
