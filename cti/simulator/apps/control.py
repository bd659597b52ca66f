"""Call parking and the applications of call control: ``ParkedCall`` and ``ChanSpy``.

Parking follows ``res_parking`` (Asterisk 12+): the lot ``default`` has
spaces 701–750 and one holding bridge; a parked channel hears music on
hold there (``ParkedCall`` event) until a ``ParkedCall(default,701)``
retrieves it into a new basic bridge with the retriever (``UnParkedCall``),
it hangs up (``ParkedCallGiveUp``) or its time runs out
(``ParkedCallTimeOut``; the parkee then dials its parker from ``park-dial``,
see :meth:`ParkingLot._expire`).  A retrieved channel's ``Dial`` goes on with the retriever as its
new partner, and the retriever takes the parkee's ``Linkedid`` (the oldest
one wins when channels are bridged).

``ChanSpy(<channel prefix>,<options>)`` spies on the first live channel
whose name starts with the prefix: ``ChanSpyStart``, then ``ChanSpyStop``
when either side hangs up.  Without a channel to spy on it keeps scanning
until the spy hangs up, like Asterisk without the ``E``/``S`` options.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field

from cti.ami.message import AmiMessage
from cti.simulator import control_events
from cti.simulator.bridging import (
    BridgeKind,
    async_goto,
    create_bridge,
    destroy_bridge,
    enter,
    has_dialer,
    leave,
    mark_guest,
    move,
    set_holding,
)
from cti.simulator.channels import Bridge, Channel, wait_any_hangup
from cti.simulator.core import Pbx
from cti.simulator.dialplan.parking import PARK_DIAL_CONTEXT, park_dial_exten

__all__ = ["LOT", "ParkingLot", "app_chanspy", "app_parked_call", "lot_of"]

LOT = "default"
FIRST_SPACE, LAST_SPACE = 701, 750
DEFAULT_TIMEOUT = 45  # seconds, parkingtime in res_parking.conf
SCAN_SECONDS = 1.0


@dataclass(eq=False)
class Parked:
    parkee: Channel
    space: int
    parker_dial_string: str
    timeout: int
    since: float = field(default_factory=time.monotonic)


class ParkingLot:
    """The lot ``default`` of one simulated PBX."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.bridge: Bridge | None = None
        self.spaces: dict[int, Parked] = {}

    def park(self, parkee: Channel, parker_dial_string: str, timeout: int | None) -> Parked | None:
        """Move *parkee* into the lot; None when every space is taken."""
        free = next((s for s in range(FIRST_SPACE, LAST_SPACE + 1) if s not in self.spaces), None)
        if free is None:
            return None
        if self.bridge is None or self.bridge.destroyed:
            kind = BridgeKind("parking", "holding_bridge", "ParkingLot", LOT)
            self.bridge = create_bridge(self.pbx, parkee.linkedid, kind)
            set_holding(self.bridge, True)
        seconds = DEFAULT_TIMEOUT if timeout is None else timeout
        parked = Parked(parkee, free, parker_dial_string, seconds)
        self.spaces[free] = parked
        if parkee.bridge is not None:
            leave(self.pbx, parkee.bridge, parkee)
        self._publish("ParkedCall", parked)  # between leaving the call and entering the lot (j1)
        enter(self.pbx, self.bridge, parkee)
        self.pbx.start_moh(parkee, "default")
        parkee.hangup_listeners.append(lambda _chan: self._gave_up(parked))
        if seconds > 0:
            self.pbx.spawn(self._expire(parked), f"park-timeout-{parked.space}")
        return parked

    def retrieve(self, space: int | None, retriever: Channel) -> Parked | None:
        """Take the call in *space* (or the first parked one) out of the lot."""
        if space is None:
            space = min(self.spaces, default=None)
        parked = self.spaces.pop(space, None) if space is not None else None
        if parked is None or parked.parkee.dead:
            return None
        self.pbx.stop_moh(parked.parkee)
        self._publish("UnParkedCall", parked, retriever)
        return parked

    def _gave_up(self, parked: Parked) -> None:
        if self.spaces.get(parked.space) is parked:
            del self.spaces[parked.space]
            self._publish("ParkedCallGiveUp", parked)
            if not has_dialer(parked.parkee):
                # A parked callee (an outbound call's far end) has no Dial to end it.
                self.pbx.spawn(_release(self.pbx, parked.parkee), f"park-giveup-{parked.space}")

    async def _expire(self, parked: Parked) -> None:
        """The parking time ran out: the parkee calls its parker back from ``park-dial`` (trace j2).

        Like ``comebacktoorigin=yes``: the parkee leaves the lot by an async goto to
        ``park-dial,<parker flattened>,1`` — the ``Dial`` (and an AGI running it) returns 0 and
        the comeback ``Dial`` runs once that application is over.
        """
        await self.pbx.sleep(parked.timeout)
        parkee = parked.parkee
        if self.spaces.get(parked.space) is not parked or parkee.dead:
            return
        if not parked.parker_dial_string:
            self._publish("ParkedCallTimeOut", parked)
            return
        del self.spaces[parked.space]
        self.pbx.stop_moh(parkee)
        if parkee.bridge is not None:
            leave(self.pbx, parkee.bridge, parkee)
        exten = park_dial_exten(parked.parker_dial_string)
        parkee.context, parkee.exten, parkee.priority = PARK_DIAL_CONTEXT, exten, 1
        async_goto(parkee, PARK_DIAL_CONTEXT, exten)
        for _ in range(5):  # the Dial returns (AGIExecEnd) before the event is published (j2)
            await asyncio.sleep(0)
        self._publish("ParkedCallTimeOut", parked)

    def event(self, name: str, parked: Parked, retriever: Channel | None = None) -> AmiMessage:
        """The ``ParkedCall``-style event of *parked* as it is now."""
        duration = int(self.pbx.sim_elapsed(parked.since))
        return control_events.parked_call(
            self.pbx,
            name,
            parked.parkee,
            lot=LOT,
            space=parked.space,
            parker_dial_string=parked.parker_dial_string,
            timeout=max(parked.timeout - duration, 0),  # the time left: 45 → 43 after 2 s (j1)
            duration=duration,
            retriever=retriever,
        )

    def _publish(self, name: str, parked: Parked, retriever: Channel | None = None) -> None:
        self.pbx.emit_for(parked.parkee, self.event(name, parked, retriever))


