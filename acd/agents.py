"""Agent operations of the ACD: registration, requested and forced states, restore and reconcile.

:class:`AgentBook` is a part of :class:`acd.core.Acd` (kept in its own module
for size); it relies on the ACD's routing internals declared below.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from acd.events import AgentStateChanged, BusEvent
from acd.model import BUSY, REQUESTABLE, AgentRecord, AgentState, InvalidTransition, UnknownAgent
from acd.router import Router

if TYPE_CHECKING:
    from acd.wrapups import WrapUpWindow

__all__ = ["LOGOUT_AFTER_CALL", "AgentBook", "SavedAgentState"]

#: ``pause_after_call`` value of a log-out a supervisor forced during a call.
LOGOUT_AFTER_CALL = "logged-out-by-supervisor"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedAgentState:
    """An agent's state as persisted (see :meth:`AgentBook.restore`)."""

    login: str
    state: str
    reason: str | None
    since: float
    call_id: str | None
    last_available_at: float | None
    calls_handled: int
    handled_on: date | None


class AgentBook:
    """Agents of the ACD."""

    _agents: dict[str, AgentRecord]
    _router: Router
    _clock: Callable[[], float]
    _outbox: list[BusEvent]
    _wrapups: dict[str, asyncio.TimerHandle]
    _windows: dict[str, WrapUpWindow]

    wrapup_seconds: float

    if TYPE_CHECKING:  # provided by acd.core.Acd and acd.waits.WaitRules

        def add_queue(self, queue: str) -> None: ...
        def _offer_agent(self, login: str, now: float) -> None: ...
        def _offer_call(self, call_id: str, now: float) -> None: ...
        def _cancel_wrapup(self, login: str) -> None: ...
        def _routed_calls(self) -> set[str]: ...
        def _refuse_unsaved(self, login: str, target: AgentState) -> None: ...
        async def _flush(self) -> None: ...

    def register_agent(
        self,
        login: str,
        name: str,
        device: str,
        queues: Iterable[str],
        *,
        skills: Mapping[str, int] | None = None,
        teams: Iterable[str] = (),
    ) -> AgentRecord:
        """Add a logged-out agent serving ``queues`` with ``skills`` (proficiency 1–5).

        ``device`` is what the call flow dials.  A queue the agent serves is
        added with default settings if it does not exist yet.
        """
        if login in self._agents:
            raise ValueError(f"agent {login} is already registered")
        served = frozenset([queues] if isinstance(queues, str) else queues)
        levels = _levels(login, skills)
        for queue in sorted(served):
            self.add_queue(queue)
        record = AgentRecord(
            login=login,
            name=name,
            device=device,
            queues=served,
            since=self._clock(),
            skills=levels,
            teams=frozenset(teams),
        )
        self._agents[login] = record
        self._router.update_agent(record)
        return record

    async def update_agent(
        self,
        login: str,
        *,
        name: str,
        device: str,
        queues: Iterable[str],
        skills: Mapping[str, int] | None = None,
        teams: Iterable[str] = (),
    ) -> AgentRecord:
        """Change a registered agent's name, device, queues, skills or teams while the ACD runs.

        The state is kept: an available agent is offered at once a call their new
        queues or skills let them take; a call already offered or talking goes on
        (a new device is dialled from the next offer).  Raises :class:`UnknownAgent`
        if ``login`` is not registered, :class:`ValueError` for a proficiency outside 1..5.
        """
        old = self.status(login)
        served = frozenset([queues] if isinstance(queues, str) else queues)
        levels = _levels(login, skills)
        for queue in sorted(served):
            self.add_queue(queue)
        record = replace(old, name=name, device=device, queues=served, skills=levels, teams=frozenset(teams))
        self._agents[login] = record
        self._router.update_agent(record)
        log.info("acd.agent_updated", extra={"agent": login, "queues": sorted(served), "device": device})
        self._offer_agent(login, self._clock())
        await self._flush()
        return self._agents[login]

    async def retire_agent(self, login: str) -> bool:
        """Take ``login`` out of routing for good (a disabled account); ``True`` once gone.

        No call is offered to them any more.  An agent who is not busy is logged
        out (recorded as any log-out) and forgotten; one on a call keeps it, is
        logged out when it and its wrap-up end, and is forgotten by the next call
        of this method (``False`` until then).  Unknown logins count as gone.
        """
        record = self._agents.get(login)
        if record is None:
            return True
        record = replace(record, queues=frozenset())
        self._agents[login] = record
        self._router.update_agent(record)
        if record.state in BUSY:
            self._agents[login] = replace(record, pause_after_call=LOGOUT_AFTER_CALL)
            log.info("acd.agent_retiring", extra={"agent": login, "call_id": record.call_id})
            return False
        if record.state is not AgentState.LOGGED_OUT:
            self._go(login, AgentState.LOGGED_OUT, None)
            await self._flush()
        self._cancel_wrapup(login)
        del self._agents[login]
        self._router.remove_agent(login)
        log.info("acd.agent_retired", extra={"agent": login})
        return True

    def status(self, login: str) -> AgentRecord:
        """The agent's current record; :class:`UnknownAgent` if not registered."""
        try:
            return self._agents[login]
        except KeyError:
            raise UnknownAgent(f"no agent {login!r}") from None

    def agents(self) -> list[AgentRecord]:
        return list(self._agents.values())

    def _is_logged_in(self, login: str) -> bool:
        record = self._agents.get(login)
        return record is not None and record.state is not AgentState.LOGGED_OUT

    async def set_agent_state(
        self, login: str, state: AgentState | str, reason: str | None = None
    ) -> AgentRecord:
        """An agent asks for ``available``, ``paused`` (with ``reason``) or ``logged_out``.

        Going available from wrap-up ends the wrap-up early, unless its queue
        requires the wrap-up saved and it is not yet (see :mod:`acd.wrapups`:
        no ready nor pause then, only a log-out).  Raises
        :class:`InvalidTransition` for any other target, or while the agent
        is reserved, ringing or on a call.  Returns the record after routing
        (an agent who became available may already be ringing).
        """
        record = self.status(login)
        target = _target(login, state)
        allowed = REQUESTABLE.get(target)
        if allowed is None:
            raise InvalidTransition(
                f"agent {login}: cannot ask for {target}; agents ask for available, paused or logged_out"
            )
        if record.state not in allowed:
            raise InvalidTransition(
                f"agent {login} is {record.state} on call {record.call_id}: "
                f"cannot go {target} before the call ends"
            )
        if record.state is target and (target is not AgentState.PAUSED or record.reason == reason):
            return record
        self._refuse_unsaved(login, target)
        self._go(login, target, reason)
        await self._flush()
        return self._agents[login]

    async def force_state(
        self, login: str, state: AgentState | str, reason: str | None = None, *, by: str | None = None
    ) -> AgentRecord:
        """A supervisor sets an agent ``paused``, ``logged_out`` or ``available``.

        An agent busy with a call is not cut off: a forced pause or log-out
        takes effect when the call and its wrap-up end (the record shows it
        in ``pause_after_call``).
        """
        record = self.status(login)
        target = _target(login, state)
        if target not in REQUESTABLE:
            raise InvalidTransition(f"agent {login}: a supervisor may set available, paused or logged_out")
        reason = reason or ("supervisor" if target is AgentState.PAUSED else None)
        log.info("acd.agent_forced", extra={"agent": login, "state": target.value, "by": by})
        if record.state in BUSY:
            if target is AgentState.AVAILABLE:
                self._agents[login] = replace(record, pause_after_call=None)
            else:
                pending = reason if target is AgentState.PAUSED else LOGOUT_AFTER_CALL
                self._agents[login] = replace(record, pause_after_call=pending)
            return self._agents[login]
        self._go(login, target, reason)
        await self._flush()
        return self._agents[login]

    async def external_call(self, login: str, call_id: str) -> AgentRecord:
        """``login`` is on a call the ACD did not route (click-to-dial, a transfer to them).

        They are ``on_call`` with ``call_id`` — never offered another call
        meanwhile — and :meth:`call_ended` with that id ends it as any other
        call (wrap-up, then available; a paused agent goes back to their pause).
        Raises :class:`InvalidTransition` when they are already busy or logged out.
        """
        record = self.status(login)
        if record.state in BUSY or record.state is AgentState.LOGGED_OUT:
            raise InvalidTransition(f"agent {login} is {record.state.value}: cannot take call {call_id}")
        self._cancel_wrapup(login)
        paused = record.reason if record.state is AgentState.PAUSED else None
        self._change(login, AgentState.ON_CALL, call_id=call_id)
        if paused is not None:
            self._agents[login] = replace(self._agents[login], pause_after_call=paused)
        await self._flush()
        return self._agents[login]

    def _go(self, login: str, target: AgentState, reason: str | None) -> None:
        self._cancel_wrapup(login)
        now = self._clock()
        if target is AgentState.AVAILABLE:
            self._change(login, target, became_available=True)
            self._offer_agent(login, now)
            return
        self._change(login, target, reason=reason if target is AgentState.PAUSED else None)
        if target is AgentState.LOGGED_OUT:
            # Calls held for this relationship manager may go to anyone now.
            for call_id in self._router.calls_of_owner(login):
                self._offer_call(call_id, now)

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
    ) -> AgentRecord:
        old = self._agents[login]
        now = self._clock()
        window = self._windows.get(login) if state is AgentState.WRAP_UP else None
        record = replace(
            old,
            state=state,
            reason=reason,
            since=now,
            call_id=call_id,
            last_available_at=now if became_available else old.last_available_at,
            calls_handled=old.calls_handled + handled,
            last_offer=old.last_offer if offer_seq is None else offer_seq,
            pause_after_call=old.pause_after_call if state in BUSY or state is AgentState.WRAP_UP else None,
        )
        self._agents[login] = record
        self._router.update_agent(record)
        self._outbox.append(
            AgentStateChanged(
                agent_login=login,
                state=state.value,
                reason=reason,
                call_id=call_id,
                at=now,
                last_available_at=record.last_available_at,
                calls_handled=record.calls_handled,
                wrapup_until=window.until if window is not None else None,
                wrapup_max_until=window.max_until if window is not None else None,
                wrapup_required=window.required if window is not None else False,
            )
        )
        log.info("acd.agent_state", extra={"agent": login, "state": state.value, "reason": reason})
        return record

    # -- restart and reconnection ----------------------------------------------------

    def restore(self, saved: Iterable[SavedAgentState], today: date) -> list[str]:
        """Put agents back as they were before a restart (call before any call is queued).

        Available, paused, logged-out and wrap-up agents come back as they
        were (wrap-up as available: its timer did not survive — nor does a
        required wrap-up's hold, and its call is never reported missed).  An agent who
        was busy with a call comes back ``on_call`` with that call id until
        :meth:`reconcile` checks it against the PBX.  Calls handled count for
        today only.  Returns the logins restored; unknown logins are skipped.
        """
        restored = []
        for row in saved:
            record = self._agents.get(row.login)
            if record is None:
                log.warning("acd.restore_unknown_agent", extra={"agent": row.login})
                continue
            try:
                state = AgentState(row.state)
            except ValueError:
                log.warning("acd.restore_bad_state", extra={"agent": row.login, "state": row.state})
                continue
            if state is AgentState.WRAP_UP:
                state = AgentState.AVAILABLE
            busy = state in BUSY
            record = replace(
                record,
                state=AgentState.ON_CALL if busy else state,
                reason=row.reason if state is AgentState.PAUSED else None,
                since=row.since,
                call_id=row.call_id if busy else None,
                last_available_at=row.last_available_at,
                calls_handled=row.calls_handled if row.handled_on == today else 0,
            )
            self._agents[row.login] = record
            self._router.update_agent(record)
            restored.append(row.login)
        log.info("acd.restored", extra={"agents": len(restored)})
        return restored

    async def reconcile(self, busy_devices: Mapping[str, str]) -> list[str]:
        """Align agents with what the PBX reports: ``busy_devices`` maps a device to the call it is on.

        An agent shown busy whose device has no call any more is freed (no
        one stays "on call" without a call); an agent whose device is on a
        call the ACD did not give them is marked ``on_call`` with that call,
        so nobody is offered a call while busy.  Returns the logins changed.
        """
        changed = []
        now = self._clock()
        routed = self._routed_calls()
        for login, record in list(self._agents.items()):
            live = busy_devices.get(record.device)
            if record.state in BUSY and live is None and record.call_id not in routed:
                self._cancel_wrapup(login)
                self._change(login, AgentState.AVAILABLE, became_available=True)
                changed.append(login)
            elif live is not None and record.state in (AgentState.AVAILABLE, AgentState.WRAP_UP):
                self._cancel_wrapup(login)
                self._change(login, AgentState.ON_CALL, call_id=live)
                changed.append(login)
        for login in changed:
            self._offer_agent(login, now)
        log.info("acd.reconciled", extra={"changed": changed, "busy_devices": len(busy_devices)})
        await self._flush()
        return changed


def _levels(login: str, skills: Mapping[str, int] | None) -> dict[str, int]:
    levels = dict(skills or {})
    for skill, level in levels.items():
        if not isinstance(level, int) or not 1 <= level <= 5:
            raise ValueError(f"agent {login}: skill {skill!r} needs a proficiency 1..5, got {level!r}")
    return levels


def _target(login: str, state: AgentState | str) -> AgentState:
    try:
        return AgentState(state)
    except ValueError:
        raise InvalidTransition(f"agent {login}: {state!r} is not an agent state") from None
