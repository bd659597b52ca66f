"""Saying numbers, digits, amounts and dates with Asterisk's ``SAY`` commands.

Asterisk builds these from its own language-specific sound files (``SAY
NUMBER 1234`` is "one thousand two hundred thirty-four" in English and
"一千二百三十四" in Mandarin once ``CHANNEL(language)`` is ``zh``), so a menu
needs prompts only for the words around them: the currency units and the
minus sign of :data:`SPEECH_PROMPTS`.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Literal

from cti.fastagi import AgiChannel, AgiCommandError

__all__ = [
    "SPEECH_PROMPTS",
    "SayKind",
    "parse_sayable",
    "say_amount",
    "say_date",
    "say_value",
]

log = logging.getLogger(__name__)

SayKind = Literal["number", "digits", "amount", "date"]

#: Prompts the speech helpers play around Asterisk's own number sounds.
YUAN = "bankcti/yuan"
FEN = "bankcti/fen"
MINUS = "bankcti/minus"
SPEECH_PROMPTS = (YUAN, FEN, MINUS)


def parse_sayable(kind: SayKind, value: str) -> int | str | Decimal | date:
    """Check and convert ``value`` for saying as ``kind``; raise ``ValueError`` when it cannot be said."""
    if kind == "number":
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
    if kind == "digits":
        if not value or not value.isascii() or not value.isdigit():
            raise ValueError(f"{value!r} is not a string of digits")
        return value
    if kind == "amount":
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an amount") from None
        if not amount.is_finite():
            raise ValueError(f"{value!r} is not an amount")
        return amount
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


async def say_amount(channel: AgiChannel, amount: Decimal) -> None:
    """Say ``amount`` as yuan then fen ("1234 yuan 56 fen"); fen are left out when zero."""
    if amount < 0:
        await channel.stream_file(MINUS)
    cents = int((abs(amount) * 100).to_integral_value())
    yuan, fen = divmod(cents, 100)
    await channel.say_number(yuan)
    await channel.stream_file(YUAN)
    if fen:
        await channel.say_number(fen)
        await channel.stream_file(FEN)


async def say_date(channel: AgiChannel, day: date) -> None:
    """Say ``day`` with ``SAY DATE`` (noon UTC, so every timezone within ±11 h says the same day).

    A PBX without ``SAY DATE`` (it answers ``510``) gets year, month and day
    as numbers instead of silence.
    """
    noon = int(datetime.combine(day, time(12), tzinfo=UTC).timestamp())
    try:
        await channel.command(f'SAY DATE {noon} ""')
    except AgiCommandError:
        log.warning("ivr.say_date_unsupported", extra={"uniqueid": channel.uniqueid})
        for part in (day.year, day.month, day.day):
            await channel.say_number(part)


async def say_value(channel: AgiChannel, kind: SayKind, value: str) -> None:
    """Say ``value`` (already checked by :func:`parse_sayable`) as ``kind``."""
    parsed = parse_sayable(kind, value)
    if isinstance(parsed, int):
        await channel.say_number(parsed)
    elif isinstance(parsed, Decimal):
        await say_amount(channel, parsed)
    elif isinstance(parsed, date):
        await say_date(channel, parsed)
    else:
        await channel.say_digits(parsed)
