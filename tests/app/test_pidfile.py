"""A pid file left by a dead service never gets another program signalled (SIGHUP/SIGUSR1 would kill it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bankcti.cli.service_signal import ServiceSignalError, signal_service
from bankcti.pidfile import PID_FILE, is_ours, pid_line, process_start, read_pid_file

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")


def _stranger() -> subprocess.Popen[bytes]:
    """A process that dies of SIGHUP/SIGUSR1 (their default action), as any program not expecting them."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])


def test_the_pid_file_names_this_process_and_its_start(tmp_path: Path) -> None:
    (tmp_path / PID_FILE).write_text(pid_line())
    pid, start = read_pid_file(tmp_path / PID_FILE)
    assert pid == os.getpid() and start == process_start(os.getpid())
    assert start is not None and is_ours(pid, start)


def test_a_reused_pid_is_not_signalled(tmp_path: Path) -> None:
    stranger = _stranger()
    try:
        start = process_start(stranger.pid)
        assert start is not None
        # The pid file a crashed service left: the same pid, another process's start time.
        (tmp_path / PID_FILE).write_text(f"{stranger.pid} {int(start) - 1}\n")
        for sig in (signal.SIGHUP, signal.SIGUSR1):
            with pytest.raises(ServiceSignalError, match="stale"):
                signal_service(tmp_path, sig)
        assert stranger.poll() is None  # still running: nothing was sent
        # Its own pid file (pid and start) is signalled.
        (tmp_path / PID_FILE).write_text(pid_line(stranger.pid))
        assert signal_service(tmp_path, signal.SIGUSR1) == stranger.pid
        assert stranger.wait(timeout=10) == -signal.SIGUSR1
    finally:
        stranger.kill()
        stranger.wait()


def test_a_bad_or_missing_pid_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ServiceSignalError, match="does not exist"):
        signal_service(tmp_path, signal.SIGUSR1)
    (tmp_path / PID_FILE).write_text("twelve\n")
    with pytest.raises(ServiceSignalError, match="unreadable"):
        signal_service(tmp_path, signal.SIGUSR1)
    (tmp_path / PID_FILE).write_text("999999999 1\n")
    with pytest.raises(ServiceSignalError, match="stale"):
        signal_service(tmp_path, signal.SIGUSR1)

