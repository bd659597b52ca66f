"""AMI client: one supervised connection to Asterisk's manager interface.

:class:`AmiClient` logs in, keeps the link alive and hides panoramisk (see
:mod:`cti.ami.protocol`) behind a small typed API::

    client = AmiClient(host="127.0.0.1", port=5038, username="cti", secret="…")
    client.on_event(tracker_feed)              # every event, in order
    client.on_connection(resync)               # True after each (re)login
    await client.connect()                     # AmiLoginError on bad credentials
    await client.originate("Local/s@ivr-in", context="caller", exten="wait")
    await client.close()

Liveness: every ``ping_interval`` seconds a ``Ping`` must be answered within
``ping_timeout``, or the connection is aborted — a PBX that stopped reading
(overload, deadlock) otherwise still looks connected.  A peer that sends a
line or a message past the parser's limit (1 MiB) is cut off too
(``ami.framing_violation``).  After a loss the client reconnects, logs in
again, re-applies the server-side event filters and then calls the
``on_connection(True)`` callbacks so their owners can resynchronise.
Actions in flight when the link drops fail with :class:`AmiConnectionError`;
they are never replayed.

Sending an action and awaiting its answer is :mod:`cti.ami.sender`; this
module owns the connection: login, filters, liveness and reconnects.

Reconnect timing (see :mod:`cti.ami.backoff`): the first attempt after a
loss comes ``reconnect_min`` seconds later; while the PBX cannot be reached
the delay doubles up to ``reconnect_max`` (below a second by default, so the
service is back within a second of the PBX) and restarts from the minimum
after every successful login.  A link that dies within ``stable_after``
seconds of its login, or a refused login, counts as a quick failure: after
three in a row the delay doubles up to ``flap_max``, so a PBX that accepts
and drops us at once is not hammered with logins.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence

from cti.ami.backoff import ReconnectPolicy, worth_a_warning
from cti.ami.correlator import ActionCorrelator
from cti.ami.dispatch import ConnectionCallback, EventCallback, EventDispatcher
from cti.ami.errors import (
    AmiActionError,
    AmiConnectionError,
    AmiError,
    AmiLoginError,
    AmiTimeoutError,
)
from cti.ami.message import AmiFramingError, AmiMessage
from cti.ami.protocol import AmiLink, open_link
from cti.ami.sender import AmiSender

__all__ = [
    "DEFAULT_EXCLUDED_EVENTS",
    "AmiActionError",
    "AmiClient",
    "AmiConnectionError",
    "AmiError",
    "AmiLoginError",
    "AmiTimeoutError",
]

log = logging.getLogger(__name__)

#: Defaults of the reconnect timing (seconds), shared with the service settings.
RECONNECT_MIN = 0.5
RECONNECT_MAX = 0.8
FLAP_MAX = 30.0
STABLE_AFTER = 10.0


#: Events nothing in bankcti reads, kept away by the PBX: a dialplan variable set (``VarSet``), a
#: dialplan step (``Newexten``) and an AGI command's end (``AGIExecEnd``: only ``AGIExecStart`` moves
#: a call into the IVR).  ``AGIExecEnd`` was about a fifth of the AMI lines of an inbound call through
#: the IVR, and parsing AMI the service's largest single cost at 50 calls/s (``bankcti bench soak``).
DEFAULT_EXCLUDED_EVENTS = ("VarSet", "Newexten", "AGIExecEnd")


class AmiClient(AmiSender):
    """A supervised AMI connection with ordered event delivery.

    ``events=False`` logs in with ``Events: off`` (actions only).  The events
    named in ``exclude_events`` are filtered by Asterisk (``Action: Filter``)
    and, in case the server refuses the filter, dropped by the client too.
    ``DeviceStateChange`` is kept by default: it is how a call nobody routed
    through us (a direct call to an agent's phone) becomes visible.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        reconnect_min: float = RECONNECT_MIN,
        reconnect_max: float = RECONNECT_MAX,
        flap_max: float = FLAP_MAX,
        stable_after: float = STABLE_AFTER,
        action_timeout: float = 10.0,
        events: bool = True,
        exclude_events: Sequence[str] = DEFAULT_EXCLUDED_EVENTS,
    ) -> None:
        for name, value in (
            ("ping_interval", ping_interval),
            ("ping_timeout", ping_timeout),
            ("action_timeout", action_timeout),
        ):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._action_timeout = action_timeout
        self._events = events
        self._exclude = tuple(exclude_events)
        self._excluded = frozenset(name.lower() for name in exclude_events)
        self._retry = ReconnectPolicy(reconnect_min, reconnect_max, flap_max, stable_after)
        self._attempt_logged_in = False
        self._dispatcher = EventDispatcher()
        self._correlator = ActionCorrelator()
        self._link: AmiLink | None = None
        self._connected = False
        self._closing = False
        self._connected_since = 0.0
        self._reconnect_task: asyncio.Task[None] | None = None
        self._watchdog_task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self.last_ping_rtt: float | None = None

    # -- state and subscriptions -------------------------------------------------

    @property
    def connected(self) -> bool:
        """True between a successful login and the loss of that connection."""
        return self._connected

    @property
    def banner(self) -> str | None:
        """The current server's greeting (``"Asterisk Call Manager/11.0.0"``)."""
        return self._link.banner if self._link is not None else None

    @property
    def event_backlog(self) -> int:
        """Events received but not yet delivered to the callbacks."""
        return self._dispatcher.backlog

    def on_event(self, callback: EventCallback, event: str = "*") -> None:
        """Deliver events whose name matches ``event`` (shell pattern, any case).

        Callbacks run one at a time in arrival order; a coroutine callback is
        awaited before the next event is delivered.  A callback that raises is
        logged and does not stop the delivery.
        """
        self._dispatcher.subscribe(callback, event)

    def on_connection(self, callback: ConnectionCallback) -> None:
        """Call ``callback(True)`` after each login, ``callback(False)`` after each loss.

        Delivered in order with the events.  Not called by :meth:`close`.
        """
        self._dispatcher.on_connection(callback)

    # -- connection lifecycle ----------------------------------------------------

    async def connect(self, *, retry: bool = False) -> None:
        """Connect and log in; return once actions can be sent.

        Raises :class:`AmiLoginError` if Asterisk refuses the credentials
        (never retried: bad credentials stay bad) and, unless ``retry`` is
        true, :class:`AmiConnectionError`/:class:`AmiTimeoutError` if the PBX
        cannot be reached.  With ``retry=True`` unreachable PBXs are retried
        with back-off until the login succeeds.
        """
        if self._connected:
            return
        if self._reconnect_task is not None and not self._reconnect_task.done():
            await asyncio.shield(self._reconnect_task)
            return
        self._closing = False
        self._dispatcher.start()
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._establish()
                return
            except AmiLoginError:
                raise
            except AmiError as exc:
                if not retry or self._closing:
                    raise
                delay = self._retry.failed(after_login=self._attempt_logged_in)
                level = logging.WARNING if worth_a_warning(attempt) else logging.DEBUG
                log.log(level, "ami.connect_failed", extra={"error": str(exc), "delay": delay})
                await asyncio.sleep(delay)

    async def close(self) -> None:
        """Log off and close; cancels any scheduled reconnect.  Idempotent."""
        self._closing = True
        task, self._reconnect_task = self._reconnect_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._stop_watchdog()
        link = self._link
        if link is not None and self._connected:
            try:
                await self._request(link, "Logoff", [], limit=min(self._action_timeout, 1.0))
            except AmiError:
                pass  # the server may have gone already; we are closing anyway
        self._connected = False
        self._link = None
        if link is not None:
            link.close()
        self._correlator.fail_all("client closed")
        await self._dispatcher.stop()
        log.info("ami.closed", extra={"host": self.host, "port": self.port})

    async def _establish(self) -> None:
        self._attempt_logged_in = False
        self._raise_if_closing()
        try:
            link = await open_link(self.host, self.port, self, limit=self._action_timeout)
        except (OSError, TimeoutError) as exc:
            reason = str(exc) or "timeout"
            raise AmiConnectionError(f"cannot connect to AMI at {self.host}:{self.port}: {reason}") from exc
        if self._closing:  # close() ran while the connection was being opened
            link.close()
            self._raise_if_closing()
        self._link = link
        try:
            await self._login(link)
            self._attempt_logged_in = True
            if self._events:
                await self._apply_filters(link)
            if self._link is not link:
                # Lost between the last answer and here: link_lost saw no connection
                # to reconnect, so this attempt must fail (and be retried) itself.
                raise AmiConnectionError(f"AMI at {self.host}:{self.port} closed the connection during login")
        except BaseException:
            if self._link is link:
                self._link = None
                self._correlator.fail_all("login abandoned")
            link.close()
            raise
        self._connected = True
        self._connected_since = asyncio.get_running_loop().time()
        self._retry.logged_in()
        self._watchdog_task = asyncio.get_running_loop().create_task(self._watchdog(link), name="ami-ping")
        log.info("ami.connected", extra={"host": self.host, "port": self.port, "server": link.banner})
        self._dispatcher.post_connection(True)

    def _raise_if_closing(self) -> None:
        if self._closing:
            raise AmiConnectionError(f"AMI client for {self.host}:{self.port} was closed")

    async def _login(self, link: AmiLink) -> None:
        fields = [
            ("Username", self.username),
            ("Secret", self._secret),
            ("Events", "on" if self._events else "off"),
        ]
        try:
            await self._request(link, "Login", fields)
        except AmiActionError as exc:
            log.error("ami.login_refused", extra={"host": self.host, "username": self.username})
            raise AmiLoginError(
                f"AMI login to {self.host}:{self.port} as {self.username!r} refused: {exc.message}"
            ) from None
        except AmiConnectionError as exc:
            raise AmiConnectionError(
                f"AMI at {self.host}:{self.port} closed the connection during login"
            ) from exc

    async def _apply_filters(self, link: AmiLink) -> None:
        for event in self._exclude:
            criteria = f"action(exclude),name({event})"
            try:
                await self._request(link, "Filter", [("Operation", "Add"), ("MatchCriteria", criteria)])
            except AmiActionError as exc:
                # Filter needs the "system" write permission; the client-side
                # filter still keeps these events away from the callbacks.
                log.warning("ami.filter_refused", extra={"event": event, "error": exc.message})

    async def _reconnect(self, delay: float) -> None:
        attempt = 0
        while not self._closing:
            attempt += 1
            log.debug("ami.reconnect_scheduled", extra={"attempt": attempt, "delay": delay})
            await asyncio.sleep(delay)
            try:
                await self._establish()
            except AmiLoginError as exc:
                delay = self._retry.refused()
                log.error("ami.reconnect_refused", extra={"attempt": attempt, "error": str(exc)})
            except AmiError as exc:
                # Dropped after the login was accepted: as quick a failure as a link dying at once.
                delay = self._retry.failed(after_login=self._attempt_logged_in)
                level = logging.WARNING if worth_a_warning(attempt) else logging.DEBUG
                log.log(level, "ami.reconnect_failed", extra={"attempt": attempt, "error": str(exc)})
            else:
                log.info("ami.reconnected", extra={"attempt": attempt})
                return

    async def _watchdog(self, link: AmiLink) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            if link is not self._link:
                return
            try:
                await self._ping(link, self._ping_timeout)
            except AmiTimeoutError:
                log.warning("ami.ping_timeout", extra={"host": self.host, "timeout": self._ping_timeout})
                link.abort()
                return
            except AmiConnectionError:
                return
            except AmiActionError:
                continue  # an error answer still proves the peer is alive

    def _stop_watchdog(self) -> None:
        task, self._watchdog_task = self._watchdog_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # -- LinkOwner: called by the protocol ---------------------------------------

    def link_message(self, link: AmiLink, message: AmiMessage) -> None:
        if link is not self._link or self._correlator.handle(message):
            return
        name = message.event
        if name is None:
            log.debug("ami.unsolicited_response", extra={"action_id": message.action_id})
            return
        if name.lower() == "shutdown":
            # Asterisk closes the socket right after this event (trace o1): say why the link drops.
            shutdown = {"shutdown": message.get("Shutdown"), "restart": message.get("Restart")}
            log.warning("ami.pbx_shutdown", extra={"host": self.host, "port": self.port, **shutdown})
        if name.lower() not in self._excluded:
            self._dispatcher.post_event(message)

    def link_lost(self, link: AmiLink, exc: Exception | None) -> None:
        if link is not self._link:
            return
        self._link = None
        self._correlator.fail_all("connection lost")
        self._stop_watchdog()
        was_connected, self._connected = self._connected, False
        if isinstance(exc, AmiFramingError):  # we cut the peer off (during a login too)
            limits = {"what": exc.what, "size": exc.size, "limit": exc.limit, "unit": exc.unit}
            log.error("ami.framing_violation", extra={"host": self.host, **limits})
        if not was_connected or self._closing:
            return
        uptime = asyncio.get_running_loop().time() - self._connected_since
        # The first retry comes after the minimum delay, unless links keep dying at once.
        delay = self._retry.lost(uptime)
        lost = {"host": self.host, "port": self.port, "uptime": round(uptime, 3), "error": str(exc or "")}
        log.warning("ami.disconnected", extra={**lost, "retry_in": delay})
        self._dispatcher.post_connection(False)
        self._reconnect_task = asyncio.get_running_loop().create_task(
            self._reconnect(delay), name="ami-reconnect"
        )
