"""The rules of contracts that need no database: the state machine and the money.

The state machine is a table of the only legal ``(status, action)`` pairs;
anything else is a :class:`~crm_core.errors.Conflict` naming both states.
All arithmetic is on :class:`~decimal.Decimal` amounts in cents, so sums
are exact: three instalments of 33.33, 33.33 and 33.34 make 100.00, and
0.10 + 0.20 is 0.30.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crm_core.contracts.schemas import ContractLineIn, InstallmentIn, InstallmentStatus
from crm_core.errors import Conflict, InvalidInput

__all__ = [
    "ACTION_TARGETS",
    "APPROVER_ACTIONS",
    "EDITABLE_STATUSES",
    "MAX_AMOUNT",
    "PAYABLE_STATUSES",
    "TRANSITIONS",
    "InstallmentState",
    "check_plan",
    "installment_states",
    "next_status",
]

#: Every legal move: ``(status, action) -> new status``.  ``expire`` is the job's.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "submit"): "pending",
    ("pending", "approve"): "approved",
    ("pending", "reject"): "rejected",
    ("rejected", "rework"): "draft",
    ("approved", "sign"): "active",
    ("active", "expire"): "expired",
    ("active", "terminate"): "terminated",
}
#: Where each action leads, for naming the target of an illegal attempt.
ACTION_TARGETS: dict[str, str] = {action: target for (_, action), target in TRANSITIONS.items()}
#: Actions that need a supervisor of the owner's team or an admin (never the owner).
APPROVER_ACTIONS = frozenset({"approve", "reject", "terminate"})
#: Contracts whose terms may still change (and, for drafts, be deleted).
EDITABLE_STATUSES = frozenset({"draft", "rejected"})
#: Contracts that take payments and refunds.
PAYABLE_STATUSES = frozenset({"approved", "active"})
#: The largest amount the ``Money`` column (NUMERIC(18, 2)) holds.
MAX_AMOUNT = Decimal("9999999999999999.99")


def next_status(status: str, action: str) -> str:
    """The status ``action`` leads to from ``status``.

    Raises :class:`Conflict` naming the current and the target status when
    the move is not in :data:`TRANSITIONS`.
    """
    target = TRANSITIONS.get((status, action))
    if target is None:
        wanted = ACTION_TARGETS.get(action, "?")
        raise Conflict(f"cannot {action} a {status} contract: {status} → {wanted} is not a legal transition")
    return target


def check_plan(
    amount: Decimal | None,
    lines: Sequence[ContractLineIn],
    installments: Sequence[InstallmentIn],
    *,
    start_on: date,
    end_on: date,
) -> Decimal:
    """Check a contract's terms together and return its amount.

    With lines the amount is their sum (and must equal ``amount`` if one is
    given); instalments, if any, must add up to the amount exactly.  Raises
    :class:`InvalidInput` naming ``amount``, ``lines``, ``installments`` or
    ``end_on``.
    """
    if end_on < start_on:
        raise InvalidInput("end_on", f"must not be before start_on ({start_on.isoformat()})")
    if lines:
        total = sum((line.line_amount for line in lines), Decimal("0.00"))
        if total > MAX_AMOUNT:
            raise InvalidInput("lines", f"the lines add up to more than {MAX_AMOUNT}")
        if amount is not None and amount != total:
            raise InvalidInput("amount", f"must equal the sum of the lines ({total})")
        amount = total
    if amount is None:
        raise InvalidInput("amount", "is required when there are no lines")
    if amount <= 0:
        raise InvalidInput("amount", "must be greater than 0")
    if installments:
        planned = sum((installment.amount for installment in installments), Decimal("0.00"))
        if planned != amount:
            raise InvalidInput("installments", f"add up to {planned}, not to the contract amount {amount}")
    return amount


@dataclass(frozen=True)
class InstallmentState:
    """What has been paid against one instalment and what that makes it."""

    paid: Decimal
    remaining: Decimal
    status: InstallmentStatus


def installment_states(
    installments: Sequence[tuple[date, Decimal]], received: Decimal, today: date
) -> list[InstallmentState]:
    """Spread the net amount ``received`` over the plan, oldest due date first.

    ``installments`` are ``(due_on, amount)`` pairs in the order to pay them.
    An instalment fully covered is ``paid``; otherwise it is ``overdue`` once
    its due date has passed, else ``partial`` if something was paid against
    it and ``due`` if nothing was.
    """
    left = max(received, Decimal("0.00"))
    states = []
    for due_on, amount in installments:
        paid = min(left, amount)
        left -= paid
        remaining = amount - paid
        status: InstallmentStatus
        if remaining == 0:
            status = "paid"
        elif due_on < today:
            status = "overdue"
        elif paid > 0:
            status = "partial"
        else:
            status = "due"
        states.append(InstallmentState(paid=paid, remaining=remaining, status=status))
    return states
