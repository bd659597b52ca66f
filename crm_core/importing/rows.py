"""Validation of one CSV row of a customer import (pydantic), column by column.

:meth:`ImportRow.parse` turns the raw text of a row into typed values or a
list of ``(column, reason)`` problems — every bad column of the row, not
only the first.  Reasons are written for the person who fixes the file
(``'12ab' is not a phone number``); an ID number is never echoed, only its
last four characters behind a mask.

Checks needing the database (unknown owner, duplicates) are the importer's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import phonenumbers
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from crm_core.customers.id_numbers import MASK_PREFIX, normalize_id_number
from crm_core.customers.phones import normalize
from crm_core.models.base import CUSTOMER_DEAL_STATUSES, CUSTOMER_KINDS, CUSTOMER_SOURCES, PHONE_TYPES

__all__ = ["ImportRow", "ParsedPhone", "RowContext", "mask_raw_id_number"]

_TIER = re.compile(r"[a-z0-9_-]{1,32}")
_TIER_MAX = 32
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LOGIN_MAX, _NAME_MAX, _EMAIL_MAX, _PHONE_RAW_MAX = 64, 200, 254, 64
_ECHO_MAX = 40  # longer values are cut in messages: a reason line must stay readable

# Synonyms a Chinese spreadsheet may use for the enumerated columns.
_KIND_ALIASES = {"个人": "individual", "person": "individual", "企业": "company", "公司": "company"}
_PHONE_TYPE_ALIASES = {"手机": "mobile", "cell": "mobile", "座机": "landline", "固话": "landline"}

# GB 11643 resident ID: 17 digits weighted mod 11, then a check character.
_RESIDENT_ID = re.compile(r"\d{17}[\dX]")
_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
# GB 32100 unified social credit code of an organisation: base-31 alphabet, mod 31.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC = re.compile(f"[{_USCC_ALPHABET}]{{18}}")
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@dataclass(frozen=True)
class RowContext:
    """What validation needs besides the row: the default phone region and the known tiers.

    ``tiers`` are lower case; empty means any tier name of letters, digits, ``-`` and ``_``.
    """

    region: str
    tiers: frozenset[str]


@dataclass(frozen=True)
class ParsedPhone:
    """A phone of the row: as typed, in E.164, and its type."""

    raw: str
    e164: str
    type: str


def _fail(reason: str) -> PydanticCustomError:
    # The reason goes in the context, never in the template: braces in user text must stay literal.
    return PydanticCustomError("import_row", "{reason}", {"reason": reason})


def _echo(value: str) -> str:
    return repr(value if len(value) <= _ECHO_MAX else value[: _ECHO_MAX - 1] + "…")


def _one_of(value: str, allowed: tuple[str, ...], aliases: dict[str, str] | None = None) -> str:
    key = value.strip().lower()
    key = (aliases or {}).get(key, key)
    if key not in allowed:
        raise _fail(f"{_echo(value)} is not one of {', '.join(allowed)}")
    return key


def mask_raw_id_number(value: str) -> str:
    """An ID number as the report may show it: the mask and, if long enough to be one, its last four."""
    compact = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isalnum())
    return MASK_PREFIX + compact[-4:].upper() if len(compact) >= 8 else MASK_PREFIX


def _resident_id_ok(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _RESIDENT_WEIGHTS, strict=True))
    return _RESIDENT_CHECK[total % 11] == number[17]


def _uscc_ok(number: str) -> bool:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(number[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == number[17]


def _guess_phone_type(e164: str) -> str:
    kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    if kind in {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.SHARED_COST}:
        return "landline"
    return "mobile"


def _context(info: ValidationInfo) -> RowContext:
    context = info.context
    if not isinstance(context, RowContext):
        raise TypeError("ImportRow needs a RowContext as validation context")
    return context


class ImportRow(BaseModel):
    """A row that passed every check that needs no database."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    kind: str = "individual"
    phone: ParsedPhone
    phone2: ParsedPhone | None = None
    phone_type: str | None = None
    tier: str = "standard"
    id_number: str | None = None
    email: str | None = None
    owner: str | None = None
    source: str = "import"
    deal_status: str = "none"

    @classmethod
    def parse(
        cls, values: dict[str, str], context: RowContext
    ) -> tuple[ImportRow | None, list[tuple[str, str]]]:
        """Validate the raw ``values`` (column → text); return the row or its problems."""
        present = {k: v.strip() for k, v in values.items() if v.strip()}
        try:
            row = cls.model_validate(present, context=context)
        except ValidationError as exc:
            problems = []
            for error in exc.errors(include_url=False):
                column = str(error["loc"][0]) if error["loc"] else "row"
                reason = (
                    f"a value is required in column {column!r}"
                    if error["type"] == "missing"
                    else error["msg"]
                )
                problems.append((column, reason))
            return None, problems
        return row, []

    @property
    def phones(self) -> list[ParsedPhone]:
        """The row's distinct phones, primary first; ``phone_type`` overrides the guessed type."""
        first = self.phone
        if self.phone_type is not None:
            first = ParsedPhone(raw=first.raw, e164=first.e164, type=self.phone_type)
        if self.phone2 is None or self.phone2.e164 == first.e164:
            return [first]
        return [first, self.phone2]

    @field_validator("name", mode="plain")
    @classmethod
    def _name(cls, value: Any) -> str:
        text = " ".join(str(value).split())
        if len(text) > _NAME_MAX:
            raise _fail(f"name is longer than {_NAME_MAX} characters")
        return text

    @field_validator("kind", mode="plain")
    @classmethod
    def _kind(cls, value: Any) -> str:
        return _one_of(str(value), CUSTOMER_KINDS, _KIND_ALIASES)

    @field_validator("phone", "phone2", mode="plain")
    @classmethod
    def _phone(cls, value: Any, info: ValidationInfo) -> ParsedPhone:
        raw = str(value)
        region = _context(info).region
        e164 = normalize(raw, region) if len(raw) <= _PHONE_RAW_MAX else None
        if e164 is None:
            raise _fail(f"{_echo(raw)} is not a phone number")
        return ParsedPhone(raw=raw, e164=e164, type=_guess_phone_type(e164))

    @field_validator("phone_type", mode="plain")
    @classmethod
    def _phone_type(cls, value: Any) -> str:
        return _one_of(str(value), PHONE_TYPES, _PHONE_TYPE_ALIASES)

    @field_validator("tier", mode="plain")
    @classmethod
    def _tier(cls, value: Any, info: ValidationInfo) -> str:
        tier = " ".join(str(value).split()).lower()
        tiers = _context(info).tiers
        if tiers and tier not in tiers:
            raise _fail(f"{_echo(str(value))} is not one of {', '.join(sorted(tiers))}")
        if not tiers and not _TIER.fullmatch(tier):
            raise _fail(f"{_echo(str(value))} is not a tier (1 to 32 letters, digits, '-' or '_')")
        if len(tier) > _TIER_MAX:
            raise _fail(f"{_echo(str(value))} is longer than {_TIER_MAX} characters")
        return tier

    @field_validator("id_number", mode="plain")
    @classmethod
    def _id_number(cls, value: Any, info: ValidationInfo) -> str:
        raw = unicodedata.normalize("NFKC", str(value))
        masked = mask_raw_id_number(raw)
        try:
            number = normalize_id_number(raw)
        except ValueError:
            raise _fail(f"{masked!r} is not an ID number (6 to 32 letters or digits)") from None
        kind = info.data.get("kind", "individual")
        if len(number) == 18:
            if kind == "individual" and _RESIDENT_ID.fullmatch(number) and not _resident_id_ok(number):
                raise _fail(f"resident ID number {masked!r} has a wrong check digit")
            if kind == "company" and _USCC.fullmatch(number) and not _uscc_ok(number):
                raise _fail(f"credit code {masked!r} has a wrong check character")
        return number

    @field_validator("email", mode="plain")
    @classmethod
    def _email(cls, value: Any) -> str:
        email = str(value)
        if len(email) > _EMAIL_MAX or not _EMAIL.fullmatch(email):
            raise _fail(f"{_echo(email)} is not an email address")
        return email

    @field_validator("owner", mode="plain")
    @classmethod
    def _owner(cls, value: Any) -> str:
        login = str(value)
        if len(login) > _LOGIN_MAX:
            raise _fail(f"{_echo(login)} is not an agent login")
        return login

    @field_validator("source", mode="plain")
    @classmethod
    def _source(cls, value: Any) -> str:
        return _one_of(str(value), CUSTOMER_SOURCES)

    @field_validator("deal_status", mode="plain")
    @classmethod
    def _deal_status(cls, value: Any) -> str:
        return _one_of(str(value), CUSTOMER_DEAL_STATUSES)
