"""Caller ID normalisation: whatever the network sends → E.164 or ``None``.

Caller ID is a hint, not an identity (it can be spoofed); it is matched
exactly on its E.164 form, never with ``LIKE``.
"""

from __future__ import annotations

import phonenumbers

__all__ = ["WITHHELD", "is_withheld", "normalize"]

#: Caller ID values (case-insensitive) that mean "no number presented".
WITHHELD = frozenset(
    {"", "anonymous", "unknown", "<unknown>", "private", "restricted", "unavailable", "withheld"}
)

# Anything longer is not a phone number; also keeps parsing cheap on hostile input.
_MAX_INPUT = 64


def is_withheld(raw: str | None) -> bool:
    """True if ``raw`` is absent or one of the "number withheld" markers."""
    if raw is None:
        return True
    return raw.strip().strip('"').strip().lower() in WITHHELD


def normalize(raw: str | None, region: str) -> str | None:
    """Return the E.164 form of ``raw`` (``"+8613812345678"``) or ``None``.

    ``region`` (ISO 3166 code, e.g. ``"CN"``) is the default for national
    numbers: trunk prefix ``0``, international prefix ``00``, a country code
    without ``+`` (``86138…``), full-width digits, spaces, dashes and
    brackets are accepted.  Withheld markers (``anonymous``, ``unknown``,
    ``<unknown>``, ``private``, empty…), unparseable or invalid numbers and
    an unknown region give ``None``.  Never raises on bad input.
    """
    if not isinstance(raw, str) or is_withheld(raw):
        return None
    text = raw.strip().strip('"').strip()
    if len(text) > _MAX_INPUT:
        return None
    region = region.upper() if isinstance(region, str) else ""
    number = _parse_valid(text, region)
    if number is None:
        # "8613812345678": a country code typed without "+" or "00".
        digits = phonenumbers.normalize_digits_only(text)
        country_code = phonenumbers.country_code_for_region(region) if region else 0
        if country_code and digits.startswith(str(country_code)):
            number = _parse_valid("+" + digits, None)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_valid(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None
