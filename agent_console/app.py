"""The console gateway as one FastAPI application.

One port serves the agent page (``/``, ``/static/*``), the JSON API
(``/api/*``, described at ``/openapi.json`` and browsable at ``/docs`` and
``/redoc``) and the live websocket (``/ws``).  The docs pages load Swagger UI
and ReDoc from the ``fastapi-offline`` package, served under
``/static-offline-docs/``: they need no CDN, so they work on an offline site.
A background task started in the lifespan consumes the bus and hands every
event to the :class:`~agent_console.hub.Hub`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acd.events import EventSink, EventSource
from agent_console.admin import AgentRosterPort, admin_router
from agent_console.api import ConsoleServices, build_router
from agent_console.calls_api import calls_router
from agent_console.crm.deps import CrmServices
from agent_console.crm.errors import install_error_handlers
from agent_console.crm.popaudit import PopAuditQueue
from agent_console.crm.routes import crm_router
from agent_console.hub import Hub
from agent_console.metrics_api import Metrics, metrics_router
from agent_console.pop_api import desk_router
from agent_console.ports import AgentControl, Authenticator, CallControl, LoginGuard, QueueAdmin
from agent_console.queues_api import queues_router
from agent_console.receipts import ReceiptPublisher
from agent_console.reports_api import reports_router
from agent_console.sessions import SessionStore
from agent_console.wallboard import EventFanout, Wallboard, WallboardConfig, wallboard_router
from agent_console.wrapup_api import WrapUpSaved, wrapup_router
from agent_console.ws import SocketGateway

__all__ = ["DEFAULT_DISPOSITIONS", "STATIC_DIR", "consume_events", "create_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_DISPOSITIONS: tuple[str, ...] = ("resolved", "follow-up", "complaint", "sale", "wrong-number")

_PAGE_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
]
#: The API docs pages (Swagger UI, ReDoc) and their assets, all served by this app (``fastapi-offline``).
DOCS_URL, REDOC_URL, DOCS_ASSETS_URL = "/docs", "/redoc", "/static-offline-docs"
_DOCS_PAGES = frozenset({DOCS_URL, REDOC_URL, "/docs/oauth2-redirect"})
# Swagger UI starts from an inline script and both UIs inject inline styles; ReDoc's search runs in a blob:
# worker.  Nothing may come from another origin: ReDoc's hard-coded sidebar logo (cdn.redoc.ly) is refused
# here instead of hanging on an offline network, and the component hides itself when the image fails.
_DOCS_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
]
_COMMON_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
_POP_AUDIT_GRACE = 2.0  # seconds the shutdown waits for screen-pop audit rows still queued
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
#: Bus events the console dispatches before it lets other tasks run.
DISPATCH_BATCH = 64
_PAGES = frozenset({"/", "/wallboard", "/reports", "/admin"})


def create_app(
    *,
    authenticator: Authenticator,
    control: AgentControl,
    events: EventSource,
    session_ttl: float = 8 * 3600,
    dispositions: Sequence[str] = DEFAULT_DISPOSITIONS,
    queue_size: int = 256,
    auth_timeout: float = 10.0,
    crm: CrmServices | None = None,
    scope_refresh: float = 60.0,
    session_file: Path | None = None,
    wrapup_seconds: int | None = None,
    wallboard: WallboardConfig | None = None,
    calls: CallControl | None = None,
    queues: QueueAdmin | None = None,
    login_guard: LoginGuard | None = None,
    pop_audit_spool: Path | None = None,
    roster: AgentRosterPort | None = None,
    receipts: EventSink | None = None,
    metrics: Metrics | None = None,
    on_wrapped_up: WrapUpSaved | None = None,
    ivr_labels: Callable[[], Mapping[str, tuple[str, str]]] | None = None,
) -> FastAPI:
    """Build the console gateway.

    ``queue_size`` bounds each websocket's outbox: a client that falls that
    many messages behind is disconnected (1013) and resyncs on reconnect.
    ``auth_timeout`` is how long a new websocket may take to send its token.

    With ``crm`` the CRM's REST API is mounted under ``/api/crm``, each
    supervisor's websocket is narrowed to the agents of their teams
    (re-read every ``scope_refresh`` seconds), and every screen-pop that
    shows an agent a customer is written to the audit log as a view.

    With ``session_file`` login sessions survive a restart (see
    :class:`~agent_console.sessions.SessionStore`).  ``wrapup_seconds`` is
    the ACD's wrap-up time, for the countdown on the agent's screen.

    ``wallboard`` wires the supervisor wallboard (``/wallboard``,
    ``GET /api/wallboard``, ``wallboard`` websocket messages) to the live
    ACD and the call history; without it the figures come from the events
    alone.  ``/reports`` serves the page hosting the report modules.

    With ``calls`` the call-control API is mounted (hold, transfers,
    hang-up, click-to-dial, supervisor actions; see
    :mod:`agent_console.calls_api`).

    ``login_guard`` throttles password guessing on ``POST /api/login``; with
    ``crm`` it defaults to the CRM's database-backed throttle
    (:mod:`crm_core.contact_center.throttle`), whose locks admins see and
    clear under ``/api/crm/login-locks``.

    ``pop_audit_spool`` is the file where screen-pop audit rows wait while
    the database is unavailable (see :mod:`agent_console.crm.popaudit`);
    without it they wait in memory.

    With ``crm`` admins manage agent accounts at ``/admin`` and
    ``/api/admin/agents`` (:mod:`agent_console.admin`); ``roster`` applies
    their changes to the running ACD before the answer.

    With ``receipts`` every pop an agent's console acknowledges, and every
    change in the number of an agent's connections, is published there
    (:class:`~agent_console.receipts.ReceiptPublisher`): the call flow dials
    the agent only once the pop was received.  ``metrics`` serves the
    service's counters at ``GET /api/metrics``.

    With ``crm`` a call's wrap-up is recorded at ``PUT /api/calls/{id}/wrap-up``
    (:mod:`agent_console.wrapup_api`); ``on_wrapped_up`` tells the ACD.

    ``ivr_labels`` gives the IVR nodes' descriptions (node → English,
    Chinese), which ``GET /api/desk/config`` sends so the screen shows a
    caller's IVR path in words.
    """
    if not dispositions or any(not d.strip() for d in dispositions):
        raise ValueError("dispositions must be a non-empty list of non-blank names")
    if queue_size < 8:
        raise ValueError("queue_size must be at least 8")
    if scope_refresh <= 0:
        raise ValueError("scope_refresh must be positive")
    sessions = SessionStore(session_ttl, path=session_file)
    pops = PopAuditQueue(crm, spool_path=pop_audit_spool) if crm is not None else None
    publisher = ReceiptPublisher(receipts) if receipts is not None else None
    hub = Hub(
        max_pending_pops=min(20, queue_size // 4),
        on_pop=pops.submit if pops is not None else None,
        on_ack=publisher.received if publisher is not None else None,
        on_presence=publisher.presence if publisher is not None else None,
    )
    board = Wallboard(wallboard or WallboardConfig(), hub)
    scopes = crm.actors if crm is not None else None
    services = ConsoleServices(
        authenticator=authenticator,
        control=control,
        sessions=sessions,
        hub=hub,
        dispositions=tuple(dispositions),
        scopes=scopes,
        login_guard=login_guard or (crm.logins if crm is not None else None),
    )
    gateway = SocketGateway(
        sessions=sessions,
        hub=hub,
        control=control,
        queue_size=queue_size,
        auth_timeout=auth_timeout,
        scopes=scopes,
        scope_refresh=scope_refresh,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # One subscription for both: the hub and the wallboard see every event in the same order.
        fanout = EventFanout(hub, board)
        tasks = [asyncio.create_task(consume_events(events, fanout), name="console-events")]
        tasks.append(asyncio.create_task(board.run(), name="wallboard-push"))
        if pops is not None:
            tasks.append(asyncio.create_task(pops.run(), name="console-pop-audit"))
        if publisher is not None:
            tasks.append(asyncio.create_task(publisher.run(), name="console-receipts"))
        try:
            yield
        finally:
            tasks[0].cancel()
            await asyncio.gather(tasks[0], return_exceptions=True)
            if pops is not None:
                await pops.drain(_POP_AUDIT_GRACE)
            for task in tasks[1:]:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # FastAPI's own docs pages load their scripts from a CDN (and ReDoc its fonts from Google): blank offline.
    app = FastAPIOffline(
        title="bankcti agent console",
        summary="Screen-pop, agent state and call notes for contact-center agents",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        static_url=DOCS_ASSETS_URL,
        # No spec validation badge from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.hub = hub
    app.state.wallboard = board
    app.state.watch_scopes = scopes
    app.state.sessions = sessions
    app.state.crm = crm
    app.state.pop_audit = pops
    app.state.wrapup_seconds = wrapup_seconds
    app.state.ivr_labels = ivr_labels
    app.include_router(build_router(services))
    app.include_router(wallboard_router())
    if calls is not None:
        app.include_router(calls_router(calls, control))
    if queues is not None:
        app.include_router(queues_router(queues))
    if metrics is not None:
        app.include_router(metrics_router(metrics))
    if crm is not None:
        app.include_router(crm_router())
        app.include_router(admin_router(queues, roster))
        app.include_router(reports_router())
        app.include_router(desk_router())
        app.include_router(wrapup_router(calls, on_wrapped_up))
    app.add_api_websocket_route("/ws", gateway.handle, name="live")
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    install_error_handlers(app)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/wallboard", include_in_schema=False)
    async def wallboard_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "wallboard.html", headers={"Cache-Control": "no-cache"})

    @app.get("/reports", include_in_schema=False)
    async def reports_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "reports.html", headers={"Cache-Control": "no-cache"})

    @app.get("/admin", include_in_schema=False)
    async def admin_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "admin.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(_SecurityHeaders)
    return app


async def consume_events(
    events: EventSource, hub: Hub | EventFanout, *, min_delay: float = 0.5, max_delay: float = 10.0
) -> None:
    """Feed ``hub`` from ``events`` until cancelled, resubscribing on failure.

    A broken subscription (bus down, iterator ended) is retried with a
    doubling delay; a single event the hub cannot route is logged and skipped.
    """
    delay = min_delay
    while True:
        stream = events.subscribe()
        try:
            handled = 0
            async for event in stream:
                delay = min_delay
                try:
                    hub.dispatch(event)
                except Exception:
                    log.exception(
                        "console.dispatch_failed", extra={"event_type": getattr(event, "type", "?")}
                    )
                # Let the socket writers run now and then, so a burst from the bus does not pile up in
                # every outbox at once — but not after every event: yielding once per event bounded the
                # consumer by the loop's iteration rate, and a burst of queue events delayed pops by
                # ~100 ms (bench pop, 50 calls at once).
                handled += 1
                if handled % DISPATCH_BATCH == 0:
                    await asyncio.sleep(0)
            log.warning("console.events_ended", extra={"retry_in": delay})
        except Exception as exc:
            log.warning("console.events_failed", extra={"error": repr(exc), "retry_in": delay})
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's default echoes the rejected input, which may be a password.
    errors: list[dict[str, Any]] = []
    messages: list[str] = []
    fields: list[str] = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        kind = str(error.get("type", ""))
        msg = str(error.get("msg", "")).removeprefix("Value error, ")
        errors.append({"loc": loc, "msg": msg, "type": kind})
        # A JSON syntax error's location is a character offset, not a field.
        where = (
            "body" if kind == "json_invalid" else ".".join(loc[1:] if loc[:1] and loc[0] in _SOURCES else loc)
        )
        fields.append(where or "body")
        messages.append(f"{where}: {msg}" if where and where != "body" else msg)
    detail = "; ".join(messages) or "invalid request"
    content: dict[str, Any] = {"detail": detail, "errors": errors}
    if fields:
        content["field"] = fields[0]
    return JSONResponse(status_code=422, content=content)


class _SecurityHeaders:
    """Adds no-sniff/no-referrer everywhere, a strict CSP on the pages (a same-origin one on the API docs),
    no-store on the API."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = list(_COMMON_HEADERS)
        if path in _PAGES or path.startswith("/static/"):
            extra += _PAGE_HEADERS
        elif path in _DOCS_PAGES:
            extra += _DOCS_HEADERS
        elif path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self._app(scope, receive, send_with_headers)
