"""`bankcti analytics run` and `bankcti bench analytics` as a user runs them: exit status and output.

The demo bank is seeded the way `bankcti demo` does it (migrate, then
:func:`crm_core.demo.seed.seed_demo` with its defaults).  Its generator draws
balances from a Pareto law (:mod:`crm_core.demo.data`); the share of
customers in segment A by AUM that the run reports must match the share
computed straight from the generated balances, within a tolerance: the run
classifies month-average balances, the generator today's, and the last
month's salaries and spending move a customer near a class boundary.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from crm_core.analytics.pareto import abc_classes
from crm_core.db import create_engine, session_factory, upgrade
from crm_core.demo.data import aum, demo_customers
from crm_core.demo.seed import seed_demo

TIMEOUT = 120
POSTGRES_ENV = "BANKCTI_TEST_POSTGRES_URL"
#: How far the run's share of customers in A may be from the generator's (3 customers in 60).
SHARE_TOLERANCE = 0.05


def _sqlite(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'crm.db'}"


async def _bankcti(data_dir: Path, database_url: str, *args: str) -> tuple[int | None, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKCTI_")}
    env |= {
        "BANKCTI_DATA_DIR": str(data_dir),
        "BANKCTI_DATABASE_URL": database_url,
        "BANKCTI_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bankcti", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(TIMEOUT):
        out, err = await process.communicate()
    assert b"Traceback" not in out + err, (out, err)
    return process.returncode, out.decode(), err.decode()


def _share(out: str, label: str) -> float:
    found = re.search(rf"^customers in A \({label}\)\s+([\d.]+) %$", out, re.MULTILINE)
    assert found, out
    return float(found.group(1)) / 100


@pytest.fixture
async def demo_dir(tmp_path: Path) -> Path:
    """A data directory with the demo bank seeded as `bankcti demo` seeds it."""
    directory = tmp_path / "data"
    directory.mkdir()
    url = _sqlite(directory)
    await upgrade(url)
    engine = create_engine(url)
    try:
        await seed_demo(session_factory(engine), pepper=b"d" * 32)
    finally:
        await engine.dispose()
    return directory


async def test_run_on_the_demo_matches_the_generated_pareto_split(demo_dir: Path) -> None:
    code, out, err = await _bankcti(demo_dir, _sqlite(demo_dir), "analytics", "run")
    assert code == 0, err
    # What the generator intends: seed_demo's defaults (60 customers, 6 agents, seed 7), the deleted aside.
    live = [person for person in demo_customers(60, 6, 7) if person.deleted_ago is None]
    classes = abc_classes([aum(person) for person in live])
    intended = classes.count("A") / len(classes)
    assert 0 < intended < 0.5  # a Pareto book: few customers hold most of the assets
    assert re.search(rf"^customers\s+{len(live)}$", out, re.MULTILINE), out
    assert abs(_share(out, "AUM") - intended) <= SHARE_TOLERANCE, (intended, out)
    # Contribution follows the assets (margin on balances), so its split is Pareto-shaped too.
    assert abs(_share(out, "contribution") - intended) <= 2 * SHARE_TOLERANCE, (intended, out)
    counts = re.search(r"^ABC by contribution\s+A=(\d+) B=(\d+) C=(\d+)$", out, re.MULTILINE)
    assert counts and sum(map(int, counts.groups())) == len(live)
    assert re.search(r"^run\s+#1 \(done, computed on \d{4}-\d\d-\d\d\)$", out, re.MULTILINE), out
    # The progress bar goes to stderr only, the table to stdout only.
    assert "[##############################] customers" in err and "[#" not in out
    assert "customers in A" not in err
    # A second run is run #2: the history keeps both.
    code, out, _ = await _bankcti(demo_dir, _sqlite(demo_dir), "analytics", "run")
    assert code == 0 and re.search(r"^run\s+#2 ", out, re.MULTILINE), out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("analytics",), 2, "required: {run}"),
        (("analytics", "run", "--bogus"), 2, "unrecognized arguments: --bogus"),
        (("analytics", "walk"), 2, "invalid choice: 'walk'"),
        (("bench", "analytics", "--transactions", "many"), 2, "invalid int value: 'many'"),
        (("bench", "analytics", "--transactions", "10"), 1, "bench analytics needs PostgreSQL"),
    ],
)
async def test_bad_arguments_give_a_clear_error(
    tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    got, out, err = await _bankcti(tmp_path, _sqlite(tmp_path), *args)
    assert (got, out) == (code, "") and message in err, err


async def test_run_on_a_database_without_schema_says_what_to_do(tmp_path: Path) -> None:
    code, out, err = await _bankcti(tmp_path, _sqlite(tmp_path), "analytics", "run")
    assert (code, out) == (1, "")
    assert "no schema yet: run `bankcti db upgrade` first" in err


async def _bench_databases(admin_url: str) -> set[str]:
    engine = create_engine(admin_url)
    try:
        async with engine.connect() as connection:
            names = await connection.scalars(
                text("SELECT datname FROM pg_database WHERE datname LIKE 'bankcti_bench_%'")
            )
            return set(names)
    finally:
        await engine.dispose()


async def test_bench_analytics_smoke_on_postgresql(tmp_path: Path) -> None:
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"{POSTGRES_ENV} is not set: the analytics benchmark needs PostgreSQL")
    url = make_url(admin).render_as_string(hide_password=False)
    before = await _bench_databases(url)
    result = tmp_path / "bench.json"
    args = ("bench", "analytics", "--transactions", "3000", "--customers", "40", "--json", str(result))
    code, out, err = await _bankcti(tmp_path, url, *args)
    assert code == 0, err
    data = json.loads(result.read_text())
    assert (data["benchmark"], data["transactions"], data["customers"]) == ("analytics", 3000, 40)
    assert data["segment_seconds"] >= 0 and isinstance(data["goal_met"], bool)
    assert 0 < data["a_share_aum"] < 1
    assert re.search(r"^segment_seconds\s+[\d.]+$", out, re.MULTILINE) and f"written: {result}" in out
    # The scratch database is gone again.
    assert await _bench_databases(url) <= before
    # A --json into a missing directory is refused before the benchmark starts.
    code, out, err = await _bankcti(tmp_path, url, *args[:-1], str(tmp_path / "nowhere" / "b.json"))
    assert (code, out) == (1, "") and "no such directory" in err
