"""The ``Dial`` application and two-party bridging.

:func:`app_dial` rings its devices with the legs of
:mod:`cti.simulator.apps.legs` (re-exported here: :class:`OutboundLeg`,
:class:`DialAttempt`, :func:`create_leg`), bridges the caller with the first
to answer (:func:`bridge_until_hangup`) and stays in the bridged phase —
parking and transfers included — until the call ends or moves on.
"""

from __future__ import annotations

import asyncio
import logging
import time

from cti.simulator.apps.legs import (
    CHANUNAVAIL,
    DialAttempt,
    OutboundLeg,
    create_leg,
    status_of_failed_legs,
)
from cti.simulator.bridging import bridged_phase, has_goto, settle
from cti.simulator.channels import Bridge, Channel
from cti.simulator.core import Pbx
from cti.simulator.features import allow_transfer

__all__ = [
    "DialAttempt",
    "OutboundLeg",
    "app_dial",
    "bridge_until_hangup",
    "create_leg",
    "parse_options",
    "unbridge",
]

log = logging.getLogger(__name__)


def bridge_until_hangup(pbx: Pbx, caller: Channel, peer: Channel) -> Bridge:
    """Create a basic bridge with *peer* then *caller* (as ``ast_bridge_call``)."""
    bridge = pbx.bridge_create(caller.linkedid)
    pbx.bridge_enter(bridge, peer)
    pbx.bridge_enter(bridge, caller)
    pbx.set_var(peer, "BRIDGEPEER", caller.name)
    pbx.set_var(caller, "BRIDGEPEER", peer.name)
    return bridge


def unbridge(pbx: Pbx, bridge: Bridge, caller: Channel, peer: Channel, first: Channel | None) -> None:
    """Both parties leave, the one that hung up first leaving first."""
    for channel in (peer, caller):
        if not channel.gone:
            pbx.set_var(channel, "BRIDGEPEER", "")
    order = (caller, peer) if first is caller else (peer, caller)
    for channel in order:
        pbx.bridge_leave(bridge, channel)


def parse_options(text: str) -> dict[str, str]:
    """Application options like ``gm(default)r`` → ``{"g": "", "m": "default", "r": ""}``."""
    options: dict[str, str] = {}
    i = 0
    while i < len(text):
        letter = text[i]
        i += 1
        argument = ""
        if i < len(text) and text[i] == "(":
            end = text.find(")", i)
            end = len(text) if end < 0 else end
            argument, i = text[i + 1 : end], end + 1
        options[letter] = argument
    return options


