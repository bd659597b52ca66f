"""Bridges that change while a call is up: parking, transfers, async gotos.

In Asterisk a channel that ``Dial`` bridged keeps running ``Dial`` while
the bridging core moves it around: parking moves it into the lot's
holding bridge, ``ParkedCall`` moves it from there into a bridge with the
retriever, an attended transfer swaps the transferer for the transfer
target.  ``Dial`` returns only when the caller hangs up, leaves for another
dialplan location (a blind transfer's async goto) or is left alone in a
basic bridge (the far end hung up and the bridge dissolved).

:func:`bridged_phase` is that part of ``Dial``.  The control actions
(:mod:`cti.simulator.ami.control_actions`) and applications
(:mod:`cti.simulator.apps.control`) move channels with :func:`move` and
wake the dialers they affect; a plain call that nobody touches produces
exactly the event sequence it always did.

Ownership: the channel ``Dial`` called is hung up by ``Dial`` when the
bridge ends; a *guest* (a channel running its own application, such as
the retriever of a parked call) is only soft-hung-up, and its own
application ends it.
"""

from __future__ import annotations

import asyncio
import weakref

from cti.ami.message import AmiMessage
from cti.simulator.channels import Bridge, Channel
from cti.simulator.core import Pbx

__all__ = [
    "BridgeKind",
    "async_goto",
    "bridge_kind",
    "bridged_phase",
    "create_bridge",
    "destroy_bridge",
    "enter",
    "has_dialer",
    "has_goto",
    "leave",
    "mark_guest",
    "set_holding",
    "settle",
    "take_goto",
    "wake",
]


class BridgeKind:
    """``BridgeType``/``BridgeTechnology``/``BridgeCreator``/``BridgeName`` of a bridge."""

    def __init__(self, type_: str, technology: str, creator: str, name: str) -> None:
        self.type = type_
        self.technology = technology
        self.creator = creator
        self.name = name


BASIC = BridgeKind("basic", "simple_bridge", "<unknown>", "<unknown>")

_kinds: weakref.WeakKeyDictionary[Bridge, BridgeKind] = weakref.WeakKeyDictionary()
_holding: weakref.WeakSet[Bridge] = weakref.WeakSet()
_guests: weakref.WeakSet[Channel] = weakref.WeakSet()
_waiters: weakref.WeakKeyDictionary[Channel, asyncio.Future[None]] = weakref.WeakKeyDictionary()
_gotos: weakref.WeakKeyDictionary[Channel, tuple[str, str, int]] = weakref.WeakKeyDictionary()
_dialing: weakref.WeakSet[Channel] = weakref.WeakSet()


# -- bridge bookkeeping -------------------------------------------------------------------
def bridge_kind(bridge: Bridge) -> BridgeKind:
    return _kinds.get(bridge, BASIC)


def set_holding(bridge: Bridge, holding: bool) -> None:
    """A holding bridge stays up with a single member (a lot, a transferee on hold)."""
    if holding:
        _holding.add(bridge)
    else:
        _holding.discard(bridge)
    wake_bridge(bridge)


def mark_guest(channel: Channel) -> None:
    """*channel* runs its own application: a dissolving bridge soft-hangs it up only."""
    _guests.add(channel)


def _bridge_fields(bridge: Bridge) -> list[tuple[str, str]]:
    kind = bridge_kind(bridge)
    return [
        ("BridgeUniqueid", bridge.uniqueid),
        ("BridgeType", kind.type),
        ("BridgeTechnology", kind.technology),
        ("BridgeCreator", kind.creator),
        ("BridgeName", kind.name),
        ("BridgeNumChannels", str(len(bridge.members))),
        ("BridgeVideoSourceMode", "none"),
    ]


def bridge_fields(bridge: Bridge, prefix: str = "") -> list[tuple[str, str]]:
    """The bridge snapshot of an event, keys prefixed (``OrigBridgeUniqueid``…)."""
    return [(prefix + key, value) for key, value in _bridge_fields(bridge)]


def create_bridge(pbx: Pbx, linkedid: str, kind: BridgeKind | None = None) -> Bridge:
    """A new bridge (``BridgeCreate``); basic unless *kind* says otherwise."""
    if kind is None or kind is BASIC:
        return pbx.bridge_create(linkedid)
    bridge = Bridge(linkedid)
    _kinds[bridge] = kind
    pbx.emit(_bridge_event("BridgeCreate", bridge, pbx, None), linkedid)
    return bridge


def _bridge_event(name: str, bridge: Bridge, pbx: Pbx, channel: Channel | None) -> AmiMessage:
    fields = [("Event", name), ("Privilege", "call,all"), *_bridge_fields(bridge)]
    if channel is not None:
        fields += pbx.events.snapshot(channel)
    return AmiMessage(fields)


def enter(pbx: Pbx, bridge: Bridge, channel: Channel) -> None:
    if bridge in _kinds:
        bridge.members.append(channel)
        channel.bridge = bridge
        pbx.emit(_bridge_event("BridgeEnter", bridge, pbx, channel), channel.linkedid)
    else:
        pbx.bridge_enter(bridge, channel)
    wake_bridge(bridge)


def leave(pbx: Pbx, bridge: Bridge, channel: Channel) -> None:
    if channel not in bridge.members:
        return
    if bridge in _kinds:
        bridge.members.remove(channel)
        channel.bridge = None
        pbx.emit(_bridge_event("BridgeLeave", bridge, pbx, channel), channel.linkedid)
    else:
        pbx.bridge_leave(bridge, channel)
    wake(channel)
    wake_bridge(bridge)


