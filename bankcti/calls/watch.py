"""The PBX's side of a call's history: transfers, holds, dialplan dials and the true end.

A FastAGI session (:mod:`bankcti.calls.callflow`) sees its own part of a call;
the PBX sees all of it.  :class:`CallWatch` follows, through the AMI call
tracker, every call bankcti keeps a history for — those with a session now,
and those adopted after a restart (:mod:`bankcti.calls.adoption`) — and
writes to the call's legs (:class:`~bankcti.calls.legs.CallLegs`):

* ``BlindTransfer`` closes the agent's leg ``transferred_blind`` at the
  transfer; the customer goes on in a new session (a queue) or in a
  dialplan ``Dial`` (a number, an agent's device);
* ``AttendedTransfer`` closes the agent's leg ``transferred_attended`` and
  opens the target's leg (the call's latest dial), which the running
  session then ends as its own;
* ``ParkedCall`` … ``UnParkedCall`` is a hold leg;
* a dial of a call that has no session (after a transfer, a park's
  comeback call) is a leg of its own: an agent's if the device is one,
  else ``external``;
* the end of a call that lives on after its session (a transfer, a
  redirect) or that an earlier run left (adopted) is the PBX's: when the
  tracker reports every channel of the Linkedid gone, the call's end is
  written with that time
  (:meth:`~crm_core.followups.timeline.CallTimeline.end_call` closes what is
  still open).  A call that ends with its session is ended by the session.
  A call found gone only at a resync after the AMI link was down ended
  unobserved: the session's own end if it saw one, else
  ``ended_unobserved`` with the bounds, never a guessed time.  A caller
  still in the IVR or the queue when bankcti stops, whose end this process
  still sees (the PBX drops a caller whose FastAGI session is gone), ends
  ``interrupted``: bankcti left, not the caller.

Without the tracker knowing a call (no AMI), the session writes the end
itself, as it sees it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bankcti.calls.legs import CallLegs, utc
from crm_core.schemas import CallEndRecord
from cti.tracker import Call, CallFact, CallState, CallTracker

__all__ = ["CallWatch"]

log = logging.getLogger(__name__)

_RING_ENDS = {"ANSWER": None, "NOANSWER": "no_answer", "CANCEL": "caller_hung_up"}
_HOLD_ENDS = {"unparked": "resumed", "park_timeout": "timed_out", "park_giveup": "caller_hung_up"}


@dataclass
class _Dial:
    target: str
    began_at: float
    status: str | None = None
    leg_key: str | None = None  # the leg this dial is, once it is one


@dataclass
class _Followed:
    sessions: int = 0
    outcome: str | None = None  # what the last session made of the call
    session_end: float | None = None  # when the last session saw it end
    ended: tuple[float, bool] | None = None  # the PBX's end: (time, observed live)
    last_seen: float = 0.0
    transferred: bool = False  # a blind transfer since the last session started
    dials: dict[str, _Dial] = field(default_factory=dict)


class CallWatch:
    """Follows calls through the PBX's reports (see the module)."""

    def __init__(
        self,
        tracker: CallTracker,
        legs: CallLegs,
        agent_of_device: Callable[[str], str | None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tracker = tracker
        self._legs = legs
        self._agent_of = agent_of_device
        self._clock = clock
        self._followed: dict[str, _Followed] = {}
        self._resyncing = False
        tracker.on_change(self._on_change)
        tracker.on_fact(self._on_fact)

    # -- what the call flow and the adoption tell ---------------------------------------------
    def following(self, call_id: str) -> bool:
        return call_id in self._followed

    def session_started(self, call_id: str) -> None:
        followed = self._followed.setdefault(call_id, _Followed())
        followed.sessions += 1
        followed.transferred = False
        followed.last_seen = self._clock()

    def transferred(self, call_id: str) -> bool:
        """Whether the PBX reported a blind transfer of ``call_id`` since its current session started."""
        followed = self._followed.get(call_id)
        return followed is not None and followed.transferred

    def session_ended(self, call_id: str, outcome: str, at: float, *, lives_on: bool) -> bool:
        """A session of ``call_id`` ended with ``outcome``; ``True`` when the watch writes the call's end.

        ``lives_on``: the call went on at the PBX (a transfer, a redirect).  ``False`` is returned for a
        call that ended with its session, or that the PBX link does not know: the session ends it.
        """
        followed = self._followed.get(call_id)
        if followed is None:
            return False
        followed.sessions = max(0, followed.sessions - 1)
        followed.outcome, followed.session_end, followed.last_seen = outcome, at, at
        if not lives_on or self._tracker.get(call_id) is None:
            if followed.sessions == 0:
                del self._followed[call_id]
            return False
        if followed.ended is not None and followed.sessions == 0:
            self._end(call_id)
        return True

    def session_stopped(self, call_id: str) -> None:
        """bankcti stops under a session: nothing is known of the call's end (see the adoption)."""
        followed = self._followed.get(call_id)
        if followed is not None:
            followed.sessions = max(0, followed.sessions - 1)
            if followed.outcome is None and not self._legs.answered(call_id):
                # A caller still in the IVR or the queue: if this process still sees the PBX end the
                # call, it ended because bankcti stopped serving it — not a caller's abandon.
                followed.outcome = "interrupted"

    def adopt(self, call_id: str) -> None:
        """Follow a call an earlier run of bankcti left open and the PBX still has."""
        self._followed.setdefault(call_id, _Followed(last_seen=self._clock()))

    @contextlib.contextmanager
    def resyncing(self) -> Iterator[None]:
        """Calls the tracker ends inside this block were found gone at a resync, not seen ending."""
        self._resyncing = True
        try:
            yield
        finally:
            self._resyncing = False

    # -- tracker -------------------------------------------------------------------------------
    def _on_change(self, call: Call, previous: CallState | None) -> None:
        followed = self._followed.get(call.linkedid)
        if followed is None or call.state is not CallState.ENDED or followed.ended is not None:
            return
        followed.ended = (call.ended_at or self._clock(), not self._resyncing)
        if followed.sessions == 0:
            self._end(call.linkedid)

    def _end(self, call_id: str) -> None:
        followed = self._followed.pop(call_id)
        assert followed.ended is not None
        at, observed = followed.ended
        outcome = followed.outcome or ("answered" if self._legs.answered(call_id) else "abandoned_in_queue")
        agent = self._legs.agent_login(call_id)
        if observed or followed.session_end is not None:
            ended = at if observed else followed.session_end
            end = CallEndRecord(
                call_id=call_id, outcome=outcome, ended_at=utc(ended or at), agent_login=agent
            )
        else:
            end = CallEndRecord(
                call_id=call_id,
                outcome="ended_unobserved",
                last_seen_at=utc(followed.last_seen) if followed.last_seen else None,
                found_gone_at=utc(at),
            )
        log.info("call.pbx_ended", extra={"call_id": call_id, "outcome": end.outcome, "observed": observed})
        self._legs.end(end)

    def _on_fact(self, fact: CallFact) -> None:
        followed = self._followed.get(fact.linkedid)
        if followed is None:
            return
        followed.last_seen = fact.at
        call_id, legs = fact.linkedid, self._legs
        if fact.kind == "blind_transfer":
            followed.transferred = True
            legs.close(
                call_id,
                legs.agent_leg(call_id),
                at=fact.at,
                reason="transferred_blind",
                transferred_to=fact.target,
            )
            log.info("call.transferred", extra={"call_id": call_id, "kind": "blind", "to": fact.target})
        elif fact.kind == "attended_transfer":
            self._attended(call_id, followed, fact.at)
        elif fact.kind == "parked":
            legs.open(call_id, "hold", at=fact.at, agent_login=legs.agent_login(call_id), target=fact.target)
        elif fact.kind in _HOLD_ENDS:
            legs.close(call_id, legs.hold_leg(call_id), at=fact.at, reason=_HOLD_ENDS[fact.kind])
        elif fact.kind == "dial_begin" and fact.uniqueid:
            dial = followed.dials.setdefault(fact.uniqueid, _Dial(fact.target or "", fact.at))
            if followed.sessions == 0 and dial.leg_key is None:
                # No session dials this: the dialplan does, after a transfer or a park's timeout.
                dial.leg_key = self._open_dial_leg(call_id, fact.uniqueid, dial, answered_at=None)
        elif fact.kind == "dial_end" and fact.uniqueid:
            self._dial_ended(call_id, followed, fact)

    def _open_dial_leg(self, call_id: str, uniqueid: str, dial: _Dial, *, answered_at: float | None) -> str:
        agent = self._agent_of(dial.target)
        return self._legs.open(
            call_id,
            "agent" if agent else "external",
            at=dial.began_at,
            key=f"dial-{uniqueid}"[:64],
            agent_login=agent,
            target=dial.target,
            offered_at=dial.began_at,
            answered_at=answered_at,
        )

    def _dial_ended(self, call_id: str, followed: _Followed, fact: CallFact) -> None:
        assert fact.uniqueid is not None
        dial = followed.dials.get(fact.uniqueid)
        if dial is None or dial.status is not None:
            return  # a second DialEnd CANCEL, or a dial begun before we followed the call
        dial.status = fact.status or ""
        if dial.leg_key is None:
            return
        if dial.status == "ANSWER":
            self._legs.update(call_id, dial.leg_key, answered_at=fact.at)
        else:
            reason = _RING_ENDS.get(dial.status) or "ring_failed"
            self._legs.close(call_id, dial.leg_key, at=fact.at, reason=reason)

    def _attended(self, call_id: str, followed: _Followed, at: float) -> None:
        """The agent left the customer with the target of their consultation: the call's latest dial."""
        consulted = max(followed.dials.items(), key=lambda item: item[1].began_at, default=None)
        target = consulted[1].target if consulted is not None else None
        legs = self._legs
        legs.close(
            call_id, legs.agent_leg(call_id), at=at, reason="transferred_attended", transferred_to=target
        )
        log.info("call.transferred", extra={"call_id": call_id, "kind": "attended", "to": target})
        if consulted is None:
            return
        uniqueid, dial = consulted
        # The target talks with the customer from the transfer on (or from its answer, if later).
        answered = at if dial.status == "ANSWER" else None
        dial.leg_key = self._open_dial_leg(call_id, uniqueid, dial, answered_at=answered)
