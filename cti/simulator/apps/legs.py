"""Outbound legs and ringing them: the skeleton shared by ``Dial``, ``Queue`` and AMI ``Originate``.

An :class:`OutboundLeg` is what ``ast_request`` + ``ast_call`` produce: a
Local pair (``;1`` faces the dialer, ``;2`` runs the dialplan of the called
extension) or one PJSIP channel to an :class:`~cti.simulator.AgentPhone`
(:func:`run_phone` plays that phone).  :class:`DialAttempt` rings legs and
resolves to the first answer, the caller's hangup, every leg failing or the
timeout; :func:`status_of_failed_legs` turns the failed legs' causes into a
``DIALSTATUS``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from cti.simulator.channels import Channel, ChannelState
from cti.simulator.config import AgentPhone
from cti.simulator.core import Pbx

__all__ = [
    "CHANUNAVAIL",
    "DialAttempt",
    "OutboundLeg",
    "create_leg",
    "run_phone",
    "status_for_cause",
    "status_of_failed_legs",
]

# Dial's logger: a leg's records keep the name they had when legs lived in apps.dial.
log = logging.getLogger("cti.simulator.apps.dial")

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
    dial_callerid: bool = False,
) -> OutboundLeg | str:
    """Request and call *device*; returns the leg or a failure DIALSTATUS.

    With *dial_callerid* (app ``Dial`` without its ``o`` option) the called
    Local channel takes the caller's extension and shows it as its caller ID
    number, the caller's ID as its connected line, and the ``;2`` half swaps
    the two (trace i1: ``;1`` ``CallerIDNum: s``, ``;2`` ``ConnectedLineNum: s``).
    """
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
        connected = None
        if dial_callerid and caller is not None:
            one.exten = caller.exten
            one.connected_num, one.connected_name = caller.caller_num, caller.caller_name
            connected, cid = (caller.caller_num, caller.caller_name), (caller.exten, caller.caller_name)
        _present(pbx, caller, one, cid, connected)
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
        if dial_callerid and caller is not None:
            pbx.set_callerid(two, one.connected_num, one.connected_name, one.caller_pres)
        else:
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


def _present(
    pbx: Pbx,
    caller: Channel | None,
    chan: Channel,
    cid: tuple[str | None, str | None],
    connected: tuple[str | None, str | None] | None = None,
) -> None:
    """Caller ID, connected line (*cid* unless *connected*) and inherited variables of a new channel."""
    pres = caller.caller_pres if caller is not None else 0
    pbx.set_callerid(chan, cid[0], cid[1], pres)
    inherited = chan.inherit_from(caller) if caller is not None else []
    line = cid if connected is None else connected
    pbx.set_connected(chan, line[0], line[1])
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
