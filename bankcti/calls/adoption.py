"""After a start (or an AMI reconnection): the calls an earlier run left open, adopted or closed honestly.

A bankcti that stops under a connected call records no end
(:meth:`bankcti.calls.callflow.InboundCallFlow.handle`): the call goes on at the
PBX, its ``EXEC Dial`` unaware of the FastAGI socket.  Once the AMI link is
up and the call tracker has the PBX's channels (``CoreShowChannels``),
:class:`CallAdoption` looks at every inbound interaction still without an
end that no session of this process runs:

* the PBX still has its Linkedid → *adopted*: its open legs stay open, the
  call watch follows it (:meth:`bankcti.calls.watch.CallWatch.adopt`), and
  the PBX's own end (``Hangup`` of its last channel) closes it with the true
  talk time.  The ACD already knows the agent is on it: their saved
  ``on_call`` state is restored and kept by the reconciliation with the
  busy devices (:meth:`acd.Acd.reconcile`), and the call is handed back to
  it (:meth:`acd.Acd.adopt_connected`) so that the PBX's end gives the queue
  its ``completed`` event with the true talk time;
* the PBX no longer has it → it ended while bankcti was not observing:
  outcome ``ended_unobserved``, ``ended_at`` NULL, its open legs closed
  ``ended_unobserved`` without a time, and the end bounded by
  ``last_seen_at`` (when bankcti stopped observing it, else the latest
  moment recorded of it) and ``found_gone_at`` (now).  Never a guessed time.

The AMI ``Cdr`` event is not used: Asterisk sends it when the call ends,
to the clients connected then; a bankcti that was down missed it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from acd.model import QueuedCall
from bankcti.calls.legs import CallLegs, utc
from bankcti.calls.watch import CallWatch
from crm_core.followups.legs import LegView
from crm_core.schemas import CallEndRecord, InteractionRecord
from cti.tracker import CallTracker

__all__ = ["CallAdoption"]

log = logging.getLogger(__name__)


class OpenCalls(Protocol):
    async def open_calls(self) -> list[str]: ...
    async def legs(self, call_id: str) -> list[LegView]: ...
    async def get(self, call_id: str) -> InteractionRecord | None: ...


class AdoptingAcd(Protocol):
    def adopt_connected(self, call: QueuedCall, agent_login: str, talking_for: float) -> None: ...


class CallAdoption:
    """Reconciles the open calls of the history with the PBX (see the module)."""

    def __init__(
        self,
        history: OpenCalls,
        legs: CallLegs,
        watch: CallWatch,
        tracker: CallTracker,
        acd: AdoptingAcd | None = None,
    ) -> None:
        self._history = history
        self._legs = legs
        self._watch = watch
        self._tracker = tracker
        self._acd = acd

    async def reconcile(self, sessions: Collection[str]) -> tuple[list[str], list[str]]:
        """Adopt or close every open call but those in ``sessions``; return (adopted, closed) call ids.

        A database that cannot be read now leaves everything for the next reconnection.
        """
        try:
            open_calls = await self._history.open_calls()
        except Exception:
            log.exception("call.adoption_failed")
            return [], []
        adopted: list[str] = []
        closed: list[str] = []
        checked = time.time()
        for call_id in open_calls:
            if call_id in sessions or self._watch.following(call_id):
                continue
            legs = await self._history.legs(call_id)
            call = self._tracker.get(call_id)
            if call is not None and not call.ended:
                await self._adopt(call_id, legs, checked)
                adopted.append(call_id)
            else:
                await self._close_unobserved(call_id, legs, checked)
                closed.append(call_id)
        if adopted or closed:
            log.info("call.adoption", extra={"adopted": adopted, "closed_unobserved": closed})
        return adopted, closed

    async def _adopt(self, call_id: str, legs: list[LegView], checked: float) -> None:
        still_open = [leg for leg in legs if leg.ended_at is None and leg.end_reason is None]
        talking = [leg for leg in still_open if leg.kind in ("agent", "external")]
        holds = [leg for leg in still_open if leg.kind == "hold"]
        agent = talking[-1] if talking else None
        self._legs.adopt(
            call_id,
            agent_leg=agent.leg_key if agent is not None else None,
            agent_login=agent.agent_login if agent is not None else None,
            hold_leg=holds[-1].leg_key if holds else None,
            open_legs={leg.leg_key for leg in still_open},
            answered=any(leg.answered_at is not None for leg in legs if leg.kind in ("agent", "external")),
        )
        self._watch.adopt(call_id)
        if self._acd is not None and agent is not None and agent.agent_login and agent.answered_at:
            queue = agent.queue or next((leg.queue for leg in reversed(legs) if leg.queue), None)
            record = await self._history.get(call_id)
            self._acd.adopt_connected(
                QueuedCall(
                    call_id=call_id,
                    queue=queue or (record.queue if record is not None else None) or "",
                    customer_id=record.customer_id if record is not None else None,
                ),
                agent.agent_login,
                checked - agent.answered_at.timestamp(),
            )
        log.info("call.adopted", extra={"call_id": call_id, "agent": agent.agent_login if agent else None})

    async def _close_unobserved(self, call_id: str, legs: list[LegView], checked: float) -> None:
        record = await self._history.get(call_id)
        moments: list[datetime | None] = [
            *(leg.started_at for leg in legs),
            *(leg.answered_at for leg in legs),
            *(leg.ended_at for leg in legs),
        ]
        if record is not None:
            moments += [record.arrived_at, record.queued_at, record.offered_at, record.answered_at]
        last_seen = record.last_seen_at if record is not None else None
        if last_seen is None:
            known = [moment for moment in moments if moment is not None]
            last_seen = max(known) if known else None
        self._legs.end(
            CallEndRecord(
                call_id=call_id,
                outcome="ended_unobserved",
                last_seen_at=last_seen,
                found_gone_at=utc(checked),
            )
        )
