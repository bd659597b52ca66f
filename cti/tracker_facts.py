"""Facts of a call that are not a state change: transfers, parking, and every dial of the call.

The tracker's states (:class:`cti.calls.CallState`) say where a call is;
these say what happened to it on the way, for whoever writes the call's
legs (:mod:`bankcti.calls.watch`).  Each AMI event below becomes one
:class:`CallFact` handed to the callbacks of
:meth:`cti.tracker.CallTracker.on_fact`, with the call's ``Linkedid`` taken
from the event's own prefixed fields (``TransfereeLinkedid``,
``ParkeeLinkedid``…): real Asterisk names the customer there (traces k1, k4,
j1, j2 in ``tests/fixtures/asterisk``).

* ``BlindTransfer`` ``Result: Success`` → ``blind_transfer`` (target: the
  ``Extension``);
* ``AttendedTransfer`` ``Result: Success`` → ``attended_transfer`` (its
  events carry no target; the target is the call's latest dial);
* ``ParkedCall`` / ``UnParkedCall`` / ``ParkedCallTimeOut`` /
  ``ParkedCallGiveUp`` → ``parked`` (target: the space), ``unparked``,
  ``park_timeout``, ``park_giveup``;
* ``DialBegin`` / ``DialEnd`` → ``dial_begin`` (target: what was dialled,
  ``PJSIP/1002``: the called channel's technology and the dial string) /
  ``dial_end`` (``status``: ``DialStatus``), for every dial of the call
  whatever its state — a dialplan ``Dial`` after a transfer, a
  consultation of an attended transfer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cti.ami.message import AmiMessage

if TYPE_CHECKING:
    from cti.tracker import CallTracker

__all__ = ["FACT_EVENTS", "CallFact", "FactCallback", "fact_of"]


@dataclass(frozen=True, slots=True)
class CallFact:
    """One fact of the call ``linkedid`` at ``at`` (epoch seconds); see the module for the kinds."""

    kind: str
    linkedid: str
    at: float
    target: str | None = None
    channel: str | None = None  # the agent's channel (transferer, retriever) or the called channel
    uniqueid: str | None = None  # a dial's DestUniqueid
    status: str | None = None  # a dial's DialStatus


FactCallback = Callable[[CallFact], None]


def _blind(msg: AmiMessage, at: float) -> CallFact | None:
    if (msg.get("Result") or "") != "Success":
        return None
    linkedid = msg.get("TransfereeLinkedid") or msg.get("TransfererLinkedid")
    if not linkedid:
        return None
    return CallFact(
        "blind_transfer", linkedid, at, target=msg.get("Extension"), channel=msg.get("TransfererChannel")
    )


def _attended(msg: AmiMessage, at: float) -> CallFact | None:
    if (msg.get("Result") or "") != "Success":
        return None
    linkedid = msg.get("TransfereeLinkedid") or msg.get("OrigTransfererLinkedid")
    if not linkedid:
        return None
    return CallFact("attended_transfer", linkedid, at, channel=msg.get("OrigTransfererChannel"))


_PARKING = {
    "parkedcall": "parked",
    "unparkedcall": "unparked",
    "parkedcalltimeout": "park_timeout",
    "parkedcallgiveup": "park_giveup",
}


def _parking(msg: AmiMessage, at: float) -> CallFact | None:
    linkedid = msg.get("ParkeeLinkedid")
    if not linkedid:
        return None
    kind = _PARKING[(msg.event or "").lower()]
    channel = msg.get("RetrieverChannel") if kind == "unparked" else None
    return CallFact(kind, linkedid, at, target=msg.get("ParkingSpace"), channel=channel)


def _dialled(msg: AmiMessage) -> str | None:
    """What the ``Dial`` was given: ``DialString`` lacks the technology (``1002`` for ``PJSIP/1002``,
    ``1001@agents`` for ``Local/1001@agents``), the called channel names it."""
    dial_string, channel = msg.get("DialString"), msg.get("DestChannel") or ""
    tech, slash, _ = channel.partition("/")
    if dial_string and slash and not dial_string.startswith(f"{tech}/"):
        return f"{tech}/{dial_string}"
    return dial_string or channel or None


def _dial(msg: AmiMessage, at: float) -> CallFact | None:
    linkedid, dest = msg.get("Linkedid"), msg.get("DestUniqueid")
    if not linkedid or not dest:
        return None  # no source channel: an Originate's dial, not a call's
    if (msg.event or "").lower() == "dialbegin":
        return CallFact(
            "dial_begin", linkedid, at, target=_dialled(msg), channel=msg.get("DestChannel"), uniqueid=dest
        )
    status = (msg.get("DialStatus") or "").upper()
    return CallFact("dial_end", linkedid, at, channel=msg.get("DestChannel"), uniqueid=dest, status=status)


FACT_EVENTS: dict[str, Callable[[AmiMessage, float], CallFact | None]] = {
    "blindtransfer": _blind,
    "attendedtransfer": _attended,
    **dict.fromkeys(_PARKING, _parking),
    "dialbegin": _dial,
    "dialend": _dial,
}


def fact_of(tracker: CallTracker, msg: AmiMessage, at: float) -> CallFact | None:
    """The fact ``msg`` states about a call the tracker knows (live or just ended), else ``None``."""
    reader = FACT_EVENTS.get((msg.event or "").lower())
    fact = reader(msg, at) if reader is not None else None
    if fact is None or tracker.get(fact.linkedid) is None:
        return None
    return fact
