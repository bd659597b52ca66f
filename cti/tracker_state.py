"""The tracker's book of calls: indexes, state changes, endings, resync.

:class:`CallBook` knows nothing of individual AMI events (that is
:mod:`cti.tracker_events` and :mod:`cti.tracker`); it keeps the live calls, a bounded list of recently
ended ones, the ``Uniqueid`` → ``Linkedid`` index, and applies state changes
with their timestamps and notifications.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from cti.ami.message import AmiMessage
from cti.calls import PRE_CONNECTED, Call, CallOutcome, CallState, Dial, Leg
from cti.tracker_facts import FactCallback

__all__ = ["CallBook", "ChangeCallback", "known", "number"]

log = logging.getLogger(__name__)

ChangeCallback = Callable[[Call, CallState | None], None]

_OUTCOME_BY_STATE = {
    CallState.CONNECTED: CallOutcome.ANSWERED,
    CallState.OFFERED: CallOutcome.ABANDONED_IN_QUEUE,
    CallState.QUEUED: CallOutcome.ABANDONED_IN_QUEUE,
    CallState.IN_IVR: CallOutcome.ABANDONED_IN_IVR,
    CallState.RINGING: CallOutcome.UNANSWERED,
}
_STASH_LIMIT = 1000  # caller ids of OriginateResponses waiting for their Newchannel


def known(value: str | None) -> str | None:
    """An AMI value, or None for empty and ``<unknown>``."""
    return value if value and value != "<unknown>" else None


def number(text: str | None) -> float | None:
    """A number field (``HoldTime: 2``), or None if absent or malformed."""
    try:
        return float(text) if text else None
    except ValueError:
        return None


class CallBook:
    """Live and recently ended calls, and the rules for changing them."""

    def __init__(self, *, recent_limit: int = 1000, clock: Callable[[], float] = time.time) -> None:
        if recent_limit < 1:
            raise ValueError(f"recent_limit must be >= 1, got {recent_limit}")
        self._recent_limit = recent_limit
        self._clock = clock
        self._live: dict[str, Call] = {}
        self._recent: OrderedDict[str, Call] = OrderedDict()
        self._linkedid_of: dict[str, str] = {}  # uniqueid → linkedid, live and recent calls
        self._stash: OrderedDict[str, AmiMessage] = OrderedDict()
        self._callbacks: list[ChangeCallback] = []
        self._fact_callbacks: list[FactCallback] = []  # see cti.tracker.CallTracker.on_fact

    # -- queries -----------------------------------------------------------------

    @property
    def live_calls(self) -> list[Call]:
        """Calls not ended yet, oldest first."""
        return list(self._live.values())

    @property
    def recent_calls(self) -> list[Call]:
        """The last ended calls (at most ``recent_limit``), oldest first."""
        return list(self._recent.values())

    def get(self, linkedid: str) -> Call | None:
        """The live call with this ``Linkedid``, else a recently ended one."""
        return self._live.get(linkedid) or self._recent.get(linkedid)

    def by_uniqueid(self, uniqueid: str) -> Call | None:
        """The call one of whose legs has this ``Uniqueid`` (e.g. ``agi_uniqueid``)."""
        linkedid = self._linkedid_of.get(uniqueid)
        return self.get(linkedid) if linkedid is not None else None

    def on_change(self, callback: ChangeCallback) -> None:
        """Call ``callback(call, previous_state)`` on every state change.

        ``previous_state`` is None for a call just created (by ``Newchannel``
        or a resync).  Callbacks run synchronously inside ``feed``; one that
        raises is logged and the others still run.
        """
        self._callbacks.append(callback)

    # -- legs ----------------------------------------------------------------------

    def _new_call(self, linkedid: str, at: float) -> Call:
        call = Call(linkedid=linkedid, arrived_at=at)
        self._live[linkedid] = call
        return call

    def _add_leg(self, call: Call, uniqueid: str, channel: str, at: float) -> Leg:
        leg = Leg(uniqueid=uniqueid, linkedid=call.linkedid, channel=channel, created_at=at)
        call.legs[uniqueid] = leg
        self._linkedid_of[uniqueid] = call.linkedid
        stashed = self._stash.pop(uniqueid, None)
        if stashed is not None:
            self._refresh_leg(call, leg, stashed, at)
        return leg

    def _stash_early(self, uniqueid: str, msg: AmiMessage) -> None:
        """Keep an event about a channel whose ``Newchannel`` has not come yet."""
        self._stash[uniqueid] = msg
        while len(self._stash) > _STASH_LIMIT:
            self._stash.popitem(last=False)

    def _live_leg(self, uniqueid: str | None) -> tuple[Call, Leg] | None:
        linkedid = self._linkedid_of.get(uniqueid) if uniqueid else None
        call = self._live.get(linkedid) if linkedid is not None else None
        if call is None or uniqueid not in call.legs:
            return None
        return call, call.legs[uniqueid]

    def _relink(self, call: Call, leg: Leg, linkedid: str, at: float) -> Call:
        """Move ``leg`` to the live call of its new ``Linkedid`` (a transfer merged them)."""
        target = self._live.get(linkedid)
        if target is None or target is call:
            return call
        del call.legs[leg.uniqueid]
        target.legs[leg.uniqueid] = leg
        leg.linkedid = linkedid
        self._linkedid_of[leg.uniqueid] = linkedid
        if not call.live_legs:
            self._end(call, at)
        return target

    def _refresh_leg(self, call: Call, leg: Leg, msg: AmiMessage, at: float, prefix: str = "") -> bool:
        """Copy a channel snapshot (``Channel``, ``CallerIDNum``…) into ``leg``; True if it changed."""
        before = (leg.channel, leg.state_desc, leg.caller_number, leg.caller_name, dict(leg.variables))
        leg.channel = msg.get(prefix + "Channel") or leg.channel
        desc = msg.get(prefix + "ChannelStateDesc")
        if desc:
            leg.state_desc = desc
            if desc == "Up" and leg.answered_at is None:
                leg.answered_at = at
        leg.caller_number = known(msg.get(prefix + "CallerIDNum")) or leg.caller_number
        leg.caller_name = known(msg.get(prefix + "CallerIDName")) or leg.caller_name
        variable_key = prefix + "ChanVariable"
        for key, value in msg.fields:
            if key == variable_key or key.startswith(variable_key + "("):
                name, _, content = value.partition("=")
                leg.variables[name] = content
        if leg is origin_leg(call):
            call.caller_number = leg.caller_number or call.caller_number
            call.caller_name = leg.caller_name or call.caller_name
        return before != (leg.channel, leg.state_desc, leg.caller_number, leg.caller_name, leg.variables)

    # -- state changes -------------------------------------------------------------

    def _transition(self, call: Call, state: CallState, at: float) -> None:
        if call.state is state:
            return
        previous = call.state
        call.state = state
        _stamp(call, state, at)
        self._notify(call, previous)

    def _connect(self, call: Call, at: float) -> None:
        if call.outcome is CallOutcome.ABANDONED_IN_QUEUE:
            call.outcome = None  # an abandon was reported, yet the call got through
        if call.queued_at is not None and call.hold_time is None:
            call.hold_time = max(0.0, at - call.queued_at)
        self._transition(call, CallState.CONNECTED, at)

    def _requeue_if_unanswered(self, call: Call, ended: Dial, at: float) -> None:
        """Back to queued when the dials of the current offer all failed.

        A dial that began before the current offer is stale news: our ACD may
        learn of a no-answer (from its AGI) and offer the call to the next
        agent before Asterisk's ``DialEnd`` of the first one arrives.
        """
        if call.state is not CallState.OFFERED:
            return
        offered_at = call.offered_at or 0.0
        current = [d for d in call.dials.values() if d.began_at >= offered_at]
        if ended in current and all(d.status is not None for d in current):
            call.agent = None
            self._transition(call, CallState.QUEUED, at)

    def _end(self, call: Call, at: float) -> None:
        previous = call.state
        if call.outcome is None:
            call.outcome = _OUTCOME_BY_STATE.get(previous, CallOutcome.LOST)
        call.ended_at = at
        if call.connected_at is not None and call.talk_time is None:
            call.talk_time = max(0.0, at - call.connected_at)
        if call.queued_at is not None and call.hold_time is None:
            call.hold_time = max(0.0, (call.connected_at or at) - call.queued_at)
        call.state = CallState.ENDED
        self._live.pop(call.linkedid, None)
        self._recent[call.linkedid] = call
        self._recent.move_to_end(call.linkedid)
        while len(self._recent) > self._recent_limit:
            _, old = self._recent.popitem(last=False)
            for uniqueid in old.legs:
                if self._linkedid_of.get(uniqueid) == old.linkedid:
                    del self._linkedid_of[uniqueid]
        log.debug("tracker.call_ended", extra={"linkedid": call.linkedid, "outcome": str(call.outcome)})
        self._notify(call, previous)

    def _notify(self, call: Call, previous: CallState | None) -> None:
        for callback in list(self._callbacks):
            try:
                callback(call, previous)
            except Exception:
                log.exception("tracker.callback_failed", extra={"linkedid": call.linkedid})

    # -- resync --------------------------------------------------------------------

    def resync(self, channels: Sequence[AmiMessage], now: float | None = None) -> None:
        """Align with the ``CoreShowChannel`` (or ``Status``) events listed after a reconnect.

        Legs missing from the list hung up while we were away: a call left
        without a live leg ends, outcome LOST unless it is known (connected →
        answered, an abandon already reported).  Unknown channels are added;
        a new call's state is guessed from its channels (application Queue →
        queued, two legs in one bridge → connected, AGI → in IVR, else
        ringing).  Times of a guessed state are the resync's own.
        """
        at = self._clock() if now is None else now
        groups: dict[str, list[AmiMessage]] = {}
        for msg in channels:
            uniqueid = msg.get("Uniqueid") if isinstance(msg, AmiMessage) else None
            if uniqueid:
                groups.setdefault(msg.get("Linkedid") or uniqueid, []).append(msg)
        present = {m.get("Uniqueid") for items in groups.values() for m in items}
        for call in list(self._live.values()):
            for leg in call.live_legs:
                if leg.uniqueid not in present:
                    leg.hungup_at = at
                    leg.bridge_id = None
            if not call.live_legs:
                if call.outcome is None and call.state is not CallState.CONNECTED:
                    call.outcome = CallOutcome.LOST
                self._end(call, at)
        for linkedid, items in groups.items():
            self._resync_call(linkedid, items, at)

    def _resync_call(self, linkedid: str, items: list[AmiMessage], at: float) -> None:
        call = self._live.get(linkedid)
        created = call is None
        if call is None:
            age = max(_age(m) for m in items)
            call = self._new_call(linkedid, at - age)
        for msg in items:
            uniqueid = msg["Uniqueid"]
            found = self._live_leg(uniqueid)
            if found is not None and found[0] is not call:
                self._relink(found[0], found[1], linkedid, at)
            leg = call.legs.get(uniqueid)
            if leg is None:
                created_at = at - _age(msg)
                leg = self._add_leg(call, uniqueid, msg.get("Channel") or "", created_at)
            self._refresh_leg(call, leg, msg, at)
            # CoreShowChannel spells BridgeId, Status BridgeID (trace h).
            leg.bridge_id = msg.get("BridgeId") or msg.get("BridgeID") or None
        bridged = _shares_bridge(call)
        if created:
            call.state = _guess_state(call, items, bridged)
            _stamp(call, call.state, at)
            self._notify(call, None)
        elif bridged and call.state in PRE_CONNECTED:
            self._connect(call, at)


def origin_leg(call: Call) -> Leg | None:
    """The leg that started the call (its ``Uniqueid`` is the ``Linkedid``), else the first."""
    leg = call.legs.get(call.linkedid)
    if leg is None and call.legs:
        leg = next(iter(call.legs.values()))
    return leg


def _duration(text: str | None) -> float:
    """``"01:02:03"`` → 3723.0; absent or malformed → 0."""
    total = 0.0
    for part in (text or "").split(":"):
        value = number(part)
        if value is None:
            return 0.0
        total = total * 60 + value
    return total


def _age(msg: AmiMessage) -> float:
    """Seconds the channel has existed: CoreShowChannel ``Duration`` (HH:MM:SS), Status ``Seconds``."""
    seconds = number(msg.get("Seconds"))
    return seconds if seconds is not None else _duration(msg.get("Duration"))


def _stamp(call: Call, state: CallState, at: float) -> None:
    if state is CallState.IN_IVR and call.ivr_at is None:
        call.ivr_at = at
    elif state is CallState.QUEUED and call.queued_at is None:
        call.queued_at = at
    elif state is CallState.OFFERED:
        call.offered_at = at
    elif state is CallState.CONNECTED and call.connected_at is None:
        call.connected_at = at


def _shares_bridge(call: Call) -> bool:
    bridges = [leg.bridge_id for leg in call.live_legs if leg.bridge_id]
    return len(bridges) != len(set(bridges))


def _guess_state(call: Call, items: list[AmiMessage], bridged: bool) -> CallState:
    by_application = {(m.get("Application") or "").lower(): m for m in items}
    if "queue" in by_application:
        queue = by_application["queue"]
        call.queue = (queue.get("ApplicationData") or queue.get("Data") or "").split(",")[0] or None
        return CallState.QUEUED
    if bridged:
        return CallState.CONNECTED
    if "agi" in by_application:
        return CallState.IN_IVR
    return CallState.RINGING
