"""`bankcti import customers FILE` as a user runs it: a process, its exit status and its output."""

from __future__ import annotations

import asyncio
import csv
import os
import sqlite3
import sys
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest

from bankcti.cli.importing import ProgressBar
from crm_core.db import create_engine, session_factory, upgrade
from crm_core.models import Agent

RESIDENT_ID = "11010519491231002X"  # GB 11643 sample number
TIMEOUT = 60


@dataclass(frozen=True)
class Run:
    code: int | None
    stdout: str
    stderr: str


@pytest.fixture
async def data_dir(tmp_path: Path) -> Path:
    """A data directory whose SQLite database is migrated and has the agent ``agent1``."""
    directory = tmp_path / "data"
    url = f"sqlite+aiosqlite:///{directory / 'crm.db'}"
    await upgrade(url)
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        session.add(Agent(login="agent1", name="Agent One", password_hash="-", extension="", device=""))
    await engine.dispose()
    return directory


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKCTI_")}
    env["BANKCTI_DATA_DIR"] = str(data_dir)
    env["BANKCTI_DATABASE_URL"] = f"sqlite+aiosqlite:///{data_dir / 'crm.db'}"
    env["BANKCTI_LOG_LEVEL"] = "WARNING"
    return env


async def _bankcti(data_dir: Path, *args: str | Path, stderr: int | None = None) -> Run:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bankcti", "import", "customers", *map(str, args),
        env=_env(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE if stderr is None else stderr,
    )  # fmt: skip
    async with asyncio.timeout(TIMEOUT):
        out, err = await process.communicate()
    run = Run(process.returncode, out.decode(), (err or b"").decode())
    assert "Traceback" not in run.stdout + run.stderr, run
    return run


