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
  busy devices (:meth:`acd.Acd.reconcile`);
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


class CallAdoption:
    """Reconciles the open calls of the history with the PBX (see the module)."""

    def __init__(self, history: OpenCalls, legs: CallLegs, watch: CallWatch, tracker: CallTracker) -> None:
        self._history = history
        self._legs = legs
        self._watch = watch
        self._tracker = tracker

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
                self._adopt(call_id, legs)
                adopted.append(call_id)
            else:
                await self._close_unobserved(call_id, legs, checked)
                closed.append(call_id)
        if adopted or closed:
            log.info("call.adoption", extra={"adopted": adopted, "closed_unobserved": closed})
        return adopted, closed

    def _adopt(self, call_id: str, legs: list[LegView]) -> None:
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
