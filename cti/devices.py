"""Device states of the PBX: which phones are in use, whoever placed their calls.

Asterisk reports the state of every device (``PJSIP/1001``,
``Local/1001@agents``) with ``DeviceStateChange`` events (``Device``,
``State``, trace n).  :class:`DeviceMonitor` keeps the current state of each
device from them and tells its observers about every change; after each AMI
(re)connection it is re-based on the channel list (``CoreShowChannels``):
a device with a channel is in use, every other one is idle — events lost
while the link was down cannot leave a device wrongly busy or free.

This layer knows devices, not agents: who sits behind a device is the
business of the observers (the ACD wiring in ``bankcti``).

What the traces show (README, scenario n): a Local device is ``INUSE`` from
the moment it is called (it never reports ``RINGING``), repeats ``INUSE``
while answering and reports ``NOT_INUSE`` once per hung-up half; only
*changes* reach the observers.  Asterisk 22 also has a ``DeviceStateList``
action, but no trace records its answer, so the resynchronisation uses the
recorded ``CoreShowChannels`` instead.  Devices of a state provider rather
than a channel technology (``Custom:agent1`` set with
``DEVICE_STATE(Custom:agent1)=ONHOLD``, ``Queue:<queue>_pause_<member>``) have
no channels, so a channel list says nothing about them: a resynchronisation
keeps their states.  ``ExtensionStatus`` events (dialplan hints) are not used:
they restate, per extension, the ``DeviceStateChange`` of the hint's devices.

Usage::

    devices = DeviceMonitor()
    devices.subscribe(observer)                      # a DeviceObserver
    ami.on_event(devices.feed, "DeviceStateChange")
    # after each login, with the CoreShowChannels items:
    await devices.resync(channels)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from cti.ami.message import AmiMessage

__all__ = [
    "DeviceMonitor",
    "DeviceObserver",
    "DeviceState",
    "DeviceStateChange",
    "device_of",
    "has_channels",
    "parse_device_state",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class DeviceState(StrEnum):
    """Asterisk's device states, spelled as ``DeviceStateChange`` spells them (``ast_devstate_str``)."""

    UNKNOWN = "UNKNOWN"
    NOT_INUSE = "NOT_INUSE"
    INUSE = "INUSE"
    BUSY = "BUSY"
    INVALID = "INVALID"
    UNAVAILABLE = "UNAVAILABLE"
    RINGING = "RINGING"
    RINGINUSE = "RINGINUSE"
    ONHOLD = "ONHOLD"

    @property
    def in_use(self) -> bool:
        """The device has a call: ringing, talking, on hold or refusing more (busy)."""
        return self in _IN_USE


_IN_USE = frozenset(
    {DeviceState.INUSE, DeviceState.BUSY, DeviceState.RINGING, DeviceState.RINGINUSE, DeviceState.ONHOLD}
)


@dataclass(frozen=True, slots=True)
class DeviceStateChange:
    """``device`` is now in ``state``."""

    device: str
    state: DeviceState


def parse_device_state(message: AmiMessage) -> DeviceStateChange | None:
    """The change a ``DeviceStateChange`` event reports; ``None`` for any other message.

    A state word Asterisk does not define is reported as ``UNKNOWN`` (and
    logged) rather than guessed; an event without a device is ignored (logged).
    """
    if message.event != "DeviceStateChange":
        return None
    device = message.get("Device") or ""
    word = (message.get("State") or "").upper()
    if not device:
        log.warning("ami.device_state_without_device", extra={"state": word})
        return None
    try:
        state = DeviceState(word)
    except ValueError:
        log.warning("ami.device_state_unknown", extra={"device": device, "state": word})
        state = DeviceState.UNKNOWN
    return DeviceStateChange(device, state)


def has_channels(device: str) -> bool:
    """*device* is a channel technology's (``PJSIP/1001``, ``Local/1001@agents``), not a state
    provider's (``Custom:agent1``, ``Queue:support_pause_Local/1001@agents/n``)."""
    slash, colon = device.find("/"), device.find(":")
    return slash > 0 and (colon < 0 or slash < colon)


_CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]{8}(;\d)?$")


def device_of(channel: str) -> str:
    """The device of a channel name: ``PJSIP/1001-0000002a`` → ``PJSIP/1001``,
    ``Local/1001@agents-00000022;1`` → ``Local/1001@agents``."""
    return _CHANNEL_SUFFIX.sub("", channel)


class DeviceObserver(Protocol):
    """What a :class:`DeviceMonitor` reports to (awaited, in event order)."""

    async def device_changed(self, change: DeviceStateChange) -> None:
        """``change.device`` went to ``change.state`` (a different state than before)."""

    async def devices_resynced(self, in_use: frozenset[str]) -> None:
        """After a (re)connection: exactly the devices in ``in_use`` have a call now."""


class DeviceMonitor:
    """Current device states, from ``DeviceStateChange`` events and channel lists.

    Only devices in a state other than ``NOT_INUSE`` are kept (memory grows
    with the devices in use, not with every device ever seen); a device not
    kept is ``NOT_INUSE`` as far as we know.
    """

    def __init__(self) -> None:
        self._states: dict[str, DeviceState] = {}
        self._observers: list[DeviceObserver] = []

    def subscribe(self, observer: DeviceObserver) -> None:
        self._observers.append(observer)

    def state(self, device: str) -> DeviceState:
        return self._states.get(device, DeviceState.NOT_INUSE)

    @property
    def in_use(self) -> frozenset[str]:
        """The devices with a call now."""
        return frozenset(device for device, state in self._states.items() if state.in_use)

    async def feed(self, message: AmiMessage) -> DeviceStateChange | None:
        """Apply one AMI event (for ``AmiClient.on_event``); the change reported, if any.

        Repeats of the current state (a Local device sends ``INUSE`` once per
        half) reach no observer.
        """
        change = parse_device_state(message)
        if change is None or self.state(change.device) is change.state:
            return None
        self._set(change.device, change.state)
        for observer in list(self._observers):
            await _notify(observer.device_changed, change)
        return change

    async def resync(self, channels: Iterable[AmiMessage]) -> frozenset[str]:
        """Re-base on a ``CoreShowChannels`` answer; returns the devices in use.

        A device with a channel is in use (kept as it was if already in use,
        ``INUSE`` otherwise: a channel list does not tell ringing from
        talking); a device in use without a channel any more is idle; other
        states (``UNAVAILABLE``…) and the devices without channels
        (:func:`has_channels`: ``Custom:…``) say nothing about channels and are kept.
        """
        in_use = frozenset(device_of(channel) for m in channels if (channel := m.get("Channel") or ""))
        for device, state in list(self._states.items()):
            if state.in_use and device not in in_use and has_channels(device):
                self._set(device, DeviceState.NOT_INUSE)
        for device in in_use:
            if not self.state(device).in_use:
                self._set(device, DeviceState.INUSE)
        log.info("ami.devices_resynced", extra={"in_use": len(in_use)})
        for observer in list(self._observers):
            await _notify(observer.devices_resynced, in_use)
        return in_use

    def _set(self, device: str, state: DeviceState) -> None:
        if state is DeviceState.NOT_INUSE:
            self._states.pop(device, None)
        else:
            self._states[device] = state


async def _notify(method: Callable[[_T], Awaitable[None]], argument: _T) -> None:
    # A faulty observer must not stop the others nor the AMI event delivery.
    try:
        await method(argument)
    except Exception:
        log.exception("ami.device_observer_failed")
