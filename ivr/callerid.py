"""Caller ID → E.164, the key the customer directory matches on.

The same rules as ``crm_core.customers.phones.normalize`` (phonenumbers, default region
from settings), kept here so the IVR does not depend on crm_core internals:
the IVR only reports the number, the directory does the matching.
"""

from __future__ import annotations

import phonenumbers

__all__ = ["WITHHELD", "to_e164"]

#: Caller IDs that mean "no number" (Asterisk and common trunks).
WITHHELD = frozenset({"", "anonymous", "unknown", "private", "restricted", "withheld", "unavailable"})


def to_e164(raw: str | None, region: str) -> str | None:
    """Return ``raw`` as E.164 (``+8613800138000``), or ``None`` when withheld or not a possible number.

    ``region`` (ISO 3166 code, e.g. ``"CN"``) resolves national forms: a
    trunk ``0``, the ``00`` international prefix, a bare country code,
    full-width digits.
    """
    if raw is None or raw.strip().lower() in WITHHELD:
        return None
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    # Possible, not valid: test ranges (+1 555) and new ranges must still match stored numbers.
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
