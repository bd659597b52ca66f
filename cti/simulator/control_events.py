"""Builders of the call-control events: parking, transfers, hold, ChanSpy.

Key order follows Asterisk 22's ``manager_*`` event documentation: ``Event``,
``Privilege``, then each channel snapshot with its prefix (``Parkee``,
``Transferer``, ``Spyer``…) and the event's own keys.
"""

from __future__ import annotations

from cti.ami.message import AmiMessage
from cti.simulator.bridging import bridge_fields
from cti.simulator.channels import Bridge, Channel
from cti.simulator.core import Pbx

__all__ = [
    "attended_transfer",
    "blind_transfer",
    "blind_transfer_invalid",
    "chanspy",
    "hold",
    "parked_call",
]

_PRIVILEGE = ("Privilege", "call,all")


def hold(pbx: Pbx, channel: Channel, held: bool, moh_class: str | None = "default") -> AmiMessage:
    """``Hold`` or ``Unhold``; ``MusicClass`` only with a class (an attended transfer's has none)."""
    fields = [("Event", "Hold" if held else "Unhold"), _PRIVILEGE, *pbx.events.snapshot(channel)]
    if held and moh_class is not None:
        fields.append(("MusicClass", moh_class))
    return AmiMessage(fields)


def parked_call(
    pbx: Pbx,
    name: str,
    parkee: Channel,
    *,
    lot: str,
    space: int,
    parker_dial_string: str,
    timeout: int,
    duration: int,
    retriever: Channel | None = None,
) -> AmiMessage:
    """``ParkedCall``, ``UnParkedCall``, ``ParkedCallGiveUp`` or ``ParkedCallTimeOut``."""
    fields = [("Event", name), _PRIVILEGE, *pbx.events.snapshot(parkee, "Parkee")]
    if retriever is not None:
        fields += pbx.events.snapshot(retriever, "Retriever")
    fields += [
        ("ParkerDialString", parker_dial_string),
        ("Parkinglot", lot),
        ("ParkingSpace", str(space)),
        ("ParkingTimeout", str(timeout)),
        ("ParkingDuration", str(duration)),
    ]
    return AmiMessage(fields)


def blind_transfer(
    pbx: Pbx, transferer: Channel, transferee: Channel, bridge: Bridge, context: str, exten: str
) -> AmiMessage:
    return AmiMessage(
        [
            ("Event", "BlindTransfer"),
            _PRIVILEGE,
            ("Result", "Success"),
            *pbx.events.snapshot(transferer, "Transferer"),
            *pbx.events.snapshot(transferee, "Transferee"),
            *bridge_fields(bridge),
            ("IsExternal", "Yes"),
            ("Context", context),
            ("Extension", exten),
        ]
    )


def blind_transfer_invalid(pbx: Pbx, transferer: Channel, context: str, exten: str) -> AmiMessage:
    """A refused blind transfer (the channel is in no two-party bridge): no transferee, no bridge (k1)."""
    return AmiMessage(
        [
            ("Event", "BlindTransfer"),
            _PRIVILEGE,
            ("Result", "Invalid"),
            *pbx.events.snapshot(transferer, "Transferer"),
            ("IsExternal", "Yes"),
            ("Context", context),
            ("Extension", exten),
        ]
    )


def attended_transfer(
    pbx: Pbx,
    *,
    transferer: Channel,
    orig_bridge: Bridge,
    second: Channel,
    second_bridge: Bridge | None,
    transferee: Channel,
) -> AmiMessage:
    """A successful attended transfer: the consultation merged into *orig_bridge* (trace k4).

    Asterisk 22 sends no ``TransferTarget*`` fields here, ``IsExternal: No``
    (the transfer came from a DTMF feature, not from ARI/AMI itself) and the
    second bridge's snapshot as it was left (``SecondBridgeNumChannels: 0``).
    """
    fields = [
        ("Event", "AttendedTransfer"),
        _PRIVILEGE,
        ("Result", "Success"),
        *pbx.events.snapshot(transferer, "OrigTransferer"),
        *bridge_fields(orig_bridge, "Orig"),
        *pbx.events.snapshot(second, "SecondTransferer"),
    ]
    if second_bridge is not None:
        fields += bridge_fields(second_bridge, "Second")
    fields += [
        *pbx.events.snapshot(transferee, "Transferee"),
        ("IsExternal", "No"),
        ("DestType", "Bridge"),
        ("DestBridgeUniqueid", orig_bridge.uniqueid),
    ]
    return AmiMessage(fields)


def chanspy(pbx: Pbx, started: bool, spyer: Channel, spyee: Channel) -> AmiMessage:
    return AmiMessage(
        [
            ("Event", "ChanSpyStart" if started else "ChanSpyStop"),
            _PRIVILEGE,
            *pbx.events.snapshot(spyer, "Spyer"),
            *pbx.events.snapshot(spyee, "Spyee"),
        ]
    )
