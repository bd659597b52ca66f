"""Caller ID normalisation: every format the network sends, and garbage."""

from __future__ import annotations

import pytest

from crm_core.customers.phones import is_withheld, normalize

MOBILE = "+8613812345678"
BEIJING = "+861065529988"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+8613812345678", MOBILE),
        ("+86 138 1234 5678", MOBILE),
        ("0086 13812345678", MOBILE),
        ("0086-138-1234-5678", MOBILE),
        ("8613812345678", MOBILE),
        ("86 138 1234 5678", MOBILE),
        ("13812345678", MOBILE),
        ("138-1234-5678", MOBILE),
        ("１３８１２３４５６７８", MOBILE),  # full-width digits
        ("＋８６ １３８ １２３４ ５６７８", MOBILE),
        ('"13812345678"', MOBILE),  # quoted, as some trunks send it
        ("  13812345678\t", MOBILE),
        ("010-6552-9988", BEIJING),  # trunk 0 + area code
        ("(010) 6552 9988", BEIJING),
        ("+86 10 6552 9988", BEIJING),
        ("861065529988", BEIJING),
        ("0086 10 65529988", BEIJING),
        ("021 5555 1234", "+862155551234"),
        ("+1 123 456 7890", None),  # no US area code starts with 1
        ("+86 12345678901", None),  # no CN mobile range 123
        ("+1 650 253 0000", "+16502530000"),  # foreign numbers keep their country
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_normalize_formats(raw: str, expected: str | None) -> None:
    assert normalize(raw, "CN") == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "anonymous",
        "Anonymous",
        "unknown",
        "<unknown>",
        "private",
        "PRIVATE",
        "restricted",
        '""',
    ],
)
def test_withheld_gives_none(raw: str | None) -> None:
    assert is_withheld(raw)
    assert normalize(raw, "CN") is None


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "12345",  # possible length, not a valid number
        "138123456789999",
        "+",
        "++8613812345678x" * 10,
        "1" * 200,  # overlong
        "'; DROP TABLE customers; --",
        "%138%",
        "\x00\x01\x02",
        "8613812345",  # country code but too short
        "+999 1234 5678",  # no such country
    ],
)
def test_garbage_gives_none(raw: str) -> None:
    assert normalize(raw, "CN") is None
    assert not is_withheld(raw)


def test_bad_region_never_raises() -> None:
    assert normalize("13812345678", "XX") is None
    assert normalize("+8613812345678", "XX") == MOBILE  # explicit country needs no region
    assert normalize("13812345678", "") is None
    assert normalize(12345, "CN") is None  # type: ignore[arg-type]
    assert normalize("13812345678", None) is None  # type: ignore[arg-type]


def test_region_decides_national_numbers() -> None:
    assert normalize("(650) 253-0000", "US") == "+16502530000"
    assert normalize("1 650 253 0000", "US") == "+16502530000"
    assert normalize("13812345678", "us") is None  # region is case-insensitive; not a US number
