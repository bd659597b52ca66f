"""The FastAGI TCP server: one coroutine per Asterisk connection.

Asterisk connects for every ``AGI(agi://host:port/<script>)``, sends its
``agi_*`` block, then waits for commands.  :class:`FastAgiServer` reads the
block (bounded in time, line length and line count), builds an
:class:`~cti.fastagi.channel.AgiChannel` and runs the script's handler.
Whatever the peer does — connect and close, send an HTTP request, stall,
send a 1 MiB line — the session ends cleanly and the loop stays idle; an
exception in a handler is logged and ends only that session.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import partial

from cti.fastagi.channel import AgiChannel
from cti.fastagi.errors import AgiCommandError, AgiHangup, AgiProtocolError
from cti.fastagi.wire import SCRATCH_BYTES, AgiConnection

__all__ = ["AgiHandler", "BadAgiEnvironment", "FastAgiServer", "read_env"]

log = logging.getLogger(__name__)

AgiHandler = Callable[[AgiChannel], Awaitable[None]]
"""A FastAGI script: runs one call, returns when done (the server then closes
the connection and Asterisk continues the dialplan)."""

MAX_ENV_LINES = 512
"""Asterisk sends ~22 standard variables plus at most 127 ``agi_arg_N``."""

_ENV_KEY = re.compile(r"agi_[a-z0-9_]+")


class BadAgiEnvironment(Exception):
    """The peer's opening block is not an ``agi_*`` environment."""


async def read_env(connection: AgiConnection) -> dict[str, str]:
    """Read ``agi_key: value`` lines up to the empty line.

    Returns the keys without the ``agi_`` prefix.  Raises
    :exc:`BadAgiEnvironment` on a line that is not ``agi_<key>: <value>``,
    on an empty block or more than :data:`MAX_ENV_LINES` lines;
    :exc:`AgiHangup` on EOF; :exc:`AgiProtocolError` on an over-long line.
    """
    env: dict[str, str] = {}
    for _ in range(MAX_ENV_LINES):
        # Asterisk writes the block at once: its lines are nearly always here already.
        line = connection.take_line()
        if line is None:
            line = await connection.read_line()
        if not line:
            if not env:
                raise BadAgiEnvironment("empty AGI environment")
            return env
        key, sep, value = line.partition(":")
        if not sep or _ENV_KEY.fullmatch(key) is None:
            raise BadAgiEnvironment(f"not an AGI environment line: {line[:40]!r}")
        env[key[len("agi_") :]] = value.removeprefix(" ")
    raise BadAgiEnvironment(f"AGI environment longer than {MAX_ENV_LINES} lines")


