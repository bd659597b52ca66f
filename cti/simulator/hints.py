"""Dialplan hints and device states: ``ExtensionStatus``, ``DEVICE_STATE()``, ``EXTENSION_STATE()``.

A hint (``exten => 1001,hint,Local/1001@agents``) makes an extension's state
the aggregate of its devices' states (``ast_extension_state``).  What the
real Asterisk 22 showed (trace n, ``tests/fixtures/asterisk/README.md``):

* every change of a hint's state publishes ``Event: ExtensionStatus``
  (``Privilege: call,all``; ``Exten``, ``Context``, ``Hint``, ``Status``,
  ``StatusText``) — only *changes*: a Local device answering repeats its
  ``INUSE`` ``DeviceStateChange`` but no ``ExtensionStatus`` follows;
* a Local device is ``INUSE`` (hint ``1 InUse``) from the moment its channel
  is created, still ringing, and idle again once its ``;1`` is gone;
* ``Custom:<name>`` devices hold what ``DEVICE_STATE(Custom:<name>)=<word>``
  stored — in AstDB family ``CustomDevstate`` as ``func_devstate`` does, so
  they survive a restart — and publish ``DeviceStateChange`` with the word as
  ``ast_devstate_str`` spells it, only when the state changes (cachable
  devices); a device never set is ``UNKNOWN``, which a hint shows as Idle.

Hint state changes are computed on the next loop turn (:meth:`HintRegistry.device_changed`),
as Asterisk computes them on its device-state threads: the events of the
change that caused them come first.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cti.ami.message import AmiMessage
from cti.simulator.queue import device_state as channel_device_state

if TYPE_CHECKING:
    from cti.simulator.core import Pbx

__all__ = [
    "CUSTOM_DEVSTATE_FAMILY",
    "DEVICE_STATE_NAMES",
    "EXTENSION_UNKNOWN",
    "Hint",
    "HintRegistry",
    "device_state_name_of",
    "extension_state_text",
    "extension_state_word",
    "extension_status_event",
    "extension_status_fields",
    "is_custom_device",
    "set_custom_device_state",
]

#: ``enum ast_device_state`` in order: the index is the state's value (``ast_devstate_str``).
DEVICE_STATE_NAMES = (
    "UNKNOWN",
    "NOT_INUSE",
    "INUSE",
    "BUSY",
    "INVALID",
    "UNAVAILABLE",
    "RINGING",
    "RINGINUSE",
    "ONHOLD",
)
_UNKNOWN, _NOT_INUSE, _INUSE, _BUSY, _INVALID, _UNAVAILABLE, _RINGING, _RINGINUSE, _ONHOLD = range(9)
#: ``ast_devstate_aggregate_add``'s precedence of each device state (index = state).
_AGGREGATE_ORDER = (1, 3, 6, 7, 0, 2, 5, 8, 4)

#: ``enum ast_extension_states`` (bit flags) and ``ast_extension_state2str``'s texts.
EXTENSION_UNKNOWN = -1
_EXT_NOT_INUSE, _EXT_INUSE, _EXT_BUSY, _EXT_UNAVAILABLE, _EXT_RINGING, _EXT_ONHOLD = 0, 1, 2, 4, 8, 16
_EXTENSION_TEXT = {
    _EXT_NOT_INUSE: "Idle",
    _EXT_INUSE: "InUse",
    _EXT_BUSY: "Busy",
    _EXT_UNAVAILABLE: "Unavailable",
    _EXT_RINGING: "Ringing",
    _EXT_INUSE | _EXT_RINGING: "InUse&Ringing",
    _EXT_ONHOLD: "Hold",
    _EXT_INUSE | _EXT_ONHOLD: "InUse&Hold",
}
#: ``func_devstate``'s ``ast_extstate_str`` (``EXTENSION_STATE()``'s words).
_EXTENSION_WORD = {
    _EXT_NOT_INUSE: "NOT_INUSE",
    _EXT_INUSE: "INUSE",
    _EXT_BUSY: "BUSY",
    _EXT_UNAVAILABLE: "UNAVAILABLE",
    _EXT_RINGING: "RINGING",
    _EXT_INUSE | _EXT_RINGING: "RINGINUSE",
    _EXT_INUSE | _EXT_ONHOLD: "HOLDINUSE",
    _EXT_ONHOLD: "ONHOLD",
}
#: ``ast_devstate_to_extenstate``.
_TO_EXTENSION = {
    _ONHOLD: _EXT_ONHOLD,
    _BUSY: _EXT_BUSY,
    _UNKNOWN: _EXT_NOT_INUSE,
    _UNAVAILABLE: _EXT_UNAVAILABLE,
    _INVALID: _EXT_UNAVAILABLE,
    _RINGINUSE: _EXT_INUSE | _EXT_RINGING,
    _RINGING: _EXT_RINGING,
    _INUSE: _EXT_INUSE,
    _NOT_INUSE: _EXT_NOT_INUSE,
}
CUSTOM_DEVSTATE_FAMILY = "CustomDevstate"
_CUSTOM_PREFIX = "custom:"
_DEVICE = re.compile(r"[^\s&,]+")
_WORD = re.compile(r"[^\s@,]+")


@dataclass(frozen=True)
class Hint:
    """``exten => <exten>,hint,<devices>`` in ``[<context>]``; *devices* joined with ``&``."""

    exten: str
    context: str
    devices: str

    def __post_init__(self) -> None:
        for what, word in (("extension", self.exten), ("context", self.context)):
            if not _WORD.fullmatch(word):
                raise ValueError(f"hint {what} must be a non-empty word without '@' or ',', got {word!r}")
        parts = self.devices.split("&")
        if not all(_DEVICE.fullmatch(part) for part in parts):
            raise ValueError(f"hint devices must be '&'-joined device names, got {self.devices!r}")

    @property
    def device_list(self) -> tuple[str, ...]:
        return tuple(self.devices.split("&"))


def is_custom_device(device: str) -> bool:
    return device.lower().startswith(_CUSTOM_PREFIX)


def _devstate_val(word: str) -> int:
    """``ast_devstate_val``: a state word (any case) → state; anything else is ``UNKNOWN``."""
    upper = word.strip().upper()
    return DEVICE_STATE_NAMES.index(upper) if upper in DEVICE_STATE_NAMES else _UNKNOWN


def _custom_key(device: str) -> tuple[str, str]:
    return CUSTOM_DEVSTATE_FAMILY, device[len(_CUSTOM_PREFIX) :]


def _local_device_state(pbx: Pbx, device: str) -> int:
    """``local_devicestate``: in use while a ``;1`` of the device lives; invalid without its extension."""
    resource = device.partition("/")[2].partition("/")[0]
    exten, _, context = resource.partition("@")
    if not pbx.has_extension(context or "default", exten):
        return _INVALID
    owners = [c for c in pbx.registry.on_device(device) if c.local_half == 1 and not c.gone]
    return _INUSE if owners else _NOT_INUSE


def _device_state(pbx: Pbx, device: str) -> int:
    """``ast_device_state`` of one device."""
    if is_custom_device(device):
        return _devstate_val(pbx.database.get(_custom_key(device), ""))
    if device.lower().startswith("local/"):
        return _local_device_state(pbx, device)
    return channel_device_state(pbx, device)


def device_state_name_of(pbx: Pbx, device: str) -> str:
    """``DEVICE_STATE(<device>)``: the device's state word."""
    return DEVICE_STATE_NAMES[_device_state(pbx, device)]


