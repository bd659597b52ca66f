"""Outbound legs, the ``Dial`` application and two-party bridging.

An :class:`OutboundLeg` is what ``ast_request`` + ``ast_call`` produce: a
Local pair (``;1`` faces the dialer, ``;2`` runs the dialplan of the called
extension) or one PJSIP channel to an :class:`~cti.simulator.AgentPhone`.
:class:`DialAttempt` rings legs and resolves to the first answer, the
caller's hangup, every leg failing or the timeout — the skeleton shared by
``Dial``, ``Queue`` and AMI ``Originate``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from cti.simulator.bridging import bridged_phase
from cti.simulator.channels import Bridge, Channel, ChannelState
from cti.simulator.config import AgentPhone
from cti.simulator.core import Pbx

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

CHANUNAVAIL = "CHANUNAVAIL"
#: The DialEnd status of one failed leg, by its hangup cause.
_CAUSE_STATUS = {
    17: "BUSY",
    21: "BUSY",
    34: "CONGESTION",
    42: "CONGESTION",
    1: CHANUNAVAIL,
    3: CHANUNAVAIL,
    20: CHANUNAVAIL,
}


@dataclass(eq=False)
class OutboundLeg:
    """One called device: ``channel`` faces the dialer, ``far`` is the callee side."""

    device: str
    dialstring: str
    state_interface: str
    channel: Channel
    far: Channel
    phone: AgentPhone | None
    failed_status: str | None = None

    def start(self, pbx: Pbx) -> None:
        """Let the callee side run: the ``;2`` dialplan or the SIP phone."""
        if self.far is not self.channel:
            pbx.run_dialplan(self.far, self.far.context, self.far.exten)
        elif self.phone is not None:
            pbx.spawn(run_phone(pbx, self.channel, self.phone), f"phone-{self.channel.name}")


def create_leg(
    pbx: Pbx,
    caller: Channel | None,
    device: str,
    *,
    app_label: str,
    cid: tuple[str | None, str | None],
    linkedid: str | None = None,
    uniqueids: tuple[str | None, str | None] = (None, None),
    peer_number: bool = True,
) -> OutboundLeg | str:
    """Request and call *device*; returns the leg or a failure DIALSTATUS."""
    tech, _, resource = device.partition("/")
    resource, _, options = resource.partition("/")
    linked = caller.linkedid if caller is not None else linkedid
    if tech.lower() == "local":
        exten, _, context = resource.partition("@")
        context = context or "default"
        if not pbx.has_extension(context, exten):
            log.info("sim.dial_no_extension", extra={"device": device})
            return CHANUNAVAIL
        one, two = pbx.new_local_pair(exten, context, linkedid=linked, uniqueids=uniqueids)
        pbx.newexten(one, 1, app_label, "(Outgoing Line)")
        _present(pbx, caller, one, cid)
        if caller is not None and one.exten != caller.exten:
            one.exten = caller.exten
            pbx.newexten(one, 1, app_label, "(Outgoing Line)")
        if peer_number:
            pbx.set_var(one, "DIALEDPEERNUMBER", f"{resource}/{options}" if options else resource)
            pbx.set_var(two, "DIALEDPEERNUMBER", f"{resource}/{options}" if options else resource)
        for name, value in one.variables.items():
            if name not in two.variables:
                level = one.inheritable.get(name, 0)
                two.set_var("_" * level + name, value)
                pbx.emit_for(two, pbx.events.varset(two, "_" * level + name, value))
        two.connected_num, two.connected_name = one.caller_num, one.caller_name
        pbx.set_callerid(two, one.caller_num, one.caller_name, one.caller_pres)
        pbx.set_connected(two, one.caller_num, one.caller_name)
        pbx.emit_for(one, pbx.events.local_bridge(one, two, context, exten, options != "n"))
        phone = pbx.phone_for(f"Local/{exten}@{context}")
        return OutboundLeg(device, device.partition("/")[2], f"Local/{exten}@{context}", one, two, phone)
    if tech.upper() == "PJSIP":
        phone = pbx.phone_for(f"PJSIP/{resource}")
        if phone is None:
            log.info("sim.dial_unknown_endpoint", extra={"device": device})
            return CHANUNAVAIL
        chan = pbx.new_channel(
            "PJSIP",
            resource,
            context="default",
            exten="s",
            state=ChannelState.DOWN,
            linkedid=linked,
            uniqueid=uniqueids[0],
        )
        pbx.announce(chan)
        pbx.newexten(chan, 1, app_label, "(Outgoing Line)")
        _present(pbx, caller, chan, cid)
        if peer_number:
            pbx.set_var(chan, "DIALEDPEERNUMBER", resource)
        return OutboundLeg(device, resource, f"PJSIP/{resource}", chan, chan, phone)
    log.info("sim.dial_unknown_technology", extra={"device": device})
    return CHANUNAVAIL


def _present(pbx: Pbx, caller: Channel | None, chan: Channel, cid: tuple[str | None, str | None]) -> None:
    """Caller ID, connected line and inherited variables of a new outbound channel."""
    pres = caller.caller_pres if caller is not None else 0
    pbx.set_callerid(chan, cid[0], cid[1], pres)
    inherited = chan.inherit_from(caller) if caller is not None else []
    pbx.set_connected(chan, cid[0], cid[1])
    for name, value in inherited:
        pbx.emit_for(chan, pbx.events.varset(chan, name, value))


async def run_phone(pbx: Pbx, channel: Channel, phone: AgentPhone) -> None:
    """A SIP phone: rings at once, answers after ``answer_after``, talks, hangs up.

    A phone with a ``reject_cause`` refuses the call at once instead (a SIP
    486 Busy Here is cause 17), without ringing; so does a phone without call
    waiting that is already on a call (cause 17).
    """
    if phone.reject_cause is not None:
        pbx.queue_hangup(channel, phone.reject_cause)
        return
    if not phone.call_waiting and any(
        other is not channel and not other.dead for other in pbx.registry.on_device(phone.device)
    ):
        pbx.queue_hangup(channel, 17)  # already on a call and no call waiting: 486 Busy Here
        return
    pbx.indicate_ringing(channel)
    if not phone.answers:
        await channel.wait_hangup()
        return
    if await channel.wait_hangup(pbx.scaled(phone.answer_after)):
        return
    pbx.answer(channel)
    if phone.talk_seconds is None:
        return
    if not await channel.wait_hangup(pbx.scaled(phone.talk_seconds)):
        pbx.queue_hangup(channel, 16)


def status_for_cause(cause: int | None) -> str:
    return _CAUSE_STATUS.get(cause or 0, "NOANSWER")


def status_of_failed_legs(legs: list[OutboundLeg]) -> str:
    """``DIALSTATUS`` when every leg failed before an answer, as app_dial's ``handle_cause`` counts them.

    Cause 17 counts as busy, 34 as congestion, 16 (normal clearing) and 19
    (no answer) as neither, any other cause as "no channel"; the status is
    ``BUSY`` if any leg was busy, else ``CONGESTION`` if any was congested,
    else ``CHANUNAVAIL``, else ``NOANSWER`` (every leg simply hung up).
    """
    causes = [leg.channel.hangup_cause or 0 for leg in legs]
    if 17 in causes:
        return "BUSY"
    if 34 in causes:
        return "CONGESTION"
    if any(cause not in (0, 16, 19) for cause in causes):
        return CHANUNAVAIL
    return "NOANSWER"


class DialAttempt:
    """Rings *legs* for *caller* and reports how the attempt ended."""

    def __init__(
        self,
        pbx: Pbx,
        caller: Channel | None,
        legs: list[OutboundLeg],
        on_ringing: Callable[[OutboundLeg], None],
        on_failed: Callable[[OutboundLeg], None],
    ) -> None:
        self.pbx = pbx
        self.caller = caller
        self.legs = legs
        self._on_ringing = on_ringing
        self._on_failed = on_failed
        self._outcome: asyncio.Future[tuple[str, OutboundLeg | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self._listeners: list[tuple[Channel, Callable[[Channel], None]]] = []
        for leg in legs:
            self._watch(leg)
        if caller is not None:
            self._listen(caller, lambda _chan: self._resolve("cancel", None))

    def _listen(self, channel: Channel, listener: Callable[[Channel], None]) -> None:
        channel.hangup_listeners.append(listener)
        self._listeners.append((channel, listener))

    def _watch(self, leg: OutboundLeg) -> None:
        leg.channel.on_ringing = lambda _chan: self._on_ringing(leg)
        leg.channel.on_answer = lambda _chan: self._resolve("answer", leg)
        self._listen(leg.channel, lambda _chan: self._leg_failed(leg))

    def _leg_failed(self, leg: OutboundLeg) -> None:
        if self._outcome.done() or leg.channel.is_up:
            return
        leg.failed_status = status_for_cause(leg.channel.hangup_cause)
        # Handled on the dialer's turn, not inside the hangup that caused it.
        asyncio.get_running_loop().call_soon(self._on_failed, leg)
        if all(candidate.failed_status for candidate in self.legs):
            self._resolve("failed", None)

    def _resolve(self, outcome: str, leg: OutboundLeg | None) -> None:
        if not self._outcome.done():
            self._outcome.set_result((outcome, leg))

    async def wait(self, limit: float | None) -> tuple[str, OutboundLeg | None]:
        """``("answer", leg)``, ``("cancel"|"failed"|"timeout", None)``."""
        loop = asyncio.get_running_loop()
        # The timeout resolves the outcome itself: awaiting the future directly
        # wakes the dialer in one loop turn, like the channel threads it mimics.
        timer = None if limit is None else loop.call_later(limit, self._resolve, "timeout", None)
        try:
            return await self._outcome
        finally:
            if timer is not None:
                timer.cancel()
            self.detach()

    def detach(self) -> None:
        for leg in self.legs:
            leg.channel.on_ringing = None
            leg.channel.on_answer = None
        for channel, listener in self._listeners:
            if listener in channel.hangup_listeners:
                channel.hangup_listeners.remove(listener)
        self._listeners.clear()

    @property
    def pending(self) -> list[OutboundLeg]:
        return [leg for leg in self.legs if leg.failed_status is None and not leg.channel.gone]


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
            pbx, caller, device, app_label="AppDial", cid=(caller.caller_num, caller.caller_name)
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
            pbx.destroy(leg.channel, 0)
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
    pbx.emit_for(caller, pbx.events.dial_end(caller, peer, "ANSWER"))
    if not caller.is_up:
        pbx.answer(caller)
    pbx.stop_moh(caller)
    observer = pbx.call_of(caller)
    if observer is not None:
        observer.on_agent_answer(winner.state_interface)
    answered = time.monotonic()
    bridge_until_hangup(pbx, caller, peer)
    # Parking and transfers may move the caller to other bridges meanwhile.
    await bridged_phase(pbx, caller)
    talk, talk_ms = _seconds(pbx, answered)
    pbx.set_var(caller, "ANSWEREDTIME", talk)
    pbx.set_var(caller, "ANSWEREDTIME_MS", talk_ms)
    keep_going = "g" in options and not caller.dead
    return "ANSWER", 0 if keep_going else -1
