"""Run the console app on uvicorn inside the caller's event loop.

:func:`start_console` binds the listening socket itself (so ``port=0``
yields a free port, readable as :attr:`ConsoleServer.port`), leaves signal
handling to the process that embeds it, and returns once the app's lifespan
has started and the socket accepts connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence

import uvicorn
from fastapi import FastAPI

__all__ = ["ConsoleServer", "ConsoleStartupError", "start_console"]

log = logging.getLogger(__name__)

_MAX_CLIENT_MESSAGE = 64 * 1024  # browsers send acks and pings only
_GRACEFUL_SHUTDOWN = 5  # seconds


class ConsoleStartupError(RuntimeError):
    """The console could not start (address in use, lifespan failure)."""


class _EmbeddedServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The embedding process owns SIGINT/SIGTERM and stops us via close().
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        except SystemExit:
            # uvicorn exits the process when the lifespan fails; we must not.
            raise ConsoleStartupError("the console application failed to start") from None
        self.ready.set()


class ConsoleServer:
    """A running console; :meth:`close` stops it (idempotent)."""

    def __init__(self, server: _EmbeddedServer, task: asyncio.Task[None], host: str, port: int) -> None:
        self._server = server
        self._task = task
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def close(self) -> None:
        """Close websockets (1012), finish requests, run the lifespan shutdown."""
        self._server.should_exit = True
        await asyncio.gather(self._task, return_exceptions=True)


def _bind(host: str, port: int, backlog: int) -> socket.socket:
    try:
        family, *_ = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.create_server((host, port), family=family, backlog=backlog, reuse_port=False)
    except OSError as exc:
        raise ConsoleStartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    # Accepted connections inherit this.  Without it Nagle holds a response's body (or the
    # next websocket frame) until the browser's delayed ACK of the headers: ~40 ms each.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


async def start_console(
    app: FastAPI,
    host: str,
    port: int,
    *,
    ws: str = "websockets-sansio",
    trusted_proxies: Sequence[str] = (),
) -> ConsoleServer:
    """Serve ``app`` on ``host:port`` (``0``: any free port) until closed.

    A request's client address is the socket's peer.  Only a peer listed in
    ``trusted_proxies`` (addresses or networks of reverse proxies) may name
    the real client in ``X-Forwarded-For``: the login throttle and the audit
    log key on that address, so a header anyone can send must not move it.
    (uvicorn would otherwise trust it from 127.0.0.1 and ::1.)

    ``ws`` names uvicorn's websocket implementation: the ``websockets``
    library through uvicorn's sans-I/O binding (the legacy ``"websockets"``
    binding is deprecated by both uvicorn and websockets).  Raises :class:`ConsoleStartupError` if the address
    cannot be bound or the app's lifespan fails.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ws=ws,
        lifespan="on",
        log_level="warning",
        ws_max_size=_MAX_CLIENT_MESSAGE,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) if trusted_proxies else None,
    )
    sock = _bind(host, port, config.backlog)
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="console-server")
    ready = asyncio.create_task(server.ready.wait())
    try:
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        server.should_exit = True  # the server task winds itself down
        ready.cancel()
        raise
    if not server.ready.is_set():
        ready.cancel()
        sock.close()
        exc = task.exception()
        raise ConsoleStartupError(str(exc) if exc else "the console stopped while starting") from exc
    bound_host, bound_port = sock.getsockname()[:2]
    log.info("console.listening", extra={"host": bound_host, "port": bound_port})
    return ConsoleServer(server, task, bound_host, bound_port)
