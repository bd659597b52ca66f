"""One AMI connection to the simulated Asterisk: transport, output, event mask.

:class:`AmiSession` writes the banner, feeds what it reads to the parser and
runs the actions of its connection one at a time, in order, through
:meth:`AmiServer.dispatch <cti.simulator.ami.server.AmiServer.dispatch>`.
It closes a client that sends an endless line or reads too slowly, and one
that has not logged in within ``auth_timeout``; :meth:`AmiSession.wants`
says whether its event mask accepts an event's classes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cti.ami.message import AmiFramingError, AmiMessage, AmiParser
from cti.simulator.ami.context import ActionContext
from cti.simulator.ami.filters import FilterSet

if TYPE_CHECKING:
    from cti.simulator.ami.server import AmiServer

__all__ = ["BANNER", "EPOCH_TV", "AmiSession", "event_tv"]

# The server's logger: a session's records keep the name they had before this split.
log = logging.getLogger("cti.simulator.ami.server")

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_OUTPUT_BUFFER = 32 * 1024 * 1024
EPOCH_TV = "1970-01-01T00:00:00.000+0000"
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


def event_tv(moment: float) -> str:
    """*moment* as Asterisk writes an ``EventTV``/``SessionTV`` (UTC, milliseconds)."""
    stamp = datetime.fromtimestamp(moment, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


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
        self.session_tv = EPOCH_TV
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
        self.session_tv = event_tv(time.time())
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
