"""Prompt playback and digit collection on a simulated channel.

Nothing is really played: a prompt lasts ``prompt_ms`` of simulated time (an
``endpos`` of 8 samples per millisecond, as with 8 kHz audio), and digits
come from :class:`~cti.simulator.channels.DigitReader`, which only exists
while a digit-reading command runs — digits pressed at any other moment are
lost, exactly like on Asterisk.
"""

from __future__ import annotations

import time

from cti.simulator.channels import Channel, DigitReader
from cti.simulator.core import Pbx

__all__ = ["PlayResult", "collect_digits", "play", "wait_digit"]

SAMPLES_PER_MS = 8


class PlayResult:
    """Outcome of a playback: ``digit`` (``""`` none, ``None`` hangup) and ``endpos``."""

    __slots__ = ("digit", "endpos")

    def __init__(self, digit: str | None, endpos: int) -> None:
        self.digit = digit
        self.endpos = endpos


async def play(pbx: Pbx, channel: Channel, duration_ms: float, escape: str = "") -> PlayResult:
    """Play a prompt; stop early on an *escape* digit or a hangup."""
    started = time.monotonic()
    if not escape:
        hung_up = await channel.wait_hangup(pbx.scaled(duration_ms / 1000))
        if hung_up:
            return PlayResult(None, _endpos(pbx, started, duration_ms))
        return PlayResult("", int(duration_ms * SAMPLES_PER_MS))
    reader = DigitReader(escape)
    channel.set_reader(reader)
    try:
        digit = await reader.next(channel, pbx.scaled(duration_ms / 1000))
    finally:
        if channel.reader is reader:
            channel.set_reader(None)
    if digit == "":
        return PlayResult("", int(duration_ms * SAMPLES_PER_MS))
    return PlayResult(digit, _endpos(pbx, started, duration_ms))


def _endpos(pbx: Pbx, started: float, duration_ms: float) -> int:
    elapsed_ms = min(pbx.sim_elapsed(started) * 1000, duration_ms)
    return int(elapsed_ms * SAMPLES_PER_MS)


async def wait_digit(pbx: Pbx, channel: Channel, timeout_ms: int, accept: str | None = None) -> str | None:
    """``ast_waitfordigit``: one digit, ``""`` on timeout, ``None`` on hangup.

    A negative *timeout_ms* waits forever.
    """
    reader = DigitReader(accept)
    channel.set_reader(reader)
    try:
        timeout = None if timeout_ms < 0 else pbx.scaled(timeout_ms / 1000)
        return await reader.next(channel, timeout)
    finally:
        if channel.reader is reader:
            channel.set_reader(None)


async def collect_digits(
    pbx: Pbx,
    channel: Channel,
    prompt_ms: float,
    max_digits: int,
    first_timeout_ms: int,
    next_timeout_ms: int,
) -> tuple[str, str | None]:
    """``ast_app_getdata``: play a prompt, then read up to *max_digits*.

    Digits pressed during the prompt interrupt it and count.  ``#`` ends the
    input.  Returns ``(digits, outcome)`` with outcome ``"timeout"``,
    ``"done"`` (``#`` or *max_digits* reached) or ``None`` (hangup).
    """
    reader = DigitReader(None)
    channel.set_reader(reader)
    digits = ""
    try:
        first = await reader.next(channel, pbx.scaled(prompt_ms / 1000)) if prompt_ms > 0 else ""
        if first is None:
            return digits, None
        if first == "":
            first = await reader.next(channel, pbx.scaled(first_timeout_ms / 1000))
        digit: str | None = first
        while True:
            if digit is None:
                return digits, None
            if digit == "":
                return digits, "timeout"
            if digit == "#":
                return digits, "done"
            digits += digit
            if max_digits and len(digits) >= max_digits:
                return digits, "done"
            digit = await reader.next(channel, pbx.scaled(next_timeout_ms / 1000))
    finally:
        if channel.reader is reader:
            channel.set_reader(None)
