"""``bankcti agents …`` and ``bankcti admin create`` over a real database (SQLite; PostgreSQL if set).

Each command runs through :func:`bankcti.cli.main.main` on a worker thread (it starts its own event loop),
with the database named by ``BANKCTI_DATABASE_URL`` and the repository's queue file and menus.
"""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bankcti.cli.main import main
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, session_factory
from crm_core.models import Agent, AuditLog


class Cli:
    def __init__(self, db_url: str, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.db_url = db_url
        self.data_dir = data_dir
        self.capsys = capsys

    async def run(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        """Exit status, stdout and stderr of one command."""
        self.capsys.readouterr()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdin", io.StringIO(stdin))
            status = await asyncio.to_thread(main, [*argv, "--data-dir", str(self.data_dir)])
        out, err = self.capsys.readouterr()
        return status, out, err

    async def login(self, login: str, password: str) -> bool:
        engine = create_engine(self.db_url)
        try:
            return await AgentDirectory(session_factory(engine)).authenticate(login, password) is not None
        finally:
            await engine.dispose()

    async def count(self, model: type[Agent] | type[AuditLog]) -> int:
        engine = create_engine(self.db_url)
        try:
            async with session_factory(engine)() as session:
                return int(await session.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            await engine.dispose()


@pytest.fixture
def cli(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    monkeypatch.setenv("BANKCTI_DATABASE_URL", db_url)
    monkeypatch.setattr("crm_core.contact_center.agents.SCRYPT_N", 2**10)
    (tmp_path / "data").mkdir()
    return Cli(db_url, tmp_path / "data", capsys)


def _password(out: str, login: str) -> str:
    match = re.search(rf"password for {login} \(shown once[^)]*\): (\S+)", out)
    assert match, out
    return match[1]


async def test_admin_create_reads_the_password_from_stdin_never_the_command_line(cli: Cli) -> None:
    status, out, err = await cli.run("admin", "create", "boss", "--name", "Big Boss", "--password-stdin",
                                     stdin="B0ss-secret\n")  # fmt: skip
    assert status == 0, err
    assert "boss  admin  Big Boss" in out and "B0ss-secret" not in out
    assert await cli.login("boss", "B0ss-secret")
    status, _, err = await cli.run("admin", "create", "boss2", "--name", "Other")  # no terminal to ask on
    assert status == 1 and "--password-stdin" in err
    status, _, err = await cli.run(
        "admin", "create", "boss3", "--name", "Weak", "--password-stdin", stdin="abc\n"
    )
    assert status == 1 and "password" in err
    assert await cli.count(Agent) == 4  # the three staff and boss


async def test_agents_add_list_set_disable_and_password(cli: Cli) -> None:
    status, out, err = await cli.run(
        "agents", "add", "bob", "--name", "=HYPERLINK(1)", "--extension", "1002", "--device", "iax2/1002",
        "--queues", "general,cards", "--skills", "cards:4,wealth:2", "--team", "North",
    )  # fmt: skip
    assert status == 0, err
    password = _password(out, "bob")
    assert await cli.login("bob", password)
    assert "IAX2/1002" in out and "no running service" in out
    audits = await cli.count(AuditLog)
    for bad, field in ((["--device", "PJSIP 1"], "device"), (["--queues", "nowhere"], "queues"),
                       (["--skills", "cards:6"], "skills")):  # fmt: skip
        status, _, err = await cli.run("agents", "add", "carl", "--name", "Carl", "--extension", "1003", *bad)
        assert status == 1 and f"{field}:" in err and "nothing changed" in err, err
    status, _, err = await cli.run("agents", "add", "BOB", "--name", "Again", "--extension", "1004")
    assert status == 1 and "taken" in err
    assert (await cli.count(Agent), await cli.count(AuditLog)) == (4, audits)

    status, out, _ = await cli.run("agents", "list", "--csv")
    assert status == 0
    assert "bob,'=HYPERLINK(1),agent,1002,IAX2/1002,North,,general cards,cards:4 wealth:2,1" in out
    status, out, err = await cli.run("agents", "set", "bob", "--device", "PJSIP/1002", "--skills", "cards:5",
                                     "--team", "")  # fmt: skip
    assert status == 0, err
    assert "PJSIP/1002" in out and "team=-" in out and "skills=cards:5" in out
    status, out, _ = await cli.run("agents", "password", "bob", "--password-stdin", stdin="Bob-new-1\n")
    assert status == 0 and "Bob-new-1" not in out
    assert not await cli.login("bob", password) and await cli.login("bob", "Bob-new-1")
    status, out, _ = await cli.run("agents", "disable", "bob")
    assert status == 0 and "DISABLED" in out
    assert not await cli.login("bob", "Bob-new-1")
    status, out, _ = await cli.run("agents", "list")
    assert "4 account(s), 1 disabled" in out  # kept, never deleted
    status, _, err = await cli.run("agents", "disable", "nobody")
    assert status == 1 and "no agent 'nobody'" in err


async def test_agents_import_writes_every_row_or_none(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "login,name,extension,queues,skills\n"
        "carl,Carl,1005,general,cards:4\n"
        "dora,Dora,1006,nowhere,cards:0\n"
        "ann,Ann,1007,general,\n",
        encoding="utf-8",
    )
    status, out, err = await cli.run("agents", "import", str(bad))
    assert status == 1 and "nothing was imported" in err
    assert f"{bad}: line 3 (queues):" in out and f"{bad}: line 3 (skills):" in out
    assert f"{bad}: line 4 (login): login 'ann' is taken" in out
    assert await cli.count(Agent) == 3
    good = tmp_path / "good.csv"
    good.write_text(
        "login\tname\textension\tdevice\tqueues\tpassword\ncarl\tCarl\t1005\tSIP/1005\tgeneral cards\t\n"
        "dora\t朵拉\t1006\t\tgeneral\tD0ra-pass\n",
        encoding="gb18030",
    )
    status, out, err = await cli.run("agents", "import", str(good), "--dry-run")
    assert status == 0 and "checked (dry run" in out and await cli.count(Agent) == 3
    status, out, err = await cli.run("agents", "import", str(good))
    assert status == 0, err
    assert await cli.login("carl", _password(out, "carl")) and await cli.login("dora", "D0ra-pass")
    status, _, err = await cli.run("agents", "import", str(tmp_path / "missing.csv"))
    assert status == 2
    empty = tmp_path / "empty.csv"
    empty.write_text("name,phone\nx,1\n", encoding="utf-8")
    status, _, err = await cli.run("agents", "import", str(empty))
    assert status == 2 and "unknown column 'phone'" in err
