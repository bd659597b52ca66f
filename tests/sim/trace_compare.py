"""Comparing what the simulator answered to one action with what the real Asterisk answered.

A real list (``CoreShowChannels``, ``Status``, a regex ``Hangup``) comes in
the order of Asterisk's channel container, a hash order: its items are
compared sorted by channel name.  Channel sequence numbers, unique ids and
bridge ids become symbols by first appearance in that order, so the links
between them (``Linkedid`` = the ``;1``'s ``Uniqueid``, two channels in one
bridge, the two halves of a Local pair) are compared too; clock values
(``Duration``, ``Seconds``, ``Timestamp``) become ``*``.  Keys are compared in order, spelling and
repetition included (``BridgeId`` vs ``BridgeID``, ``ActionID`` first or last).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from cti.ami.message import AmiMessage

CLOCK_KEYS = frozenset(
    {"Duration", "Seconds", "Timestamp", "Uptime", "LastReload", "CoreStartupDate", "CoreStartupTime"}
    | {"CoreReloadDate", "CoreReloadTime"}
)
_BRIDGE_KEYS = frozenset({"BridgeId", "BridgeID", "BridgeUniqueid"})
_SEQUENCE = re.compile(r"^(Local/[^;]+-|PJSIP/[^-]+-)([0-9a-f]{8})(;[12])?$")

Fields = list[tuple[str, str]]


def name_of(message: AmiMessage) -> str:
    """``Event`` name, or ``Response:<status>`` for a response."""
    return message.event or f"Response:{message.response}"


def answer_to(messages: Iterable[AmiMessage], action_id: str) -> list[AmiMessage]:
    """The response and list events carrying *action_id*, in arrival order."""
    return [m for m in messages if m.get("ActionID") == action_id]


def by_channel(messages: Sequence[AmiMessage]) -> list[AmiMessage]:
    """A list answer with its items sorted by channel (head and ``…Complete`` stay in place)."""
    if len(messages) < 2:
        return list(messages)
    head, items, tail = messages[0], list(messages[1:-1]), messages[-1]
    return [head, *sorted(items, key=lambda m: m.get("Channel") or ""), tail]


class Symbols:
    """Unique ids and bridge ids as symbols, by first appearance."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._bridges: dict[str, str] = {}
        self._sequences: dict[str, str] = {}

    def uid(self, value: str) -> str:
        return self._ids.setdefault(value, f"U{len(self._ids)}") if value else ""

    def bridge(self, value: str) -> str:
        return self._bridges.setdefault(value, f"B{len(self._bridges)}") if value else ""

    def channel(self, value: str) -> str:
        """``Local/1009@agents-0000001a;1`` → ``Local/1009@agents-S0;1``."""
        match = _SEQUENCE.match(value)
        if match is None:
            return value
        sequence = self._sequences.setdefault(match.group(2), f"S{len(self._sequences)}")
        return f"{match.group(1)}{sequence}{match.group(3) or ''}"


def canonical(messages: Iterable[AmiMessage], symbols: Symbols | None = None) -> list[Fields]:
    """Every message as its field list with volatile values replaced (see the module docstring)."""
    symbols = symbols or Symbols()
    out: list[Fields] = []
    for message in messages:
        fields: Fields = []
        for key, value in message.fields:
            if key in CLOCK_KEYS:
                value = "*"
            elif key in _BRIDGE_KEYS:
                value = symbols.bridge(value)
            elif key.endswith("Uniqueid") or key.endswith("Linkedid"):
                value = symbols.uid(value)
            elif key.endswith("Channel"):
                value = symbols.channel(value)
            fields.append((key, value))
        out.append(fields)
    return out


def shapes(messages: Iterable[AmiMessage]) -> list[tuple[str, tuple[str, ...]]]:
    """Name and key sequence of each message."""
    return [(name_of(m), tuple(m.keys())) for m in messages]


def assert_same_answer(ours: Sequence[AmiMessage], real: Sequence[AmiMessage], *, sort: bool = True) -> None:
    """Same messages, same keys in the same order, same values once normalised."""
    if sort:
        ours, real = by_channel(ours), by_channel(real)
    assert shapes(ours) == shapes(real)
    for index, (mine, theirs) in enumerate(zip(canonical(ours), canonical(real), strict=True)):
        differing = [(a, b) for a, b in zip(mine, theirs, strict=True) if a != b]
        assert not differing, f"message {index} ({name_of(ours[index])}): ours vs real {differing}"
