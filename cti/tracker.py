"""Call tracker: AMI events in, calls and their state changes out.

Calls are keyed by ``Linkedid`` and legs by ``Uniqueid``; an event is matched
to its call by those two fields, and only an event without them
(``AgentComplete`` may carry no channel, trace b) falls back to the agent —
matching by agent alone picked the wrong call under load.

Two ways of reaching an agent are understood:

* Asterisk's app_queue: ``QueueCallerJoin`` → queued, ``AgentCalled`` →
  offered, ``AgentConnect`` → connected, ``QueueCallerAbandon`` → abandoned;
* our own ACD dialling from the AGI: ``AGIExecStart`` → in IVR, a
  ``DialBegin`` from a leg of a call in IVR or queue → offered to that
  destination, ``DialEnd ANSWER`` (or both parties in one bridge) →
  connected, ``DialEnd NOANSWER``/``BUSY``/… → back to queued; the ACD itself
  reports queued/offered with :meth:`CallTracker.mark`.

What each event does to a call (matching it to its call and leg, one
handler per event) is :mod:`cti.tracker_events`; this module adds the public
API: feeding, the ACD's own marks, and where a channel went.

Transfers, parking and every dial of a call are also reported as
:class:`~cti.tracker_facts.CallFact` to the callbacks of :meth:`CallTracker.on_fact`.

A call ends when all its legs have hung up; the outcome follows from the
state it ended in (connected → answered, queued or offered → abandoned in
queue, in IVR → abandoned in IVR, ringing → unanswered).  Duplicate and
out-of-order events (``OriginateResponse`` before ``Newchannel``, a second
``DialEnd CANCEL``) are harmless; unknown or malformed events are ignored.

Usage::

    tracker = CallTracker()
    tracker.on_change(lambda call, previous: ...)
    ami.on_event(tracker.feed)
    ami.on_connection(resync)   # tracker.resync(await ami.core_show_channels())
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from cti.ami.message import AmiMessage
from cti.calls import Call, CallOutcome, CallState, Dial, Leg
from cti.tracker_events import EVENT_HANDLERS, TrackerEvents
from cti.tracker_facts import CallFact, FactCallback, fact_of
from cti.tracker_state import ChangeCallback

__all__ = [
    "Call",
    "CallFact",
    "CallOutcome",
    "CallState",
    "CallTracker",
    "ChangeCallback",
    "Dial",
    "FactCallback",
    "Leg",
]

log = logging.getLogger(__name__)


class CallTracker(TrackerEvents):
    """Turns AMI events into :class:`Call` objects.

    ``recent_limit`` ended calls stay reachable through :meth:`get` and
    :meth:`by_uniqueid` (a late ``AgentComplete``, history writers); older
    ones are forgotten, so memory stays bounded.  ``clock`` gives the time
    when :meth:`feed` is called without ``now``.
    """

    def __init__(self, *, recent_limit: int = 1000, clock: Callable[[], float] = time.time) -> None:
        super().__init__(recent_limit=recent_limit, clock=clock)
        self._moves: dict[str, str] = {}  # uniqueid → how it left its application (moved_on)
        self._moved_calls: set[str] = set()  # linkedids with a blind transfer (transferred)

    def feed(self, msg: AmiMessage, now: float | None = None) -> Call | None:
        """Apply one AMI event; return the call it changed, or None if ignored.

        ``now`` is the time the event was received (default: the clock).
        """
        name = msg.event if isinstance(msg, AmiMessage) else None
        if not name:
            return None
        handler = EVENT_HANDLERS.get(name.lower(), TrackerEvents._on_channel_event)
        at = self._clock() if now is None else now
        if name.lower() in _MOVES:
            self._note_move(msg)
        try:
            changed = handler(self, msg, at)
            fact = fact_of(self, msg, at) if self._fact_callbacks else None
        except Exception:
            # Any event a PBX sends must cost at most itself, never the service.
            log.exception("tracker.event_failed", extra={"event": name})
            return None
        if fact is not None:
            for callback in list(self._fact_callbacks):
                try:
                    callback(fact)
                except Exception:
                    log.exception("tracker.fact_callback_failed", extra={"linkedid": fact.linkedid})
        return changed

    # -- where a channel went: a hang-up or an async goto ------------------------------

    def channel_alive(self, uniqueid: str) -> bool:
        """True while the PBX has not reported the channel *uniqueid* hung up.

        After a ``BlindTransfer``, a ``Redirect`` or a park timeout the FastAGI
        session running the channel sees exactly what a hang-up looks like
        (``EXEC Dial`` returns, ``HANGUP``, ``511``) while the channel lives on
        elsewhere in the dialplan (traces k1, m1, j2); only the AMI can tell the
        two apart.  False for a channel never seen.  The AMI and the AGI are two
        sockets: a caller deciding right after the AGI's ``HANGUP`` should let
        the AMI catch up (a few milliseconds) before trusting a True here.
        """
        call = self.by_uniqueid(uniqueid)
        leg = call.legs.get(uniqueid) if call is not None else None
        return leg is not None and leg.live

    def moved_on(self, uniqueid: str) -> str | None:
        """Why the channel *uniqueid* left its application without hanging up, if the AMI said so.

        ``"blind_transfer"`` (``BlindTransfer`` ``Result: Success``, it was the
        transferee) or ``"park_timeout"`` (``ParkedCallTimeOut``: it calls its
        parker back from ``park-dial``); None otherwise — a ``Redirect`` sends no
        event of its own, :meth:`channel_alive` is the test then.
        """
        return self._moves.get(uniqueid)

    def transferred(self, linkedid: str) -> bool:
        """True once a leg of the call *linkedid* was blind-transferred away (see :meth:`moved_on`)."""
        return linkedid in self._moved_calls

    def _note_move(self, msg: AmiMessage) -> None:
        kind, prefix = _MOVES[(msg.event or "").lower()]
        if kind == "blind_transfer" and (msg.get("Result") or "") != "Success":
            return
        uniqueid, linkedid = msg.get(prefix + "Uniqueid"), msg.get(prefix + "Linkedid")
        if not uniqueid:
            return
        if len(self._moves) >= 4 * self._recent_limit:
            self._moves.clear()  # bounded memory: old calls' moves are long read
        self._moves[uniqueid] = kind
        if kind == "blind_transfer" and linkedid:
            self._moved_calls.add(linkedid)

    def on_fact(self, callback: FactCallback) -> None:
        """Call ``callback(fact)`` for every transfer, parking and dial of a known call (synchronously)."""
        self._fact_callbacks.append(callback)

    def mark(
        self,
        linkedid: str,
        state: CallState,
        *,
        queue: str | None = None,
        agent: str | None = None,
        now: float | None = None,
    ) -> Call | None:
        """Record what our own ACD did: the call is queued, offered to ``agent``…

        Returns None if the call is unknown or already ended.  A call ends
        only when its channels hang up, so ``state`` may not be ENDED.
        Marking QUEUED clears the agent unless one is given.
        """
        if state is CallState.ENDED:
            raise ValueError("mark() cannot end a call: it ends when its channels hang up")
        call = self._live.get(linkedid)
        if call is None:
            return None
        at = self._clock() if now is None else now
        if queue is not None:
            call.queue = queue
        if state is CallState.QUEUED or agent is not None:
            call.agent = agent
        if state is CallState.CONNECTED:
            self._connect(call, at)
        else:
            self._transition(call, state, at)
        return call


#: Events telling that a channel left its application by an async goto: (kind, channel field prefix).
_MOVES: dict[str, tuple[str, str]] = {
    "blindtransfer": ("blind_transfer", "Transferee"),
    "parkedcalltimeout": ("park_timeout", "Parkee"),
}
