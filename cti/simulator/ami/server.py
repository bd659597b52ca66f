"""The AMI server of the simulated Asterisk: sessions, login, dispatch, event fan-out.

Speaks ``Asterisk Call Manager/11.0.0`` like Asterisk 22 (see
``tests/fixtures/asterisk``): a banner line with no blank line after it;
``Login`` (wrong secret → ``Authentication failed`` after a delay, then the
socket closes; any other action before login → ``Permission denied``);
``FullyBooted`` then ``SuccessfulAuth`` after a good login; security events
(``InvalidPassword``, ``RequestNotAllowed``...) for the other sessions.
Actions of one session run one at a time, in order; events go to every
logged-in session whose event mask and filters accept them.

Test controls: :meth:`AmiServer.drop_clients` and :attr:`AmiServer.frozen`
(answer nothing, send nothing, keep the sockets).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from cti.ami.message import AmiFramingError, AmiMessage, AmiParser
from cti.simulator.ami.actions import CALL_ACTIONS
from cti.simulator.ami.context import ActionContext, ActionHandler
from cti.simulator.ami.control_actions import CONTROL_ACTIONS
from cti.simulator.ami.filters import FilterSet
from cti.simulator.ami.queue_actions import QUEUE_ACTIONS
from cti.simulator.ami.system_actions import SYSTEM_ACTIONS
from cti.simulator.core import Pbx

__all__ = ["BANNER", "AmiServer", "AmiSession"]

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_OUTPUT_BUFFER = 32 * 1024 * 1024
_EPOCH_TV = "1970-01-01T00:00:00.000+0000"
_ALL_CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)
_TRUE = ("yes", "true", "y", "t", "1", "on")
_FALSE = ("no", "false", "n", "f", "0", "off")


def _tv(moment: float) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


def _text_of(encoded: bytes) -> Callable[[], str]:
    """Lazy text of an encoded event, for regex filters."""
    return lambda: encoded.decode("utf-8", errors="replace")


class AmiSession(asyncio.Protocol):
    """One AMI connection."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = AmiParser()
        self.actions: asyncio.Queue[AmiMessage] = asyncio.Queue()
        self.authenticated = False
        self.username = ""
        self.event_mask: frozenset[str] | None = None
        self.filters = FilterSet()
        self.session_id = f"0x{random.getrandbits(44):x}"
        self.session_tv = _EPOCH_TV
        self.challenge = ""
        self.local = self.remote = ""
        self.closed = False
        self._worker: asyncio.Task[None] | None = None
        self._auth_timer: asyncio.TimerHandle | None = None

    # -- transport ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        local, remote = transport.get_extra_info("sockname"), transport.get_extra_info("peername")
        self.local = f"IPV4/TCP/{local[0]}/{local[1]}" if local else ""
        self.remote = f"IPV4/TCP/{remote[0]}/{remote[1]}" if remote else ""
        transport.write(BANNER)
        self.server.sessions.add(self)
        loop = asyncio.get_running_loop()
        self._worker = loop.create_task(self._work(), name=f"ami-session-{self.session_id}")
        self._auth_timer = loop.call_later(self.server.pbx.config.auth_timeout, self._auth_expired)
        log.info("sim.ami_connect", extra={"remote": self.remote})

    def data_received(self, data: bytes) -> None:
        try:
            for message in self.parser.iter_feed(data):
                self.actions.put_nowait(message)
        except AmiFramingError as exc:
            # A client that never ends its line must not grow the simulator's memory either.
            log.warning("sim.ami_framing_violation", extra={"remote": self.remote, "error": str(exc)})
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.sessions.discard(self)
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        if self._worker is not None:
            self._worker.cancel()
        log.info("sim.ami_disconnect", extra={"remote": self.remote, "user": self.username})

    def mark_authenticated(self, username: str) -> None:
        self.authenticated = True
        self.username = username
        self.session_tv = _tv(time.time())
        if self._auth_timer is not None:
            self._auth_timer.cancel()

    def _auth_expired(self) -> None:
        if not self.authenticated:
            self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    # -- output ------------------------------------------------------------------------
    def send(self, message: AmiMessage) -> None:
        self.write(message.encode())

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or self.closed or transport.is_closing():
            return
        if transport.get_write_buffer_size() > MAX_OUTPUT_BUFFER:
            log.warning("sim.ami_slow_client_dropped", extra={"remote": self.remote})
            self.close()
            return
        transport.write(data)

    def set_events(self, value: str) -> bool:
        """Apply an ``Events``/``EventMask`` value; True when events are on."""
        lowered = value.strip().lower()
        if lowered in ("", "on", "all") or lowered in _TRUE:
            self.event_mask = _ALL_CLASSES
        elif lowered in _FALSE or lowered == "none":
            self.event_mask = None
        else:
            self.event_mask = frozenset(part.strip() for part in lowered.split(",") if part.strip()) or None
        return self.event_mask is not None

    def wants(self, classes: frozenset[str]) -> bool:
        mask = self.event_mask
        return self.authenticated and mask is not None and (not classes or not mask.isdisjoint(classes))

    # -- actions -------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            message = await self.actions.get()
            await self.server.unfrozen()
            if self.closed:
                return
            try:
                await self.server.dispatch(self, message)
            except Exception:
                # One malformed or unexpected request must not kill the session.
                log.exception("sim.ami_action_failed", extra={"remote": self.remote})
                ActionContext(self.server.pbx, self, message).error("Internal error processing action")


