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
* ``Atxfer`` — only queues DTMF: the ``atxfer`` feature code and the
  digits of ``Exten`` (``TRANSFER_CONTEXT`` set from ``Context``) →
  ``Atxfer successfully queued`` whatever happens next; what the digits do
  is :mod:`cti.simulator.features` (traces k2–k4).  ``CancelAtxfer`` queues
  the ``atxferabort`` code → ``CancelAtxfer successfully queued``.
"""

from __future__ import annotations

from cti.simulator import control_events
from cti.simulator.ami.context import ActionContext, ActionHandler
from cti.simulator.apps.control import lot_of
from cti.simulator.bridging import async_goto, destroy_bridge, leave
from cti.simulator.channels import Bridge, Channel
from cti.simulator.core import Pbx
from cti.simulator.features import queue_digits

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


#: Seconds the parker stays alone in the old bridge before it is hung up (traces j1, j2: ~2.6 s).
PARKER_LINGER = 2.6


async def action_park(ctx: ActionContext) -> None:
    name = ctx.header("Channel")
    if not name:
        ctx.error("Channel not specified")
        return
    chan = ctx.pbx.registry.get(name)
    if chan is None or chan.dead:
        ctx.error(f"Channel does not exist: {name}")
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
    # res_parking answers before the parkee has moved, with a bare LF ending the message (j1):
    # written raw, since the encoder of AmiMessage turns line breaks into blanks.
    action_id = f"ActionID: {ctx.action_id}\r\n" if ctx.action_id is not None else ""
    ctx.session.write(f"Response: Success\r\n{action_id}Message: Park successful\n\r\n\r\n".encode())
    if lot_of(ctx.pbx).park(chan, parker_dial, timeout) is None:
        return
    ctx.pbx.spawn(_hang_up_parker(ctx.pbx, bridge), "park-parker-linger")


async def _hang_up_parker(pbx: Pbx, bridge: Bridge) -> None:
    """The parker, alone in the old bridge, is hung up a little later (traces j1, j2)."""
    await pbx.sleep(PARKER_LINGER)
    if not bridge.destroyed:
        _dissolve_left(pbx, bridge)


async def action_parked_calls(ctx: ActionContext) -> None:
    """``ParkedCalls``: one ``ParkedCall`` per space (no Privilege, ActionID last), then the total."""
    lot = lot_of(ctx.pbx)
    ctx.list_start("Parked calls will follow")
    spaces = sorted(lot.spaces.items())
    for _space, parked in spaces:
        fields = [field for field in lot.event("ParkedCall", parked).fields if field[0] != "Privilege"]
        ctx.list_item([*fields, *ctx.id_field()])
    ctx.list_complete("ParkedCallsComplete", len(spaces), [("Total", str(len(spaces)))])


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
    if bridge is None or len(partners) != 1:
        ctx.error(invalid)
        # ast_bridge_transfer_blind publishes the refused attempt too (k1: Result Invalid).
        ctx.pbx.emit_for(
            transferer, control_events.blind_transfer_invalid(ctx.pbx, transferer, context, exten)
        )
        return None
    return transferer, partners[0], bridge, context, exten


async def action_blind_transfer(ctx: ActionContext) -> None:
    found = _two_party_transfer(ctx, invalid="Transfer invalid")
    if found is None:
        return
    transferer, transferee, bridge, context, exten = found
    pbx = ctx.pbx
    ctx.success("Transfer succeeded")
    pbx.emit_for(transferer, control_events.hold(pbx, transferer, False))
    pbx.emit_for(
        transferer, control_events.blind_transfer(pbx, transferer, transferee, bridge, context, exten)
    )
    # The transferer leaves and is hung up; the transferee leaves already showing its new place and
    # its Dial returns 0 (the async goto) — the AGI running it sees a hang-up (trace k1).
    leave(pbx, bridge, transferer)
    pbx.destroy(transferer, 16)
    transferee.context, transferee.exten, transferee.priority = context, exten, 1
    async_goto(transferee, context, exten)
    leave(pbx, bridge, transferee)
    _dissolve_left(pbx, bridge)


async def action_atxfer(ctx: ActionContext) -> None:
    """``manager.c action_atxfer``: queue the ``atxfer`` code and the digits of ``Exten`` as DTMF."""
    name, exten = ctx.header("Channel"), ctx.header("Exten")
    if not name:
        ctx.error("No channel specified")
        return
    if not exten:
        ctx.error("No extension specified")
        return
    chan = ctx.pbx.registry.get(name)
    if chan is None:
        ctx.error("Channel specified does not exist")
        return
    code = ctx.pbx.config.atxfer_code
    if not code:
        ctx.error("No attended transfer feature code found")
        return
    context = ctx.header("Context")
    if context:
        ctx.pbx.set_var(chan, "TRANSFER_CONTEXT", context)
    ctx.success("Atxfer successfully queued")
    ctx.pbx.spawn(queue_digits(ctx.pbx, chan, code + exten), f"atxfer-digits-{chan.name}")


async def action_cancel_atxfer(ctx: ActionContext) -> None:
    """``manager.c action_cancel_atxfer`` (Asterisk 16+): queue the ``atxferabort`` code as DTMF."""
    name = ctx.header("Channel")
    if not name:
        ctx.error("No channel specified")
        return
    chan = ctx.pbx.registry.get(name)
    if chan is None:
        ctx.error("Channel specified does not exist")
        return
    code = ctx.pbx.config.atxfer_abort_code
    if not code:
        ctx.error("No disconnect feature code found")
        return
    ctx.success("CancelAtxfer successfully queued")
    ctx.pbx.spawn(queue_digits(ctx.pbx, chan, code), f"atxfer-abort-{chan.name}")


CONTROL_ACTIONS: dict[str, ActionHandler] = {
    "park": action_park,
    "parkedcalls": action_parked_calls,
    "blindtransfer": action_blind_transfer,
    "atxfer": action_atxfer,
    "cancelatxfer": action_cancel_atxfer,
}
