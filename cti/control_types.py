"""The vocabulary of :mod:`cti.control`: its errors, transfer targets and settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "KEYPAD",
    "NUMBER",
    "SPY_OPTIONS",
    "ControlRefused",
    "ControlSettings",
    "NotOnCall",
    "PbxUnavailable",
    "TransferKind",
    "TransferTarget",
    "UnknownCall",
]

#: ChanSpy options per mode: q(uiet, no beep); w(hisper to the agent); B(arge: talk to both).
SPY_OPTIONS = {"listen": "q", "whisper": "qw", "barge": "qB"}
#: A number Asterisk may dial: digits, an optional leading "+".
NUMBER = re.compile(r"\+?[0-9]{3,20}")
#: What can be typed on a phone keypad (an Atxfer's extension travels as DTMF).
KEYPAD = re.compile(r"[0-9*#]+")


class UnknownCall(LookupError):
    """No live call has this id."""


class NotOnCall(LookupError):
    """The device has no channel on the call (or on any call)."""


class ControlRefused(ValueError):
    """The action does not fit the call's state or target, or Asterisk refused it."""


class PbxUnavailable(ConnectionError):
    """The AMI link is down or Asterisk did not answer in time."""


class TransferKind(StrEnum):
    QUEUE = "queue"
    AGENT = "agent"
    NUMBER = "number"


@dataclass(frozen=True)
class TransferTarget:
    """Where a call goes: a queue name, an agent's device or a phone number."""

    kind: TransferKind
    value: str

    def __post_init__(self) -> None:
        if self.kind is TransferKind.NUMBER and not NUMBER.fullmatch(self.value):
            raise ControlRefused(f"not a phone number: {self.value!r}")
        if not self.value.strip() or any(c in self.value for c in "\r\n,;|"):
            raise ControlRefused(f"invalid {self.kind} target: {self.value!r}")


@dataclass(frozen=True)
class ControlSettings:
    dial_context: str = "bankcti-dial"
    parking_lot: str = "default"
    park_timeout_ms: int = 3_600_000
    ring_timeout_ms: int = 30_000
    #: How long an Atxfer may take to put the agent on hold (the feature code taken) before it is refused.
    atxfer_confirm_ms: int = 3_000
    #: The extension of ``dial_context`` an attended transfer to an agent's device dials.  Atxfer
    #: sends the extension to Asterisk as keypad (DTMF) digits, so it must be made of 0-9, * and #:
    #: the blind transfer's word ``agent`` cannot be typed on a keypad.
    atxfer_agent_exten: str = "*82"