class AmiServer:
    """Listens for AMI clients and fans the PBX's events out to them."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.sessions: set[AmiSession] = set()
        self._server: asyncio.Server | None = None
        self._unfrozen = asyncio.Event()
        self._unfrozen.set()
        self._handlers: dict[str, ActionHandler] = {
            **CALL_ACTIONS,
            **SYSTEM_ACTIONS,
            **QUEUE_ACTIONS,
            **CONTROL_ACTIONS,
        }
        pbx.listeners.append(self.broadcast)

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("AMI server not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        config = self.pbx.config
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: AmiSession(self), config.ami_host, config.ami_port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.drop_clients()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def drop_clients(self) -> None:
        """Close every AMI connection (the clients see EOF)."""
        for session in list(self.sessions):
            session.close()
        await asyncio.sleep(0)

    @property
    def frozen(self) -> bool:
        return not self._unfrozen.is_set()

    @frozen.setter
    def frozen(self, value: bool) -> None:
        if value:
            self._unfrozen.clear()
        else:
            self._unfrozen.set()

    async def unfrozen(self) -> None:
        await self._unfrozen.wait()

    # -- events ---------------------------------------------------------------------------
    def broadcast(self, message: AmiMessage) -> None:
        if self.frozen or not self.sessions:
            return
        privilege = message.get("Privilege") or ""
        classes = frozenset(part for part in privilege.split(",") if part and part != "all")
        encoded: bytes | None = None
        for session in list(self.sessions):
            if not session.wants(classes):
                continue
            if encoded is None:
                encoded = message.encode()
            if session.filters and not session.filters.allows(message, _text_of(encoded)):
                continue
            session.write(encoded)

    def security_event(
        self,
        name: str,
        severity: str,
        session: AmiSession,
        version: int = 1,
        account: str | None = None,
        extra: tuple[tuple[str, str], ...] = (),
        session_tv: str | None = None,
    ) -> None:
        now = _tv(time.time())
        fields = [
            ("Event", name),
            ("Privilege", "security,all"),
            ("EventTV", now),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", str(version)),
            ("AccountID", session.username if account is None else account),
            ("SessionID", session.session_id),
            ("LocalAddress", session.local),
            ("RemoteAddress", session.remote),
            *extra,
            ("SessionTV", session_tv or session.session_tv),
        ]
        self.broadcast(AmiMessage(fields))

    # -- dispatch ----------------------------------------------------------------------------
    async def dispatch(self, session: AmiSession, message: AmiMessage) -> None:
        ctx = ActionContext(self.pbx, session, message)
        action = ctx.header("Action")
        if not action:
            self._bad_format(session, "NONE")
            ctx.error("Missing action in request")
            return
        lowered = action.lower()
        if lowered == "login":
            await self._login(session, ctx)
            return
        if lowered == "logoff":
            ctx.reply("Goodbye", "Thanks for all the fish.")
            session.close()
            return
        if lowered == "challenge":
            self._challenge(session, ctx)
            return
        if not session.authenticated:
            self.security_event(
                "RequestNotAllowed", "Error", session, extra=(("RequestType", f"Action: {action}"),)
            )
            ctx.error("Permission denied")
            return
        handler = self._handlers.get(lowered)
        if handler is None:
            self._bad_format(session, action)
            ctx.error(
                f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."
            )
            return
        await handler(ctx)

    def _bad_format(self, session: AmiSession, action: str) -> None:
        self.security_event(
            "RequestBadFormat", "Error", session, extra=(("RequestType", f"Action: {action}"),)
        )

    def _challenge(self, session: AmiSession, ctx: ActionContext) -> None:
        if ctx.header("AuthType").lower() != "md5":
            ctx.error("Must specify AuthType")
            return
        if not session.challenge:
            session.challenge = str(random.randrange(10**8, 10**9))
        ctx.success(None, [("Challenge", session.challenge)])

    async def _login(self, session: AmiSession, ctx: ActionContext) -> None:
        config = self.pbx.config
        username = ctx.header("Username")
        if session.authenticated:
            ctx.success("Already authenticated")
            return
        if username.lower() != config.ami_username.lower():
            ok, event, version = False, "InvalidAccountID", 1
        elif ctx.header("AuthType").lower() == "md5":
            expected = hashlib.md5((session.challenge + config.ami_secret).encode()).hexdigest()
            ok, event, version = (
                bool(session.challenge) and ctx.header("Key") == expected,
                "ChallengeResponseFailed",
                1,
            )
        else:
            ok, event, version = ctx.header_or_none("Secret") == config.ami_secret, "InvalidPassword", 2
        if not ok:
            self.security_event(
                event, "Error", session, version=version, account=username, session_tv=_EPOCH_TV
            )
            log.info("sim.ami_login_failed", extra={"remote": session.remote, "user": username})
            await asyncio.sleep(config.login_failure_delay)
            ctx.error("Authentication failed")
            session.close()
            return
        session.mark_authenticated(config.ami_username)
        events_on = session.set_events(ctx.header_or_none("Events") or "on")
        ctx.success("Authentication accepted")
        if events_on:
            uptime = str(self.pbx.uptime())
            session.send(
                AmiMessage(
                    [
                        ("Event", "FullyBooted"),
                        ("Privilege", "system,all"),
                        ("Uptime", uptime),
                        ("LastReload", uptime),
                        ("Status", "Fully Booted"),
                    ]
                )
            )
        self.security_event("SuccessfulAuth", "Informational", session, extra=(("UsingPassword", "0"),))
        log.info("sim.ami_login", extra={"remote": session.remote, "user": username})
