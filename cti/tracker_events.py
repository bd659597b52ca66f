"""How each AMI event changes a call: matching an event to its call and leg, and the handlers.

:class:`TrackerEvents` adds to :class:`~cti.tracker_state.CallBook` the rule of
each event :class:`~cti.tracker.CallTracker` understands (``Newchannel``,
``DialBegin``, ``AgentConnect``, ``Hangup``…); :data:`EVENT_HANDLERS` maps the
lower-cased event name to its handler.  An event without a handler only keeps
its leg's snapshot current (:meth:`TrackerEvents._on_channel_event`).
"""

from __future__ import annotations

from collections.abc import Callable

from cti.ami.message import AmiMessage
from cti.calls import PRE_CONNECTED, Call, CallOutcome, CallState, Dial, Leg
from cti.tracker_state import CallBook, number

__all__ = ["EVENT_HANDLERS", "EventHandler", "TrackerEvents"]

EventHandler = Callable[["TrackerEvents", AmiMessage, float], "Call | None"]
_NOT_ANSWERED = frozenset({"NOANSWER", "BUSY", "CHANUNAVAIL", "CONGESTION"})


class TrackerEvents(CallBook):
    """The book of calls plus the rule of each AMI event (see :class:`~cti.tracker.CallTracker`)."""

    # -- matching ------------------------------------------------------------------

    def _match(self, msg: AmiMessage, at: float) -> tuple[Call, Leg, bool] | None:
        """The live call and leg of the event's channel, with its snapshot applied.

        The flag says whether the snapshot changed the leg or moved it to
        another call (a new ``Linkedid``).
        """
        uniqueid, linkedid = msg.get("Uniqueid"), msg.get("Linkedid")
        found = self._live_leg(uniqueid)
        if found is None:
            # A leg we never saw created (its Newchannel came before a
            # reconnect) still belongs to its Linkedid's call.
            call_of_link = self._live.get(linkedid) if linkedid else None
            if call_of_link is None or not uniqueid:
                return None
            leg = self._add_leg(call_of_link, uniqueid, msg.get("Channel") or "", at)
            self._refresh_leg(call_of_link, leg, msg, at)
            return call_of_link, leg, True
        call, leg = found
        moved = False
        if linkedid and linkedid != call.linkedid:
            target = self._relink(call, leg, linkedid, at)
            moved, call = target is not call, target
        changed = self._refresh_leg(call, leg, msg, at)
        return call, leg, changed or moved

    def _match_agent_event(self, msg: AmiMessage, at: float) -> Call | None:
        """Match by channel, else by ``Linkedid``, and only then by agent."""
        matched = self._match(msg, at)
        if matched is not None:
            return matched[0]
        uniqueid, linkedid = msg.get("Uniqueid"), msg.get("Linkedid")
        if uniqueid or linkedid:
            # The channel is named (a recently ended call?): never guess by agent.
            by_leg = self.by_uniqueid(uniqueid) if uniqueid else None
            return by_leg or (self.get(linkedid) if linkedid else None)
        agent = msg.get("MemberName") or msg.get("Interface")
        if not agent:
            return None
        live = [c for c in self._live.values() if c.agent == agent and c.state is CallState.CONNECTED]
        if live:
            return max(live, key=lambda c: c.connected_at or 0.0)
        ended = [
            c for c in self._recent.values() if c.agent == agent and c.connected_at and not c.agent_complete
        ]
        return ended[-1] if ended else None

    # -- handlers --------------------------------------------------------------------

    def _on_channel_event(self, msg: AmiMessage, at: float) -> Call | None:
        """Any other event naming a channel: keep the leg's snapshot current."""
        matched = self._match(msg, at)
        return matched[0] if matched is not None and matched[2] else None

    def _on_newchannel(self, msg: AmiMessage, at: float) -> Call | None:
        uniqueid = msg.get("Uniqueid")
        if not uniqueid:
            return None
        if self._live_leg(uniqueid) is not None:
            return self._on_channel_event(msg, at)
        linkedid = msg.get("Linkedid") or uniqueid
        call = self._live.get(linkedid)
        created = call is None
        if call is None:
            call = self._new_call(linkedid, at)
        leg = self._add_leg(call, uniqueid, msg.get("Channel") or "", at)
        self._refresh_leg(call, leg, msg, at)
        if created:
            self._notify(call, None)
        return call

    def _on_originate_response(self, msg: AmiMessage, at: float) -> Call | None:
        uniqueid = msg.get("Uniqueid")
        if msg.get("Response") != "Success" or not uniqueid:
            return None
        found = self._live_leg(uniqueid)
        if found is None:
            # It may overtake the Newchannel of its own channel (seen under load).
            self._stash_early(uniqueid, msg)
            return None
        call, leg = found
        return call if self._refresh_leg(call, leg, msg, at) else None

    def _on_agi_exec_start(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None:
            return None
        call = matched[0]
        if call.state is CallState.RINGING:
            self._transition(call, CallState.IN_IVR, at)
        return call

    def _on_queue_caller_join(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None or matched[0].state not in PRE_CONNECTED:
            return None
        call = matched[0]
        call.queue = msg.get("Queue") or call.queue
        if call.state in (CallState.RINGING, CallState.IN_IVR):
            self._transition(call, CallState.QUEUED, at)
        return call

    def _on_agent_called(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None or matched[0].state not in PRE_CONNECTED:
            return None
        call = matched[0]
        call.queue = msg.get("Queue") or call.queue
        self._begin_dial(call, msg, at, msg.get("Interface"))
        if call.state is not CallState.OFFERED or call.agent is None:
            call.agent = msg.get("MemberName") or msg.get("Interface") or call.agent
        self._transition(call, CallState.OFFERED, at)
        return call

    def _on_agent_ring_no_answer(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None:
            return None
        dial = matched[0].dials.get(msg.get("DestUniqueid") or "")
        if dial is None or dial.status is not None:
            return None
        dial.status, dial.ended_at = "NOANSWER", at
        self._requeue_if_unanswered(matched[0], dial, at)
        return matched[0]

    def _on_dial_begin(self, msg: AmiMessage, at: float) -> Call | None:
        # No source channel: the dial of an Originate, not a call's dial.
        matched = self._match(msg, at)
        if matched is None or matched[0].state not in PRE_CONNECTED:
            return None
        call = matched[0]
        dial = self._begin_dial(call, msg, at, msg.get("DialString"))
        if dial is None:
            return None
        if call.state in (CallState.IN_IVR, CallState.QUEUED):
            call.agent = _target(dial)
            self._transition(call, CallState.OFFERED, at)
        elif call.state is CallState.OFFERED and call.agent is None:
            call.agent = _target(dial)
        return call

    def _on_dial_end(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None:
            return None
        call = matched[0]
        dial = call.dials.get(msg.get("DestUniqueid") or "")
        if dial is None:
            dial = self._begin_dial(call, msg, at, None)  # its DialBegin came before a reconnect
        if dial is None or dial.status is not None:
            return None  # duplicate (Asterisk sends DialEnd CANCEL twice)
        dial.status, dial.ended_at = (msg.get("DialStatus") or "").upper(), at
        if dial.status == "ANSWER" and call.state in PRE_CONNECTED:
            call.agent = call.agent or _target(dial)
            self._connect(call, at)
        elif dial.status in _NOT_ANSWERED:
            self._requeue_if_unanswered(call, dial, at)
        return call

    def _on_agent_connect(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None:
            return None
        call = matched[0]
        call.agent = msg.get("MemberName") or msg.get("Interface") or call.agent
        call.queue = msg.get("Queue") or call.queue
        call.hold_time = _seconds(msg, "HoldTime", call.hold_time)
        if call.state in PRE_CONNECTED:
            self._connect(call, at)
        return call

    def _on_agent_complete(self, msg: AmiMessage, at: float) -> Call | None:
        call = self._match_agent_event(msg, at)
        if call is None:
            return None
        call.agent = call.agent or msg.get("MemberName") or msg.get("Interface")
        call.hold_time = _seconds(msg, "HoldTime", call.hold_time)
        call.talk_time = _seconds(msg, "TalkTime", call.talk_time)
        call.agent_complete = True
        return call

    def _on_queue_caller_abandon(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None:
            return None
        call = matched[0]
        call.outcome = CallOutcome.ABANDONED_IN_QUEUE
        call.queue = msg.get("Queue") or call.queue
        call.hold_time = _seconds(msg, "HoldTime", call.hold_time)
        return call

    def _on_bridge_enter(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None:
            return None
        call, leg, _ = matched
        leg.bridge_id = msg.get("BridgeUniqueid") or None
        if call.state in PRE_CONNECTED and leg.bridge_id:
            in_bridge = [other for other in call.live_legs if other.bridge_id == leg.bridge_id]
            if len(in_bridge) > 1 and any(other.uniqueid in call.dials for other in in_bridge):
                dialled = next(call.dials[o.uniqueid] for o in in_bridge if o.uniqueid in call.dials)
                call.agent = call.agent or _target(dialled)
                self._connect(call, at)
        return call

    def _on_bridge_leave(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None:
            return None
        matched[1].bridge_id = None
        return matched[0]

    def _on_hangup(self, msg: AmiMessage, at: float) -> Call | None:
        matched = self._match(msg, at)
        if matched is None:
            return None
        call, leg, _ = matched
        leg.hungup_at = at
        cause = number(msg.get("Cause"))
        leg.hangup_cause = int(cause) if cause is not None else None
        leg.bridge_id = None
        if not call.live_legs:
            self._end(call, at)
        return call

    def _begin_dial(self, call: Call, msg: AmiMessage, at: float, dial_string: str | None) -> Dial | None:
        dest = msg.get("DestUniqueid")
        if not dest:
            return None
        dial = call.dials.get(dest)
        if dial is None:
            dial = Dial(dest, msg.get("DestChannel") or "", dial_string, at)
            call.dials[dest] = dial
        return dial


def _target(dial: Dial) -> str:
    """Who a dial rings: the dial string (``PJSIP/1001``), else the channel."""
    return dial.dial_string or dial.dest_channel


def _seconds(msg: AmiMessage, key: str, default: float | None) -> float | None:
    value = number(msg.get(key))
    return default if value is None else value


EVENT_HANDLERS: dict[str, EventHandler] = {
    "newchannel": TrackerEvents._on_newchannel,
    "originateresponse": TrackerEvents._on_originate_response,
    "agiexecstart": TrackerEvents._on_agi_exec_start,
    "queuecallerjoin": TrackerEvents._on_queue_caller_join,
    "agentcalled": TrackerEvents._on_agent_called,
    "agentringnoanswer": TrackerEvents._on_agent_ring_no_answer,
    "dialbegin": TrackerEvents._on_dial_begin,
    "dialend": TrackerEvents._on_dial_end,
    "agentconnect": TrackerEvents._on_agent_connect,
    "agentcomplete": TrackerEvents._on_agent_complete,
    "queuecallerabandon": TrackerEvents._on_queue_caller_abandon,
    "bridgeenter": TrackerEvents._on_bridge_enter,
    "bridgeleave": TrackerEvents._on_bridge_leave,
    "hangup": TrackerEvents._on_hangup,
}
