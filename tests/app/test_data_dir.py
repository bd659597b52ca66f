"""A missing data directory: refused in one line by every command but ``db upgrade`` and ``demo``.

Each command runs as a user runs it (a process); a refused run must leave no
directory, no hashing key (``account-pepper``) and no SQLite file behind.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TIMEOUT = 60


@dataclass(frozen=True)
class Run:
    code: int | None
    stdout: str
    stderr: str


async def _bankcti(*args: str | Path, env: dict[str, str] | None = None) -> Run:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BANKCTI_")}
    base["BANKCTI_LOG_LEVEL"] = "WARNING"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bankcti", *map(str, args),
        env=base | (env or {}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(TIMEOUT):  # serve must refuse at once, not start and wait
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    run = Run(process.returncode, out.decode(), err.decode())
    assert "Traceback" not in run.stdout + run.stderr, run
    return run


def _refusal(directory: Path) -> str:
    return (
        f"bankcti: data directory {directory} does not exist (nothing was created); create it with "
        f"`bankcti db upgrade --data-dir {directory}`, "
        f"or seed a demo one with `bankcti demo --data-dir {directory}`"
    )


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_commands_refuse_a_missing_data_directory_and_create_nothing(tmp_path: Path) -> None:
    parent = tmp_path / "x"  # neither it nor the data directory exists
    missing = parent / "missing"
    csv = tmp_path / "customers.csv"
    csv.write_text("name,phone\nZhang Wei,13812345678\n", encoding="utf-8")
    commands = {
        "import": ("import", "customers", csv, "--data-dir", missing),
        "serve": ("serve", "--data-dir", missing),
        "analytics": ("analytics", "run", "--data-dir", missing),
        "commission": ("commission", "run", "--period", "2026-11", "--data-dir", missing),
        "prompts": ("prompts", "build", "--data-dir", missing),
    }
    # A free port, in case serve started anyway: the test must not depend on 8080.
    runs = await asyncio.gather(
        *(_bankcti(*args, env={"BANKCTI_HTTP_PORT": "0"}) for args in commands.values())
    )
    for name, run in zip(commands, runs, strict=True):
        assert (run.code, run.stdout) == (1, ""), (name, run)
        assert run.stderr.strip() == _refusal(missing), (name, run.stderr)
    assert not parent.exists()


async def test_the_data_directory_from_the_environment_is_refused_too(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    run = await _bankcti("serve", env={"BANKCTI_DATA_DIR": str(missing), "BANKCTI_HTTP_PORT": "0"})
    assert run.code == 1 and run.stderr.strip() == _refusal(missing)
    assert not missing.exists()


async def test_an_empty_data_directory_gets_no_key_and_no_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    csv = tmp_path / "customers.csv"
    csv.write_text("name,phone\nZhang Wei,13812345678\n", encoding="utf-8")
    serve, imported, analytics = await asyncio.gather(
        _bankcti("serve", "--data-dir", empty, env={"BANKCTI_HTTP_PORT": "0"}),
        _bankcti("import", "customers", csv, "--data-dir", empty),
        _bankcti("analytics", "run", "--data-dir", empty),
    )
    for run in (serve, imported, analytics):
        assert run.code == 1, run
        assert run.stderr.strip() == "bankcti: the database has no schema yet: run `bankcti db upgrade` first"
    assert _files(empty) == []


async def test_a_database_elsewhere_needs_the_directory_only_for_the_hashing_key(tmp_path: Path) -> None:
    # Stands for PostgreSQL: a database_url that is not the default SQLite file in the data directory.
    missing = tmp_path / "missing"
    env = {
        "BANKCTI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'elsewhere.db'}",
        "BANKCTI_HTTP_PORT": "0",
    }
    analytics, serve = await asyncio.gather(
        _bankcti("analytics", "run", "--data-dir", missing, env=env),
        _bankcti("serve", "--data-dir", missing, env=env),
    )
    # analytics hashes nothing: it goes on to the database, and reading it creates no file.
    assert analytics.code == 1
    assert "the database has no schema yet: run `bankcti db upgrade` first" in analytics.stderr
    assert not (tmp_path / "elsewhere.db").exists()
    # serve would create the pepper that keys the database's hashes: the directory is required.
    assert serve.code == 1 and serve.stderr.strip() == _refusal(missing)
    assert not missing.exists()


async def test_db_upgrade_creates_a_new_data_directory(tmp_path: Path) -> None:
    new = tmp_path / "new" / "data"
    run = await _bankcti("db", "upgrade", "--data-dir", new)
    assert run.code == 0, run
    assert (new / "bankcti.db").is_file()
    assert f"database is up to date: sqlite+aiosqlite:///{new / 'bankcti.db'}" in run.stdout
    # The directory now serves the other commands.
    again = await _bankcti("analytics", "run", "--data-dir", new)
    assert again.code == 0, again


@pytest.mark.parametrize(
    "command", [("ivr", "check"), ("bench", "route", "--agents", "20", "--events", "200")]
)
async def test_commands_without_data_ignore_a_missing_directory(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    missing = tmp_path / "missing"
    run = await _bankcti(*command, env={"BANKCTI_DATA_DIR": str(missing)})
    assert run.code == 0, run
    assert not missing.exists()
