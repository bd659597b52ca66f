"""Connected calls: answer, hold, transfer, hang-up, wrap-up.

:class:`CallLifecycle` is a part of :class:`acd.core.Acd` (kept in its own
module for size): what happens to an agent from the moment an offered call
is answered until they are ready for the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from acd.config import QueueConfig
from acd.estimate import HandlingTimes
from acd.events import BusEvent
from acd.model import BUSY, AgentRecord, AgentState, QueuedCall

if TYPE_CHECKING:
    from acd.waits import CallEntry

__all__ = ["CallLifecycle"]

log = logging.getLogger(__name__)


class CallLifecycle:
    """Answered calls and the agents on them."""

    _agents: dict[str, AgentRecord]
    _calls: dict[str, CallEntry]
    _adopted: dict[str, tuple[QueuedCall, str, float]]
    _clock: Callable[[], float]
    _outbox: list[BusEvent]
    handling: HandlingTimes
    wrapup_seconds: float

    if TYPE_CHECKING:  # provided by acd.core.Acd and acd.agents.AgentBook

        def queue_config(self, name: str) -> QueueConfig: ...
        def queue_names(self) -> list[str]: ...
        async def cancel(self, call_id: str, reason: str = "abandoned") -> None: ...
        async def external_call(self, login: str, call_id: str) -> AgentRecord: ...
        async def _flush(self) -> None: ...
        def _offer_agent(self, login: str, now: float) -> None: ...
        def _after_call(
            self, login: str, call_id: str, config: QueueConfig | None, *, skip_wrapup: bool = False
        ) -> None: ...
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
        def _emit(
            self,
            call: QueuedCall,
            event: str,
            *,
            agent: str | None = None,
            data: Mapping[str, object] | None = None,
        ) -> None: ...

    async def call_connected(self, call_id: str, agent_login: str | None = None) -> None:
        """An offered agent answered (``agent_login``: which one, for a ring-all group).

        The others of the group are released.  Ignored when not ringing.
        """
        entry = self._calls.get(call_id)
        if entry is None or not entry.group or entry.connected is not None:
            log.warning("acd.connected_ignored", extra={"call_id": call_id})
            return
        logins = [login for login, _ in entry.group]
        winner = agent_login if agent_login in logins else logins[0]
        now = self._clock()
        entry.connected = winner
        entry.connected_at = now
        self._change(winner, AgentState.ON_CALL, call_id=call_id, handled=1)
        waited = now - (entry.call.enqueued_at or now)
        self._emit(
            entry.call,
            "connected",
            agent=winner,
            data={
                "wait_seconds": round(waited, 3),
                "ring_seconds": entry.ring_seconds(now),
                "position": entry.original_position,
            },
        )
        for login in logins:
            if login != winner:
                self._change(login, AgentState.AVAILABLE)
                self._offer_agent(login, now)
        await self._flush()

    def adopt_connected(self, call: QueuedCall, agent_login: str, talking_for: float) -> None:
        """A call an earlier run of bankcti connected to ``agent_login`` goes on at the PBX.

        ``talking_for``: seconds since it was answered (from the history).  The
        agent's ``on_call`` state comes from :meth:`restore`; this only lets
        the PBX's end of the call (:meth:`call_ended`) emit the ``completed``
        event the queue statistics need, with the true talk time.  Nothing is
        emitted now: the ``connected`` event was emitted by the earlier run.
        """
        self._adopted[call.call_id] = (call, agent_login, self._clock() - max(0.0, talking_for))

    async def call_held(self, call_id: str, held: bool) -> None:
        """The connected call was put on hold (``True``) or resumed; the agent's state follows."""
        login = self._holder(call_id)
        if login is None:
            raise LookupError(f"call {call_id} is not connected to an agent")
        record = self._agents[login]
        target = AgentState.ON_HOLD if held else AgentState.ON_CALL
        if record.state is not target:
            self._change(login, target, call_id=call_id)
            await self._flush()

    async def call_ended(self, call_id: str, by: str = "caller") -> None:
        """The call is over: the agent wraps up, then becomes available by itself.

        ``by`` says who hung up (``caller`` or ``agent``).  A call that never
        connected is treated as :meth:`cancel`.  A call the ACD does not
        route but an agent is known to be on (restored after a restart, or
        found by reconciliation) ends the same way.
        """
        entry = self._calls.get(call_id)
        if entry is None:
            login = self._holder(call_id)
            adopted = self._adopted.pop(call_id, None)
            if adopted is not None:
                call, agent, connected_at = adopted
                talk = self._clock() - connected_at
                self._emit(call, "completed", agent=agent, data={"talk_seconds": round(talk, 3), "by": by})
            if login is not None:
                # An adopted call wraps up by its queue's rules; a call of no queue by the ACD's defaults.
                queue = adopted[0].queue if adopted is not None else ""
                config = self.queue_config(queue) if queue in self.queue_names() else None
                self._after_call(login, call_id, config)
                await self._flush()
            return
        if entry.connected is None:
            await self.cancel(call_id)
            return
        del self._calls[call_id]
        now = self._clock()
        talk = now - (entry.connected_at or now)
        self._emit(
            entry.call, "completed", agent=entry.connected, data={"talk_seconds": round(talk, 3), "by": by}
        )
        self._after_call(entry.connected, call_id, self.queue_config(entry.call.queue))
        await self._flush()

    async def call_transferred(
        self, call_id: str, *, to: str, kind: str, target_agent: str | None = None
    ) -> None:
        """The agent on ``call_id`` handed it on (``kind`` blind or attended) to ``to``.

        Their part ends (a ``transferred`` event, then wrap-up); an agent
        target is marked on the call (:meth:`external_call`) so nobody offers
        them another one while they talk.
        """
        entry = self._calls.get(call_id)
        holder = entry.connected if entry is not None else self._holder(call_id)
        if holder is None:
            raise LookupError(f"call {call_id} is not connected to an agent")
        call = entry.call if entry is not None else QueuedCall(call_id=call_id, queue="")
        self._emit(call, "transferred", agent=holder, data={"to": to, "kind": kind})
        await self.call_ended(call_id, by="transfer")
        if target_agent is not None:
            await self.external_call(target_agent, call_id)

    def _holder(self, call_id: str) -> str | None:
        entry = self._calls.get(call_id)
        if entry is not None:
            return entry.connected
        for record in self._agents.values():
            if record.call_id == call_id and record.state in BUSY:
                return record.login
        return None