def _extension_state(pbx: Pbx, hint: Hint) -> int:
    """``ast_extension_state3``: the hint's devices aggregated, as an extension state."""
    aggregate, ringing, in_use = _INVALID, False, False
    for device in hint.device_list:
        state = _device_state(pbx, device)
        if state == _RINGING:
            ringing = True
        elif state in (_INUSE, _ONHOLD, _BUSY):
            in_use = True
        if ringing and in_use:
            aggregate = _RINGINUSE
        elif _AGGREGATE_ORDER[state] > _AGGREGATE_ORDER[aggregate]:
            aggregate = state
    return _TO_EXTENSION[aggregate]


def extension_state_text(state: int) -> str:
    """``ast_extension_state2str``: ``Idle``, ``InUse``… ``Unknown`` for no hint."""
    return _EXTENSION_TEXT.get(state, "Unknown")


def extension_state_word(state: int) -> str:
    """``EXTENSION_STATE()``'s value: ``NOT_INUSE``, ``INUSE``… ``UNKNOWN`` for no hint."""
    return _EXTENSION_WORD.get(state, "UNKNOWN")


class HintRegistry:
    """The dialplan's hints, in the order they were declared, and their last published states."""

    def __init__(self) -> None:
        self._hints: dict[tuple[str, str], Hint] = {}
        self._last: dict[tuple[str, str], int] = {}

    def add(self, pbx: Pbx, hint: Hint) -> None:
        """Declare (or replace) *hint*; its current state is taken silently, as at dialplan load."""
        key = (hint.context, hint.exten)
        self._hints[key] = hint
        self._last[key] = _extension_state(pbx, hint)

    def get(self, context: str, exten: str) -> Hint | None:
        return self._hints.get((context, exten))

    def __iter__(self) -> Iterator[Hint]:
        return iter(list(self._hints.values()))

    def __len__(self) -> int:
        return len(self._hints)

    def state(self, pbx: Pbx, context: str, exten: str) -> int:
        """``ast_extension_state``: the live state; :data:`EXTENSION_UNKNOWN` without a hint."""
        hint = self.get(context, exten)
        return EXTENSION_UNKNOWN if hint is None else _extension_state(pbx, hint)

    def refresh(self, pbx: Pbx) -> None:
        """Take every hint's state silently (a restarted process publishes nothing to nobody)."""
        for key, hint in self._hints.items():
            self._last[key] = _extension_state(pbx, hint)

    def device_changed(self, pbx: Pbx, device: str) -> None:
        """*device* may have changed: re-evaluate, on the next loop turn, the hints watching it."""
        lowered = device.lower()
        for key, hint in self._hints.items():
            if any(part.lower() == lowered for part in hint.device_list):
                asyncio.get_running_loop().call_soon(self._evaluate, pbx, key)

    def _evaluate(self, pbx: Pbx, key: tuple[str, str]) -> None:
        hint = self._hints.get(key)
        if hint is None:
            return
        state = _extension_state(pbx, hint)
        if self._last.get(key) == state:
            return
        self._last[key] = state
        pbx.emit(extension_status_event(hint, state))


