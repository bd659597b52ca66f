"""The running service's pid file: which process to signal, and proof it is still that process.

The file holds ``<pid> <start>``: the pid and the process's start time in
clock ticks since boot (``/proc/<pid>/stat``, field 22).  A pid file left
behind by a service that died without removing it may name a pid the system
has since given to another process; ``SIGHUP`` or ``SIGUSR1`` would terminate
that stranger (their default action).  The start time tells them apart.
Where ``/proc`` does not exist (not Linux) the file holds the pid alone and
is trusted, as is a file without a start time.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PID_FILE", "is_ours", "pid_line", "process_start", "read_pid_file"]

#: Name of the file in the data directory holding the running service's pid.
PID_FILE = "bankcti.pid"

PROC = Path("/proc")


def process_start(pid: int, proc: Path = PROC) -> str | None:
    """When process ``pid`` started (clock ticks since boot), or ``None`` if it is not known."""
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def pid_line(pid: int | None = None, proc: Path = PROC) -> str:
    """The pid file's content for ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    start = process_start(pid, proc)
    return f"{pid} {start}\n" if start is not None else f"{pid}\n"


def read_pid_file(path: Path) -> tuple[int, str | None]:
    """``(pid, start)`` from a pid file; raises ``OSError`` or ``ValueError`` for a bad one."""
    parts = path.read_text(encoding="ascii").split()
    if not parts or len(parts) > 2:
        raise ValueError(f"expected '<pid> [<start>]', got {len(parts)} field(s)")
    return int(parts[0]), parts[1] if len(parts) == 2 else None


def is_ours(pid: int, start: str | None, proc: Path = PROC) -> bool:
    """Whether ``pid`` is still the process that wrote the file (``False``: gone or another one)."""
    if start is None or not proc.is_dir():
        return True
    return process_start(pid, proc) == start
