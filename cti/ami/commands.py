"""Typed AMI actions on top of a generic ``action()``: Originate, Hangup, …

:class:`AmiCommands` is the base of :class:`cti.ami.client.AmiClient`; it only
builds the fields of each action exactly as Asterisk expects them (the field
order matches the real traces in ``tests/fixtures/asterisk``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TypeAlias

from cti.ami.message import AmiMessage

__all__ = ["DTMF_DIGITS", "AmiCommands", "FieldValue", "field_pairs"]

FieldValue: TypeAlias = str | int | Sequence[str]
DTMF_DIGITS = frozenset("0123456789*#ABCDabcd")


def field_pairs(fields: Mapping[str, FieldValue]) -> list[tuple[str, str]]:
    """Keyword fields as AMI pairs; a sequence value repeats its key."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        if key.lower() in ("action", "actionid"):
            raise ValueError(f"{key} is set by the client, not by the caller")
        if isinstance(value, str | int):
            pairs.append((key, str(value)))
        else:
            pairs.extend((key, str(item)) for item in value)
    return pairs


class AmiCommands(ABC):
    """Convenience actions; subclasses provide the transport-level calls."""

    @abstractmethod
    async def action(self, action: str, **fields: FieldValue) -> AmiMessage:
        """Send one action and return its response (see ``AmiClient.action``)."""

    @abstractmethod
    async def action_list(self, action: str, **fields: FieldValue) -> list[AmiMessage]:
        """Send a list action and return its items."""

    @abstractmethod
    async def _originate(self, pairs: Sequence[tuple[str, str]]) -> AmiMessage:
        """Send an Originate built by :meth:`originate`."""

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        timeout_ms: int = 30000,
        variables: Mapping[str, str] | None = None,
    ) -> AmiMessage:
        """Start a call; return Asterisk's immediate ``Success`` response.

        Always asynchronous (``Async: true``): the outcome arrives later as an
        ``OriginateResponse`` event with the same ``ActionID``.  Give either
        ``context`` + ``exten`` (+ ``priority``) or ``application`` (+ ``data``).
        """
        pairs: list[tuple[str, str]] = [("Channel", channel)]
        if application is not None:
            if context is not None or exten is not None:
                raise ValueError("originate: give context/exten or application, not both")
            pairs.append(("Application", application))
            if data is not None:
                pairs.append(("Data", data))
        elif context is not None and exten is not None:
            pairs += [("Context", context), ("Exten", exten), ("Priority", str(priority))]
        else:
            raise ValueError("originate needs context and exten, or application")
        if caller_id is not None:
            pairs.append(("CallerID", caller_id))
        pairs.append(("Timeout", str(timeout_ms)))
        pairs.extend(("Variable", f"{name}={value}") for name, value in (variables or {}).items())
        pairs.append(("Async", "true"))
        return await self._originate(pairs)

    async def hangup(self, channel: str, cause: int = 16) -> None:
        """Hang up ``channel`` with a Q.850 cause (16: normal clearing)."""
        await self.action("Hangup", Channel=channel, Cause=cause)

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        """Send ``channel`` to another dialplan location."""
        await self.action("Redirect", Channel=channel, Context=context, Exten=exten, Priority=priority)

    async def play_dtmf(
        self, channel: str, digit: str, duration_ms: int = 200, receive: bool = False
    ) -> None:
        """Play one DTMF digit on ``channel`` (``receive``: as if the channel sent it)."""
        if len(digit) != 1 or digit not in DTMF_DIGITS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        fields: dict[str, FieldValue] = {"Channel": channel, "Digit": digit, "Duration": duration_ms}
        if receive:
            fields["Receive"] = "yes"
        await self.action("PlayDTMF", **fields)

    async def setvar(self, variable: str, value: str, channel: str | None = None) -> None:
        """Set a channel variable, or a global one when ``channel`` is None."""
        fields: dict[str, FieldValue] = {"Variable": variable, "Value": value}
        if channel is not None:
            fields = {"Channel": channel, **fields}
        await self.action("Setvar", **fields)

    async def getvar(self, variable: str, channel: str | None = None) -> str | None:
        """A channel (or global) variable; None when unset or empty.

        Asterisk answers ``Value: `` for both, so the two cannot be told apart.
        """
        fields: dict[str, FieldValue] = {"Variable": variable}
        if channel is not None:
            fields = {"Channel": channel, **fields}
        response = await self.action("Getvar", **fields)
        return response.get("Value") or None

    async def core_show_channels(self) -> list[AmiMessage]:
        """Every live channel, as ``CoreShowChannel`` events (for a resync)."""
        return await self.action_list("CoreShowChannels")
