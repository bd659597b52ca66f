"""Wrap-up after a call: its time, the agent's extension, and the disposition a queue may require.

:class:`WrapUps` is a part of :class:`acd.core.Acd` (kept in its own module
for size).  When a call ends its agent is in ``wrap_up`` for the queue's
``wrapup_seconds``, then available (or back to a pause ordered meanwhile,
``pause_after_call``).  The agent may extend the wrap-up
(:meth:`WrapUps.extend_wrapup`) up to ``wrapup_max_seconds`` after the
call's end.

With the queue's ``disposition_required`` (VICIdial's "disposition before
the next call"), an agent whose wrap-up time is over before the call's
wrap-up was saved (:meth:`WrapUps.wrapup_saved`) stays in ``wrap_up`` —
offered nothing — until it is saved (then at once available) or until
``wrapup_max_seconds`` after the call's end (then available).  A call of
such a queue not saved by then is reported :class:`~acd.events.WrapUpMissed`,
whatever its agent did meanwhile (a supervisor may still set them free).
Meanwhile the agent may not go ready nor pause (:class:`InvalidTransition`,
"save the call's wrap-up first"); they may log out.

Wrap-up timers do not survive a restart: an agent restored in ``wrap_up``
comes back available, and a call whose wrap-up was pending then is never
reported missed.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from acd.agents import LOGOUT_AFTER_CALL
from acd.config import QueueConfig
from acd.events import BusEvent, WrapUpMissed
from acd.model import BUSY, AgentRecord, AgentState, InvalidTransition, UnknownAgent

__all__ = ["WrapUpWindow", "WrapUps"]

#: Saved calls remembered for calls that have not ended yet (a wrap-up saved during the call).
_SAVED_REMEMBERED = 10_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WrapUpWindow:
    """An agent's wrap-up of ``call_id`` (times are the ACD clock's epoch seconds).

    ``until``: when it ends by itself (moved by an extension); ``max_until``:
    the latest it may last (``wrapup_max_seconds`` after the call's end);
    ``required``: the queue requires the wrap-up saved and it is not yet;
    ``held``: ``until`` passed while ``required`` — the agent waits for the save.
    """

    call_id: str
    queue: str | None
    ended_at: float
    until: float
    max_until: float
    required: bool
    held: bool = False


@dataclass(frozen=True)
class _Miss:
    handle: asyncio.TimerHandle
    login: str
    queue: str


class WrapUps:
    """Wrap-up timers, extensions and required dispositions of the ACD's agents."""

    _agents: dict[str, AgentRecord]
    _clock: Callable[[], float]
    _outbox: list[BusEvent]
    _wrapups: dict[str, asyncio.TimerHandle]
    _windows: dict[str, WrapUpWindow]
    _misses: dict[str, _Miss]
    _saved: OrderedDict[str, None]
    _flushes: set[asyncio.Task[None]]
    wrapup_seconds: float

    if TYPE_CHECKING:  # provided by acd.core.Acd and acd.agents.AgentBook

        async def _flush(self) -> None: ...
        def _offer_agent(self, login: str, now: float) -> None: ...
        def _change(
            self,
            login: str,
            state: AgentState,
            *,
            reason: str | None = None,
            call_id: str | None = None,
            became_available: bool = False,
            handled: int = 0,
            offer_seq: int | None = None,
        ) -> AgentRecord: ...

    # -- the agent's side ------------------------------------------------------------

    def wrapup_window(self, login: str) -> WrapUpWindow | None:
        """The wrap-up ``login`` is in, ``None`` when they are not in ``wrap_up``."""
        record = self._agents.get(login)
        if record is None or record.state is not AgentState.WRAP_UP:
            return None
        return self._windows.get(login)

    async def extend_wrapup(self, login: str, seconds: float) -> float:
        """Lengthen ``login``'s wrap-up by ``seconds``; returns when it now ends (epoch seconds).

        The extension counts from the current end (from now once that has
        passed) and may not go beyond ``wrapup_max_seconds`` after the call's
        end.  Raises :class:`ValueError` for seconds that are not a positive
        number or reach beyond that maximum, :class:`InvalidTransition` when
        the agent is not in wrap-up, :class:`UnknownAgent` for an unknown login.
        Nothing changes when refused.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
            raise ValueError("extend the wrap-up by a number of seconds")
        if seconds <= 0:
            raise ValueError(f"extend the wrap-up by a positive number of seconds, got {seconds:g}")
        record = self._agents.get(login)
        if record is None:
            raise UnknownAgent(f"no agent {login!r}")
        window = self.wrapup_window(login)
        if window is None:
            raise InvalidTransition(
                f"agent {login} is {record.state.value}, not in wrap-up: there is no wrap-up to extend"
            )
        now = self._clock()
        until = max(window.until, now) + seconds
        if until > window.max_until + 1e-6:
            limit = window.max_until - window.ended_at
            left = max(0.0, window.max_until - max(window.until, now))
            raise ValueError(
                f"agent {login}: the wrap-up of call {window.call_id} may last at most {limit:g} s "
                f"after the call; it can be extended by {math.floor(left):d} s more at most"
            )
        self._windows[login] = replace(window, until=until, held=False)
        self._arm(login, until - now)
        log.info("acd.wrapup_extended", extra={"agent": login, "call_id": window.call_id, "until": until})
        return until

    async def wrapup_saved(self, login: str, call_id: str) -> None:
        """The wrap-up of ``call_id`` was saved (by ``login``): it is no longer missing.

        The agent whose wrap-up it is no longer needs it to go on: if they are
        held for it, they are available at once (or back to their pause).  A
        call that is no one's current wrap-up (saved during the call, or long
        after) is remembered as saved, so its wrap-up requires nothing and it
        is never reported missed.  Idempotent.
        """
        self._saved[call_id] = None
        self._saved.move_to_end(call_id)
        while len(self._saved) > _SAVED_REMEMBERED:
            self._saved.popitem(last=False)
        miss = self._misses.pop(call_id, None)
        if miss is not None:
            miss.handle.cancel()
        released = []
        for agent, window in list(self._windows.items()):
            if window.call_id != call_id or not window.required:
                continue
            self._windows[agent] = replace(window, required=False)
            if window.held:
                self._cancel_wrapup(agent)
                self._wrapup_over(agent, flush=False)
                released.append(agent)
        log.info("acd.wrapup_saved", extra={"agent": login, "call_id": call_id, "released": released})
        await self._flush()

    def _refuse_unsaved(self, login: str, target: AgentState) -> None:
        """An agent may not go ready or pause while a required wrap-up is unsaved."""
        window = self.wrapup_window(login)
        if window is None or not window.required or target is AgentState.LOGGED_OUT:
            return
        raise InvalidTransition(
            f"agent {login}: save the call's wrap-up first (call {window.call_id}: "
            f"queue {window.queue} requires a wrap-up before the next call)"
        )

    # -- timers ------------------------------------------------------------------------

    def _after_call(
        self, login: str, call_id: str, config: QueueConfig | None, *, skip_wrapup: bool = False
    ) -> None:
        """``login``'s call ended: wrap-up by ``config`` (the ACD's defaults for a call of no queue).

        ``skip_wrapup``: no wrap-up at all (a call the agent's busy device had, not one they handled).
        """
        record = self._agents[login]
        if record.call_id != call_id or record.state not in BUSY:
            return
        now = self._clock()
        wrapup = config.wrapup_seconds if config is not None else self.wrapup_seconds
        if skip_wrapup:
            wrapup, config = 0.0, None
        limit = config.wrapup_limit if config is not None else max(QueueConfig.wrapup_max_seconds, wrapup)
        required = config is not None and config.disposition_required and call_id not in self._saved
        if required:
            assert config is not None
            self._watch_miss(call_id, login, config.name, limit)
        if wrapup <= 0 and not required:
            self._wrapup_over(login, flush=False)
            return
        queue = config.name if config is not None else None
        self._windows[login] = WrapUpWindow(call_id, queue, now, now + wrapup, now + limit, required)
        self._change(login, AgentState.WRAP_UP, call_id=call_id)
        self._arm(login, wrapup)

    def _arm(self, login: str, delay: float) -> None:
        handle = self._wrapups.pop(login, None)
        if handle is not None:
            handle.cancel()
        loop = asyncio.get_running_loop()
        self._wrapups[login] = loop.call_later(max(0.0, delay), self._wrapup_due, login)

    def _wrapup_due(self, login: str) -> None:
        window = self._windows.get(login)
        now = self._clock()
        if window is not None and window.required and now < window.max_until:
            # The wrap-up time is over, the required wrap-up is not saved: no offer until then.
            self._windows[login] = replace(window, held=True)
            self._arm(login, window.max_until - now)
            log.info("acd.wrapup_held", extra={"agent": login, "call_id": window.call_id})
            return
        self._wrapup_over(login)

    def _wrapup_over(self, login: str, *, flush: bool = True) -> None:
        # Every other way out of wrap-up cancels this timer first (_cancel_wrapup).
        self._wrapups.pop(login, None)
        self._windows.pop(login, None)
        pending = self._agents[login].pause_after_call
        if pending == LOGOUT_AFTER_CALL:
            self._change(login, AgentState.LOGGED_OUT)
        elif pending is not None:
            self._change(login, AgentState.PAUSED, reason=pending)
        else:
            self._change(login, AgentState.AVAILABLE, became_available=True)
            self._offer_agent(login, self._clock())
        if flush:
            self._flush_soon()

    def _cancel_wrapup(self, login: str) -> None:
        handle = self._wrapups.pop(login, None)
        if handle is not None:
            handle.cancel()
        self._windows.pop(login, None)

    def _watch_miss(self, call_id: str, login: str, queue: str, limit: float) -> None:
        old = self._misses.pop(call_id, None)
        if old is not None:
            old.handle.cancel()
        handle = asyncio.get_running_loop().call_later(max(0.0, limit), self._missed, call_id)
        self._misses[call_id] = _Miss(handle, login, queue)

    def _missed(self, call_id: str) -> None:
        miss = self._misses.pop(call_id, None)
        if miss is None:
            return
        self._outbox.append(
            WrapUpMissed(call_id=call_id, agent_login=miss.login, queue=miss.queue, at=self._clock())
        )
        log.warning("acd.wrapup_missed", extra={"agent": miss.login, "call_id": call_id, "queue": miss.queue})
        window = self._windows.get(miss.login)
        if window is not None and window.call_id == call_id and window.held:
            self._cancel_wrapup(miss.login)
            self._wrapup_over(miss.login, flush=False)
        self._flush_soon()

    def _stop_wrapups(self) -> None:
        for handle in self._wrapups.values():
            handle.cancel()
        self._wrapups.clear()
        self._windows.clear()
        for miss in self._misses.values():
            miss.handle.cancel()
        self._misses.clear()

    def _flush_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)
