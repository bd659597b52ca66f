"""What the ``Dial`` to the agents' phones ended with, for the caller and for the agents.

Asterisk's ``Dial`` application sets ``DIALSTATUS`` to one of these
(docs.asterisk.org, "Dial" application and "Dial Channel Variables"); the
call flow reads it after ``EXEC Dial`` and :func:`judge` says what it means:

============  =====================================================  ============================
DIALSTATUS    Asterisk's meaning                                     for the caller / the agents
============  =====================================================  ============================
ANSWER        the called party answered                              connected
NOANSWER      it rang for the whole timeout                          waits on / no-answer: the
                                                                     queue's auto-pause applies
BUSY          the called party is busy                               waits on / the device is on a
                                                                     call the ACD did not route:
                                                                     agent marked busy
CANCEL        the Dial was cancelled before an answer: the caller    gone: abandoned / agents free,
              hung up                                                never paused
CHANUNAVAIL   the device exists but is not reachable (not            waits on / device-unavailable
              registered), or does not exist
CONGESTION    channel or switching congestion on the way             waits on / device-unavailable
DONTCALL      privacy screening: the callee sent the caller to       waits on / declined (free, at
              the "go away" script                                   the back of the idle order)
TORTURE       privacy screening: the callee sent the caller to       waits on / declined
              the "torture" script
INVALIDARGS   Dial could not parse its arguments: the device's       waits on / device-unavailable
              dial string is unusable
other, unset  not a Dial result (the application is missing)        the call fails / agents free
============  =====================================================  ============================

Whatever the status, a caller channel that is gone ends the wait at once:
the AGI session reports it with an unsolicited ``HANGUP`` line, a ``511``
reply or end of file (:attr:`cti.fastagi.AgiChannel.hung_up`), and ``Dial``
itself returns ``-1`` when the caller hung up (traces i3 and g in
``tests/fixtures/asterisk``).  A ``Dial`` from a channel already gone
returns at once with ``CANCEL`` ("Caller hung up before dial"): looping on
it would fail every agent of the floor in a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from acd import Acd, RingFailure

__all__ = ["RING_FAILURES", "DialOutcome", "Verdict", "judge", "settle_ring"]

#: DIALSTATUS of a ring that failed with the caller still waiting, and what it means for the agents.
RING_FAILURES: dict[str, RingFailure] = {
    "NOANSWER": RingFailure.NO_ANSWER,
    "BUSY": RingFailure.DEVICE_BUSY,
    "CHANUNAVAIL": RingFailure.DEVICE_UNAVAILABLE,
    "CONGESTION": RingFailure.DEVICE_UNAVAILABLE,
    "INVALIDARGS": RingFailure.DEVICE_UNAVAILABLE,
    "DONTCALL": RingFailure.DECLINED,
    "TORTURE": RingFailure.DECLINED,
}


class Verdict(StrEnum):
    """How the call goes on after the ``Dial``."""

    ANSWERED = "answered"  # talk, then history
    CALLER_GONE = "caller_gone"  # abandoned while the phones rang
    RING_FAILED = "ring_failed"  # back to its place, the next agent is tried
    PBX_FAULT = "pbx_fault"  # not a Dial result: the call fails, nobody is blamed


@dataclass(frozen=True)
class DialOutcome:
    """:func:`judge`'s answer: the ``verdict``, and for a failed ring the ``failure`` of the agents."""

    status: str
    verdict: Verdict
    failure: RingFailure | None = None


def judge(status: str | None, *, result: int, caller_hung_up: bool) -> DialOutcome:
    """The meaning of one ``Dial`` (see the module docstring).

    ``status`` is ``DIALSTATUS`` (``None`` when unset), ``result`` what
    ``EXEC Dial`` returned and ``caller_hung_up`` whether the AGI channel
    reported the caller gone.
    """
    word = (status or "").strip().upper() or "UNSET"
    if word == "ANSWER":
        return DialOutcome(word, Verdict.ANSWERED)
    if word == "CANCEL" or caller_hung_up or result == -1:
        return DialOutcome(word, Verdict.CALLER_GONE)
    failure = RING_FAILURES.get(word)
    if failure is None:
        return DialOutcome(word, Verdict.PBX_FAULT)
    return DialOutcome(word, Verdict.RING_FAILED, failure)


async def settle_ring(acd: Acd, call_id: str, outcome: DialOutcome) -> bool:
    """Tell the ACD how a ring that was not answered ended; ``True`` when the caller still waits.

    A caller gone abandons the call (:meth:`acd.Acd.ring_cancelled`: the
    ringing agents are free, nobody is paused); a failed ring sends the call
    back to its place with the agents treated as ``outcome.failure`` says
    (:meth:`acd.Acd.ring_failed`); a PBX fault takes the call out of the ACD
    without blaming anyone.  Raises :class:`ValueError` for an answered
    outcome, which the call flow connects instead.
    """
    if outcome.verdict is Verdict.ANSWERED:
        raise ValueError("an answered Dial is connected, not settled")
    if outcome.verdict is Verdict.CALLER_GONE:
        await acd.ring_cancelled(call_id, dial_status=outcome.status)
        return False
    if outcome.verdict is Verdict.PBX_FAULT:
        await acd.cancel(call_id, reason="failed")
        return False
    assert outcome.failure is not None
    await acd.ring_failed(call_id, outcome.failure, dial_status=outcome.status)
    return True
