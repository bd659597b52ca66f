"""Money in the demo bank: 12 months of account transactions and contracts with plans and payments.

Amounts scale with the customer's assets (the Pareto spread of
:mod:`crm_core.demo.data`) and are exact ``Decimal`` cents throughout; a
plan's installments add up to the contract amount to the cent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from crm_core.demo.bank import (
    DemoContract,
    DemoContractLine,
    DemoInstallment,
    DemoPayment,
    DemoTransaction,
)
from crm_core.models import CONTRACT_STATUSES

__all__ = ["DemoQuota", "account_transactions", "customer_contracts", "money"]

_CENT = Decimal("0.01")
_MONTH = 30.4
_SPENDING = {
    "pos": "Card purchase",
    "mobile": "Mobile payment",
    "online": "Online shopping",
    "atm": "ATM withdrawal",
}


def money(amount: float | Decimal) -> Decimal:
    """``amount`` as an exact Decimal rounded half-even to the cent."""
    return Decimal(str(amount)).quantize(_CENT, rounding=ROUND_HALF_EVEN)


@dataclass
class DemoQuota:
    """Cases the demo must show at least once, handed out to the first customers that fit."""

    statuses_left: list[str] = field(default_factory=lambda: list(CONTRACT_STATUSES))
    expiring_soon: bool = True
    fully_paid: bool = True
    refund: bool = True
    grants: int = 0
    due_today: set[int] = field(default_factory=set)
    overdue: set[int] = field(default_factory=set)


def _ago(days: float) -> timedelta:
    return timedelta(days=min(max(days, 0.05), 364.9))


def _deposit(rng: random.Random, balance: Decimal, aum: Decimal, company: bool) -> list[DemoTransaction]:
    income = min(max(float(aum) * rng.uniform(0.004, 0.012), 4_000.0), 300_000.0)
    out = []
    for month in range(12):
        day = 3 + _MONTH * month + rng.uniform(0, 2)
        if company:
            for _ in range(2):
                amount = money(income * rng.uniform(0.4, 0.9))
                out.append(
                    DemoTransaction(
                        _ago(day + rng.uniform(0, 20)), amount, "transfer", False, "Customer payment"
                    )
                )
        else:
            out.append(DemoTransaction(_ago(day), money(income), "transfer", False, "Salary"))
        for _ in range(rng.randint(2, 4)):
            channel = rng.choice(tuple(_SPENDING))
            spent = income * rng.uniform(0.03, 0.18)
            if channel == "atm":
                spent = max(100.0, round(spent, -2))
            out.append(
                DemoTransaction(
                    _ago(day + rng.uniform(0, 28)), -money(spent), channel, True, _SPENDING[channel]
                )
            )
        if rng.random() < 0.25:
            channel = rng.choice(("mobile", "online", "branch"))
            amount = -money(income * rng.uniform(0.1, 0.5))
            out.append(DemoTransaction(_ago(day + rng.uniform(0, 28)), amount, channel, True, "Transfer out"))
        if month % 3 == 1 and balance >= Decimal("300"):
            out.append(
                DemoTransaction(
                    _ago(day + 18), money(balance * Decimal("0.0035")), "transfer", False, "Interest"
                )
            )
    return out


def _card(rng: random.Random, aum: Decimal) -> list[DemoTransaction]:
    scale = min(max(float(aum) / 200_000, 0.3), 8.0)
    out = []
    for month in range(12):
        spent = Decimal("0.00")
        for _ in range(rng.randint(2, 5)):
            channel = rng.choice(("pos", "online", "mobile"))
            amount = money(rng.uniform(30, 1_500) * scale)
            spent += amount
            out.append(
                DemoTransaction(
                    _ago(_MONTH * month + rng.uniform(1, 29)), -amount, channel, True, _SPENDING[channel]
                )
            )
        if month > 0:  # last month's statement, paid this month
            out.append(
                DemoTransaction(_ago(_MONTH * (month - 1) + 20), spent, "mobile", True, "Card repayment")
            )
    return out


def account_transactions(
    rng: random.Random, account_type: str, balance: Decimal, aum: Decimal, *, company: bool
) -> tuple[DemoTransaction, ...]:
    """Twelve months of realistic movements on one account, oldest first."""
    if account_type == "deposit":
        out = _deposit(rng, balance, aum, company)
    elif account_type == "card":
        out = _card(rng, aum)
    elif account_type == "loan":
        repayment = money(float(balance) * rng.uniform(0.02, 0.04))
        out = [
            DemoTransaction(_ago(_MONTH * m + 15), repayment, "transfer", False, "Loan repayment")
            for m in range(12)
        ]
    else:
        out = []
        for _ in range(rng.randint(2, 4)):
            amount = money(float(balance) * rng.uniform(0.05, 0.2))
            buy = rng.random() < 0.6
            out.append(
                DemoTransaction(
                    _ago(rng.uniform(1, 364)),
                    amount if buy else -amount,
                    rng.choice(("mobile", "online", "branch")),
                    True,
                    "Wealth subscription" if buy else "Wealth redemption",
                )
            )
    return tuple(sorted(out, key=lambda t: t.ago, reverse=True))


def _round_thousand(amount: float, floor: int) -> Decimal:
    return Decimal(max(floor, int(round(amount, -3)))).quantize(_CENT)


def _terms(rng: random.Random, product: str, aum: Decimal) -> tuple[str, list[DemoContractLine], int]:
    """Title, lines and term in days of a new contract for ``product``."""
    wealth = float(aum)
    if product == "deposit":
        amount = _round_thousand(wealth * rng.uniform(0.1, 0.4), 10_000)
        return "Fixed deposit 12 months", [DemoContractLine("Fixed deposit 12M", 1, amount)], 365
    if product == "loan":
        months = rng.choice((24, 36))
        principal = _round_thousand(rng.uniform(50_000, 300_000) * max(1.0, wealth / 1_000_000), 50_000)
        lines = [
            DemoContractLine("Personal loan", 1, principal),
            DemoContractLine("Arrangement fee", 1, money(800)),
        ]
        return f"Personal loan {months} months", lines, months * 30
    if product == "card":
        lines = [DemoContractLine("Platinum card annual fee", 1, money(2_000))]
        if rng.random() < 0.5:
            lines.append(DemoContractLine("Supplementary card", rng.randint(1, 2), money(300)))
        return "Platinum credit card", lines, 365
    if product == "wealth":
        units = rng.randint(10, 500)
        lines = [DemoContractLine("Wealth plan units", units, money(1_000))]
        lines.append(DemoContractLine("Subscription fee", 1, money(units * 10)))
        return "Wealth management plan 6 months", lines, 182
    years = rng.randint(5, 10)
    premium = money(round(rng.uniform(5_000, 50_000), -2))
    return f"Life insurance {years} years", [DemoContractLine("Annual premium", years, premium)], years * 365


def _plan(
    product: str, amount: Decimal, start: int, term: int, lines: list[DemoContractLine]
) -> list[DemoInstallment]:
    if product == "loan":
        count = term // 30
        due = [start + 30 * (k + 1) for k in range(count)]
    elif product == "insurance":
        count = lines[0].quantity
        due = [start + 365 * k for k in range(count)]
    elif product == "wealth":
        due = [start, start + 30]
    else:
        due = [start]
    share = (amount / len(due)).quantize(_CENT, rounding=ROUND_DOWN)
    amounts = [share] * (len(due) - 1) + [amount - share * (len(due) - 1)]
    return [DemoInstallment(d, a) for d, a in zip(due, amounts, strict=True)]


def _start(rng: random.Random, status: str, term: int, quota: DemoQuota) -> int:
    if status in {"draft", "pending"}:
        return rng.randint(10, 45)
    if status == "approved":
        return rng.randint(3, 20)
    if status == "rejected":
        return rng.randint(5, 30)
    if status == "expired":
        return -rng.randint(1, 60) - term
    if status == "active" and quota.expiring_soon:
        quota.expiring_soon = False
        return rng.randint(10, 25) - term
    low, high = (30, 300) if status == "active" else (60, 300)
    return -rng.randint(low, max(low + 1, min(high, term - 5)))


def _payments(
    rng: random.Random, contract: DemoContract, quota: DemoQuota, *, partial: bool
) -> list[DemoPayment]:
    due = [i for i in contract.installments if i.due_in_days <= -1]
    if partial and len(due) > 1:
        due = due[:-1]  # the latest installment is overdue
    method = "direct-debit" if contract.product_type in {"loan", "insurance"} else "transfer"
    out = [
        DemoPayment(
            min(i.due_in_days + rng.randint(0, 3), 0), i.amount, method, f"{contract.number}-P{n + 1}"
        )
        for n, i in enumerate(due)
    ]
    if contract.status == "terminated" and quota.refund and out:
        quota.refund = False
        refund = min(out[-1].amount, (contract.amount * Decimal("0.1")).quantize(_CENT))
        out.append(
            DemoPayment(min(out[-1].received_in_days + 5, 0), -refund, "transfer", f"{contract.number}-R1")
        )
    return out


def _contract(
    rng: random.Random,
    number: str,
    product: str,
    status: str,
    aum: Decimal,
    quota: DemoQuota,
    start: int | None = None,
) -> DemoContract:
    title, lines, term = _terms(rng, product, aum)
    if start is None:
        start = _start(rng, status, term, quota)
    contract = DemoContract(number, product, title, status, start, start + term, lines)
    contract.installments = _plan(product, contract.amount, start, term, lines)
    if status == "approved":
        contract.approved_ago = timedelta(days=rng.uniform(1, 5))
    if status in {"active", "expired", "terminated"}:
        contract.approved_ago = timedelta(days=-start + rng.uniform(2, 10))
        contract.signed_in_days = start
        partial = rng.random() < 0.35 and not (status == "expired" and quota.fully_paid)
        if status == "expired" and not partial:
            quota.fully_paid = False
        contract.payments = _payments(rng, contract, quota, partial=partial)
    return contract


def customer_contracts(
    rng: random.Random, prefix: str, aum: Decimal, *, owned: bool, quota: DemoQuota
) -> list[DemoContract]:
    """Zero to two contracts of one customer; the first owned customers cover every status."""
    if owned and quota.statuses_left:
        status = quota.statuses_left.pop(0)
    elif rng.random() < (0.45 if owned else 0.3):
        choices = (
            ("active", "draft", "pending", "approved", "rejected", "terminated")
            if owned
            else ("expired", "terminated", "rejected")
        )
        status = rng.choice(choices)
    else:
        return []
    product = rng.choice(("deposit", "loan", "card", "wealth", "insurance"))
    if owned and status == "active" and rng.random() < 0.3:
        # A renewal: last period's contract has expired, this one carries on.
        old = _contract(rng, f"{prefix}-1", product, "expired", aum, quota)
        new = _contract(rng, f"{prefix}-2", product, "active", aum, quota, start=old.end_in_days)
        new.renewal_of = 0
        return [old, new]
    return [_contract(rng, f"{prefix}-1", product, status, aum, quota)]
