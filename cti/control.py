"""Call control over AMI: hold, transfers, hang-up, click-to-dial and ChanSpy.

:class:`CallControl` finds the channels of a call in the
:class:`~cti.tracker.CallTracker` (the agent's leg by its device, the
customer's leg as the agent's bridge partner) and drives Asterisk with
plain AMI actions.  It knows devices and channels, never agents or
customers: the composition root maps logins to devices.

Hold — AMI has no ``Hold`` action (a phone holds with a SIP re-INVITE; ARI
has ``/channels/{id}/hold``, AMI does not).  The two AMI ways are:

* ``Redirect`` both legs (the customer to ``MusicOnHold()``, the agent to a
  waiting extension) and ``Bridge`` them again on resume.  The redirect is
  an async goto of the customer's channel: its ``Dial`` and the FastAGI
  session running it end, so bankcti would see the call finish and then
  have to adopt an orphaned channel;
* ``Park`` the customer with the agent as ``TimeoutChannel`` — chosen.  The
  customer is *moved* into the parking lot's holding bridge (music on hold,
  ``ParkedCall`` event with the space); its ``Dial`` — and so its FastAGI
  session and the call's history — goes on untouched.  The price: the
  agent's leg is hung up while the call is held and resume rings the
  agent's device again (``Originate`` into ``ParkedCall(<lot>,<space>)``);
  with auto-answer devices that is one click.  A held call left too long
  (``park_timeout_ms``) is offered back to the agent's device by Asterisk.

Transfers — a blind transfer is AMI ``BlindTransfer`` on the agent's
channel: Asterisk sends the customer (its async goto ends the FastAGI
session like a hang-up) to the ``dial_context``.  An attended transfer is
``Atxfer``, which only *queues DTMF* on the agent's channel — the
``features.conf`` ``atxfer`` code (``*2``) and the target's digits — and
answers ``Atxfer successfully queued`` whatever happens next (traces k2–k4).
It works only if the ``Dial`` that bridged the agent gave the called party
the transfer features (option ``t``, bankcti's own Dial does) and
``transferannouncesound`` is empty (the stock ``pbx-transfer`` prompt
swallows the digits).  So the transfer counts as started only once the
agent's channel reports ``Hold`` (within ``atxfer_confirm_ms``; else it is
refused).  The customer then hears music on hold while the agent consults;
the agent hanging up completes it (``AttendedTransfer`` event, possibly
while the target still rings); ``CancelAtxfer`` (Asterisk 16+) queues the
``atxferabort`` code (``*1``) and brings the agent back (``Unhold``).  Click-to-dial is ``Originate``
of the agent's device into ``<number>@<dial_context>`` with a ``ChannelId``
we choose, so the call id (its ``Linkedid``) is known before it rings.
ChanSpy is ``Originate`` of the supervisor's device into
``ChanSpy(<agent channel>,q|qw|qB)``.

The dialplan this expects on Asterisk (the simulator has it built in)::

    [bankcti-dial]
    exten => queue,1,AGI(agi://bankcti:4573/inbound)   ; BANKCTI_TRANSFER_QUEUE names the queue
     same => n,Hangup()
    exten => agent,1,Dial(${BANKCTI_TRANSFER_DEVICE},30)
     same => n,Hangup()
    exten => *82,1,Goto(agent,1)                        ; attended transfer to an agent (keypad digits)
    exten => _X.,1,Dial(PJSIP/${EXTEN}@trunk,60)        ; and _+X. the same
     same => n,Hangup()
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cti.ami.errors import AmiActionError, AmiConnectionError, AmiTimeoutError
from cti.ami.message import AmiMessage
from cti.calls import Call, CallState, Leg
from cti.control_types import (
    KEYPAD,
    NUMBER,
    SPY_OPTIONS,
    ControlRefused,
    ControlSettings,
    NotOnCall,
    PbxUnavailable,
    TransferKind,
    TransferTarget,
    UnknownCall,
)
from cti.tracker import CallTracker

__all__ = [
    "SPY_OPTIONS",
    "AmiPort",
    "CallControl",
    "ControlRefused",
    "ControlSettings",
    "NotOnCall",
    "PbxUnavailable",
    "TransferKind",
    "TransferTarget",
    "UnknownCall",
]

log = logging.getLogger(__name__)

_PARK_WAIT = 5.0  # seconds resume waits for the ParkedCall event of a fresh hold


class AmiPort(Protocol):
    """The part of :class:`cti.ami.client.AmiClient` call control uses."""

    async def action(self, action: str, **fields: str | int | Sequence[str]) -> AmiMessage: ...


@dataclass
class _Held:
    channel: str
    uniqueid: str
    device: str
    space: str | None = None
    parked: asyncio.Event = field(default_factory=asyncio.Event)
    resuming: bool = False


class CallControl:
    """Call-control actions on the calls a :class:`CallTracker` knows.

    Feed it the parking events (:meth:`on_event`) from the same AMI client.
    Errors: :class:`UnknownCall`/:class:`NotOnCall` (``LookupError``),
    :class:`ControlRefused` (``ValueError``), :class:`PbxUnavailable`.
    """

    def __init__(self, ami: AmiPort, tracker: CallTracker, settings: ControlSettings | None = None) -> None:
        self._ami = ami
        self._tracker = tracker
        self.settings = settings or ControlSettings()
        self._held: dict[str, _Held] = {}  # by call id
        self._transfers: dict[str, str] = {}  # call id → transferer channel
        self._holds: dict[str, asyncio.Event] = {}  # transferer channel → its Hold was seen (Atxfer started)

    # -- lookups -----------------------------------------------------------------------
    def live_call(self, call_id: str) -> Call:
        call = self._tracker.get(call_id)
        if call is None or call.ended:
            raise UnknownCall(f"no call {call_id} in progress")
        return call

    def is_held(self, call_id: str) -> bool:
        return call_id in self._held

    def device_leg(self, call: Call, device: str) -> Leg:
        """The live leg of *device* on *call* (the bridged one first)."""
        prefix = device.lower() + "-"
        legs = [leg for leg in call.live_legs if leg.channel.lower().startswith(prefix)]
        if not legs:
            raise NotOnCall(f"{device} has no channel on call {call.linkedid}")

        # After a hold (Park) the agent's old channel lingers alone in the call's old bridge for a
        # few seconds (trace j1) while the retrieving channel talks: prefer a leg with a partner in
        # its bridge, then the newest.
        def talking(leg: Leg) -> bool:
            return any(other is not leg and other.bridge_id == leg.bridge_id for other in call.live_legs)

        legs.sort(
            key=lambda leg: (
                leg.bridge_id is None,
                not talking(leg),
                not leg.channel.endswith(";1"),
                -leg.created_at,
            )
        )
        return legs[0]

    def partner_leg(self, call: Call, leg: Leg) -> Leg:
        """Who *leg* talks to: its bridge partner, else the leg that started the call."""
        if leg.bridge_id:
            for other in call.live_legs:
                if other is not leg and other.bridge_id == leg.bridge_id:
                    return other
        origin = call.legs.get(call.linkedid)
        if origin is not None and origin.live and origin is not leg:
            return origin
        raise ControlRefused(f"call {call.linkedid} has nobody talking to {leg.channel}")

    def find_device_leg(self, device: str) -> Leg:
        """The live (preferably bridged) leg of *device* on any call."""
        for call in self._tracker.live_calls:
            try:
                leg = self.device_leg(call, device)
            except NotOnCall:
                continue
            if leg.bridge_id:
                return leg
        raise NotOnCall(f"{device} is on no call")

    # -- AMI ---------------------------------------------------------------------------------
    async def _send(self, action: str, **fields: str | int | Sequence[str]) -> AmiMessage:
        try:
            return await self._ami.action(action, **fields)
        except AmiActionError as exc:
            log.info("control.refused", extra={"action": action, "error": exc.message})
            raise ControlRefused(f"Asterisk refused {action}: {exc.message}") from None
        except (AmiConnectionError, AmiTimeoutError) as exc:
            raise PbxUnavailable(f"the PBX is not reachable: {exc}") from None

    def on_event(self, message: AmiMessage) -> None:
        """Follow parking (``ParkedCall``, ``UnParkedCall``…) and the end of transfers."""
        name = (message.event or "").lower()
        if name == "hold" and self._holds:
            started = self._holds.get(message.get("Channel") or "")
            if started is not None:
                started.set()
            return
        if self._transfers and name in ("unhold", "hangup"):
            # The customer is off hold (transfer done or dropped), or the transferer left.
            linkedid = message.get("Linkedid") or ""
            channel = self._transfers.get(linkedid)
            if channel is not None and (name == "unhold" or message.get("Channel") == channel):
                del self._transfers[linkedid]
            return
        linkedid = message.get("ParkeeLinkedid") or ""
        held = self._held.get(linkedid)
        if held is None:
            return
        if name == "parkedcall":
            held.space = message.get("ParkingSpace")
            held.channel = message.get("ParkeeChannel") or held.channel
            held.parked.set()
        elif name in ("unparkedcall", "parkedcallgiveup"):
            del self._held[linkedid]
            log.info("control.unparked", extra={"call_id": linkedid, "event": message.event})

    # -- hold -------------------------------------------------------------------------------------
    async def hold(self, call_id: str, device: str) -> None:
        """Park the customer of *device*'s call (see the module docstring)."""
        call = self.live_call(call_id)
        if call_id in self._held:
            raise ControlRefused("the call is already on hold")
        if call_id in self._transfers:
            raise ControlRefused("finish or cancel the transfer first")
        agent = self.device_leg(call, device)
        customer = self.partner_leg(call, agent)
        self._held[call_id] = _Held(customer.channel, customer.uniqueid, device)
        try:
            await self._send(
                "Park",
                Channel=customer.channel,
                TimeoutChannel=agent.channel,
                Timeout=self.settings.park_timeout_ms,
                Parkinglot=self.settings.parking_lot,
            )
        except BaseException:
            self._held.pop(call_id, None)
            raise
        log.info("control.hold", extra={"call_id": call_id, "device": device})

    async def resume(self, call_id: str, device: str) -> None:
        """Ring *device* into the parked call (``ParkedCall(<lot>,<space>)``)."""
        self.live_call(call_id)
        held = self._held.get(call_id)
        if held is None:
            raise ControlRefused("the call is not on hold")
        if held.resuming:
            raise ControlRefused("the call is being resumed already")
        try:
            async with asyncio.timeout(_PARK_WAIT):
                await held.parked.wait()
        except TimeoutError:
            raise ControlRefused("the PBX has not reported the parked call yet; try again") from None
        held.resuming = True
        try:
            await self._send(
                "Originate",
                Channel=device,
                Application="ParkedCall",
                Data=f"{self.settings.parking_lot},{held.space}",
                Timeout=self.settings.ring_timeout_ms,
                Async="true",
            )
        except BaseException:
            held.resuming = False
            raise
        log.info("control.resume", extra={"call_id": call_id, "device": device})

    # -- hang up --------------------------------------------------------------------------------
    async def hangup(self, call_id: str, device: str) -> None:
        """Hang up *device*'s leg (a held call: the parked customer)."""
        call = self.live_call(call_id)
        held = self._held.get(call_id)
        channel = held.channel if held is not None else self.device_leg(call, device).channel
        await self._send("Hangup", Channel=channel, Cause=16)
        log.info("control.hangup", extra={"call_id": call_id, "device": device})

    # -- transfers --------------------------------------------------------------------------------
    def _engaged(self, call_id: str, device: str) -> tuple[Call, Leg, Leg]:
        call = self.live_call(call_id)
        if call_id in self._held:
            raise ControlRefused("resume the call before transferring it")
        if call_id in self._transfers:
            raise ControlRefused("a transfer of this call is in progress")
        agent = self.device_leg(call, device)
        return call, agent, self.partner_leg(call, agent)

    async def blind_transfer(self, call_id: str, device: str, target: TransferTarget) -> None:
        """Send the customer to *target*; *device*'s leg is hung up by Asterisk."""
        _, agent, customer = self._engaged(call_id, device)
        exten = await self._prepare(customer.channel, target, inherit=False)
        await self._send(
            "BlindTransfer", Channel=agent.channel, Exten=exten, Context=self.settings.dial_context
        )
        # The customer's next dial is a new offer, not more of the old conversation.
        self._tracker.mark(call_id, CallState.QUEUED, queue=target.value if target.kind == "queue" else None)
        log.info("control.blind_transfer", extra={"call_id": call_id, "kind": str(target.kind)})

    async def attended_transfer(self, call_id: str, device: str, target: TransferTarget) -> None:
        """Consult *target* while the customer holds; complete or cancel later."""
        if target.kind is TransferKind.QUEUE:
            raise ControlRefused("a call goes to a queue by blind transfer; attended transfer needs a person")
        if target.kind is TransferKind.NUMBER and not KEYPAD.fullmatch(target.value):
            # Atxfer types the number on the agent's channel as DTMF: there is no "+" key.
            raise ControlRefused(
                "an attended transfer dials the number as keypad digits: give it without '+' "
                "(with the trunk's international prefix)"
            )
        _, agent, _ = self._engaged(call_id, device)
        exten = await self._prepare(agent.channel, target, inherit=True)
        if target.kind is TransferKind.AGENT:
            exten = self.settings.atxfer_agent_exten
        self._transfers[call_id] = agent.channel
        started = self._holds[agent.channel] = asyncio.Event()
        try:
            await self._send("Atxfer", Channel=agent.channel, Exten=exten, Context=self.settings.dial_context)
            # "queued" is all Atxfer says; the agent's Hold shows that the feature code was taken.
            async with asyncio.timeout(self.settings.atxfer_confirm_ms / 1000):
                await started.wait()
        except TimeoutError:
            self._transfers.pop(call_id, None)
            log.warning("control.atxfer_not_started", extra={"call_id": call_id})
            raise ControlRefused(
                "the PBX did not start the transfer (does the agent's Dial allow transfers, option t, "
                "and features.conf define atxfer?)"
            ) from None
        except BaseException:
            self._transfers.pop(call_id, None)
            raise
        finally:
            self._holds.pop(agent.channel, None)
        log.info("control.attended_transfer", extra={"call_id": call_id, "kind": str(target.kind)})

    def _transferer(self, call_id: str, device: str) -> str:
        self.live_call(call_id)
        channel = self._transfers.get(call_id)
        if channel is None:
            raise ControlRefused("no transfer of this call is in progress")
        if not channel.lower().startswith(device.lower() + "-"):
            raise ControlRefused("only the agent who started the transfer can finish it")
        return channel

    async def complete_transfer(self, call_id: str, device: str) -> None:
        """The agent leaves: the customer and the target talk (Asterisk completes on hang-up)."""
        channel = self._transferer(call_id, device)
        await self._send("Hangup", Channel=channel, Cause=16)
        self._transfers.pop(call_id, None)
        log.info("control.transfer_completed", extra={"call_id": call_id})

    async def cancel_transfer(self, call_id: str, device: str) -> None:
        """Drop the consultation; the agent is back with the customer."""
        channel = self._transferer(call_id, device)
        await self._send("CancelAtxfer", Channel=channel)
        self._transfers.pop(call_id, None)
        log.info("control.transfer_cancelled", extra={"call_id": call_id})

    async def _prepare(self, channel: str, target: TransferTarget, *, inherit: bool) -> str:
        """Set what the dialplan needs on *channel*; the extension to send the call to."""
        if target.kind is TransferKind.NUMBER:
            return target.value
        name = "BANKCTI_TRANSFER_QUEUE" if target.kind is TransferKind.QUEUE else "BANKCTI_TRANSFER_DEVICE"
        # An Atxfer dials from a Local channel: it inherits only "_" variables.
        await self._send(
            "Setvar", Channel=channel, Variable=("_" if inherit else "") + name, Value=target.value
        )
        return str(target.kind)

    # -- new calls ----------------------------------------------------------------------------------
    async def dial(
        self,
        device: str,
        number: str,
        *,
        caller_id: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> str:
        """Ring *device*; once answered Asterisk dials *number*.  Returns the call id."""
        if not NUMBER.fullmatch(number):
            raise ControlRefused(f"not a phone number: {number!r}")
        call_id = f"bankcti-{uuid.uuid4().hex[:16]}"
        fields: dict[str, str | int | Sequence[str]] = {
            "Channel": device,
            "Context": self.settings.dial_context,
            "Exten": number,
            "Priority": 1,
            "Timeout": self.settings.ring_timeout_ms,
            "ChannelId": call_id,
            "OtherChannelId": f"{call_id}-2",
            "Async": "true",
        }
        if caller_id:
            fields["CallerID"] = caller_id
        if variables:
            fields["Variable"] = [f"{key}={value}" for key, value in variables.items()]
        await self._send("Originate", **fields)
        log.info("control.dial", extra={"call_id": call_id, "device": device})
        return call_id

    async def spy(self, supervisor_device: str, agent_device: str, mode: str) -> str:
        """Ring the supervisor into ``ChanSpy`` on the agent's channel; returns that channel."""
        options = SPY_OPTIONS.get(mode)
        if options is None:
            raise ControlRefused(f"unknown spy mode {mode!r}; choose listen, whisper or barge")
        leg = self.find_device_leg(agent_device)
        await self._send(
            "Originate",
            Channel=supervisor_device,
            Application="ChanSpy",
            Data=f"{leg.channel},{options}",
            Timeout=self.settings.ring_timeout_ms,
            Async="true",
        )
        log.info("control.spy", extra={"channel": leg.channel, "mode": mode})
        return leg.channel
