"""ORM rows of one demo customer, from its :class:`~crm_core.demo.bank.DemoCustomer` description.

Relative moments become real ones here: ``now`` and ``today`` are fixed once
per seeding, so every row of a run agrees on the date.  Full account and ID
numbers stop here: rows get last 4 + a peppered hash.  Every deposit and
card account gets the phone-banking PIN :data:`DEMO_PIN` (stored hashed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crm_core.customers.accounts import AccountBook
from crm_core.customers.id_numbers import id_number_hash
from crm_core.demo.bank import SUPERVISOR, DemoContract, DemoCustomer
from crm_core.followups.interactions import call_durations
from crm_core.models import (
    Account,
    Contract,
    ContractInstallment,
    ContractLine,
    Customer,
    CustomerContact,
    Interaction,
    OwnershipHistory,
    Payment,
    PhoneNumber,
    SharingGrant,
)
from crm_core.parameters.registry import REGISTRY
from crm_core.selfservice.pins import hash_pin
from crm_core.selfservice.schemas import PIN_ACCOUNT_TYPES

__all__ = [
    "DEMO_PIN",
    "DemoClock",
    "DemoIds",
    "contract_rows",
    "customer_row",
    "follow_up_rows",
    "history_rows",
    "transaction_rows",
]

_PURGE_AFTER = timedelta(days=REGISTRY["recycle.purge_after_days"].default)
#: The IVR PIN of every demo deposit and card account.
DEMO_PIN = "123456"  # six digits, as the default menus collect


@dataclass(frozen=True)
class DemoClock:
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()

    def ago(self, delta: timedelta | None) -> datetime | None:
        return None if delta is None else self.now - delta

    def on(self, days: int | None) -> date | None:
        return None if days is None else self.today + timedelta(days=days)


@dataclass(frozen=True)
class DemoIds:
    """Database ids of the demo agents (by index), the supervisor and the teams (by index)."""

    agents: list[int | None]
    supervisor: int | None
    teams: list[int]

    def agent(self, index: int | None) -> int | None:
        if index is None:
            return None
        if index == SUPERVISOR:
            return self.supervisor
        return self.agents[index]


def customer_row(
    person: DemoCustomer, book: AccountBook, pepper: bytes, ids: DemoIds, clock: DemoClock
) -> Customer:
    """The customer with phones, accounts, company contacts, ownership history and shares."""
    digest, last4 = id_number_hash(pepper, person.id_number)
    deleted_at = clock.ago(person.deleted_ago)
    customer = Customer(
        name=person.name,
        kind=person.kind,
        tier=person.tier,
        status=person.status,
        owner_agent_id=ids.agent(person.owner_index),
        id_number_hash=digest,
        id_number_last4=last4,
        deal_status=person.deal_status,
        source=person.source,
        owned_since=clock.ago(person.owned_ago),
        last_follow_up_at=clock.ago(person.last_follow_up_ago),
        last_deal_at=clock.ago(person.last_deal_ago),
        released_at=clock.ago(person.released_ago),
        previous_owner_id=ids.agent(person.previous_owner_index),
        deleted_at=deleted_at,
        deleted_by_id=ids.agent(person.deleted_by),
        purge_after=None if deleted_at is None else deleted_at + _PURGE_AFTER,
        created_at=clock.ago(person.created_ago),
        updated_at=clock.now,
    )
    customer.phones = [
        PhoneNumber(raw=p.raw, e164=p.e164, type=p.type, is_primary=p.is_primary) for p in person.phones
    ]
    customer.accounts = [
        Account(
            type=a.type,
            number_last4=a.number[-4:],
            number_hash=book.number_hash(a.number),
            balance=a.balance,
            currency="CNY",
            status="active",
            pin_hash=hash_pin(pepper, DEMO_PIN) if a.type in PIN_ACCOUNT_TYPES else None,
        )
        for a in person.accounts
    ]
    customer.contacts = [
        CustomerContact(
            name=c.name, title=c.title, phone_e164=c.phone_e164, email=c.email, is_primary=c.is_primary
        )
        for c in person.company_contacts
    ]
    return customer


def history_rows(person: DemoCustomer, customer: Customer, ids: DemoIds, clock: DemoClock) -> list[object]:
    """Ownership history and sharing grants of ``customer``."""
    rows: list[object] = [
        OwnershipHistory(
            customer=customer,
            from_owner_id=ids.agent(e.from_owner),
            to_owner_id=ids.agent(e.to_owner),
            action=e.action,
            reason=e.reason,
            actor_id=ids.agent(e.actor),
            at=clock.ago(e.ago),
        )
        for e in sorted(person.history, key=lambda e: e.ago, reverse=True)
    ]
    for g in person.grants:
        granted_at = clock.now - g.ago
        rows.append(
            SharingGrant(
                customer=customer,
                grantee_user_id=ids.agent(g.grantee_agent),
                grantee_team_id=None if g.grantee_team is None else ids.teams[g.grantee_team],
                access=g.access,
                granted_by_id=ids.agent(g.granted_by),
                created_at=granted_at,
                expires_at=None
                if g.expires_in_days is None
                else clock.now + timedelta(days=g.expires_in_days),
            )
        )
    return rows


def follow_up_rows(
    person: DemoCustomer, customer: Customer, ids: DemoIds, clock: DemoClock, skip: set[str]
) -> list[Interaction]:
    """Past inbound calls (unless their call id is already stored) and the other follow-ups."""
    owner_id = ids.agent(person.owner_index)
    primary = next(p for p in person.phones if p.is_primary)
    rows = []
    for contact in person.contacts:
        if contact.call_id in skip:
            continue
        arrived = clock.now - contact.days_ago
        queued = arrived + timedelta(seconds=12)
        answered = queued + timedelta(seconds=8)
        ended = answered + timedelta(seconds=contact.talk_seconds)
        wait, talk = call_durations(queued, answered, ended)
        rows.append(
            Interaction(
                call_id=contact.call_id,
                channel="phone",
                direction="inbound",
                customer=customer,
                agent_id=owner_id,
                created_by_id=owner_id,
                queue="cards" if "card" in contact.disposition else "accounts",
                caller_number=primary.raw,
                caller_e164=primary.e164,
                arrived_at=arrived,
                queued_at=queued,
                offered_at=queued + timedelta(seconds=2),
                answered_at=answered,
                ended_at=ended,
                wait_seconds=wait,
                talk_seconds=talk,
                outcome="answered",
                disposition=contact.disposition,
                content=f"Customer called: {contact.disposition}.",
            )
        )
    for f in person.follow_ups:
        at = clock.now - f.ago
        rows.append(
            Interaction(
                channel=f.channel,
                direction=f.direction,
                customer=customer,
                agent_id=ids.agent(f.agent),
                created_by_id=ids.agent(f.agent),
                arrived_at=at,
                ended_at=at + timedelta(minutes=5 if f.channel in {"phone", "sms", "email"} else 40),
                outcome=f.outcome,
                disposition=f.disposition,
                content=f.content,
                next_contact_on=clock.on(f.next_contact_in_days),
                urgent=f.urgent,
                created_at=at,
                updated_at=at,
            )
        )
    return rows


def contract_rows(
    person: DemoCustomer, customer: Customer, ids: DemoIds, clock: DemoClock
) -> list[tuple[Contract, DemoContract]]:
    """The customer's contracts with lines, plan and payments (renewal links are set after a flush)."""
    owner_id = ids.agent(
        person.owner_index if person.owner_index is not None else person.previous_owner_index
    )
    out = []
    for c in person.contracts:
        approved_at = clock.ago(c.approved_ago)
        contract = Contract(
            number=c.number,
            customer=customer,
            owner_id=owner_id,
            title=c.title,
            product_type=c.product_type,
            amount=c.amount,
            currency="CNY",
            start_on=clock.on(c.start_in_days),
            end_on=clock.on(c.end_in_days),
            status=c.status,
            is_renewal=c.renewal_of is not None,
            approved_by_id=ids.supervisor if approved_at is not None else None,
            approved_at=approved_at,
            signed_on=clock.on(c.signed_in_days),
            created_at=clock.now - timedelta(days=max(2, 15 - c.start_in_days)),
            updated_at=clock.now,
        )
        contract.lines = [
            ContractLine(
                product=line.product, quantity=line.quantity, unit_price=line.unit_price, amount=line.amount
            )
            for line in c.lines
        ]
        contract.installments = [
            ContractInstallment(due_on=clock.on(i.due_in_days), amount=i.amount) for i in c.installments
        ]
        contract.payments = [
            Payment(
                received_on=clock.on(p.received_in_days),
                amount=p.amount,
                method=p.method,
                reference=p.reference,
                recorded_by_id=owner_id,
                created_at=clock.now + timedelta(days=p.received_in_days),
            )
            for p in c.payments
        ]
        out.append((contract, c))
    return out


def transaction_rows(person: DemoCustomer, customer: Customer, clock: DemoClock) -> list[dict[str, object]]:
    """Parameter dicts for one bulk ``INSERT`` of the customer's transactions (ids known after a flush)."""
    return [
        {
            "account_id": account.id,
            "customer_id": customer.id,
            "occurred_at": clock.now - t.ago,
            "amount": t.amount,
            "channel": t.channel,
            "customer_initiated": t.customer_initiated,
            "description": t.description,
        }
        for account, demo in zip(customer.accounts, person.accounts, strict=True)
        for t in demo.transactions
    ]
