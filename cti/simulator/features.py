"""DTMF features in a bridge: the attended transfer that AMI ``Atxfer`` starts (traces k2–k4).

Asterisk's ``Atxfer`` action does not transfer anything itself: it queues the
``atxfer`` feature code (``features.conf [featuremap] atxfer => *2``) and the
target's digits as DTMF frames on the channel and answers ``Atxfer
successfully queued`` whatever happens next (``manager.c action_atxfer``).
What the digits do depends on the bridge:

* a channel that may not transfer — the ``Dial`` that bridged it had no ``t``
  (for the called party) or ``T`` (for the caller) — passes every digit to
  its bridge partner (``DTMFBegin``/``DTMFEnd`` ``Sent`` there), trace k2; a
  channel in no bridge just consumes them;
* a channel that may: the feature code is swallowed, the transferer is put on
  ``Hold`` and the transferee hears music on hold; with a
  ``transferannouncesound`` (the stock ``pbx-transfer``) the prompt swallows
  the first digit and the transfer stalls (trace k3); without one the digits
  name ``<exten>@TRANSFER_CONTEXT`` and a consultation call starts: the
  target's ``;1`` and then the transferer enter a new bridge while the target
  still rings (trace k4);
* the transferer hanging up completes the transfer (``BridgeMerge`` of the
  consultation into the transferee's bridge, ``AttendedTransfer``), the
  target hanging up or the ``atxferabort`` code (``*1``, what ``CancelAtxfer``
  queues) brings the transferer back.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from cti.ami.message import AmiMessage
from cti.simulator import control_events
from cti.simulator.bridging import (
    bridge_fields,
    create_bridge,
    destroy_bridge,
    enter,
    leave,
    set_holding,
    settle,
)
from cti.simulator.channels import Bridge, Channel
from cti.simulator.core import Pbx

__all__ = ["allow_transfer", "queue_digits", "transfer_of"]

#: Seconds between queued digits: passed through a bridge (each one played for 100 ms), and
#: read by the transfer's digit collection (trace k2 / k4).
PASS_GAP, COLLECT_GAP = 0.16, 0.06
#: Seconds from the completed feature code to ``Hold`` (trace k4), digit timeout of the collection.
HOLD_DELAY, DIGIT_TIMEOUT = 0.1, 3.0
PASS_MS = 100

_may_transfer: weakref.WeakSet[Channel] = weakref.WeakSet()
_buffers: weakref.WeakKeyDictionary[Channel, str] = weakref.WeakKeyDictionary()
_transfers: weakref.WeakKeyDictionary[Channel, AttendedTransfer] = weakref.WeakKeyDictionary()


def allow_transfer(channel: Channel) -> None:
    """*channel* may use the transfer features (``Dial`` option ``t``: the callee, ``T``: the caller)."""
    _may_transfer.add(channel)


def transfer_of(channel: Channel) -> AttendedTransfer | None:
    return _transfers.get(channel)


async def queue_digits(pbx: Pbx, channel: Channel, digits: str) -> None:
    """``ast_queue_frame`` of DTMF *digits* on *channel*, one after the other."""
    for digit in digits:
        if channel.gone:
            return
        collecting = _collecting(channel)
        _feed(pbx, channel, digit)
        await pbx.sleep(COLLECT_GAP if collecting or _collecting(channel) else PASS_GAP)


def _collecting(channel: Channel) -> bool:
    transfer = _transfers.get(channel)
    return transfer is not None and transfer.state == "collecting"


def _feed(pbx: Pbx, channel: Channel, digit: str) -> None:
    """One queued DTMF frame arrives on *channel* (an END frame: no ``DTMFBegin``)."""
    pbx.emit_for(channel, pbx.events.dtmf_end(channel, digit, 0, "Received"))
    transfer = _transfers.get(channel)
    if transfer is not None:
        transfer.digit(digit)
        return
    if channel.reader is not None and not channel.dead:
        channel.reader.offer(digit)
        return
    if channel.bridge is None:
        return
    if channel in _may_transfer:
        buffered = _buffers.get(channel, "") + digit
        config = pbx.config
        codes = {config.atxfer_code: "atxfer"} if config.atxfer_code else {}
        if buffered in codes:
            _buffers.pop(channel, None)
            pbx.spawn(_start_transfer(pbx, channel), f"atxfer-{channel.name}")
            return
        if any(code.startswith(buffered) for code in codes):
            _buffers[channel] = buffered
            return
        _buffers.pop(channel, None)
        for held_digit in buffered:
            _pass(pbx, channel, held_digit)
        return
    _pass(pbx, channel, digit)


def _pass(pbx: Pbx, channel: Channel, digit: str) -> None:
    """The bridge plays *digit* to *channel*'s partners (their Local halves hear it)."""
    bridge = channel.bridge
    if bridge is None:
        return
    for partner in [m for m in bridge.members if m is not channel and not m.dead]:
        pbx.emit_for(partner, pbx.events.dtmf_begin(partner, digit, "Sent"))
        far = partner.peer if partner.local_half and partner.peer is not None else None
        if far is not None and not far.gone:
            pbx.emit_for(far, pbx.events.dtmf_begin(far, digit, "Received"))
        pbx.spawn(_pass_end(pbx, partner, far, digit), f"dtmf-{partner.name}")


