"""``bankcti ivr check`` and ``bankcti ivr reload``: menu files without (re)starting the service."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path

from bankcti.settings import Settings
from ivr import MenuError, MenuSet, load_menus

__all__ = ["ReloadError", "ivr_check", "ivr_reload"]


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


def ivr_check(settings: Settings, files: Sequence[Path]) -> int:
    """Print one line per checked directory; a refused file raises :class:`MenuError` (exit status 1)."""
    for menus in _check(settings, files):
        names = sorted(menu.name for menu in menus)
        directory = next(iter(menus)).path.parent
        print(f"ok: {directory}: {len(names)} menu(s): {', '.join(names)}")
    return 0


def ivr_reload(settings: Settings) -> int:
    """Check the configured menus, then send SIGHUP to the service whose pid is in the data directory."""
    from bankcti.app import PID_FILE  # the service's wiring, loaded only when a reload is asked for

    ivr_check(settings, [])
    pid_file = settings.data_dir / PID_FILE
    try:
        pid = int(pid_file.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        raise ReloadError(f"no running service: {pid_file} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ReloadError(f"unreadable pid file {pid_file}: {exc}") from None
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise ReloadError(f"no running service: process {pid} from {pid_file} is gone") from None
    except PermissionError:
        raise ReloadError(f"not allowed to signal process {pid} (run as the service's user)") from None
    print(f"reload requested: SIGHUP sent to process {pid}")
    return 0