def _seconds(pbx: Pbx, since: float) -> tuple[str, str]:
    ms = round(pbx.sim_elapsed(since) * 1000)
    return str(ms // 1000), str(ms)


async def app_dial(pbx: Pbx, caller: Channel, data: str) -> int:
    """``Dial(device[&device...][,timeout[,options]])``.

    Returns 0 when nobody answered (the dialplan goes on) and -1 when the
    caller hung up or — without the ``g`` option — after a bridged call.
    """
    parts = data.split(",")
    devices = [device for device in parts[0].split("&") if device]
    options = parse_options(parts[2] if len(parts) > 2 else "")
    try:
        timeout = float(parts[1]) if len(parts) > 1 and parts[1] else None
    except ValueError:
        timeout = None
    if not devices:
        log.warning("sim.dial_no_device", extra={"channel": caller.name})
        return -1
    if caller.dead:
        # app_dial: "Caller hung up before dial" (a Dial run from a dead AGI channel).
        pbx.set_var(caller, "DIALSTATUS", "CANCEL")
        observer = pbx.call_of(caller)
        if observer is not None:
            observer.on_dial_status("CANCEL")
        return -1
    started = time.monotonic()
    for name in ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS"):
        pbx.set_var(caller, name, "")
    legs: list[OutboundLeg] = []
    status = CHANUNAVAIL
    for device in devices:
        leg = create_leg(
            pbx,
            caller,
            device,
            app_label="AppDial",
            cid=(caller.caller_num, caller.caller_name),
            dial_callerid="o" not in options,
        )
        if isinstance(leg, OutboundLeg):
            legs.append(leg)
    result = 0
    if legs:
        try:
            status, result = await _ring_and_bridge(pbx, caller, legs, timeout, options, started)
        except asyncio.CancelledError:
            # Redirected away or simulator closing: the called phones stop ringing.
            for leg in legs:
                pbx.destroy(leg.channel, 0)
            raise
    dialed, dialed_ms = _seconds(pbx, started)
    pbx.set_var(caller, "DIALEDTIME", dialed)
    pbx.set_var(caller, "DIALEDTIME_MS", dialed_ms)
    pbx.set_var(caller, "DIALSTATUS", status)
    observer = pbx.call_of(caller)
    if observer is not None:
        observer.on_dial_status(status)
    return result


async def _ring_and_bridge(
    pbx: Pbx,
    caller: Channel,
    legs: list[OutboundLeg],
    ring_limit: float | None,
    options: dict[str, str],
    started: float,
) -> tuple[str, int]:
    for leg in legs:
        pbx.emit_for(caller, pbx.events.dial_begin(caller, leg.channel, leg.dialstring))
    if "m" in options:
        pbx.start_moh(caller, options["m"] or "default")
    else:
        pbx.stop_moh(caller)  # music from before (AGI SET MUSIC on) stops when Dial calls (trace i3)

    def ringing(leg: OutboundLeg) -> None:
        pbx.emit_for(caller, pbx.events.dial_state(caller, leg.channel, "RINGING"))

    def failed(leg: OutboundLeg) -> None:
        pbx.emit_for(caller, pbx.events.dial_end(caller, leg.channel, leg.failed_status or "NOANSWER"))
        pbx.destroy(leg.channel)

    attempt = DialAttempt(pbx, caller, legs, ringing, failed)
    for leg in legs:
        leg.start(pbx)
    outcome, winner = await attempt.wait(None if ring_limit is None else pbx.scaled(ring_limit))
    if outcome != "answer" or winner is None:
        final = {"cancel": "CANCEL", "timeout": "NOANSWER"}.get(outcome)
        for leg in attempt.pending:
            pbx.emit_for(caller, pbx.events.dial_end(caller, leg.channel, final or "NOANSWER"))
            # A cancelled leg is hung up with the caller's cause (16, trace i3), an unanswered one with 0.
            pbx.destroy(leg.channel, (caller.hangup_cause or 16) if outcome == "cancel" else 0)
            if outcome == "cancel":
                # The caller hung up: Dial returns only once the called Local half ended (trace i3).
                await settle(leg.channel.peer)
        if "m" in options:
            pbx.stop_moh(caller)
        if final is None:
            return status_of_failed_legs(legs), 0
        return final, -1 if outcome == "cancel" else 0
    for leg in attempt.pending:
        if leg is not winner:
            pbx.emit_for(caller, pbx.events.dial_end(caller, leg.channel, "CANCEL"))
            pbx.destroy(leg.channel, 26)
    peer = winner.channel
    if peer.local_half:
        peer.exten = ""  # app_dial leaves the answered Local peer without an extension (trace i1)
    pbx.emit_for(caller, pbx.events.dial_end(caller, peer, "ANSWER"))
    if not caller.is_up:
        pbx.answer(caller)
    pbx.stop_moh(caller)
    observer = pbx.call_of(caller)
    if observer is not None:
        observer.on_agent_answer(winner.state_interface)
    answered = time.monotonic()
    bridge_until_hangup(pbx, caller, peer)
    if "t" in options:
        allow_transfer(peer)  # the called party may transfer (DTMF features, trace k3/k4)
    if "T" in options:
        allow_transfer(caller)
    # Parking and transfers may move the caller to other bridges meanwhile.
    await bridged_phase(pbx, caller)
    talk, talk_ms = _seconds(pbx, answered)
    pbx.set_var(caller, "ANSWEREDTIME", talk)
    pbx.set_var(caller, "ANSWEREDTIME_MS", talk_ms)
    if has_goto(caller):
        # Moved on by an async goto (blind transfer, park timeout): Dial returns 0 (k1, j2).
        return "ANSWER", 0
    keep_going = "g" in options and not caller.dead
    return "ANSWER", 0 if keep_going else -1
