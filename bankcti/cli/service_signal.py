"""Signal the bankcti service that runs on a data directory, and only it (see :mod:`bankcti.pidfile`)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from bankcti.pidfile import PID_FILE, PROC, is_ours, read_pid_file

__all__ = ["ServiceSignalError", "signal_service"]


class ServiceSignalError(Exception):
    """No bankcti service could be signalled (the message says why)."""


def signal_service(data_dir: Path, sig: signal.Signals, *, proc: Path = PROC) -> int:
    """Send ``sig`` to the service whose pid file is in ``data_dir``; return its pid.

    A pid file naming a process that is gone, or a process that is not the
    one that wrote it (a pid reused after a crash), signals nothing.
    """
    pid_file = data_dir / PID_FILE
    try:
        pid, start = read_pid_file(pid_file)
    except FileNotFoundError:
        raise ServiceSignalError(f"no running service: {pid_file} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ServiceSignalError(f"unreadable pid file {pid_file}: {exc}") from None
    if not is_ours(pid, start, proc):
        raise ServiceSignalError(
            f"no running service: {pid_file} is stale (process {pid} is gone or is another program);"
            " nothing signalled"
        )
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        raise ServiceSignalError(f"no running service: process {pid} from {pid_file} is gone") from None
    except PermissionError:
        raise ServiceSignalError(f"not allowed to signal process {pid} (run as the service's user)") from None
    return pid