def extension_status_fields(exten: str, context: str, hint: Hint | None, state: int) -> list[tuple[str, str]]:
    """``Exten`` … ``StatusText`` of ``ExtensionStatus`` and of the ``ExtensionState`` response."""
    return [
        ("Exten", exten),
        ("Context", context),
        ("Hint", hint.devices if hint is not None else ""),
        ("Status", str(state)),
        ("StatusText", extension_state_text(state)),
    ]


def extension_status_event(hint: Hint, state: int) -> AmiMessage:
    """The published ``ExtensionStatus`` (``manager_state_cb``)."""
    return AmiMessage(
        [
            ("Event", "ExtensionStatus"),
            ("Privilege", "call,all"),
            *extension_status_fields(hint.exten, hint.context, hint, state),
        ]
    )


def set_custom_device_state(pbx: Pbx, device: str, value: str) -> None:
    """``DEVICE_STATE(Custom:<name>)=<value>``: stored in AstDB; its events follow on the next loop turn.

    The caller's reply (``Variable Set``) goes out first, as Asterisk's
    device-state thread publishes after the write returned.
    """
    key = _custom_key(device)
    before = pbx.database.get(key)
    pbx.database[key] = value
    state = _devstate_val(value)
    if before is not None and _devstate_val(before) == state:
        return
    name = f"Custom:{key[1]}"
    change = pbx.events.device_state_change(name, DEVICE_STATE_NAMES[state])
    loop = asyncio.get_running_loop()
    loop.call_soon(pbx.emit, change)
    loop.call_soon(pbx.hints.device_changed, pbx, name)
