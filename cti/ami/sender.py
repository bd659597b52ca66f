"""Sending AMI actions over the client's current link and awaiting their answers.

:class:`AmiSender` is the action half of :class:`cti.ami.client.AmiClient`:
it numbers each action (``ActionID``), registers it with the
:class:`~cti.ami.correlator.ActionCorrelator` before writing it, and waits
at most ``action_timeout`` for the answer.  Which link is current, and
whether it is logged in, is the client's business (connection lifecycle,
reconnects, ping watchdog); an action sent while not connected fails at once
with :class:`AmiConnectionError`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from typing import cast

from cti.ami.commands import AmiCommands, FieldValue, field_pairs
from cti.ami.correlator import ActionCorrelator
from cti.ami.errors import AmiConnectionError, AmiTimeoutError
from cti.ami.message import AmiMessage
from cti.ami.protocol import AmiLink

__all__ = ["AmiSender"]

# The client's logger: an action's records carry the same name as the rest of the link's.
log = logging.getLogger("cti.ami.client")


class AmiSender(AmiCommands):
    """Actions and their answers; the subclass owns the link and sets these attributes."""

    host: str
    port: int
    last_ping_rtt: float | None
    _action_timeout: float
    _correlator: ActionCorrelator
    _ids: itertools.count[int]
    _link: AmiLink | None
    _connected: bool

    async def _send(
        self,
        link: AmiLink,
        action: str,
        pairs: Sequence[tuple[str, str]],
        *,
        as_list: bool,
        limit: float | None,
    ) -> AmiMessage | list[AmiMessage]:
        action_id = f"{action.lower()}-{next(self._ids)}"
        future = self._correlator.expect(action_id, action, as_list=as_list)
        link.send_message([("Action", action), ("ActionID", action_id), *pairs])
        log.debug("ami.action", extra={"action": action, "action_id": action_id})
        limit = self._action_timeout if limit is None else limit
        try:
            async with asyncio.timeout(limit):
                return await future
        except TimeoutError:
            raise AmiTimeoutError(f"AMI action {action} got no response within {limit} s") from None
        finally:
            self._correlator.discard(action_id)

    async def _request(
        self, link: AmiLink, action: str, pairs: Sequence[tuple[str, str]], *, limit: float | None = None
    ) -> AmiMessage:
        return cast(AmiMessage, await self._send(link, action, pairs, as_list=False, limit=limit))

    def _live_link(self) -> AmiLink:
        if not self._connected or self._link is None:
            raise AmiConnectionError(f"AMI at {self.host}:{self.port} is not connected")
        return self._link

    async def action(self, action: str, **fields: FieldValue) -> AmiMessage:
        """Send one action and return its response.

        A sequence value repeats the key (``Variable=["A=1", "B=2"]``).  Raises
        :class:`AmiActionError` on ``Response: Error``, :class:`AmiTimeoutError`
        after ``action_timeout``, :class:`AmiConnectionError` when not connected.
        """
        return await self._request(self._live_link(), action, field_pairs(fields))

    async def action_list(self, action: str, **fields: FieldValue) -> list[AmiMessage]:
        """Send a list action and return its items (without the ``…Complete`` event)."""
        link = self._live_link()
        result = await self._send(link, action, field_pairs(fields), as_list=True, limit=None)
        return cast(list[AmiMessage], result)

    async def _originate(self, pairs: Sequence[tuple[str, str]]) -> AmiMessage:
        return await self._request(self._live_link(), "Originate", pairs)

    async def ping(self) -> float:
        """Round-trip time of one ``Ping``, in seconds."""
        return await self._ping(self._live_link(), None)

    async def _ping(self, link: AmiLink, limit: float | None) -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self._request(link, "Ping", [], limit=limit)
        self.last_ping_rtt = loop.time() - started
        return self.last_ping_rtt