def destroy_bridge(pbx: Pbx, bridge: Bridge) -> None:
    if bridge.destroyed:
        return
    if bridge in _kinds:
        bridge.destroyed = True
        pbx.emit(_bridge_event("BridgeDestroy", bridge, pbx, None), bridge.linkedid)
    else:
        pbx.bridge_destroy(bridge)


def move(pbx: Pbx, channel: Channel, target: Bridge) -> None:
    """``ast_bridge_move``: *channel* leaves its bridge and enters *target*."""
    if channel.bridge is not None:
        leave(pbx, channel.bridge, channel)
    enter(pbx, target, channel)


# -- waking dialers -----------------------------------------------------------------------
def wake(channel: Channel) -> None:
    """Make the dialer of *channel* (if any) look at its bridge again."""
    waiter = _waiters.get(channel)
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def wake_bridge(bridge: Bridge) -> None:
    for member in list(bridge.members):
        wake(member)


async def _wait_change(caller: Channel, partners: list[Channel]) -> None:
    """Until *caller* or a partner has a hangup requested, or :func:`wake` is called."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    watched = [caller, *partners]

    def listener(_channel: Channel) -> None:
        if not waiter.done():
            waiter.set_result(None)

    _waiters[caller] = waiter
    for channel in watched:
        channel.hangup_listeners.append(listener)
    try:
        if not any(channel.dead for channel in watched):
            await waiter
    finally:
        if _waiters.get(caller) is waiter:
            del _waiters[caller]
        for channel in watched:
            if listener in channel.hangup_listeners:
                channel.hangup_listeners.remove(listener)


async def bridged_phase(pbx: Pbx, caller: Channel) -> None:
    """``Dial`` after the answer: follow *caller* from bridge to bridge until it is over.

    Returns once the caller hung up, left for another dialplan location, or
    its bridge dissolved; the bridge it was in at that moment is torn down
    (both parties leave — the one that hung up first leaving first — the
    bridge is destroyed and the dialled party hung up).
    """
    _dialing.add(caller)
    try:
        await _follow(pbx, caller)
    finally:
        _dialing.discard(caller)


def has_dialer(channel: Channel) -> bool:
    """*channel* is a caller whose ``Dial`` follows it (and will hang up its partners)."""
    return channel in _dialing


async def _follow(pbx: Pbx, caller: Channel) -> None:
    while True:
        current = caller.bridge
        if current is None:
            return  # moved out by an async goto: the transfer owns what is left
        partners = [member for member in current.members if member is not caller]
        first = caller if caller.dead else next((m for m in partners if m.dead), None)
        if first is None and (partners or current in _holding):
            await _wait_change(caller, partners)
            continue
        await _dissolve(pbx, current, caller, partners, first)
        return


async def _dissolve(
    pbx: Pbx, bridge: Bridge, caller: Channel, partners: list[Channel], first: Channel | None
) -> None:
    for channel in (*partners, caller):
        if not channel.gone and bridge_kind(bridge) is BASIC:
            pbx.set_var(channel, "BRIDGEPEER", "")
    if first is caller:
        order = [caller, *partners]
    else:
        ahead = [first] if first is not None else []
        order = [*ahead, *[p for p in partners if p is not first], caller]
    if first is not None and first is not caller and first not in _guests and len(partners) == 1:
        # The called party hung up: its own bridge thread takes it out and hangs it up (and its
        # Local half ends its dialplan) before the caller's thread notices (trace i1).
        leave(pbx, bridge, first)
        pbx.destroy(first)
        await settle(first.peer)
    for channel in order:
        leave(pbx, bridge, channel)
    if not bridge.members:  # a parking lot's bridge may still hold other callers
        destroy_bridge(pbx, bridge)
    for partner in partners:
        if partner in _guests:
            if not partner.dead:
                pbx.soft_hangup(partner, 16)
        else:
            pbx.destroy(partner)


async def settle(channel: Channel | None, turns: int = 20) -> None:
    """Give *channel*'s own dialplan a few loop turns to end after its Local half hung up."""
    for _ in range(turns):
        if channel is None or channel.gone:
            return
        await asyncio.sleep(0)


# -- async goto ---------------------------------------------------------------------------------
def async_goto(channel: Channel, context: str, exten: str, priority: int = 1) -> None:
    """``ast_async_goto``: stop what *channel* runs (AGI sees a hangup), then continue there.

    Like Asterisk's ``AST_SOFTHANGUP_ASYNCGOTO`` this is a soft hangup without
    a ``SoftHangupRequest`` event; the dialplan runner (see
    :func:`take_goto`) clears it once the running application returned.
    """
    _gotos[channel] = (context, exten, priority)
    first = not channel.hangup_requested
    channel.mark_hangup_requested()
    if channel.reader is not None:
        channel.reader.wake()
    if first:
        for listener in list(channel.hangup_listeners):
            listener(channel)
    wake(channel)


def has_goto(channel: Channel) -> bool:
    """An async goto of *channel* is pending (its application is being ended, not the channel)."""
    return channel in _gotos


def take_goto(channel: Channel) -> tuple[str, str, int] | None:
    """The pending async goto of *channel*, removed; None if there is none."""
    return _gotos.pop(channel, None)
