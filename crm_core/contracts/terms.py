"""Writing a contract's terms (lines, payment plan) and checking the inputs that need the database.

Lines and instalments are replaced as a whole on update: a plan is one
thing that adds up to the amount, not rows to patch one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.contracts.schemas import ContractLineIn, InstallmentIn, PaymentIn
from crm_core.errors import InvalidInput
from crm_core.models import Contract, ContractInstallment, ContractLine

__all__ = [
    "RENEWABLE_STATUSES",
    "add_terms",
    "check_renewable",
    "current_installments",
    "current_lines",
    "payment_input",
    "replace_terms",
]

#: A renewal continues a contract that is running or has run its course.
RENEWABLE_STATUSES = frozenset({"active", "expired"})


def current_lines(contract: Contract) -> list[ContractLineIn]:
    """The stored lines of a loaded contract, as inputs (to re-check them against a new amount)."""
    return [
        ContractLineIn(product=line.product, quantity=line.quantity, unit_price=line.unit_price)
        for line in contract.lines
    ]


def current_installments(contract: Contract) -> list[InstallmentIn]:
    """The stored payment plan of a loaded contract, as inputs."""
    return [InstallmentIn(due_on=i.due_on, amount=i.amount) for i in contract.installments]


def add_terms(
    session: AsyncSession,
    contract_id: int,
    lines: Sequence[ContractLineIn],
    installments: Sequence[InstallmentIn],
) -> None:
    """Add lines (amount = quantity × unit price) and instalments to a contract."""
    for line in lines:
        session.add(
            ContractLine(
                contract_id=contract_id,
                product=line.product,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.line_amount,
            )
        )
    for installment in installments:
        session.add(
            ContractInstallment(contract_id=contract_id, due_on=installment.due_on, amount=installment.amount)
        )


async def replace_terms(
    session: AsyncSession,
    contract_id: int,
    lines: Sequence[ContractLineIn] | None,
    installments: Sequence[InstallmentIn] | None,
) -> None:
    """Replace the lines and/or the plan of a contract (``None``: leave that part as it is)."""
    if lines is not None:
        await session.execute(delete(ContractLine).where(ContractLine.contract_id == contract_id))
    if installments is not None:
        await session.execute(
            delete(ContractInstallment).where(ContractInstallment.contract_id == contract_id)
        )
    add_terms(session, contract_id, lines or [], installments or [])


async def check_renewable(session: AsyncSession, customer_id: int, renewed_from_id: int) -> None:
    """:class:`InvalidInput` unless ``renewed_from_id`` is a live active/expired contract of the customer."""
    previous = await session.scalar(
        select(Contract).where(Contract.id == renewed_from_id, Contract.deleted_at.is_(None))
    )
    if previous is None or previous.customer_id != customer_id or previous.status not in RENEWABLE_STATUSES:
        raise InvalidInput("renewed_from_id", "must be an active or expired contract of the same customer")


def payment_input(
    *, amount: Decimal, received_on: date, method: str, reference: str | None, today: date
) -> PaymentIn:
    """Validate a payment's fields; :class:`InvalidInput` names the first bad one."""
    try:
        payment = PaymentIn.model_validate(
            {"amount": amount, "received_on": received_on, "method": method, "reference": reference}
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "payment"
        raise InvalidInput(field, error["msg"]) from None
    if payment.received_on > today:
        raise InvalidInput("received_on", "must not be in the future")
    return payment
