"""The waiting caller's handle on its place in the ACD."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from acd.model import Offer, QueuedCall

__all__ = ["CallWithdrawn", "QueueExit", "Ticket"]


class CallWithdrawn(Exception):
    """The call left the ACD (cancelled or ended) before an agent was offered."""


class QueueExit(CallWithdrawn):
    """The ACD itself ends the wait: ``reason`` is ``max_wait``, ``no_agents`` or ``closed``.

    ``action`` is what the queue prescribes next (``callback`` offer or
    ``closed`` message); the call flow plays it.
    """

    def __init__(self, message: str, *, reason: str, action: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.action = action


def _consume(future: asyncio.Future[Offer]) -> None:
    # Nobody may be awaiting a withdrawn call's offer; retrieving the
    # exception keeps asyncio from logging "exception was never retrieved".
    if not future.cancelled():
        future.exception()


class Ticket:
    """Returned by :meth:`Acd.enqueue <acd.core.Acd.enqueue>`.

    ``offer`` is the future of the *current* attempt: it resolves with an
    :class:`Offer` when an agent is reserved for the call.  When that agent
    does not answer (:meth:`Acd.offer_failed <acd.core.Acd.offer_failed>`)
    the call goes back to the head of its queue and ``offer`` becomes a new
    future, so the call flow loops::

        ticket = await acd.enqueue(call)
        while True:
            offer = await ticket.next_offer()     # CallWithdrawn if cancelled
            if await ring(offer.device):
                await acd.call_connected(call.call_id)
                break
            await acd.offer_failed(call.call_id)
    """

    def __init__(
        self,
        call: QueuedCall,
        position: Callable[[str], int | None],
        on_offer: Callable[[Offer], None] | None = None,
    ) -> None:
        self._call = call
        self._position = position
        self._offer: asyncio.Future[Offer] = asyncio.get_running_loop().create_future()
        self._attempts = 0
        self._on_offer = on_offer

    @property
    def call(self) -> QueuedCall:
        """The queued call (with ``enqueued_at`` stamped)."""
        return self._call

    @property
    def offer(self) -> asyncio.Future[Offer]:
        """Future of the current offer attempt."""
        return self._offer

    @property
    def attempts(self) -> int:
        """How many offers were made for this call so far."""
        return self._attempts

    def position(self) -> int | None:
        """1-based place among the calls waiting in the queue; ``None`` once offered or gone."""
        return self._position(self._call.call_id)

    async def next_offer(self) -> Offer:
        """Wait for the current offer; cancelling the wait leaves the ticket intact.

        Raises :class:`CallWithdrawn` when the call left the ACD first.
        """
        return await asyncio.shield(self._offer)

    # The methods below are called by the ACD only.

    def _resolve(self, offer: Offer) -> None:
        if self._offer.done():
            # Someone cancelled the future itself; start a fresh one so the offer is not lost.
            self._offer = asyncio.get_running_loop().create_future()
        self._attempts += 1
        self._offer.set_result(offer)
        if self._on_offer is not None:
            # Called synchronously, at the very moment of the reservation: the
            # screen-pop must not wait for whoever awaits the future.
            self._on_offer(offer)

    def _moved(self, call: QueuedCall) -> None:
        self._call = call

    def _rearm(self) -> None:
        if self._offer.done():
            self._offer = asyncio.get_running_loop().create_future()

    def _withdraw(self, reason: str, exit_: QueueExit | None = None) -> None:
        if self._offer.done():
            self._offer = asyncio.get_running_loop().create_future()
        self._offer.add_done_callback(_consume)
        self._offer.set_exception(exit_ or CallWithdrawn(f"call {self._call.call_id} {reason}"))
