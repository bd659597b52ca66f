"""Identity-document numbers: normalised, kept as a peppered hash plus last four, shown masked.

A customer's ID number (resident ID card, passport, business licence) is as
sensitive as an account number: the database keeps ``HMAC-SHA256(pepper,
normalised number)`` — enough to find duplicates — and the last four
characters to show ``**************1234``.
"""

from __future__ import annotations

import hashlib
import hmac
import re

__all__ = ["MASK_PREFIX", "id_number_hash", "mask_id_number", "normalize_id_number"]

#: Always fourteen stars, whatever the real length: the mask must not leak the document type.
MASK_PREFIX = "*" * 14
_ID_NUMBER = re.compile(r"[0-9A-Z]{6,32}")


def normalize_id_number(raw: str) -> str:
    """The canonical form of an ID number: spaces and dashes dropped, letters upper-cased.

    Raises :class:`ValueError` (without echoing the number) unless 6 to 32
    ASCII letters or digits remain.
    """
    compact = "".join(ch for ch in raw if ch not in " -").upper()
    if not _ID_NUMBER.fullmatch(compact):
        raise ValueError("ID number must be 6 to 32 letters or digits")
    return compact


def id_number_hash(pepper: bytes, raw: str) -> tuple[str, str]:
    """``(hex HMAC-SHA256, last four)`` of the normalised ID number ``raw``."""
    number = normalize_id_number(raw)
    digest = hmac.new(pepper, number.encode("ascii"), hashlib.sha256).hexdigest()
    return digest, number[-4:]


def mask_id_number(last4: str | None) -> str | None:
    """``"**************1234"``, or ``None`` when no ID number is on file."""
    return None if last4 is None else MASK_PREFIX + last4