def _customers(data_dir: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(data_dir / "crm.db") as db:
        return db.execute(
            "SELECT c.name, c.status, a.login FROM customers c LEFT JOIN agents a ON a.id = c.owner_agent_id"
            " ORDER BY c.id"
        ).fetchall()


async def test_atomic_failure_dry_run_skip_bad_and_rerun(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "customers.csv"
    source.write_text(
        "name,phone,id_number,owner\n"
        f"Zhang Wei,138 1234 5678,{RESIDENT_ID},\n"
        "Li Na,12ab,,\n"
        "Wang Fang,13912345678,,nobody\n"
        "Chen Jie,010-8888 6666,,agent1\n",
        encoding="utf-8",
    )
    failed = await _bankcti(data_dir, source)
    assert failed.code == 1
    assert failed.stdout.splitlines() == [
        "customers.csv: 4 rows, read as UTF-8, comma-separated",
        "row 3 (phone): '12ab' is not a phone number",
        "row 4 (owner): no agent with login 'nobody'",
        "nothing imported: 2 rows rejected; fix them, or use --skip-bad"
        " to import the 2 rows without problems",
        "imported 0, rejected 2, duplicates 0",
    ]
    assert "validating 4/4 rows" in failed.stderr  # not a terminal: plain progress lines
    assert _customers(data_dir) == []

    dry = await _bankcti(data_dir, source, "--dry-run", "--skip-bad")
    assert dry.code == 0
    assert "dry run: nothing written; 2 rows would be imported" in dry.stdout
    assert _customers(data_dir) == []

    report = tmp_path / "rejected.csv"
    done = await _bankcti(data_dir, source, "--skip-bad", "--owner", "agent1", "--report", report)
    assert done.code == 0, done
    assert done.stdout.splitlines()[-1] == "imported 2, rejected 2, duplicates 0"
    assert "importing 2/2 rows" in done.stderr
    assert _customers(data_dir) == [("Zhang Wei", "owned", "agent1"), ("Chen Jie", "owned", "agent1")]
    with report.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["line", "column", "reason", "name", "phone", "id_number", "owner"],
        ["3", "phone", "'12ab' is not a phone number", "Li Na", "12ab", "", ""],
        ["4", "owner", "no agent with login 'nobody'", "Wang Fang", "13912345678", "", "nobody"],
    ]

    again = await _bankcti(data_dir, source, "--report", report)
    assert again.code == 1
    assert "row 2 (id_number): duplicate: ID number **************002X belongs to customer 1" in again.stdout
    assert again.stdout.splitlines()[-1] == "imported 0, rejected 2, duplicates 2"
    assert RESIDENT_ID not in again.stdout + report.read_text(encoding="utf-8-sig")
    assert "**************002X" in report.read_text(encoding="utf-8-sig")
    assert len(_customers(data_dir)) == 2


async def test_gb18030_semicolon_file(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "客户.csv"
    source.write_bytes("姓名;手机\n张伟;139 1111 2222\n王芳;+86 139 1111 3333\n".encode("gb18030"))
    run = await _bankcti(data_dir, source)
    assert run.code == 0, run
    assert run.stdout.splitlines() == [
        "客户.csv: 2 rows, read as GB18030 (the file is not UTF-8), semicolon-separated",
        "imported 2, rejected 0, duplicates 0",
    ]
    assert _customers(data_dir) == [("张伟", "public", None), ("王芳", "public", None)]


async def test_unusable_input_exits_2_and_database_problems_exit_1(data_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("name,phone\nA,13812345678\n", encoding="utf-8")
    undecodable = tmp_path / "latin.csv"
    undecodable.write_bytes(b"name,phone\n\xff\xff,13812345678\n")
    # (Other unusable files are covered in tests/crm/test_crm_import_csv.py: one such error suffices here.)
    cases = {
        "missing": ([tmp_path / "missing.csv"], 2, "missing.csv: cannot read the file: No such file"),
        "encoding": ([undecodable], 2, "latin.csv: neither UTF-8 (bad byte 0xff at offset 11) nor GB18030"),
        "owner": ([good, "--owner", "ghost"], 2, "bankcti: --owner: no agent with login 'ghost'"),
        "region": ([good, "--region", "XX"], 2, "bankcti: --region XX: not a known phone region"),
        "report": ([good, "--report", tmp_path / "no" / "r.csv"], 2, "--report"),
    }
    unmigrated, outdated = tmp_path / "nothing-here", tmp_path / "old"
    unmigrated.mkdir()  # a data directory without a database (a missing one: tests/app/test_data_dir.py)
    await upgrade(f"sqlite+aiosqlite:///{outdated / 'crm.db'}", "0001")
    *runs, fresh, old = await asyncio.gather(
        *(_bankcti(data_dir, *args) for args, _, _ in cases.values()),
        _bankcti(unmigrated, good),
        _bankcti(outdated, good),
    )
    for (name, (_, code, message)), run in zip(cases.items(), runs, strict=True):
        assert (run.code, run.stdout) == (code, ""), (name, run)
        assert message in run.stderr, (name, run.stderr)
    assert _customers(data_dir) == []
    assert fresh.code == 1
    assert "the database has no schema yet: run `bankcti db upgrade` first" in fresh.stderr
    assert list(unmigrated.iterdir()) == []  # neither an empty database nor a new pepper
    assert old.code == 1
    assert "the database is at revision 0001, not " in old.stderr and "bankcti db upgrade" in old.stderr


async def test_progress_bar_on_a_terminal(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "many.csv"
    source.write_text("name,phone\n" + "".join(f"C{i},139{i:08d}\n" for i in range(600)), encoding="utf-8")
    leader, follower = os.openpty()
    try:
        run = await _bankcti(data_dir, source, stderr=follower)
        os.close(follower)
        follower = -1
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process's side is closed and everything was read
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert run.code == 0 and run.stdout.endswith("imported 600, rejected 0, duplicates 0\n")
    screen = terminal.decode()
    assert f"\rvalidating [{'#' * 30}] 600/600 rows" in screen
    assert f"\rimporting  [{'#' * 30}] 600/600 rows" in screen
    assert "validating 600/600 rows\n" not in screen  # the bar, not the plain lines


def test_progress_bar_drawing() -> None:
    out = StringIO()
    bar = ProgressBar(out, tty=True, width=10, min_interval=0)
    bar("importing", 512, 1000)
    bar("importing", 1000, 1000)
    assert (
        out.getvalue() == "\rimporting  [#####-----] 512/1000 rows\rimporting  [##########] 1000/1000 rows\n"
    )
    plain = StringIO()
    lines = ProgressBar(plain, tty=False)
    for done in range(0, 1001, 50):
        lines("validating", done, 1000)
    assert plain.getvalue().splitlines() == [f"validating {n}/1000 rows" for n in range(0, 1001, 100)]
    silent = StringIO()
    ProgressBar(silent, tty=False)("validating", 0, 0)
    assert silent.getvalue() == ""
