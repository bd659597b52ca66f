"""`bankcti bench history` as a user runs it, small and short: table, JSON, nothing lost, bad options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

POSTGRES_ENV = "BANKCTI_TEST_POSTGRES_URL"


def bankcti(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BANKCTI_")}
    return subprocess.run(
        [sys.executable, "-m", "bankcti", "bench", "history", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def test_bench_history_writes_every_call_and_the_json(tmp_path: Path) -> None:
    backends = ["sqlite"]
    extra: list[str] = []
    if os.environ.get(POSTGRES_ENV):
        backends.append("postgresql")
        extra = ["--postgres", os.environ[POSTGRES_ENV]]
    out = tmp_path / "history.json"
    done = bankcti(
        "--calls", "30", "--concurrency", "10", "--rate", "20", "--duration", "0.5",
        "--backends", ",".join(backends), *extra, "--json", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "interactions/s" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["benchmark"] == "history"
    assert {"date", "cpu", "cores"} <= set(result["host"])
    for backend in backends:
        one = result[backend]
        assert one["lost"] == 0
        assert one["spooled_left"] == 0
        assert one["throughput"]["calls"] == 30
        assert one["throughput"]["writes"] == 30 * result["writes_per_call"]
        assert one["steady"]["calls"] == 10
        assert one["steady"]["writes"] == 10 * result["writes_per_call"]
        assert one["baseline"]["calls"] == 30
        for key in ("interactions_per_s", "writes_per_s", "p50_ms", "p99_ms"):
            assert isinstance(one["throughput"][key], float)
        assert isinstance(one["ratio_to_baseline"], float)
        assert one["lanes"] == (4 if backend == "postgresql" else 1)
    if "postgresql" in backends:  # the scratch database is gone
        assert "bankcti_bench_" not in _databases()


def _databases() -> str:
    import asyncio

    import asyncpg
    from sqlalchemy import make_url

    async def names() -> str:
        url = make_url(os.environ[POSTGRES_ENV]).set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            return " ".join(r["datname"] for r in await connection.fetch("SELECT datname FROM pg_database"))
        finally:
            await connection.close()

    return asyncio.run(names())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calls", "0"], "--calls, --concurrency and --max-batch must be >= 1"),
        (["--rate", "0"], "--rate > 0"),
        (["--backends", "oracle"], "--backends: sqlite and/or postgresql, not oracle"),
        (["--backends", "postgresql"], "must be a postgresql+asyncpg:// URL"),
        (["--backends", "sqlite", "--json", "no/such/dir/out.json"], "--json: no such directory"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(tmp_path: Path, args: list[str], message: str) -> None:
    done = bankcti(*args, cwd=tmp_path)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
