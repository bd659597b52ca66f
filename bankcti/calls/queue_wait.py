"""A caller waiting in an ACD queue, inside the FastAGI session.

Music on hold plays while the ACD looks for an agent.  On entry, and every
``announce_seconds`` of the queue, the caller hears their position and the
estimated wait (:meth:`acd.Acd.wait_estimate` picks Erlang C or observed
handling times).  The caller may press the queue's callback key at any time
to hang up and be called back *keeping their place*.  When the ACD ends the
wait itself (:class:`acd.QueueExit`: no agent logged in, queue closed,
maximum wait) the caller hears why and, where the queue says so, is offered
a callback.

An agent reserved while the caller hears an announcement must not wait for
its end (``queue-callback-key`` lasts ~6 s) while their console shows a
ringing call and their phone is silent.  Every announcement file is played
with ``STREAM FILE`` stopped the moment the ACD reserves an agent
(:meth:`cti.fastagi.AgiChannel.stream_file` ``until``: res_agi ends a
``STREAM FILE`` as soon as the next command reaches its socket).  Two
pieces stay uninterruptible and bound the delay: a ``SAY NUMBER`` (the
position or the minutes, well under a second; res_agi gives the say commands
no way to be stopped over FastAGI) and a music-on-hold slice
(``WAIT FOR DIGIT`` of ``hold_poll_ms``).  Stopping through the session
itself needs nothing else: AMI ``ControlPlayback`` (stop) or a ``PlayDTMF``
escape digit would also end the playback, but need the AMI link and the
channel's name, and the digit would show in the call's events as a key the
caller never pressed; ``Redirect`` would end the FastAGI session.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from acd import Acd, Offer, QueueConfig, QueuedCall, QueueExit, Ticket
from acd.estimate import announce_minutes
from cti.fastagi import AgiChannel

__all__ = ["CallbackDesk", "QueueWait", "WaitResult"]

log = logging.getLogger(__name__)


class CallbackDesk(Protocol):
    """Where a waiting caller's callback request goes (:class:`bankcti.callbacks.engine.CallbackEngine`)."""

    async def keep_place(self, call: QueuedCall, number: str) -> str:
        """Store the request and queue it in ``call``'s place; returns the caller's reference."""
        ...


@dataclass(frozen=True)
class WaitResult:
    """How the wait ended: an ``offer``, or an ``outcome`` for the history (no offer)."""

    offer: Offer | None = None
    outcome: str | None = None


class QueueWait:
    """Runs the wait of one call; ``number`` is the caller's E.164 number for a callback (or ``None``)."""

    def __init__(
        self,
        channel: AgiChannel,
        acd: Acd,
        ticket: Ticket,
        *,
        callbacks: CallbackDesk | None,
        number: str | None,
        moh_class: str,
        poll_ms: int,
    ) -> None:
        self._channel = channel
        self._acd = acd
        self._ticket = ticket
        self._callbacks = callbacks if number else None
        self._number = number
        self._moh = moh_class
        self._poll_ms = poll_ms
        self._announced_at: float | None = None
        self._music_on = False
        self.announcements: list[tuple[int, float, str]] = []  # (position, seconds, method)

    async def wait(self) -> WaitResult:
        """Wait for the current offer; see the module docstring for the other endings."""
        channel = self._channel
        offer = self._ticket.offer
        while not offer.done():
            config = self._acd.queue_config(self._ticket.call.queue)
            now = time.time()
            digit = ""
            if self._announced_at is None or now - self._announced_at >= config.announce_seconds:
                await self._music(False)
                digit = await self._announce(config, first=self._announced_at is None)
                self._announced_at = time.time()
                if offer.done():
                    break
            if not digit:
                # One SET MUSIC per stretch of waiting, not per poll: the slices stay one AGI command each.
                await self._music(True)
                digit = await channel.wait_for_digit(self._poll_ms)
            if digit and digit == config.callback_key and self._callbacks is not None and not offer.done():
                await self._music(False)
                return await self._keep_place()
        await self._music(False)
        try:
            return WaitResult(offer=offer.result())
        except QueueExit as exit_:
            return await self._exited(exit_)

    async def _music(self, on: bool) -> None:
        if on != self._music_on:
            await self._channel.set_music(on, self._moh if on else "")
            self._music_on = on

    async def _announce(self, config: QueueConfig, *, first: bool) -> str:
        """Position and wait; returns the callback key if the caller pressed it during the prompt."""
        figures = self._acd.wait_estimate(self._ticket.call.call_id)
        if figures is None:
            return ""
        position, estimate = figures
        prompts: list[tuple[str, str | int]] = [
            ("file", "bankcti/queue-position"),
            ("number", position),
            ("file", "bankcti/queue-in-line"),
        ]
        if estimate.method != "none":
            minutes = announce_minutes(estimate.seconds)
            if minutes <= 1 and estimate.seconds < 60:
                prompts.append(("file", "bankcti/queue-wait-short"))
            else:
                prompts += [("file", "bankcti/queue-wait"), ("number", minutes), ("file", "bankcti/minutes")]
        pressed = ""
        for kind, what in prompts:
            if self._ticket.offer.done():
                # An agent was reserved meanwhile: their phone must not ring behind the rest of the message.
                return ""
            if kind == "number":
                await self._channel.say_number(int(what))
            else:
                await self._channel.stream_file(str(what), until=self._ticket.offer)
        if first and self._callbacks is not None and not self._ticket.offer.done():
            pressed = await self._channel.stream_file(
                "bankcti/queue-callback-key", config.callback_key, until=self._ticket.offer
            )
        self.announcements.append((position, estimate.seconds, estimate.method))
        log.info(
            "queue.announced",
            extra={
                "call_id": self._ticket.call.call_id,
                "position": position,
                "estimate_seconds": round(estimate.seconds, 1),
                "method": estimate.method,
            },
        )
        return pressed

    async def _keep_place(self) -> WaitResult:
        assert self._callbacks is not None and self._number is not None
        call = self._ticket.call
        # Leave the queue first: the callback takes the very same place (same arrival time).
        await self._acd.cancel(call.call_id, reason="callback")
        reference = await self._callbacks.keep_place(call, self._number)
        await self._channel.stream_file("bankcti/callback-kept")
        log.info("queue.callback_kept", extra={"call_id": call.call_id, "reference": reference})
        return WaitResult(outcome="callback_requested")

    async def _exited(self, exit_: QueueExit) -> WaitResult:
        channel = self._channel
        if exit_.action == "callback" and self._callbacks is not None:
            prompt = "bankcti/no-agents" if exit_.reason == "no_agents" else "bankcti/all-busy"
            await channel.stream_file(prompt)
            choice = await channel.get_data("bankcti/callback-offer", 5000, 1)
            if choice == "1":
                assert self._number is not None
                reference = await self._callbacks.keep_place(self._ticket.call, self._number)
                await channel.stream_file("bankcti/callback-kept")
                log.info(
                    "queue.callback_after_exit",
                    extra={"call_id": self._ticket.call.call_id, "ref": reference},
                )
                return WaitResult(outcome="callback_requested")
            await channel.stream_file("bankcti/goodbye")
        elif exit_.reason == "closed":
            await channel.stream_file("bankcti/closed")
        else:
            await channel.stream_file(
                "bankcti/no-agents" if exit_.reason == "no_agents" else "bankcti/all-busy"
            )
            await channel.stream_file("bankcti/goodbye")
        return WaitResult(outcome="closed" if exit_.reason == "closed" else "no_agent")
