"""``bankcti agents add|list|set|disable|enable|password|import`` and ``bankcti admin create``.

Accounts are written by :mod:`crm_core.contact_center.agent_admin` (checked,
audited as the OS user ``cli:<user>``) straight into the configured database.
A password never appears on the command line: ``--password-stdin`` reads it
from standard input, ``admin create`` asks for it on the terminal, and
otherwise one is generated and printed once.

A running ``bankcti serve`` applies the change at once: the command sends
``SIGUSR1`` to the pid in the data directory.  A service elsewhere (another
host on the same database) applies it within :data:`bankcti.roster.POLL_SECONDS`.

Exit status: 0 done, 1 refused (bad value, login taken, unknown login,
database problem; nothing changed), 2 an import file that cannot be read.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
from collections.abc import Callable, Collection, Coroutine
from typing import Any, TextIO

from alembic.script import ScriptDirectory
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd.config import load_queue_file
from bankcti.settings import Settings
from crm_core.actor import Actor
from crm_core.contact_center.acd_store import load_queue_rows
from crm_core.contact_center.agent_admin import AgentAdmin, AgentChange, AgentSaved, AgentSpec, AgentView
from crm_core.contact_center.agent_import import AgentFileError, import_agents
from crm_core.contact_center.agent_rules import parse_skills
from crm_core.csvcells import csv_text
from crm_core.db import alembic_config, create_engine, current_revision, session_factory
from crm_core.errors import CrmError, InvalidInput
from ivr import MenuError, load_menus

__all__ = ["run_agents_command", "runner"]

EXIT_OK, EXIT_REFUSED, EXIT_BAD_FILE = 0, 1, 2
_COLUMNS = (
    "login",
    "name",
    "role",
    "extension",
    "device",
    "team",
    "supervises",
    "queues",
    "skills",
    "active",
)


class _Refused(Exception):
    """A problem the user can fix: printed, exit status 1 (or ``status``)."""

    def __init__(self, message: str, status: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.status = status


def _operator() -> Actor:
    """The CLI acts as the system, named after the OS user for the audit log."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return Actor.system(f"cli:{user}"[:64])


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def _read_password(args: argparse.Namespace, *, prompt: bool) -> str | None:
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise _Refused("--password-stdin: standard input had no password")
        return line
    if not prompt:
        return None
    if not sys.stdin.isatty():
        raise _Refused("no terminal to ask for the password: pipe it with --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise _Refused("the two passwords differ; nothing was created")
    return first


def _known_queues(settings: Settings, rows: Collection[str]) -> set[str]:
    """The queues the service runs: the queue file, the ``acd_queues`` table and the IVR menus' queues."""
    defaults = {
        "ring_timeout": settings.acd_ring_timeout,
        "wrapup_seconds": settings.acd_wrapup_seconds,
        "max_wait_seconds": settings.acd_max_wait_seconds,
    }
    known = {queue.name for queue in load_queue_file(settings.acd_queue_file, defaults).queues} | set(rows)
    try:
        known |= set(load_menus(settings.ivr_menu_dir).queue_names())
    except MenuError:
        pass  # `bankcti ivr check` reports a bad menu; the queues of the file and table still count
    return known


def _notify(settings: Settings, out: TextIO) -> None:
    """Ask the service running on this data directory to apply the change now (``SIGUSR1``)."""
    from bankcti.cli.service_signal import ServiceSignalError, signal_service
    from bankcti.roster import POLL_SECONDS

    later = f"a running service applies it within {POLL_SECONDS:g} s"
    try:
        pid = signal_service(settings.data_dir, signal.SIGUSR1)
    except ServiceSignalError as exc:
        out.write(f"{exc}; {later}\n")
        return
    out.write(f"applied to the running service (pid {pid})\n")


def _show(view: AgentView) -> str:
    skills = " ".join(f"{k}:{v}" for k, v in sorted(view.skills.items())) or "-"
    state = "active" if view.active else "DISABLED"
    team = view.team or "-"
    queues = ",".join(view.queues) or "-"
    return (
        f"{view.login}  {view.role}  {view.name}  {view.extension}  {view.device}  "
        f"team={team}  queues={queues}  skills={skills}  {state}"
    )


def _saved(saved: AgentSaved, out: TextIO, what: str) -> None:
    out.write(f"{what}: {_show(saved.agent)}\n")
    if saved.password is not None:
        out.write(f"password for {saved.agent.login} (shown once, hand it over now): {saved.password}\n")


def _listing(agents: list[AgentView], as_csv: bool, out: TextIO) -> None:
    rows = [
        (
            a.login, a.name, a.role, a.extension, a.device, a.team or "", " ".join(a.supervises),
            " ".join(a.queues), " ".join(f"{k}:{v}" for k, v in sorted(a.skills.items())), a.active,
        )
        for a in agents
    ]  # fmt: skip
    if as_csv:
        out.write(csv_text(_COLUMNS, rows))
        return
    for agent in agents:
        out.write(_show(agent) + "\n")
    out.write(f"{len(agents)} account(s), {sum(1 for a in agents if not a.active)} disabled\n")


async def _execute(
    args: argparse.Namespace, settings: Settings, sessions: async_sessionmaker[AsyncSession], out: TextIO
) -> bool:
    """Run the command; ``True`` when it changed something the running service must apply."""
    actor = _operator()
    admin = AgentAdmin(sessions)
    command = args.agents_command if args.command == "agents" else "admin-create"
    if command == "list":
        _listing(await admin.list_agents(actor), args.csv, out)
        return False
    if command in ("disable", "enable"):
        _saved(await admin.set_active(actor, args.login, command == "enable"), out, f"{command}d")
        return True
    if command == "password":
        saved = await admin.reset_password(actor, args.login, _read_password(args, prompt=False))
        _saved(saved, out, "new password")
        return True
    known = _known_queues(settings, await load_queue_rows(sessions))
    if command == "import":
        try:
            data = args.file.read_bytes()
        except OSError as exc:
            raise _Refused(f"{args.file}: {exc.strerror or exc}", EXIT_BAD_FILE) from None
        try:
            report = await import_agents(sessions, actor, data, known, dry_run=args.dry_run)
        except AgentFileError as exc:
            raise _Refused(f"{args.file}: {exc}", EXIT_BAD_FILE) from None
        for problem in report.problems:
            out.write(f"{args.file}: {problem}\n")
        if report.problems:
            raise _Refused(f"{len(report.problems)} problem(s) in {report.rows} row(s); nothing was imported")
        for login, password in report.passwords:
            out.write(f"password for {login} (shown once, hand it over now): {password}\n")
        done = "checked (dry run, nothing written)" if report.dry_run else "imported"
        out.write(f"{report.rows} account(s) {done}\n")
        return report.committed
    if command == "set":
        fields = {
            "name": args.name, "extension": args.extension, "device": args.device, "role": args.role,
            "team": args.team, "supervises": _names(args.supervises), "queues": _names(args.queues),
            "skills": None if args.skills is None else parse_skills(args.skills.replace(",", " ")),
        }  # fmt: skip
        change = AgentChange.model_validate({k: v for k, v in fields.items() if v is not None})
        _saved(await admin.update(actor, args.login, change, known), out, "changed")
        return True
    spec = AgentSpec(
        login=args.login,
        name=args.name,
        extension=args.extension,
        device=getattr(args, "device", None),
        role="admin" if command == "admin-create" else (args.role or "agent"),
        team=getattr(args, "team", None),
        supervises=_names(getattr(args, "supervises", None)) or [],
        queues=_names(getattr(args, "queues", None)) or [],
        skills=parse_skills(args.skills.replace(",", " ")) if getattr(args, "skills", None) else {},
        password=_read_password(args, prompt=command == "admin-create"),
    )
    _saved(await admin.create(actor, spec, known), out, "created")
    return True


async def run_agents_command(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Run ``bankcti agents …`` or ``bankcti admin create``; return the exit status (``out``: stdout)."""
    out = out if out is not None else sys.stdout
    url = settings.effective_database_url()
    try:
        revision = await current_revision(url)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        if revision != head:
            state = "has no schema yet" if revision is None else f"is at revision {revision}, not {head}"
            raise _Refused(f"the database {state}: run `bankcti db upgrade` first")
        engine = create_engine(url)
        try:
            changed = await _execute(args, settings, session_factory(engine), out)
        finally:
            await engine.dispose()
    except _Refused as exc:
        out.flush()
        print(f"bankcti: {exc}", file=sys.stderr, flush=True)
        return exc.status
    except InvalidInput as exc:
        print(f"bankcti: {exc.field}: {exc.message}; nothing changed", file=sys.stderr, flush=True)
        return EXIT_REFUSED
    except CrmError as exc:
        print(f"bankcti: {exc}; nothing changed", file=sys.stderr, flush=True)
        return EXIT_REFUSED
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "value"
        print(f"bankcti: {where}: {first['msg']}; nothing changed", file=sys.stderr, flush=True)
        return EXIT_REFUSED
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        print(f"bankcti: database error, nothing changed: {type(orig).__name__}", file=sys.stderr, flush=True)
        return EXIT_REFUSED
    if changed:
        _notify(settings, out)
    out.flush()
    return EXIT_OK


def runner(args: argparse.Namespace, settings: Settings) -> Callable[[], Coroutine[Any, Any, int]]:
    """The coroutine factory ``bankcti.cli.main`` runs."""
    return lambda: run_agents_command(args, settings)
