"""Validation of one customer CSV row: typed values or every bad column with its reason (no database)."""

from __future__ import annotations

import pytest

from crm_core.importing.rows import ImportRow, RowContext, mask_raw_id_number

CONTEXT = RowContext(region="CN", tiers=frozenset({"standard", "gold", "vip", "private"}))
# GB 11643 sample number (valid check character X) and two numbers built with the same rule.
RESIDENT_IDS = ("11010519491231002X", "110101199003071233", "44030419771201321X")
USCC = "91350100M000100Y43"  # a published, valid unified social credit code


def _problems(values: dict[str, str]) -> list[tuple[str, str]]:
    row, problems = ImportRow.parse(values, CONTEXT)
    assert row is None
    return problems


def test_row_with_only_name_and_phone_gets_the_defaults() -> None:
    row, problems = ImportRow.parse({"name": "  Alice   Wang ", "phone": "138-1234-5678"}, CONTEXT)
    assert problems == [] and row is not None
    assert (row.name, row.kind, row.tier, row.source, row.deal_status) == (
        "Alice Wang",
        "individual",
        "standard",
        "import",
        "none",
    )
    assert [(p.raw, p.e164, p.type) for p in row.phones] == [("138-1234-5678", "+8613812345678", "mobile")]


def test_every_optional_column_is_typed() -> None:
    values = {
        "name": "Acme Trading",
        "phone": "010 8888 6666",
        "kind": "Company",
        "tier": "VIP",
        "id_number": USCC.lower(),
        "phone2": "+86 139 0000 1111",
        "phone_type": "work",
        "email": "ops@acme.cn",
        "owner": "agent1",
        "source": "Referral",
        "deal_status": "negotiating",
    }
    row, problems = ImportRow.parse(values, CONTEXT)
    assert problems == [] and row is not None
    assert (row.kind, row.tier, row.id_number, row.source, row.owner) == (
        "company",
        "vip",
        USCC,
        "referral",
        "agent1",
    )
    assert [(p.e164, p.type) for p in row.phones] == [("+861088886666", "work"), ("+8613900001111", "mobile")]


def test_phone_type_is_guessed_from_the_number() -> None:
    row, _ = ImportRow.parse({"name": "A", "phone": "021-6666 8888", "phone2": "021 6666 8888"}, CONTEXT)
    assert row is not None
    assert [(p.e164, p.type) for p in row.phones] == [("+862166668888", "landline")]  # same number once


@pytest.mark.parametrize("number", RESIDENT_IDS)
def test_valid_resident_ids_pass(number: str) -> None:
    row, problems = ImportRow.parse({"name": "A", "phone": "13812345678", "id_number": number}, CONTEXT)
    assert problems == [] and row is not None and row.id_number == number


def test_every_value_error_names_its_column() -> None:
    problems = _problems(
        {
            "name": "x" * 201,
            "phone": "12ab",
            "kind": "persn",
            "tier": "platinum",
            "id_number": "110105194912310021",  # wrong check character (X expected)
            "phone2": "555",
            "phone_type": "fax",
            "email": "bob@",
            "owner": "o" * 65,
            "source": "facebook",
            "deal_status": "maybe",
        }
    )
    assert dict(problems) == {
        "name": "name is longer than 200 characters",
        "phone": "'12ab' is not a phone number",
        "kind": "'persn' is not one of individual, company",
        "tier": "'platinum' is not one of gold, private, standard, vip",
        "id_number": "resident ID number '**************0021' has a wrong check digit",
        "phone2": "'555' is not a phone number",
        "phone_type": "'fax' is not one of mobile, landline, work",
        "email": "'bob@' is not an email address",
        "owner": f"'{'o' * 39}…' is not an agent login",
        "source": "'facebook' is not one of walk-in, referral, web, campaign, import, phone, branch",
        "deal_status": "'maybe' is not one of none, prospect, negotiating, won, lost",
    }


def test_missing_required_values() -> None:
    assert _problems({"name": "  ", "phone": ""}) == [
        ("name", "a value is required in column 'name'"),
        ("phone", "a value is required in column 'phone'"),
    ]


def test_id_number_errors_never_echo_the_number() -> None:
    bad = {"name": "A", "phone": "13812345678", "id_number": "1234"}
    assert _problems(bad) == [
        ("id_number", "'**************' is not an ID number (6 to 32 letters or digits)")
    ]
    company = {"name": "A", "kind": "company", "phone": "13812345678", "id_number": USCC[:-1] + "4"}
    ((column, reason),) = _problems(company)
    assert column == "id_number" and USCC[:-1] not in reason and "0Y44" in reason


def test_braces_in_values_stay_literal() -> None:
    assert _problems({"name": "A", "phone": "{reason}{0}"}) == [
        ("phone", "'{reason}{0}' is not a phone number")
    ]


def test_mask_raw_id_number() -> None:
    assert mask_raw_id_number("110105 19491231 002x") == "**************002X"
    assert mask_raw_id_number("123") == "**************"


def test_without_a_tier_list_any_well_formed_tier_passes() -> None:
    anything = RowContext(region="CN", tiers=frozenset())
    row, problems = ImportRow.parse({"name": "A", "phone": "13812345678", "tier": "Platinum-2"}, anything)
    assert problems == [] and row is not None and row.tier == "platinum-2"
    row, problems = ImportRow.parse({"name": "A", "phone": "13812345678", "tier": "gold plus"}, anything)
    assert problems == [("tier", "'gold plus' is not a tier (1 to 32 letters, digits, '-' or '_')")]
    long_name = "t" * 33
    listed = RowContext(region="CN", tiers=frozenset({long_name}))
    _, problems = ImportRow.parse({"name": "A", "phone": "13812345678", "tier": long_name}, listed)
    assert problems == [("tier", f"'{long_name}' is longer than 32 characters")]


def test_region_decides_national_numbers() -> None:
    hong_kong = RowContext(region="HK", tiers=frozenset())
    row, problems = ImportRow.parse({"name": "A", "phone": "5123 4567"}, hong_kong)
    assert problems == [] and row is not None and row.phone.e164 == "+85251234567"
    _, problems = ImportRow.parse({"name": "A", "phone": "5123 4567"}, CONTEXT)
    assert problems == [("phone", "'5123 4567' is not a phone number")]
