"""The ``/ws`` endpoint: authenticate, then pump the hub's messages out.

Protocol (JSON text frames):

* client → server, first and within ``auth_timeout``:
  ``{"type": "auth", "token": "..."}``; anything else, an unknown or expired
  token, closes the socket with code 4401.  The token travels in a frame,
  not in the URL, so it never lands in an access log.
* server → client: every message has a per-connection ``seq`` starting at 1;
  first ``hello`` (agent, status, server time), then bus events as
  ``{"type": <event type>, "seq": n, "event": {...}}``.
* client → server afterwards: ``{"type": "ack", "seq": n}`` for each
  ``call.offered`` shown, ``{"type": "ping"}`` (answered by ``pong``),
  ``{"type": "subscribe", "topic": "wallboard"}`` (supervisors and admins:
  the current wallboard at once, then its updates).  Bad
  JSON, an unknown type or a type the sender's role may not send gets an
  ``error`` message; the socket stays open.

Access control, server → client: an agent's socket gets the events about
that agent only; a supervisor's the events about the agents of the teams
they supervise (and their own), as told by the
:class:`~agent_console.ports.WatchScopes` port and refreshed every
``scope_refresh`` seconds; an admin's every event.  Without that port (no
CRM mounted) supervisors and admins get every event.  ``hello``, ``pong``
and ``error`` only ever answer the socket's own user.

Access control, client → server — the message types each role may send
after ``auth`` (:data:`CLIENT_MESSAGES`):

=============  =====  ==========  =====  ==============================================
type           agent  supervisor  admin  effect
=============  =====  ==========  =====  ==============================================
``ping``       yes    yes         yes    answered by ``pong``
``ack``        yes    yes         yes    acknowledges one of the sender's own pops only
``subscribe``  no     yes         yes    the ``wallboard`` now, then its updates
``auth``       no     no          no     already authenticated: ``error``
=============  =====  ==========  =====  ==============================================

A user whose role is none of these may send nothing but gets the events
of an agent.

The socket is closed with 4401 when its session is logged out or expires,
1013 when the client cannot keep up (or its teams cannot be looked up),
1012 when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from agent_console.connection import CLOSE_OVERLOADED, Connection
from agent_console.hub import Hub
from agent_console.ports import AgentControl, WatchScopes
from agent_console.sessions import Session, SessionStore

__all__ = ["CLIENT_MESSAGES", "CLOSE_UNAUTHORIZED", "SocketGateway"]

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
_MAX_ECHO = 40  # how much of a bad message type is quoted back
_USERS = frozenset({"agent", "supervisor", "admin"})

#: Client → server message types after ``auth``, and the roles that may send each.
CLIENT_MESSAGES: dict[str, frozenset[str]] = {
    "ping": _USERS,
    "ack": _USERS,
    "subscribe": frozenset({"supervisor", "admin"}),
    "auth": frozenset(),
}


class SocketGateway:
    """Serves one websocket per call of :meth:`handle` (an ASGI endpoint)."""

    def __init__(
        self,
        *,
        sessions: SessionStore,
        hub: Hub,
        control: AgentControl,
        queue_size: int,
        auth_timeout: float = 10.0,
        scopes: WatchScopes | None = None,
        scope_refresh: float = 60.0,
    ) -> None:
        self._sessions = sessions
        self._hub = hub
        self._control = control
        self._queue_size = queue_size
        self._auth_timeout = auth_timeout
        self._scopes = scopes
        self._scope_refresh = scope_refresh

    async def handle(self, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            session = await self._authenticate(websocket)
        except WebSocketDisconnect:
            return
        if session is None:
            return
        observer = session.is_observer
        watch: frozenset[str] | None = None
        if observer and self._scopes is not None:
            try:
                watch = await self._scopes.watched_logins(session.agent.login)
            except Exception as exc:
                log.warning(
                    "console.ws_scope_failed", extra={"login": session.agent.login, "error": repr(exc)}
                )
                await _close(websocket, CLOSE_OVERLOADED, "cannot load your teams now; reconnect")
                return
        conn = Connection(
            login=session.agent.login,
            session_key=session.key,
            observer=observer,
            max_queue=self._queue_size,
            watch=watch,
            remote_addr=websocket.client.host if websocket.client else None,
        )
        self._hub.attach(conn, self._hello(session))
        log.info("console.ws_open", extra={"login": conn.login, "connections": self._hub.connection_count})
        try:
            await self._serve(websocket, conn, session.agent.role)
        finally:
            self._hub.detach(conn)
            log.info(
                "console.ws_closed",
                extra={
                    "login": conn.login,
                    "code": conn.close_code,
                    "connections": self._hub.connection_count,
                },
            )
        if conn.closed.is_set():
            # May wait on a stuck peer (bounded by the protocol's close
            # timeout); the hub has already let go of this connection.
            await _close(websocket, conn.close_code, conn.close_reason)

    async def _authenticate(self, websocket: WebSocket) -> Session | None:
        try:
            async with asyncio.timeout(self._auth_timeout):
                message = await websocket.receive()
        except TimeoutError:
            await _close(websocket, CLOSE_UNAUTHORIZED, "authentication timed out")
            return None
        if message["type"] == "websocket.disconnect":
            return None
        token = _auth_token(message.get("text"))
        session = self._sessions.get(token) if token else None
        if session is None:
            log.info("console.ws_auth_failed")
            await _close(websocket, CLOSE_UNAUTHORIZED, "invalid or expired session; log in again")
        return session

    def _hello(self, session: Session) -> dict[str, Any]:
        try:
            status: dict[str, Any] | None = self._control.status(session.agent.login).model_dump(mode="json")
        except LookupError:
            status = None  # e.g. a supervisor who takes no calls
        return {
            "agent": session.agent.model_dump(mode="json"),
            "status": status,
            "server_time": time.time(),
            "expires_at": self._sessions.expires_at(session),
        }

    async def _serve(self, websocket: WebSocket, conn: Connection, role: str) -> None:
        reader = asyncio.create_task(self._read(websocket, conn, role), name=f"ws-read-{conn.login}")
        writer = asyncio.create_task(_write(websocket, conn), name=f"ws-write-{conn.login}")
        closed = asyncio.create_task(conn.closed.wait(), name=f"ws-closed-{conn.login}")
        tasks = {reader, writer, closed}
        if conn.watch is not None and self._scopes is not None:
            tasks.add(asyncio.create_task(self._refresh_watch(conn), name=f"ws-scope-{conn.login}"))
        try:
            while True:
                remaining = self._sessions.remaining(conn.session_key)
                if remaining <= 0:
                    conn.close(CLOSE_UNAUTHORIZED, "session expired; log in again")
                # Wake at the session's end; a renewal just moves the next wake-up.
                done, _ = await asyncio.wait(tasks, timeout=remaining or None, return_when="FIRST_COMPLETED")
                if done:
                    _log_failure(conn, done)
                    break
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _refresh_watch(self, conn: Connection) -> None:
        """Re-read the observer's teams now and then (never returns; failures keep the old set)."""
        assert self._scopes is not None
        while True:
            # A timer, not synchronisation: team changes need no event to reach open sockets.
            await asyncio.sleep(self._scope_refresh)
            try:
                conn.watch = await self._scopes.watched_logins(conn.login)
            except Exception as exc:
                log.warning("console.ws_scope_failed", extra={"login": conn.login, "error": repr(exc)})

    async def _read(self, websocket: WebSocket, conn: Connection, role: str) -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                conn.send("error", {"message": "send JSON text frames, not binary"})
                continue
            self._on_message(conn, text, role)

    def _on_message(self, conn: Connection, text: str, role: str) -> None:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            conn.send("error", {"message": "message is not valid JSON"})
            return
        kind = data.get("type") if isinstance(data, dict) else None
        if not isinstance(kind, str):
            conn.send("error", {"message": 'a message is a JSON object with a string "type"'})
        elif kind == "auth":
            conn.send("error", {"message": "already authenticated"})
        elif kind not in CLIENT_MESSAGES:
            conn.send("error", {"message": f"unknown message type {kind[:_MAX_ECHO]!r}"})
        elif role not in CLIENT_MESSAGES[kind]:
            log.info("console.ws_message_denied", extra={"login": conn.login, "role": role, "type": kind})
            conn.send("error", {"message": f"a {role[:_MAX_ECHO]} may not send {kind!r} messages"})
        elif kind == "ping":
            conn.send("pong")
        elif kind == "ack":
            seq = data.get("seq")
            if isinstance(seq, int) and not isinstance(seq, bool):
                self._hub.ack(conn, seq)
            else:
                conn.send("error", {"message": 'an ack needs an integer "seq"'})
        elif kind == "subscribe":
            topic = data.get("topic")
            if not isinstance(topic, str) or not self._hub.subscribe(conn, topic):
                conn.send("error", {"message": 'unknown topic; subscribe to "wallboard"'})


def _log_failure(conn: Connection, done: set[asyncio.Task[Any]]) -> None:
    for task in done:
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            log.warning("console.ws_failed", extra={"login": conn.login, "error": repr(exc)})


async def _write(websocket: WebSocket, conn: Connection) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.send_text(await conn.outbox.get())


def _auth_token(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("type") != "auth":
        return None
    token = data.get("token")
    return token if isinstance(token, str) and 0 < len(token) <= 256 else None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    # The peer may be gone already; closing a dead socket is not an error here.
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.close(code, reason)