async def _pass_end(pbx: Pbx, partner: Channel, far: Channel | None, digit: str) -> None:
    await pbx.sleep(PASS_MS / 1000)
    if not partner.gone:
        pbx.emit_for(partner, pbx.events.dtmf_end(partner, digit, PASS_MS, "Sent"))
    if far is not None and not far.gone:
        pbx.emit_for(far, pbx.events.dtmf_end(far, digit, PASS_MS, "Received"))
        if far.reader is not None and not far.dead:
            far.reader.offer(digit)


async def _start_transfer(pbx: Pbx, transferer: Channel) -> None:
    bridge = transferer.bridge
    partners = [] if bridge is None else [m for m in bridge.members if m is not transferer and not m.dead]
    if bridge is None or len(partners) != 1:
        return
    transfer = AttendedTransfer(pbx, transferer, partners[0], bridge)
    _transfers[transferer] = transfer
    await pbx.sleep(HOLD_DELAY)
    transfer.hold()


@dataclass(eq=False)
class AttendedTransfer:
    """``bridge_basic.c``'s attended transfer, from the feature code to its end."""

    pbx: Pbx
    transferer: Channel
    transferee: Channel
    bridge: Bridge  # the transferee's bridge (OrigBridge)
    state: str = "collecting"  # collecting → stalled | consulting → done
    digits: str = ""
    target: Channel | None = None
    consult: Bridge | None = None
    _timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def hold(self) -> None:
        pbx = self.pbx
        if self.transferer.dead or self.transferee.dead:
            self._finish()
            return
        set_holding(self.bridge, True)  # the transferee's Dial goes on while the transferer consults
        pbx.emit_for(self.transferer, control_events.hold(pbx, self.transferer, True, None))
        pbx.start_moh(self.transferee, "default")
        if pbx.config.transfer_announce_sound:
            # The prompt plays to the transferer and swallows the digits: the transfer stalls.
            self.state = "stalled"
        self.transferer.hangup_listeners.append(lambda _chan: self._transferer_gone())

    # -- digit collection -------------------------------------------------------------------
    def digit(self, digit: str) -> None:
        if self.state == "consulting":
            self.digits = (self.digits + digit)[-len(self.pbx.config.atxfer_abort_code or "x") :]
            if self.pbx.config.atxfer_abort_code and self.digits == self.pbx.config.atxfer_abort_code:
                self.abort()
            return
        if self.state != "collecting":
            return
        self.digits += digit
        if self._timer is not None:
            self._timer.cancel()
        context = self.transferer.variables.get("TRANSFER_CONTEXT") or self.transferer.context
        if self.pbx.has_extension(context, self.digits) and not self._may_grow(context):
            self._dial(context)
            return
        self._timer = asyncio.get_running_loop().call_later(
            self.pbx.scaled(DIGIT_TIMEOUT), self._digit_timeout, context
        )

    def _may_grow(self, context: str) -> bool:
        # A pattern like _X. matches more digits: Asterisk waits for the digit timeout then.
        return self.pbx.has_extension(context, self.digits + "0")

    def _digit_timeout(self, context: str) -> None:
        if self.state == "collecting" and self.pbx.has_extension(context, self.digits):
            self._dial(context)
        elif self.state == "collecting":
            self.abort()

    # -- the consultation ---------------------------------------------------------------------
    def _dial(self, context: str) -> None:
        from cti.simulator.apps.dial import create_leg  # Dial's legs need the apps package

        pbx = self.pbx
        leg = create_leg(
            pbx,
            self.transferer,
            f"Local/{self.digits}@{context}",
            app_label="AppDial",
            cid=(self.transferer.caller_num, self.transferer.caller_name),
        )
        if isinstance(leg, str):
            self.abort()
            return
        self.state = "consulting"
        self.digits = ""
        self.target = leg.channel
        self.consult = create_bridge(pbx, self.transferer.linkedid)
        leg.channel.on_ringing = lambda chan: self._ringing(chan)
        leg.channel.on_answer = lambda chan: self._answered(chan)
        leg.channel.hangup_listeners.append(lambda _chan: self._target_gone())
        leg.start(pbx)

    def _ringing(self, target: Channel) -> None:
        if self.consult is None or self.state != "consulting" or target.bridge is self.consult:
            return
        enter(self.pbx, self.consult, target)  # the target joins while it still rings (k4)
        if not target.is_up:
            self.pbx.emit_for(target, self.pbx.events.dial_state(None, target, "RINGING"))
        leave(self.pbx, self.bridge, self.transferer)
        enter(self.pbx, self.consult, self.transferer)

    def _answered(self, target: Channel) -> None:
        self._ringing(target)  # a target that answered without ringing joins now
        self.pbx.emit_for(target, self.pbx.events.dial_end(None, target, "ANSWER"))
        if self.state == "done" and self.consult is not None:
            destroy_bridge(self.pbx, self.consult)
            if not self.transferer.gone:
                self.pbx.destroy(self.transferer)

    def _transferer_gone(self) -> None:
        """The transferer hung up: while consulting, the target takes its place (AttendedTransfer)."""
        if self.state == "done":
            return  # an earlier, finished transfer of the same agent
        if self.state != "consulting" or self.target is None or self.consult is None:
            self._finish()
            if self.transferer.bridge is None and not self.transferer.gone:
                self.pbx.destroy(self.transferer)
            set_holding(self.bridge, False)
            return
        self.state = "done"
        _transfers.pop(self.transferer, None)
        self.pbx.spawn(self._complete(self.target, self.consult), f"atxfer-done-{self.transferer.name}")

    async def _complete(self, target: Channel, consult: Bridge) -> None:
        pbx = self.pbx
        leave(pbx, consult, self.transferer)
        if self.transferer.peer is not None:
            pbx.queue_hangup(self.transferer.peer, self.transferer.hangup_cause or 16)
        pbx.stop_moh(self.transferee)
        await settle(self.transferer.peer)  # the transferer's Local half ends its dialplan first (k4)
        pbx.emit(_bridge_merge(self.bridge, consult), self.transferer.linkedid)
        event = control_events.attended_transfer(
            pbx,
            transferer=self.transferer,
            orig_bridge=self.bridge,
            second=self.transferer,
            second_bridge=consult,
            transferee=self.transferee,
        )
        leave(pbx, consult, target)
        enter(pbx, self.bridge, target)
        set_holding(self.bridge, False)
        pbx.emit_for(self.transferee, event)
        if target.is_up:
            destroy_bridge(pbx, consult)
            pbx.destroy(self.transferer)
        # Else the transferer's channel lives until the target answers (trace k4).

    def _target_gone(self) -> None:
        if self.state == "consulting":
            self.abort()

    def abort(self) -> None:
        """Back to the transferee: the target (if any) hung up, music off, ``Unhold``."""
        if self.state == "done":
            return
        pbx = self.pbx
        self.state = "done"
        _transfers.pop(self.transferer, None)
        if self._timer is not None:
            self._timer.cancel()
        if self.consult is not None:
            for member in list(self.consult.members):
                leave(pbx, self.consult, member)
            destroy_bridge(pbx, self.consult)
        if self.target is not None and not self.target.gone:
            pbx.destroy(self.target, 16)
        pbx.stop_moh(self.transferee)
        if not self.transferer.dead and self.transferer.bridge is None and not self.bridge.destroyed:
            enter(pbx, self.bridge, self.transferer)
        set_holding(self.bridge, False)
        if not self.transferer.gone:
            pbx.emit_for(self.transferer, control_events.hold(pbx, self.transferer, False))

    def _finish(self) -> None:
        if self.state != "done":
            self.state = "done"
            _transfers.pop(self.transferer, None)


def _bridge_merge(to: Bridge, source: Bridge) -> AmiMessage:
    return AmiMessage(
        [
            ("Event", "BridgeMerge"),
            ("Privilege", "call,all"),
            *bridge_fields(to, "To"),
            *bridge_fields(source, "From"),
        ]
    )
