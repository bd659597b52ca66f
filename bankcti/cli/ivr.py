"""``bankcti ivr check`` and ``bankcti ivr reload``: menu files without (re)starting the service.

Besides each menu on its own, the check holds the menus against the ACD's
queues, as the service will run them: every queue a menu routes to (its
``queue`` nodes and ``agent_queue``) must be defined in the queue file
(``acd_queue_file``) or in the ``acd_queues`` table — the table is read
when the database answers within :data:`DATABASE_TIMEOUT` seconds, and the
output says when it could not be — and every ``open_hours`` of the queue
file must name a calendar of the menus.  (The service itself still starts
with a menu naming an undefined queue, giving that queue the ``[acd]``
defaults — :func:`bankcti.acd_setup.build_queues` — so this check is where
such a typo is caught, and ``ivr reload`` runs it before signalling.)
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from acd import QueueConfigError
from acd.config import QueueFile, load_queue_file
from bankcti.acd_setup import check_open_hours
from bankcti.settings import Settings
from crm_core.contact_center.acd_store import load_queue_rows
from crm_core.db import DatabaseSetupError, create_engine, current_revision, session_factory
from ivr import MenuError, MenuSet, load_menus
from ivr.checks import check_routes
from ivr.tomlpos import KeyLines

__all__ = ["DATABASE_TIMEOUT", "ReloadError", "ivr_check", "ivr_reload"]

#: How long the check waits for the database before going on with the queue file alone.
DATABASE_TIMEOUT = 5.0


class ReloadError(Exception):
    """No running service to signal; the message says what to do."""


def _check(settings: Settings, files: Sequence[Path]) -> list[MenuSet]:
    if not files:
        return [load_menus(settings.ivr_menu_dir)]
    for path in files:
        if not path.is_file():
            raise MenuError(path, None, "no such menu file")
    # A file is checked with its sibling menus, so gotos between menus resolve.
    directories = sorted({path.resolve().parent for path in files})
    checked = []
    for directory in directories:
        chosen = {p.resolve() for p in files if p.resolve().parent == directory}
        siblings = set(directory.glob("*.toml"))
        checked.append(load_menus(directory, files=sorted(siblings | chosen)))
    return checked


async def _table_queues(settings: Settings) -> tuple[Collection[str] | None, str]:
    """The queue names of the ``acd_queues`` table, or ``None`` and why it was not read.

    Never creates anything: a missing SQLite file or an unmigrated database
    is reported, not made.
    """
    url = settings.effective_database_url()
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            if await current_revision(url) is None:
                return None, "the database has no schema yet"
            engine = create_engine(url, poolclass=NullPool)
            try:
                rows = await load_queue_rows(session_factory(engine))
            finally:
                await engine.dispose()
    except TimeoutError:
        return None, f"the database did not answer within {DATABASE_TIMEOUT:g} s"
    except DatabaseSetupError as exc:
        return None, str(exc)
    except (SQLAlchemyError, OSError) as exc:
        return None, f"the database could not be read ({type(exc).__name__})"
    return set(rows), ""


def _read_table_queues(settings: Settings) -> tuple[Collection[str] | None, str]:
    """:func:`_table_queues` from synchronous code, also when an event loop runs (``ivr_reload`` in tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_table_queues(settings))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ivr-check") as pool:
        return pool.submit(asyncio.run, _table_queues(settings)).result()


def _check_open_hours(queue_file: QueueFile, path: Path, menus: list[MenuSet]) -> None:
    """Every ``open_hours`` of the queue file names a calendar of the checked menus (file:line if not)."""
    calendars = MenuSet({menu.name: menu for menu_set in menus for menu in menu_set})
    for queue in queue_file.queues:
        try:
            check_open_hours([queue], calendars)
        except QueueConfigError as exc:
            line = KeyLines(path.read_text(encoding="utf-8")).line_of("queues", queue.name, "open_hours")
            raise QueueConfigError(f"{path}:{line}: {exc}") from None


def ivr_check(settings: Settings, files: Sequence[Path]) -> int:
    """Print what was checked; a refused file raises :class:`MenuError` or ``QueueConfigError`` (status 1)."""
    checked = _check(settings, files)
    queue_path = settings.acd_queue_file
    defaults = {
        "ring_timeout": settings.acd_ring_timeout,
        "wrapup_seconds": settings.acd_wrapup_seconds,
        "max_wait_seconds": settings.acd_max_wait_seconds,
    }
    queue_file = load_queue_file(queue_path, defaults)
    _check_open_hours(queue_file, queue_path, checked)
    table, why_not = _read_table_queues(settings)
    known = {queue.name for queue in queue_file.queues} | set(table or ())
    listed = ", ".join(sorted(known)) or "none"
    in_file = f"{queue_path} ({len(queue_file.queues)} queue(s)"
    if table is None:
        defined = f"in {queue_path} (queues: {listed}; the acd_queues table was not read: {why_not})"
        source = f"{in_file}; the acd_queues table was not read: {why_not})"
    else:
        defined = f"in {queue_path} nor in the acd_queues table (queues: {listed})"
        source = f"{in_file}) and the acd_queues table ({len(table)} queue(s))"
    for menus in checked:
        check_routes(menus, known, defined)
    for menus in checked:
        names = sorted(menu.name for menu in menus)
        directory = next(iter(menus)).path.parent
        print(f"ok: {directory}: {len(names)} menu(s): {', '.join(names)}")
    print(f"queues: every route and opening calendar checked against {source}")
    return 0


def ivr_reload(settings: Settings) -> int:
    """Check the configured menus, then send SIGHUP to the service whose pid is in the data directory."""
    from bankcti.cli.service_signal import ServiceSignalError, signal_service

    ivr_check(settings, [])
    try:
        pid = signal_service(settings.data_dir, signal.SIGHUP)
    except ServiceSignalError as exc:
        raise ReloadError(str(exc)) from None
    print(f"reload requested: SIGHUP sent to process {pid}")
    return 0
