"""Loading contracts and turning them into the schemas the service returns.

A contract is always loaded with everything its view shows (lines, plan,
payments) in a fixed number of queries; the logins of the people named on
it (owner, approver, recorders of payments) come in one more.  Received and
outstanding are summed here, in Python, over exact ``Decimal`` amounts:
a SQL ``SUM`` on SQLite would add integer cents and need converting back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.contracts.rules import installment_states
from crm_core.contracts.schemas import (
    ContractLineView,
    ContractSummary,
    ContractView,
    InstallmentView,
    PaymentView,
)
from crm_core.models import Agent, Contract, ContractInstallment, Customer, Payment

__all__ = ["load_contract", "lock_contract", "logins", "received", "summaries", "summary", "view"]


async def lock_contract(session: AsyncSession, contract_id: int) -> None:
    """Take the write lock on a contract before reading it for a change.

    A no-op ``UPDATE`` of the row: PostgreSQL locks the row until commit,
    and SQLite — whose driver starts a transaction only at the first write,
    so a ``SELECT`` first would read outside it — takes its write lock
    here.  Either way a second change of the same contract (two payments
    at once) waits and then reads the first one's result.
    """
    await session.execute(
        update(Contract)
        .where(Contract.id == contract_id)
        .values(updated_at=Contract.updated_at)
        .execution_options(synchronize_session=False)  # nothing changes: no objects to refresh
    )


async def load_contract(session: AsyncSession, contract_id: int) -> Contract | None:
    """Live contract ``contract_id`` with its customer, lines, plan and payments (``None``: none or deleted).

    Related rows are re-read, not taken from the session's identity map.
    """
    query: Select[Contract] = (
        select(Contract)
        .where(Contract.id == contract_id, Contract.deleted_at.is_(None))
        .options(
            selectinload(Contract.customer),
            selectinload(Contract.lines),
            selectinload(Contract.installments),
            selectinload(Contract.payments),
        )
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def logins(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    """``{agent id: login}`` for the given ids (``None`` entries are skipped)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await session.execute(select(Agent.id, Agent.login).where(Agent.id.in_(wanted)))
    return {agent_id: login for agent_id, login in rows}


def received(payments: Iterable[Payment]) -> Decimal:
    """Net amount received: payments minus refunds."""
    return sum((payment.amount for payment in payments), Decimal("0.00"))


def summary(contract: Contract, customer: Customer, names: dict[int, str]) -> ContractSummary:
    """The list form of ``contract``; ``names`` maps agent ids to logins."""
    return ContractSummary(
        id=contract.id,
        number=contract.number,
        customer_id=contract.customer_id,
        customer_name=customer.name,
        owner_id=contract.owner_id,
        owner_login=names.get(contract.owner_id) if contract.owner_id is not None else None,
        title=contract.title,
        product_type=contract.product_type,
        amount=contract.amount,
        currency=contract.currency,
        start_on=contract.start_on,
        end_on=contract.end_on,
        status=contract.status,  # type: ignore[arg-type]  # the CHECK constraint keeps it a ContractStatus
        is_renewal=contract.is_renewal,
        renewed_from_id=contract.renewed_from_id,
        signed_on=contract.signed_on,
    )


def _plan_order(installments: Sequence[ContractInstallment]) -> list[ContractInstallment]:
    return sorted(installments, key=lambda installment: (installment.due_on, installment.id))


async def view(session: AsyncSession, contract: Contract, today: date) -> ContractView:
    """The full view of a contract loaded by :func:`load_contract`, as of ``today``."""
    payments = sorted(contract.payments, key=lambda payment: payment.id)
    names = await logins(
        session,
        [contract.owner_id, contract.approved_by_id, *(payment.recorded_by_id for payment in payments)],
    )
    total_received = received(payments)
    plan = _plan_order(contract.installments)
    states = installment_states([(i.due_on, i.amount) for i in plan], total_received, today)
    return ContractView(
        **summary(contract, contract.customer, names).model_dump(),
        approved_by=names.get(contract.approved_by_id) if contract.approved_by_id is not None else None,
        approved_at=contract.approved_at,
        created_at=contract.created_at,
        updated_at=contract.updated_at,
        lines=[
            ContractLineView(
                id=line.id,
                product=line.product,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
            )
            for line in sorted(contract.lines, key=lambda line: line.id)
        ],
        installments=[
            InstallmentView(
                id=installment.id,
                due_on=installment.due_on,
                amount=installment.amount,
                paid=state.paid,
                remaining=state.remaining,
                status=state.status,
            )
            for installment, state in zip(plan, states, strict=True)
        ],
        payments=[
            PaymentView(
                id=payment.id,
                amount=payment.amount,
                received_on=payment.received_on,
                method=payment.method,
                reference=payment.reference,
                recorded_by=names.get(payment.recorded_by_id) if payment.recorded_by_id is not None else None,
                created_at=payment.created_at,
            )
            for payment in payments
        ],
        received=total_received,
        outstanding=contract.amount - total_received,
    )


async def summaries(session: AsyncSession, query: Select[Contract, Customer]) -> list[ContractSummary]:
    """Run a ``select(Contract, Customer)`` query and build the summaries, in its order."""
    rows = (await session.execute(query)).all()
    names = await logins(session, (contract.owner_id for contract, _ in rows))
    return [summary(contract, customer, names) for contract, customer in rows]
