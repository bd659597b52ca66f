"""A PostgreSQL cluster of a test's own, on a free port, that the test may stop, kill and start again.

Fault tests must never stop the shared server on 5432: :class:`PgCluster`
runs ``initdb`` into a fresh directory under the system temp dir, starts
``postgres`` on a free port of 127.0.0.1 (trust authentication, user
``postgres``), and removes everything in :meth:`PgCluster.destroy` — which
the :func:`pg_cluster` context manager calls even when the test fails.

Running as root, every server command runs as the ``postgres`` system user
(``runuser``): PostgreSQL refuses to run as root.  Every wait is bounded
(``pg_ctl -w -t``), and a start that fails raises with the server's log.

The binaries are looked up under ``/usr/lib/postgresql/*/bin`` (newest
version first) or ``$BANKCTI_PG_BIN``; :func:`require_pg_bin` skips the
test, naming the reason, only when they are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["PgCluster", "find_pg_bin", "pg_cluster", "require_pg_bin"]

PG_BIN_ENV = "BANKCTI_PG_BIN"
#: Seconds any one server command (initdb, start, stop) may take.
COMMAND_TIMEOUT = 30.0
_SERVER_USER = "postgres"


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``."""
    candidates: list[Path] = []
    if os.environ.get(PG_BIN_ENV):
        candidates.append(Path(os.environ[PG_BIN_ENV]))

    def version(path: Path) -> float:
        try:
            return float(path.parent.name)
        except ValueError:
            return 0.0

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def require_pg_bin() -> Path:
    """The server binaries' directory; skips the test (with the reason) if there are none."""
    found = find_pg_bin()
    if found is None:
        pytest.skip(
            f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under "
            f"/usr/lib/postgresql/*/bin or ${PG_BIN_ENV}: fault tests need their own cluster"
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgCluster:
    """One private PostgreSQL server: :attr:`url`, :meth:`start`, :meth:`stop`, :meth:`kill`, :meth:`destroy`.

    Every wait is bounded by the ``timeout`` (seconds) of the command that waits.
    """

    def __init__(self, bin_dir: Path, *, port: int | None = None) -> None:
        self.bin_dir = bin_dir
        self.port = port or _free_port()
        # Not under pytest's tmp_path: its parents are private to root and the server runs as postgres.
        self.base = Path(tempfile.mkdtemp(prefix="bankcti-pg-"))
        self.data_dir = self.base / "data"
        self.log_file = self.base / "server.log"
        self._as_server_user = os.geteuid() == 0
        if self._as_server_user:
            entry = pwd.getpwnam(_SERVER_USER)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self._initialised = False

    @property
    def url(self) -> str:
        """The admin URL (asyncpg) of the cluster's ``postgres`` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
        command = [*(["runuser", "-u", _SERVER_USER, "--"] if self._as_server_user else []), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_file.read_text(errors="replace")[-3000:]
        return "(no server log)"

    def init(self) -> None:
        """``initdb`` (trust authentication, superuser ``postgres``, no fsync: a test database)."""
        result = self._run(
            str(self.bin_dir / "initdb"),
            "-D", str(self.data_dir),
            "-U", "postgres",
            "-A", "trust",
            "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}): {result.stderr[-2000:]}")
        self._initialised = True

    def start(self, timeout: float = 20.0) -> None:
        """Start the server and wait (at most ``timeout`` seconds) until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} "
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        result = self._run(
            str(self.bin_dir / "pg_ctl"),
            "start",
            "-D", str(self.data_dir),
            "-l", str(self.log_file),
            "-o", options,
            "-w", "-t", str(int(timeout)),
            timeout=timeout + 10,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start failed ({result.returncode}): {result.stderr}\n{self._log_tail()}"
            )

    def stop(self, mode: str = "fast", timeout: float = 20.0) -> None:
        """Stop the server: ``fast`` cuts every client off, ``immediate`` is a crash (no checkpoint)."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"unknown stop mode {mode!r}")
        result = self._run(
            str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t",
            str(int(timeout)), timeout=timeout + 10,
        )  # fmt: skip
        if result.returncode != 0 and self.running():
            raise RuntimeError(f"pg_ctl stop failed ({result.returncode}): {result.stderr}")

    def kill(self) -> None:
        """Crash the server (``immediate`` stop: clients see their connections die)."""
        self.stop("immediate")

    async def start_async(self, wait: float = 20.0) -> None:
        """:meth:`start` off the event loop (the service under test keeps running meanwhile)."""
        await asyncio.to_thread(self.start, wait)

    async def stop_async(self, mode: str = "fast", wait: float = 20.0) -> None:
        """:meth:`stop` off the event loop."""
        await asyncio.to_thread(self.stop, mode, wait)

    def running(self) -> bool:
        result = self._run(str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir), timeout=10)
        return result.returncode == 0

    def destroy(self) -> None:
        """Stop the server if it runs and remove its directory (safe to call more than once)."""
        try:
            if self._initialised and (self.data_dir / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def pg_cluster() -> Iterator[PgCluster]:
    """A started private cluster, destroyed on exit whatever happens (skips if no server binaries)."""
    cluster = PgCluster(require_pg_bin())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
