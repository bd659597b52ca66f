"""``bankcti ivr check`` holds the menus against the ACD's queues, run as a user runs it (a subprocess).

A menu routing to a queue defined neither in the queue file nor in the
``acd_queues`` table is refused with file, line and the queues there are;
a queue the table alone defines is accepted when the database answers (on
SQLite and PostgreSQL), and the output says when the table could not be
read.  An ``open_hours`` naming no calendar of the menus is refused with the
queue file's line.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from crm_core.contact_center.acd_store import save_queue_row
from crm_core.db import create_engine, drop_database, session_factory, upgrade

REPO = Path(__file__).resolve().parents[2]
BANK = (REPO / "config" / "ivr" / "bank.toml").read_text(encoding="utf-8")
QUEUES = REPO / "config" / "queues.toml"
KNOWN = "accounts, cards, general, priority"


def bankcti(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bankcti", "--config", str(config), "ivr", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=config.parent,
        check=False,
    )


def write_config(tmp_path: Path, *, database_url: str = "", queue_file: Path = QUEUES) -> Path:
    config = tmp_path / "bankcti.toml"
    lines = [f'data_dir = "{tmp_path / "data"}"']
    if database_url:
        lines.append(f'database_url = "{database_url}"')
    lines += ["", "[acd]", f'queue_file = "{queue_file}"']
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def menu(tmp_path: Path, text: str) -> Path:
    menus = tmp_path / "menus"
    menus.mkdir(exist_ok=True)
    path = menus / "main.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error(done: subprocess.CompletedProcess[str]) -> str:
    """The error line (the log lines before it go to stderr too)."""
    return done.stderr.strip().splitlines()[-1]


def line_of(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


def test_a_route_to_an_unknown_queue_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = menu(tmp_path, BANK.replace('queue = "cards"', 'queue = "crads"'))
    line = line_of(path, 'queue = "crads"')
    done = bankcti(write_config(tmp_path), str(path))
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr
    assert error(done) == (
        f"bankcti: {path}:{line}: node 'card-queue': queue 'crads' is not "
        f"defined in {QUEUES} (queues: {KNOWN}; the acd_queues table was not read: "
        "the database has no schema yet)"
    )
    assert not (tmp_path / "data").exists()  # nothing created to read the table


def test_an_unknown_agent_queue_is_refused_too(tmp_path: Path) -> None:
    text = BANK.replace('agent_queue = "general"', 'agent_queue = "front-desk"')
    path = menu(tmp_path, text)
    done = bankcti(write_config(tmp_path), str(path))
    assert done.returncode == 1
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if row.startswith("agent_queue"))
    assert error(done).startswith(
        f"bankcti: {path}:{line}: agent_queue: queue 'front-desk' is not defined in "
    )


def test_the_shipped_menus_route_to_defined_queues(tmp_path: Path) -> None:
    done = bankcti(write_config(tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"ok: {REPO / 'config' / 'ivr'}: 2 menu(s): bank, main" in done.stdout
    assert f"checked against {QUEUES} (4 queue(s); the acd_queues table was not read" in done.stdout


def test_an_open_hours_calendar_no_menu_defines_is_refused(tmp_path: Path) -> None:
    queues = tmp_path / "queues.toml"
    text = QUEUES.read_text(encoding="utf-8").replace(
        "[queues.cards]\n", '[queues.cards]\nopen_hours = "ofice"\n'
    )
    queues.write_text(text, encoding="utf-8")
    line = line_of(queues, 'open_hours = "ofice"')
    done = bankcti(write_config(tmp_path, queue_file=queues))
    assert done.returncode == 1
    assert error(done) == (
        f"bankcti: {queues}:{line}: queue 'cards': open_hours: "
        f"calendar 'ofice' is defined in no IVR menu of {REPO / 'config' / 'ivr'} (calendars: office)"
    )
    good = text.replace('open_hours = "ofice"', 'open_hours = "office"')
    queues.write_text(good, encoding="utf-8")
    assert bankcti(write_config(tmp_path, queue_file=queues)).returncode == 0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database whose ``acd_queues`` table defines queue ``wealth-desk``."""
    if request.param == "sqlite":
        (tmp_path / "data").mkdir()
        url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bankcti.db'}"
    else:
        admin = os.environ.get("BANKCTI_TEST_POSTGRES_URL")
        if not admin:
            pytest.skip("BANKCTI_TEST_POSTGRES_URL is not set: PostgreSQL variant not run")
        url = make_url(admin).set(database=f"bankcti_ivrcheck_{secrets.token_hex(6)}").render_as_string(False)

    async def prepare() -> None:
        await upgrade(url)
        engine = create_engine(url)
        try:
            await save_queue_row(session_factory(engine), "wealth-desk", {"priority": 5})
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))


def test_a_queue_of_the_acd_queues_table_is_known(tmp_path: Path, database: str) -> None:
    path = menu(tmp_path, BANK.replace('queue = "cards"', 'queue = "wealth-desk"'))
    config = write_config(tmp_path, database_url=database if "postgresql" in database else "")
    done = bankcti(config, str(path))
    assert done.returncode == 0, done.stderr
    assert f"checked against {QUEUES} (4 queue(s)) and the acd_queues table (1 queue(s))" in done.stdout
    path.write_text(BANK.replace('queue = "cards"', 'queue = "welth-desk"'), encoding="utf-8")
    refused = bankcti(config, str(path))
    assert refused.returncode == 1
    assert (
        f"node 'card-queue': queue 'welth-desk' is not defined in {QUEUES} nor in the acd_queues table "
        f"(queues: {KNOWN}, wealth-desk)"
    ) in refused.stderr
