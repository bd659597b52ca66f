"""Contract rules without a database: the state machine, exact money, instalment statuses, input schemas."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from crm_core.contracts.rules import TRANSITIONS, check_plan, installment_states, next_status
from crm_core.contracts.schemas import (
    CONTRACT_ACTIONS,
    CONTRACT_STATUSES,
    ContractCreate,
    ContractLineIn,
    InstallmentIn,
    PaymentIn,
)
from crm_core.errors import Conflict, InvalidInput

LEGAL = {
    ("draft", "submit"): "pending",
    ("pending", "approve"): "approved",
    ("pending", "reject"): "rejected",
    ("rejected", "rework"): "draft",
    ("approved", "sign"): "active",
    ("active", "terminate"): "terminated",
    ("active", "expire"): "expired",
}
TARGETS = {action: target for (_, action), target in LEGAL.items()}
ALL_PAIRS = [(status, action) for status in CONTRACT_STATUSES for action in (*CONTRACT_ACTIONS, "expire")]


def test_the_table_is_exactly_the_specified_machine() -> None:
    assert TRANSITIONS == LEGAL


@pytest.mark.parametrize(("status", "action"), ALL_PAIRS)
def test_every_pair_is_legal_or_a_conflict_naming_both_states(status: str, action: str) -> None:
    if (status, action) in LEGAL:
        assert next_status(status, action) == LEGAL[status, action]
        return
    with pytest.raises(Conflict) as caught:
        next_status(status, action)
    assert f"{status} → {TARGETS[action]}" in str(caught.value)


def _line(product: str, quantity: int, unit_price: str) -> ContractLineIn:
    return ContractLineIn.model_validate({"product": product, "quantity": quantity, "unit_price": unit_price})


def _plan(*amounts: str) -> list[InstallmentIn]:
    return [
        InstallmentIn.model_validate({"due_on": date(2026, month, 1), "amount": a})
        for month, a in enumerate(amounts, start=1)
    ]


START, END = date(2026, 1, 1), date(2026, 12, 31)


def test_lines_add_up_exactly() -> None:
    lines = [_line("fee", 1, "0.10"), _line("fee", 1, "0.20")]
    amount = check_plan(None, lines, [], start_on=START, end_on=END)
    assert amount == Decimal("0.30") and str(amount) == "0.30"
    assert check_plan(Decimal("0.30"), lines, _plan("0.10", "0.20"), start_on=START, end_on=END) == Decimal(
        "0.30"
    )
    three = [_line("unit", 3, "33.33"), _line("rounding", 1, "0.01")]
    assert check_plan(None, three, _plan("33.33", "33.33", "33.34"), start_on=START, end_on=END) == Decimal(
        "100.00"
    )


@pytest.mark.parametrize(
    ("amount", "lines", "plan", "end", "field"),
    [
        ("0.31", [("fee", 1, "0.10"), ("fee", 1, "0.20")], [], END, "amount"),
        (None, [], [], END, "amount"),
        ("100.00", [], ["33.33", "33.33", "33.33"], END, "installments"),
        ("100.00", [], ["50.00", "50.01"], END, "installments"),
        ("100.00", [], [], date(2025, 12, 31), "end_on"),
    ],
)
def test_inconsistent_terms_name_the_field(
    amount: str | None, lines: list[tuple[str, int, str]], plan: list[str], end: date, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_plan(
            None if amount is None else Decimal(amount),
            [_line(*line) for line in lines],
            _plan(*plan),
            start_on=START,
            end_on=end,
        )
    assert caught.value.field == field


def test_lines_beyond_the_column_are_refused() -> None:
    lines = [_line("big", 1_000_000, "9999999999999999.99")]
    with pytest.raises(InvalidInput) as caught:
        check_plan(None, lines, [], start_on=START, end_on=END)
    assert caught.value.field == "lines"


PLAN = [
    (date(2026, 1, 31), Decimal("33.33")),
    (date(2026, 2, 28), Decimal("33.33")),
    (date(2026, 3, 31), Decimal("33.34")),
]


@pytest.mark.parametrize(
    ("received", "today", "expected"),
    [
        ("0.00", date(2026, 1, 15), [("0.00", "due"), ("0.00", "due"), ("0.00", "due")]),
        ("0.00", date(2026, 2, 1), [("0.00", "overdue"), ("0.00", "due"), ("0.00", "due")]),
        ("33.33", date(2026, 2, 1), [("33.33", "paid"), ("0.00", "due"), ("0.00", "due")]),
        ("40.00", date(2026, 2, 15), [("33.33", "paid"), ("6.67", "partial"), ("0.00", "due")]),
        ("40.00", date(2026, 3, 1), [("33.33", "paid"), ("6.67", "overdue"), ("0.00", "due")]),
        ("10.00", date(2026, 1, 31), [("10.00", "partial"), ("0.00", "due"), ("0.00", "due")]),
        ("100.00", date(2027, 1, 1), [("33.33", "paid"), ("33.33", "paid"), ("33.34", "paid")]),
        ("99.99", date(2027, 1, 1), [("33.33", "paid"), ("33.33", "paid"), ("33.33", "overdue")]),
    ],
)
def test_instalment_statuses(received: str, today: date, expected: list[tuple[str, str]]) -> None:
    states = installment_states(PLAN, Decimal(received), today)
    assert [(str(s.paid), s.status) for s in states] == expected
    for state, (_, amount) in zip(states, PLAN, strict=True):
        assert state.paid + state.remaining == amount
    assert sum((s.paid for s in states), Decimal(0)) == min(Decimal(received), Decimal("100.00"))


def test_schema_refuses_floats_and_sub_cent_amounts_naming_the_field() -> None:
    base = {
        "title": "Term deposit",
        "product_type": "deposit",
        "start_on": "2026-01-01",
        "end_on": "2026-12-31",
    }
    for amount, needle in [(0.1, "binary float"), ("0.333", "2 decimal places"), ("0", "greater than 0")]:
        with pytest.raises(ValidationError) as caught:
            ContractCreate.model_validate({**base, "amount": amount})
        error = caught.value.errors()[0]
        assert error["loc"] == ("amount",) and needle in error["msg"]
    with pytest.raises(ValidationError) as caught:
        ContractCreate.model_validate({**base, "amount": "1", "end_on": "2025-12-31"})
    assert caught.value.errors()[0]["loc"] == ("end_on",)
    line = {"product": "fee", "quantity": 3, "unit_price": "0.10", "amount": "0.31"}
    with pytest.raises(ValidationError) as caught:
        ContractCreate.model_validate({**base, "lines": [line]})
    assert caught.value.errors()[0]["loc"] == ("lines", 0, "amount")
    with pytest.raises(ValidationError) as caught:
        ContractCreate.model_validate({**base, "amount": "1", "surprise": True})
    assert caught.value.errors()[0]["loc"] == ("surprise",)


def test_schema_keeps_json_amounts_as_strings() -> None:
    data = ContractCreate.model_validate_json(
        '{"title": "Loan", "product_type": "loan", "amount": "1000.5", "start_on": "2026-01-01",'
        ' "end_on": "2026-12-31", "installments": [{"due_on": "2026-06-30", "amount": "1000.50"}]}'
    )
    assert data.amount == Decimal("1000.50") and str(data.amount) == "1000.50"
    dumped = json.loads(data.model_dump_json())
    assert dumped["amount"] == "1000.50" and dumped["installments"][0]["amount"] == "1000.50"
    schema = ContractCreate.model_json_schema()
    assert schema["properties"]["amount"]["anyOf"][0]["type"] == "string"


def test_payment_schema() -> None:
    refund = PaymentIn.model_validate({"amount": "-0.10", "received_on": "2026-01-01", "method": "transfer"})
    assert refund.amount == Decimal("-0.10")
    cases: list[tuple[dict[str, object], str]] = [
        ({"amount": "0"}, "amount"),
        ({"amount": 0.3}, "amount"),
        ({"method": "bitcoin"}, "method"),
    ]
    for bad, field in cases:
        with pytest.raises(ValidationError) as caught:
            PaymentIn.model_validate({"amount": "1", "received_on": "2026-01-01", "method": "cash", **bad})
        assert caught.value.errors()[0]["loc"] == (field,)