class FastAgiServer:
    """FastAGI server dispatching each session to a handler.

    Sessions are routed by :attr:`AgiChannel.script` (the path of
    ``agi://host:port/<script>`` without ``?query``) to ``routes[script]``,
    else to *handler*.  With neither, the call is logged, sent ``HANGUP`` and
    closed.

    *backlog* defaults to 2048: with the usual 100, bursts of 1 000
    concurrent calls lost most of their throughput.  *env_timeout* bounds the
    time a peer may take to send its complete ``agi_*`` block.

    Usage::

        server = FastAgiServer(routes={"ivr": run_ivr}, port=0)
        await server.start()
        ...
        await server.close()

    or ``async with FastAgiServer(...) as server:``.
    """

    def __init__(
        self,
        handler: AgiHandler | None = None,
        *,
        routes: Mapping[str, AgiHandler] | None = None,
        host: str = "127.0.0.1",
        port: int = 4573,
        backlog: int = 2048,
        env_timeout: float = 5.0,
    ) -> None:
        self._handler = handler
        self._routes = dict(routes or {})
        self._host = host
        self._port = port
        self._backlog = backlog
        self._env_timeout = env_timeout
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False

    @property
    def port(self) -> int:
        """The bound port (the real one after :meth:`start` with ``port=0``)."""
        return self._port

    @property
    def active_sessions(self) -> int:
        """Connections currently open, from accept to close."""
        return len(self._sessions)

    async def start(self) -> None:
        """Bind and start accepting.  Raises :exc:`OSError` if the port is taken."""
        if self._server is not None:
            raise RuntimeError("FastAgiServer already started")
        self._closing = False
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            partial(AgiConnection, self._accept, memoryview(bytearray(SCRATCH_BYTES))),
            self._host,
            self._port,
            backlog=self._backlog,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("fastagi.listening", extra={"host": self._host, "port": self._port})

    async def wait_idle(self) -> None:
        """Return once no session is open (immediately if none is)."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop accepting, cancel the running sessions and wait for them."""
        self._closing = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        current = asyncio.current_task()
        sessions = [task for task in self._sessions if task is not current]
        for task in sessions:
            task.cancel()
        if sessions:
            await asyncio.gather(*sessions, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        log.info("fastagi.closed", extra={"port": self._port, "cancelled": len(sessions)})

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- sessions ---------------------------------------------------------

    def _accept(self, connection: AgiConnection) -> None:
        """A socket connected: start its session task (called from the connection's ``connection_made``)."""
        if self._closing or self._loop is None:
            connection.close()
            return
        task = self._loop.create_task(self._on_connection(connection))
        self._sessions.add(task)
        self._idle.clear()
        # A callback, not a finally: a task cancelled by close() before its first step never runs its body.
        task.add_done_callback(partial(self._session_done, connection))

    def _session_done(self, connection: AgiConnection, task: asyncio.Task[None]) -> None:
        connection.close()
        self._sessions.discard(task)
        if not self._sessions:
            self._idle.set()

    async def _on_connection(self, connection: AgiConnection) -> None:
        try:
            await self._run_session(connection)
        except asyncio.CancelledError:
            # close() or loop shutdown: the session ends normally rather than cancelled.
            log.debug("fastagi.session_cancelled", extra={"peer": connection.peer})
        except Exception:
            # A bug here must cost one session, never the server.
            log.exception("fastagi.session_failed", extra={"peer": connection.peer})

    async def _run_session(self, connection: AgiConnection) -> None:
        env = await self._receive_env(connection)
        if env is None:
            return
        channel = AgiChannel(env, connection)
        fields = {"script": channel.script, "channel": channel.channel_name, "uniqueid": channel.uniqueid}
        handler = self._routes.get(channel.script, self._handler)
        if handler is None:
            log.warning("fastagi.unknown_script", extra=fields)
            await self._refuse(channel)
            return
        log.debug("fastagi.session_start", extra=fields)
        try:
            await handler(channel)
        except AgiProtocolError as exc:
            log.warning("fastagi.protocol_error", extra={**fields, "error": str(exc)})
        except AgiHangup:
            log.info("fastagi.session_hangup", extra=fields)
        except Exception as exc:
            log.error(
                "fastagi.handler_failed",
                extra={**fields, "error_type": type(exc).__name__, "error": str(exc)},
                exc_info=True,
            )
        else:
            log.debug("fastagi.session_end", extra=fields)

    async def _receive_env(self, connection: AgiConnection) -> dict[str, str] | None:
        """The ``agi_*`` block, or ``None`` (logged) if the peer is not Asterisk."""
        try:
            if not connection.has_blank_line():
                # Run on connect, the session comes before the socket's first read: let the loop read it.
                await asyncio.sleep(0)
            if connection.has_blank_line():
                # The whole block is here (as usual: Asterisk writes it at once): read_env cannot wait,
                # so no timer is needed.
                return await read_env(connection)
            async with asyncio.timeout(self._env_timeout):
                return await read_env(connection)
        except TimeoutError:
            log.warning("fastagi.env_timeout", extra={"peer": connection.peer, "timeout": self._env_timeout})
        except BadAgiEnvironment as exc:
            log.warning("fastagi.bad_env", extra={"peer": connection.peer, "error": str(exc)})
        except AgiProtocolError as exc:
            log.warning("fastagi.bad_env", extra={"peer": connection.peer, "error": str(exc)})
        except AgiHangup:
            # Port scans and health checks connect and close: not worth a warning.
            log.debug("fastagi.closed_before_env", extra={"peer": connection.peer})
        return None

    async def _refuse(self, channel: AgiChannel) -> None:
        try:
            async with asyncio.timeout(self._env_timeout):
                await channel.hangup()
        except (TimeoutError, AgiCommandError):
            pass
