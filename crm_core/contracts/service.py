"""Contracts: terms, approval, signature, payments, expiry — every change checked and audited.

Who may do what is in :mod:`crm_core.contracts.access`; the state machine and
the money rules in :mod:`crm_core.contracts.rules`.  Every method runs in one
transaction: the change, its audit entry and the view returned agree.
"""

from __future__ import annotations

import builtins
import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.contracts.access import (
    may_read,
    owner_for,
    readable_clause,
    require_customer,
    writable_contract,
)
from crm_core.contracts.jobs import check_within_days, expire_due, expiring
from crm_core.contracts.rules import (
    EDITABLE_STATUSES,
    PAYABLE_STATUSES,
    check_plan,
    next_status,
)
from crm_core.contracts.schemas import (
    CONTRACT_ACTIONS,
    CONTRACT_STATUSES,
    ContractCreate,
    ContractPage,
    ContractSummary,
    ContractUpdate,
    ContractView,
)
from crm_core.contracts.terms import (
    add_terms,
    check_renewable,
    current_installments,
    current_lines,
    payment_input,
    replace_terms,
)
from crm_core.contracts.views import load_contract, received, summaries, view
from crm_core.errors import Conflict, InvalidInput, NotFound
from crm_core.models import (
    Agent,
    Contract,
    Customer,
    Payment,
)
from crm_core.models.coltypes import utcnow
from crm_core.paging import check_page
from crm_core.parameters.store import ParameterStore

__all__ = ["ContractService"]

log = logging.getLogger(__name__)

_REASON_LENGTH = 255


