"""The TCP side of the AMI link: panoramisk's protocol with our framing.

panoramisk 1.4 provides the connection plumbing (``Manager.connect`` builds the
connection through a ``protocol_factory``; ``AMIProtocol`` owns the transport),
but three of its parts are unusable for a CTI service and are replaced here:

* ``AMIProtocol.data_received`` decodes each TCP chunk on its own, so a UTF-8
  character split between two reads is dropped ("Zoë" becomes "Zo"); we frame
  with :class:`cti.ami.message.AmiParser`, whose decoder is incremental;
* ``Manager.connection_lost`` schedules a reconnect that ``close()`` never
  cancels, with a delay truncated to whole seconds; the link reports the loss
  to its owner instead, which decides (see :class:`cti.ami.client.AmiClient`);
* panoramisk's action correlation guesses list responses from the message
  text (``"successfully queued"`` reads ``action['async']`` and raises
  ``KeyError`` for an Originate or a PlayDTMF without ``Async``); the owner
  correlates by ``ActionID`` itself.

A peer that breaks the framing limits of :class:`~cti.ami.message.AmiParser`
(an endless line, a message without end) is cut off at once: the connection
is aborted and ``link_lost`` reports the :class:`~cti.ami.message.AmiFramingError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from cti.ami.message import AmiFramingError, AmiMessage, AmiParser, encode

__all__ = ["AmiLink", "LinkOwner", "open_link"]


class LinkOwner(Protocol):
    """What an :class:`AmiLink` reports to (the AMI client)."""

    def link_message(self, link: AmiLink, message: AmiMessage) -> None: ...

    def link_lost(self, link: AmiLink, exc: Exception | None) -> None: ...


class AmiLink(AMIProtocol):  # type: ignore[misc]
    """One AMI TCP connection: bytes in → :class:`AmiMessage` out, and back.

    Every complete message goes to ``owner.link_message`` in arrival order;
    the end of the connection goes to ``owner.link_lost`` exactly once, with
    the :class:`~cti.ami.message.AmiFramingError` when we cut the peer off.
    """

    def __init__(self, owner: LinkOwner) -> None:
        super().__init__()
        self._owner = owner
        self._parser = AmiParser(expect_banner=True)
        self._lost = False
        self._violation: AmiFramingError | None = None
        # Both are set again by AMIProtocol.connection_made.
        self.transport: asyncio.Transport | None = None
        self.closed = True

    @property
    def banner(self) -> str | None:
        """The server greeting, e.g. ``"Asterisk Call Manager/11.0.0"``."""
        return self._parser.banner

    @property
    def buffered(self) -> int:
        """Characters held for a message not yet complete (bounded by the parser's limit)."""
        return self._parser.buffered

    def data_received(self, data: bytes) -> None:
        if self._violation is not None:
            return  # cut off already; the transport may still deliver what it had read
        try:
            for message in self._parser.iter_feed(data):
                self._owner.link_message(self, message)
        except AmiFramingError as exc:
            self._violation = exc
            self.abort()

    def send_message(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Write one message; a closed transport drops it silently.

        A write on a dying connection cannot be reported better than by the
        ``link_lost`` that follows, and the pending action then fails with it.
        """
        if not self.closed and self.transport is not None:
            self.transport.write(encode(pairs))

    def abort(self) -> None:
        """Drop the connection at once (no FIN handshake): the peer is dead."""
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self._lost:
            self._lost = True
            self._owner.link_lost(self, self._violation or exc)


class _Connector(Manager):  # type: ignore[misc]
    """panoramisk's Manager used only to open the connection.

    Its ``connection_made`` callback would log in with panoramisk's own
    actions and start its pinger; the client does both itself, so the
    callback is a no-op and the result is taken from the returned task.
    """

    def connection_made(self, future: Any) -> None:
        return None


async def open_link(host: str, port: int, owner: LinkOwner, *, limit: float) -> AmiLink:
    """Open a TCP connection to ``host:port`` and return its :class:`AmiLink`.

    Raises :class:`OSError` (refused, unreachable) or :class:`TimeoutError`
    (no connection within ``limit`` seconds).
    """
    loop = asyncio.get_running_loop()
    connector = _Connector(
        host=host,
        port=port,
        loop=loop,
        protocol_factory=lambda: AmiLink(owner),
    )
    task: asyncio.Task[tuple[asyncio.BaseTransport, AmiLink]] = connector.connect()
    try:
        async with asyncio.timeout(limit):
            _, link = await task
    except BaseException:
        task.cancel()
        if task.done() and not task.cancelled() and task.exception() is None:
            # Connected just as the timeout fired: do not leak the socket.
            task.result()[1].close()
        raise
    return link
