"""AMI call-control actions: Park, BlindTransfer, Atxfer and CancelAtxfer.

Responses and error texts are Asterisk 22's (``manager.c``,
``res_parking/parking_manager.c``):

* ``Park`` — ``Channel`` (its bridge partner named by ``TimeoutChannel``
  is the parker, called back on timeout), ``Timeout`` in ms → ``Park
  successful``; the parked channel keeps its ``Dial`` (see
  :mod:`cti.simulator.bridging`), the parker's leg is hung up.
* ``BlindTransfer`` — ``Channel`` is the transferer: its bridge partner
  leaves for ``Exten``@``Context`` (an async goto: a running AGI sees a
  hangup, then the dialplan continues there) → ``Transfer succeeded``.
* ``Atxfer`` — the transferer's partner is put on hold and the transferer
  calls ``Local/<Exten>@<Context>`` → ``Atxfer successfully queued``.  When
  the transferer hangs up the transfer completes (``AttendedTransfer``);
  ``CancelAtxfer`` (``CancelAtxfer successfully queued``) hangs up the
  target and brings the transferer back.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from cti.simulator import control_events
from cti.simulator.ami.context import ActionContext, ActionHandler
from cti.simulator.apps.control import lot_of
from cti.simulator.apps.dial import OutboundLeg, create_leg
from cti.simulator.bridging import async_goto, create_bridge, destroy_bridge, enter, leave, set_holding
from cti.simulator.channels import Bridge, Channel
from cti.simulator.core import Pbx

__all__ = ["CONTROL_ACTIONS"]


def _partners(chan: Channel) -> list[Channel]:
    bridge = chan.bridge
    return [] if bridge is None else [m for m in bridge.members if m is not chan and not m.dead]


def _dissolve_left(pbx: Pbx, bridge: Bridge) -> None:
    """What stays in a basic bridge after its caller left: hung up, bridge destroyed."""
    rest = list(bridge.members)
    for member in rest:
        leave(pbx, bridge, member)
    destroy_bridge(pbx, bridge)
    for member in rest:
        pbx.destroy(member, 16)


async def action_park(ctx: ActionContext) -> None:
    name = ctx.header("Channel")
    if not name:
        ctx.error("Channel not specified")
        return
    chan = ctx.pbx.registry.get(name)
    if chan is None or chan.dead:
        ctx.error("Channel does not exist")
        return
    timeout_text = ctx.header("Timeout")
    if timeout_text and not timeout_text.isdigit():
        ctx.error("Invalid Timeout")
        return
    bridge = chan.bridge
    if bridge is None:
        ctx.error("Park failed")
        return
    parker_name = ctx.header("TimeoutChannel")
    parker = ctx.pbx.registry.get(parker_name) if parker_name else None
    parker_dial = parker.device if parker is not None else ""
    timeout = int(timeout_text) // 1000 if timeout_text else None
    if lot_of(ctx.pbx).park(chan, parker_dial, timeout) is None:
        ctx.error("Park failed")
        return
    ctx.success("Park successful")
    _dissolve_left(ctx.pbx, bridge)


def _two_party_transfer(
    ctx: ActionContext, *, invalid: str
) -> tuple[Channel, Channel, Bridge, str, str] | None:
    """The transferer (``Channel``), its one partner, their bridge, and the target (``Context``, ``Exten``).

    Answers the error Asterisk gives and returns ``None`` when one is missing
    or the channel is not in a two-party bridge (``invalid``: that message).
    """
    name, exten = ctx.header("Channel"), ctx.header("Exten")
    if not name:
        ctx.error("No channel specified")
        return None
    if not exten:
        ctx.error("No extension specified")
        return None
    transferer = ctx.pbx.registry.get(name)
    if transferer is None:
        ctx.error("Channel specified does not exist")
        return None
    context = ctx.header("Context") or transferer.context
    bridge, partners = transferer.bridge, _partners(transferer)
    if bridge is None or len(partners) != 1 or transferer in _transfers:
        ctx.error(invalid)
        return None
    return transferer, partners[0], bridge, context, exten


async def action_blind_transfer(ctx: ActionContext) -> None:
    found = _two_party_transfer(ctx, invalid="Transfer invalid")
    if found is None:
        return
    transferer, transferee, bridge, context, exten = found
    event = control_events.blind_transfer(ctx.pbx, transferer, transferee, bridge, context, exten)
    leave(ctx.pbx, bridge, transferee)
    async_goto(transferee, context, exten)
    ctx.success("Transfer succeeded")
    ctx.pbx.emit_for(transferer, event)
    _dissolve_left(ctx.pbx, bridge)


@dataclass(eq=False)
class _Transfer:
    """One attended transfer in progress, keyed by its transferer."""

    pbx: Pbx
    transferer: Channel
    transferee: Channel
    bridge: Bridge  # the transferee's bridge, held while the transferer consults
    leg: OutboundLeg
    consult: Bridge | None = None
    done: bool = False

    def start(self) -> None:
        pbx, one = self.pbx, self.leg.channel
        set_holding(self.bridge, True)
        pbx.emit_for(self.transferee, control_events.hold(pbx, self.transferee, True))
        pbx.start_moh(self.transferee, "default")
        leave(pbx, self.bridge, self.transferer)
        one.on_answer = lambda _chan: self._answered()
        one.hangup_listeners.append(lambda _chan: self._target_gone())
        self.transferer.hangup_listeners.append(lambda _chan: self.complete())
        self.leg.start(pbx)

    def _answered(self) -> None:
        if self.done or self.transferer.dead:
            return
        pbx = self.pbx
        self.consult = create_bridge(pbx, self.transferer.linkedid)
        enter(pbx, self.consult, self.transferer)
        enter(pbx, self.consult, self.leg.channel)

    def _target_gone(self) -> None:
        """The target hung up or never answered: back to the held party."""
        if not self.done:
            self.cancel()

    def _unhold(self) -> None:
        pbx = self.pbx
        set_holding(self.bridge, False)
        if not self.transferee.gone:
            pbx.stop_moh(self.transferee)
            pbx.emit_for(self.transferee, control_events.hold(pbx, self.transferee, False))

    def _close_consult(self) -> None:
        if self.consult is not None:
            for member in list(self.consult.members):
                leave(self.pbx, self.consult, member)
            destroy_bridge(self.pbx, self.consult)

    def complete(self) -> None:
        """The transferer hung up: the target takes its place next to the transferee."""
        if self.done:
            return
        self.done = True
        _transfers.pop(self.transferer, None)
        pbx, one = self.pbx, self.leg.channel
        one.on_answer = None
        event = None
        if not self.transferee.dead and not self.bridge.destroyed and not one.dead:
            event = control_events.attended_transfer(
                pbx,
                transferer=self.transferer,
                orig_bridge=self.bridge,
                second=self.transferer,
                second_bridge=self.consult,
                transferee=self.transferee,
                target=one,
            )
        self._close_consult()
        if event is not None:
            enter(pbx, self.bridge, one)
            self._unhold()
            pbx.emit_for(self.transferer, event)
        else:
            set_holding(self.bridge, False)
            pbx.destroy(one, 16)
        pbx.destroy(self.transferer)

    def cancel(self) -> None:
        if self.done:
            return
        self.done = True
        _transfers.pop(self.transferer, None)
        pbx, one = self.pbx, self.leg.channel
        one.on_answer = None
        self._close_consult()
        if not one.gone:
            pbx.destroy(one, 16)
        if self.transferee.dead or self.bridge.destroyed:
            pbx.destroy(self.transferer)
            return
        enter(pbx, self.bridge, self.transferer)
        self._unhold()


_transfers: weakref.WeakKeyDictionary[Channel, _Transfer] = weakref.WeakKeyDictionary()


async def action_atxfer(ctx: ActionContext) -> None:
    found = _two_party_transfer(ctx, invalid="Channel is not in a two-party bridge")
    if found is None:
        return
    transferer, transferee, bridge, context, exten = found
    leg = create_leg(
        ctx.pbx,
        transferer,
        f"Local/{exten}@{context}",
        app_label="AppDial",
        cid=(transferer.caller_num, transferer.caller_name),
    )
    if not isinstance(leg, OutboundLeg):
        ctx.error("Unable to dial transfer target")
        return
    ctx.success("Atxfer successfully queued")
    transfer = _Transfer(ctx.pbx, transferer, transferee, bridge, leg)
    _transfers[transferer] = transfer
    transfer.start()


async def action_cancel_atxfer(ctx: ActionContext) -> None:
    name = ctx.header("Channel")
    if not name:
        ctx.error("No channel specified")
        return
    transferer = ctx.pbx.registry.get(name)
    if transferer is None:
        ctx.error("Channel specified does not exist")
        return
    transfer = _transfers.get(transferer)
    if transfer is None:
        ctx.error("No active transfer attempt")
        return
    ctx.success("CancelAtxfer successfully queued")
    transfer.cancel()


CONTROL_ACTIONS: dict[str, ActionHandler] = {
    "park": action_park,
    "blindtransfer": action_blind_transfer,
    "atxfer": action_atxfer,
    "cancelatxfer": action_cancel_atxfer,
}