class ContractService:
    """Creates, changes, moves and lists contracts on behalf of an :class:`Actor`.

    ``clock`` gives the current UTC time (tests pin it); "today" is its UTC
    date.  ``parameters`` supplies ``contracts.expiry_reminder_days``.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        parameters: ParameterStore,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._parameters = parameters
        self._clock = clock

    def _today(self) -> date:
        return self._clock().date()

    async def create(self, actor: Actor, customer_id: int, data: ContractCreate) -> ContractView:
        """Open a draft contract for a customer the actor may change.

        The number is ``C-<year>-<id>`` (unique by construction).  Raises
        :class:`NotFound` (no such customer, or not visible),
        :class:`AccessDenied` (read-only access, or naming an owner the
        actor does not manage) and :class:`InvalidInput` (inconsistent
        terms, unknown owner, a renewal of an unsuitable contract).
        """
        amount = check_plan(
            data.amount, data.lines, data.installments, start_on=data.start_on, end_on=data.end_on
        )
        async with self._sessions() as session, session.begin():
            customer = await require_customer(session, actor, customer_id)
            owner_id = await owner_for(session, actor, customer, data.owner_login)
            if data.renewed_from_id is not None:
                await check_renewable(session, customer_id, data.renewed_from_id)
            now = self._clock()
            contract = Contract(
                # A placeholder until the id is known: the real number is derived from it.
                number=f"new-{secrets.token_hex(12)}",
                customer_id=customer_id,
                owner_id=owner_id,
                title=data.title,
                product_type=data.product_type,
                amount=amount,
                currency=data.currency,
                start_on=data.start_on,
                end_on=data.end_on,
                status="draft",
                is_renewal=data.renewed_from_id is not None,
                renewed_from_id=data.renewed_from_id,
                created_at=now,
                updated_at=now,
            )
            session.add(contract)
            await session.flush()
            contract.number = f"C-{now.year}-{contract.id:06d}"
            add_terms(session, contract.id, data.lines, data.installments)
            await session.flush()
            await audit(
                session,
                actor,
                "create",
                "contract",
                str(contract.id),
                {"number": contract.number, "customer_id": customer_id, "amount": str(amount)},
            )
            result = await self._view(session, contract.id)
        log.info("crm.contract_created", extra={"contract_id": result.id, "customer_id": customer_id})
        return result

    async def update(self, actor: Actor, contract_id: int, data: ContractUpdate) -> ContractView:
        """Change the terms of a draft or rejected contract.

        The merged terms are checked together (amount against lines, plan
        against amount, end against start).  Raises :class:`Conflict` for a
        contract in any other status.
        """
        async with self._sessions() as session, session.begin():
            contract = await writable_contract(session, actor, contract_id)
            if contract.status not in EDITABLE_STATUSES:
                raise Conflict(
                    f"a {contract.status} contract cannot be changed, only a draft or rejected one"
                )
            changes = data.model_dump(exclude_unset=True)
            lines = data.lines if data.lines is not None else current_lines(contract)
            installments = (
                data.installments if data.installments is not None else current_installments(contract)
            )
            amount = data.amount
            if amount is None and not data.lines:
                amount = contract.amount
            amount = check_plan(
                amount,
                lines,
                installments,
                start_on=data.start_on or contract.start_on,
                end_on=data.end_on or contract.end_on,
            )
            for field in ("title", "product_type", "currency", "start_on", "end_on"):
                value = getattr(data, field)
                if value is not None:
                    setattr(contract, field, value)
            contract.amount = amount
            contract.updated_at = self._clock()
            await replace_terms(session, contract.id, data.lines, data.installments)
            await session.flush()
            await audit(
                session,
                actor,
                "update",
                "contract",
                str(contract.id),
                {"fields": sorted(changes), "amount": str(amount)},
            )
            return await self._view(session, contract.id)

    async def delete(self, actor: Actor, contract_id: int) -> None:
        """Soft-delete a draft contract (sets ``deleted_at``); :class:`Conflict` for any other status."""
        async with self._sessions() as session, session.begin():
            contract = await writable_contract(session, actor, contract_id)
            if contract.status != "draft":
                raise Conflict(f"only a draft contract can be deleted; this one is {contract.status}")
            contract.deleted_at = self._clock()
            await audit(session, actor, "delete", "contract", str(contract.id), {"number": contract.number})
        log.info("crm.contract_deleted", extra={"contract_id": contract_id})

    async def transition(
        self, actor: Actor, contract_id: int, action: str, reason: str | None = None
    ) -> ContractView:
        """Apply ``action`` (submit, approve, reject, rework, sign, terminate) to a contract.

        Raises :class:`Conflict` naming the current and the target status if
        the move is illegal from the contract's status, :class:`AccessDenied`
        if the actor may not take this action, :class:`InvalidInput` for an
        unknown action, a missing ``reason`` on terminate or one over 255
        characters.  Signing sets ``signed_on`` to today and marks the
        customer's deal as won (``deal_status``, ``last_deal_at``).
        """
        if action not in CONTRACT_ACTIONS:
            raise InvalidInput("action", f"must be one of {', '.join(CONTRACT_ACTIONS)}")
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > _REASON_LENGTH:
            raise InvalidInput("reason", f"must be at most {_REASON_LENGTH} characters")
        if action == "terminate" and reason is None:
            raise InvalidInput("reason", "is required to terminate a contract")
        async with self._sessions() as session, session.begin():
            contract = await writable_contract(session, actor, contract_id, action=action)
            before = contract.status
            after = next_status(before, action)
            now = self._clock()
            if action == "approve":
                contract.approved_by_id = actor.user_id
                contract.approved_at = now
            elif action == "sign":
                await self._sign(session, actor, contract, now)
            contract.status = after
            contract.updated_at = now
            await session.flush()
            detail: dict[str, Any] = {"action": action, "from": before, "to": after}
            if reason is not None:
                detail["reason"] = reason
            await audit(session, actor, "transition", "contract", str(contract.id), detail)
            result = await self._view(session, contract.id)
        log.info(
            "crm.contract_transition",
            extra={"contract_id": contract_id, "action": action, "from": before, "to": after},
        )
        return result

    async def record_payment(
        self,
        actor: Actor,
        contract_id: int,
        *,
        amount: Decimal,
        received_on: date,
        method: str,
        reference: str | None = None,
    ) -> ContractView:
        """Record money received (``amount`` > 0) or refunded (``amount`` < 0) on a contract.

        Only approved or active contracts take payments.  The net received
        may neither go below zero (a refund larger than what came in) nor
        above the contract amount.  Raises :class:`InvalidInput` naming the
        field (zero or non-cent amount, a float, a date in the future, an
        unknown method), :class:`Conflict` for the status and the limits.
        """
        payment = payment_input(
            amount=amount, received_on=received_on, method=method, reference=reference, today=self._today()
        )
        async with self._sessions() as session, session.begin():
            contract = await writable_contract(session, actor, contract_id)
            if contract.status not in PAYABLE_STATUSES:
                raise Conflict(
                    f"a {contract.status} contract takes no payments, only approved or active ones"
                )
            before = received(contract.payments)
            after = before + payment.amount
            if after < 0:
                raise Conflict(f"a refund of {-payment.amount} is more than the {before} received")
            if after > contract.amount:
                raise Conflict(f"{payment.amount} is more than the {contract.amount - before} outstanding")
            session.add(
                Payment(
                    contract_id=contract.id,
                    received_on=payment.received_on,
                    amount=payment.amount,
                    method=payment.method,
                    reference=payment.reference,
                    recorded_by_id=actor.user_id,
                    created_at=self._clock(),
                )
            )
            await session.flush()
            await audit(
                session,
                actor,
                "payment",
                "contract",
                str(contract.id),
                {
                    "amount": str(payment.amount),
                    "received_on": payment.received_on.isoformat(),
                    "method": payment.method,
                    "received": str(after),
                },
            )
            result = await self._view(session, contract.id)
        log.info("crm.contract_payment", extra={"contract_id": contract_id, "refund": payment.amount < 0})
        return result

    async def get(self, actor: Actor, contract_id: int) -> ContractView:
        """One contract in full; the view is written to the audit log.

        Raises :class:`NotFound` if the contract does not exist, is deleted,
        or the actor may not read it (its existence is not revealed).
        """
        async with self._sessions() as session, session.begin():
            contract = await load_contract(session, contract_id)
            if contract is None or not await may_read(session, actor, contract.customer_id):
                raise NotFound(f"no contract {contract_id}")
            await audit(session, actor, "view", "contract", str(contract.id), None)
            return await view(session, contract, self._today())

    async def list(
        self,
        actor: Actor,
        *,
        customer_id: int | None = None,
        status: str | None = None,
        owner_login: str | None = None,
        expiring_within_days: int | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> ContractPage:
        """Contracts the actor may read, filtered, newest first (soonest end first when expiring).

        ``expiring_within_days`` keeps active contracts ending from today to
        today + N days.  Raises :class:`InvalidInput` naming a bad filter.
        """
        offset = check_page(page, page_size)
        if status is not None and status not in CONTRACT_STATUSES:
            raise InvalidInput("status", f"must be one of {', '.join(CONTRACT_STATUSES)}")
        conditions: list[ColumnElement[bool]] = [Contract.deleted_at.is_(None), readable_clause(actor)]
        if customer_id is not None:
            conditions.append(Contract.customer_id == customer_id)
        if status is not None:
            conditions.append(Contract.status == status)
        if owner_login is not None:
            conditions.append(Contract.owner_id.in_(select(Agent.id).where(Agent.login == owner_login)))
        order: list[ColumnElement[Any]] = [Contract.id.desc()]
        if expiring_within_days is not None:
            check_within_days(expiring_within_days, "expiring_within_days")
            today = self._today()
            conditions.append(Contract.status == "active")
            conditions.append(Contract.end_on.between(today, today + timedelta(days=expiring_within_days)))
            order = [Contract.end_on.asc(), Contract.id.asc()]
        async with self._sessions() as session:
            base = select(Contract, Customer).join(Customer, Customer.id == Contract.customer_id)
            base = base.where(*conditions)
            total = await session.scalar(select(func.count()).select_from(base.subquery()))
            items = await summaries(session, base.order_by(*order).offset(offset).limit(page_size))
        return ContractPage(items=items, total=total or 0, page=page, page_size=page_size)

    async def expiring(
        self, session: AsyncSession, today: date, within_days: int | None = None
    ) -> builtins.list[ContractSummary]:
        """Active contracts ending within ``within_days`` of ``today`` (for reminders).

        ``within_days`` defaults to the ``contracts.expiry_reminder_days``
        parameter.  Runs in the caller's session; see
        :func:`crm_core.contracts.jobs.expiring`.
        """
        if within_days is None:
            within_days = int(await self._parameters.get("contracts.expiry_reminder_days"))
        return await expiring(session, today, within_days)

    async def expire_due(self, session: AsyncSession, now: datetime) -> int:
        """The expiry job (idempotent): see :func:`crm_core.contracts.jobs.expire_due`."""
        return await expire_due(session, now)

    async def _view(self, session: AsyncSession, contract_id: int) -> ContractView:
        contract = await load_contract(session, contract_id)
        assert contract is not None  # written in this very transaction
        return await view(session, contract, self._today())

    async def _sign(self, session: AsyncSession, actor: Actor, contract: Contract, now: datetime) -> None:
        today = now.date()
        if contract.end_on < today:
            raise Conflict(
                f"contract {contract.number} ended on {contract.end_on.isoformat()}: too late to sign"
            )
        contract.signed_on = today
        await session.execute(
            update(Customer)
            .where(Customer.id == contract.customer_id)
            .values(deal_status="won", last_deal_at=now, updated_at=now)
        )
        await audit(
            session,
            actor,
            "update",
            "customer",
            str(contract.customer_id),
            {"deal_status": "won", "last_deal_at": now.isoformat(), "contract": contract.number},
        )