_lots: weakref.WeakKeyDictionary[Pbx, ParkingLot] = weakref.WeakKeyDictionary()


def lot_of(pbx: Pbx) -> ParkingLot:
    lot = _lots.get(pbx)
    if lot is None:
        lot = _lots[pbx] = ParkingLot(pbx)
    return lot


async def app_parked_call(pbx: Pbx, channel: Channel, data: str) -> int:
    """``ParkedCall([lot[,space]])``: bridge *channel* with a parked call."""
    lot_name, _, space_text = data.partition(",")
    if lot_name.strip().isdigit() and not space_text:
        lot_name, space_text = LOT, lot_name  # the pre-12 form ParkedCall(701)
    if lot_name.strip() not in ("", LOT) or (space_text.strip() and not space_text.strip().isdigit()):
        return -1
    if not channel.is_up:
        pbx.answer(channel)
    parked = lot_of(pbx).retrieve(int(space_text) if space_text.strip() else None, channel)
    if parked is None:
        return -1  # Asterisk plays pbx-invalidpark and hangs up
    parkee = parked.parkee
    channel.linkedid = parkee.linkedid
    bridge = create_bridge(pbx, parkee.linkedid)
    move(pbx, parkee, bridge)
    mark_guest(channel)
    enter(pbx, bridge, channel)
    if has_dialer(parkee):
        await channel.wait_hangup()  # the parkee's Dial dissolves the bridge
    else:
        # A parked callee: this application owns the bridge it made.
        await wait_any_hangup(channel, parkee)
        await _release(pbx, parkee)
    if channel.bridge is not None:
        leave(pbx, channel.bridge, channel)
    if bridge.members == [] and not bridge.destroyed:
        destroy_bridge(pbx, bridge)
    return -1


async def _release(pbx: Pbx, channel: Channel) -> None:
    """Take *channel* out of its bridge and hang it up (``ast_bridge`` of an imparted channel)."""
    await asyncio.sleep(0)
    if channel.bridge is not None:
        leave(pbx, channel.bridge, channel)
    if not channel.gone:
        pbx.destroy(channel, 16)


async def app_chanspy(pbx: Pbx, channel: Channel, data: str) -> int:
    """``ChanSpy([prefix][,options])``: listen (``q``), whisper (``w``) or barge (``B``)."""
    prefix = data.partition(",")[0].strip()
    if not channel.is_up:
        pbx.answer(channel)
    while not channel.dead:
        spyee = next(
            (
                c
                for c in pbx.registry
                if c is not channel and not c.dead and c.name.lower().startswith(prefix.lower())
            ),
            None,
        )
        if spyee is None:
            await channel.wait_hangup(pbx.scaled(SCAN_SECONDS))
            continue
        pbx.emit_for(spyee, control_events.chanspy(pbx, True, channel, spyee))
        while not channel.dead and not spyee.dead:
            await channel.wait_hangup(pbx.scaled(SCAN_SECONDS))
        pbx.emit_for(spyee, control_events.chanspy(pbx, False, channel, spyee))
    return -1
