"""The AMI server of the simulated Asterisk: sessions, login, dispatch, event fan-out.

Speaks ``Asterisk Call Manager/11.0.0`` like Asterisk 22 (see
``tests/fixtures/asterisk``): a banner line with no blank line after it;
``Login`` (wrong secret → ``Authentication failed`` after a delay, then the
socket closes; any other action before login → ``Permission denied``);
``FullyBooted`` then ``SuccessfulAuth`` after a good login; security events
(``InvalidPassword``, ``RequestNotAllowed``...) for the other sessions.
Actions of one session run one at a time, in order; events go to every
logged-in session whose event mask and filters accept them.

One connection (transport, output, event mask) is
:class:`~cti.simulator.ami.session.AmiSession` (re-exported here with
:data:`BANNER`); this module listens, dispatches actions, handles the login
and fans events out.

Test controls: :meth:`AmiServer.drop_clients`, :attr:`AmiServer.frozen`
(answer nothing, send nothing, keep the sockets) and, for ``core restart``,
:meth:`AmiServer.shutdown` / :meth:`AmiServer.start` / :meth:`AmiServer.boot_complete`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable

from cti.ami.message import AmiMessage
from cti.simulator.ami.actions import CALL_ACTIONS
from cti.simulator.ami.context import ActionContext, ActionHandler
from cti.simulator.ami.control_actions import CONTROL_ACTIONS
from cti.simulator.ami.queue_actions import QUEUE_ACTIONS
from cti.simulator.ami.session import BANNER, EPOCH_TV, AmiSession, event_tv
from cti.simulator.ami.system_actions import SYSTEM_ACTIONS
from cti.simulator.core import Pbx

__all__ = ["BANNER", "AmiServer", "AmiSession"]

log = logging.getLogger(__name__)


def _text_of(encoded: bytes) -> Callable[[], str]:
    """Lazy text of an encoded event, for regex filters."""
    return lambda: encoded.decode("utf-8", errors="replace")


class AmiServer:
    """Listens for AMI clients and fans the PBX's events out to them."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.sessions: set[AmiSession] = set()
        self._server: asyncio.Server | None = None
        self._unfrozen = asyncio.Event()
        self._unfrozen.set()
        self._bound_port = 0
        #: False between a restart's new listener and its FullyBooted (logins get no FullyBooted).
        self.fully_booted = True
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
        """Listen; after a :meth:`shutdown` on the port bound before (clients reconnect there)."""
        config = self.pbx.config
        loop = asyncio.get_running_loop()
        port = self._bound_port or config.ami_port
        self._server = await loop.create_server(lambda: AmiSession(self), config.ami_host, port)
        self._bound_port = self.port

    async def shutdown(self, *, restart: bool) -> None:
        """Asterisk's ``really_quit``: ``Shutdown`` to every session, then every socket closes.

        ``Shutdown: Uncleanly`` when calls were up, ``Cleanly`` otherwise
        (trace o1); no ``Goodbye``.  The listener closes too: connects are
        refused until :meth:`start`.
        """
        shutdown = "Uncleanly" if len(self.pbx.registry) else "Cleanly"
        self.broadcast(
            AmiMessage(
                [
                    ("Event", "Shutdown"),
                    ("Privilege", "system,all"),
                    ("Shutdown", shutdown),
                    ("Restart", "True" if restart else "False"),
                ]
            )
        )
        log.info("sim.ami_shutdown", extra={"shutdown": shutdown, "restart": restart})
        if self._server is not None:
            self._server.close()
        await self.drop_clients()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def boot_complete(self) -> None:
        """The startup ``FullyBooted`` to every session logged in meanwhile (trace o2's key order)."""
        self.fully_booted = True
        uptime = str(self.pbx.uptime())
        self.broadcast(
            AmiMessage(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Status", "Fully Booted"),
                    ("Uptime", uptime),
                    ("LastReload", uptime),
                ]
            )
        )

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
        now = event_tv(time.time())
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
                event, "Error", session, version=version, account=username, session_tv=EPOCH_TV
            )
            log.info("sim.ami_login_failed", extra={"remote": session.remote, "user": username})
            await asyncio.sleep(config.login_failure_delay)
            ctx.error("Authentication failed")
            session.close()
            return
        session.mark_authenticated(config.ami_username)
        events_on = session.set_events(ctx.header_or_none("Events") or "on")
        ctx.success("Authentication accepted")
        if events_on and self.fully_booted:
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
