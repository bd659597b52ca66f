"""Importing agent accounts from CSV: all of them, or none with every problem named by line and field.

The file has a header row, then one account per line.  Columns (any order,
names case-insensitive): ``login``, ``name``, ``extension`` (required);
``device``, ``role``, ``team``, ``supervises``, ``queues``, ``skills``,
``password`` (optional).  ``queues`` and ``supervises`` list names separated by
spaces, ``|`` or ``;``; ``skills`` is ``cards:4 wealth:2``.  A row without a
password gets a generated one, reported once.  UTF-8 (with or without a
byte-order mark) or GB18030; comma, semicolon or tab as the header uses.

A cell that :func:`crm_core.csvcells.csv_cell` neutralised (a leading ``'``
before ``=``, ``+``, ``-``, ``@``) is read without the quote: a name written
by one of our exports comes back as it was.

Every row is checked (fields, logins already taken, logins twice in the file)
before anything is written; one problem anywhere and nothing is written.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections.abc import Collection

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.contact_center import agent_rules as rules
from crm_core.contact_center.agent_admin import AgentSpec, add_agent, clean_spec, require_admin
from crm_core.contact_center.agents import hash_password
from crm_core.csvcells import FORMULA_START
from crm_core.errors import Conflict, CrmError, InvalidInput
from crm_core.models import Agent

__all__ = ["AGENT_COLUMNS", "AgentFileError", "AgentImportReport", "AgentRowProblem", "import_agents"]

log = logging.getLogger(__name__)

AGENT_COLUMNS = (
    "login",
    "name",
    "extension",
    "device",
    "role",
    "team",
    "supervises",
    "queues",
    "skills",
    "password",
)
_REQUIRED = ("login", "name", "extension")
_LIST_SEPARATORS = re.compile(r"[\s;|]+")
MAX_ROWS = 5000


class AgentFileError(CrmError):
    """The file as a whole cannot be read (encoding, header, malformed CSV)."""


class AgentRowProblem(BaseModel):
    """Why line ``line`` (the header is line 1) was refused; ``field`` names the column."""

    model_config = ConfigDict(frozen=True)

    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}" + (f" ({self.field})" if self.field else "") + f": {self.reason}"


class AgentImportReport(BaseModel):
    """The outcome: ``committed`` only when every row was good (and not a dry run).

    ``passwords`` are the generated passwords of rows without one, ``(login, password)``,
    to hand out once; they are stored hashed and never shown again.
    """

    model_config = ConfigDict(frozen=True)

    rows: int
    imported: int
    committed: bool
    dry_run: bool
    problems: list[AgentRowProblem]
    logins: list[str]
    passwords: list[tuple[str, str]]


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise AgentFileError("binary data, not a CSV text file (an .xlsx workbook? save it as CSV)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise AgentFileError("neither UTF-8 nor GB18030: save the file as UTF-8 CSV") from None


def _cell(value: str) -> str:
    value = value.strip()
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        return value[1:]
    return value


def _read(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    text = _decode(data)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise AgentFileError("the file is empty")
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    last = 0
    try:
        for fields in reader:
            start, last = last + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = [f.strip().lower().replace(" ", "_") for f in fields]
                unknown = [h for h in header if h not in AGENT_COLUMNS]
                if unknown:
                    raise AgentFileError(
                        f"line 1: unknown column {unknown[0]!r} (columns: {', '.join(AGENT_COLUMNS)})"
                    )
                missing = [c for c in _REQUIRED if c not in header]
                if missing:
                    raise AgentFileError(f"line 1: no {missing[0]!r} column in the header")
                if len(set(header)) != len(header):
                    raise AgentFileError("line 1: a column appears twice in the header")
                continue
            if len(fields) > len(header):
                rows.append((start, {"": "too many values"}))
                continue
            rows.append((start, {h: _cell(v) for h, v in zip(header, fields, strict=False)}))
    except csv.Error as exc:
        raise AgentFileError(f"line {last + 1}: malformed CSV ({exc})") from None
    if len(rows) > MAX_ROWS:
        raise AgentFileError(f"{len(rows)} rows: import at most {MAX_ROWS} accounts per file")
    return header or [], rows


def _names(cell: str) -> list[str]:
    return [name for name in _LIST_SEPARATORS.split(cell) if name]


def _check_row(
    values: dict[str, str], known_queues: Collection[str] | None
) -> tuple[AgentSpec | None, list[tuple[str, str]]]:
    """The row as a checked spec, or every field problem of it."""
    if "" in values:
        return None, [("", values[""])]
    problems: list[tuple[str, str]] = []
    skills: dict[str, int] = {}
    try:
        skills = rules.parse_skills(values.get("skills", ""))
    except InvalidInput as exc:
        problems.append((exc.field, exc.message))
    spec = AgentSpec.model_construct(
        login=values.get("login", ""),
        name=values.get("name", ""),
        extension=values.get("extension", ""),
        device=values.get("device") or None,
        role=values.get("role") or "agent",
        team=values.get("team") or None,
        supervises=_names(values.get("supervises", "")),
        queues=_names(values.get("queues", "")),
        skills=skills,
        password=values.get("password") or None,
    )
    # Each field alone, so that a row with three bad fields gets three problems.
    single = {
        "login": lambda: rules.check_login(spec.login),
        "name": lambda: rules.check_name(spec.name),
        "extension": lambda: rules.check_extension(spec.extension),
        "device": lambda: spec.device and rules.check_device(spec.device),
        "role": lambda: rules.check_role(spec.role),
        "team": lambda: rules.check_team(spec.team),
        "queues": lambda: rules.check_queues(spec.queues, known_queues),
        "password": lambda: spec.password and rules.check_password(spec.password, spec.login),
    }
    for field, check in single.items():
        try:
            check()
        except InvalidInput as exc:
            problems.append((field, exc.message))
    if not problems:
        try:
            clean_spec(spec, known_queues)
        except InvalidInput as exc:
            problems.append((exc.field, exc.message))
    return (None if problems else spec), problems


async def import_agents(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    data: bytes,
    known_queues: Collection[str] | None,
    *,
    dry_run: bool = False,
) -> AgentImportReport:
    """Import every account of the CSV ``data``, or none (see the module).

    Raises :class:`AgentFileError` for a file that cannot be read at all and
    :class:`~crm_core.errors.AccessDenied` for a non-admin.
    """
    require_admin(actor)
    _, rows = _read(data)
    problems: list[AgentRowProblem] = []
    specs: list[AgentSpec] = []
    seen: dict[str, int] = {}
    for line, values in rows:
        spec, found = _check_row(values, known_queues)
        problems += [AgentRowProblem(line=line, field=f or None, reason=r) for f, r in found]
        login = values.get("login", "").strip().lower()
        if login and login in seen:
            problems.append(
                AgentRowProblem(
                    line=line, field="login", reason=f"{login!r} is on line {seen[login]} already"
                )
            )
        elif login:
            seen[login] = line
        if spec is not None:
            specs.append(spec)
    async with sessions() as session:
        taken = set(
            (
                await session.scalars(
                    select(func.lower(Agent.login)).where(func.lower(Agent.login).in_(sorted(seen)))
                )
            ).all()
        )
    for login in sorted(taken, key=seen.__getitem__):
        problems.append(AgentRowProblem(line=seen[login], field="login", reason=f"login {login!r} is taken"))
    problems.sort(key=lambda p: (p.line, p.field or ""))
    logins = [s.login.strip() for s in specs]
    if problems or dry_run:
        log.info(
            "agent_import.not_committed",
            extra={"rows": len(rows), "problems": len(problems), "dry_run": dry_run},
        )
        return AgentImportReport(
            rows=len(rows),
            imported=0,
            committed=False,
            dry_run=dry_run,
            problems=problems,
            logins=logins,
            passwords=[],
        )
    generated: list[tuple[str, str]] = []
    hashes: list[str] = []
    for spec in specs:
        password = spec.password
        if password is None:
            password = rules.generate_password()
            generated.append((spec.login.strip(), password))
        hashes.append(await asyncio.to_thread(hash_password, password))
    try:
        async with sessions() as session, session.begin():
            for spec, password_hash in zip(specs, hashes, strict=True):
                await add_agent(session, actor, clean_spec(spec, known_queues), password_hash)
            await audit(session, actor, "import", "agent", None, {"rows": len(specs), "logins": logins})
    except (IntegrityError, Conflict) as exc:
        # Another writer took a login between the check and the insert: nothing was written.
        raise Conflict(f"a login was taken meanwhile; nothing was imported ({type(exc).__name__})") from None
    log.info("agent_import.committed", extra={"rows": len(rows), "by": actor.login})
    return AgentImportReport(
        rows=len(rows),
        imported=len(specs),
        committed=True,
        dry_run=False,
        problems=[],
        logins=logins,
        passwords=generated,
    )
