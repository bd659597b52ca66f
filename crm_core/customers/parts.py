"""A customer's phones and contacts: added and removed by its writers, audited.

:class:`CustomerParts` is the part of
:class:`~crm_core.customers.service.CustomerService` that deals with them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.access.rules import Access, require
from crm_core.actor import Actor
from crm_core.customers.phones import normalize
from crm_core.customers.schemas import ContactInput, ContactView, PhoneInput, PhoneView
from crm_core.customers.views import contact_view, phone_view
from crm_core.errors import InvalidInput, NotFound
from crm_core.models import Customer, CustomerContact, PhoneNumber
from crm_core.models.coltypes import utcnow

__all__ = ["CustomerParts", "new_contacts", "new_phones"]


def _phone_row(data: PhoneInput, region: str, field: str) -> PhoneNumber:
    e164 = normalize(data.number, region)
    if e164 is None:
        raise InvalidInput(field, "not a valid phone number")
    return PhoneNumber(raw=data.number, e164=e164, type=data.type, is_primary=data.is_primary)


def new_phones(phones: Sequence[PhoneInput], region: str) -> list[PhoneNumber]:
    """Rows for a new customer's phones: exactly one primary (the first, unless one is marked)."""
    rows = [_phone_row(p, region, f"phones[{i}].number") for i, p in enumerate(phones)]
    if sum(r.is_primary for r in rows) > 1:
        raise InvalidInput("phones", "only one phone can be primary")
    if rows and not any(r.is_primary for r in rows):
        rows[0].is_primary = True
    return rows


def _contact_row(data: ContactInput, region: str, prefix: str) -> CustomerContact:
    e164 = None
    if data.phone is not None:
        e164 = normalize(data.phone, region)
        if e164 is None:
            raise InvalidInput(f"{prefix}.phone" if prefix else "phone", "not a valid phone number")
    return CustomerContact(
        name=data.name, title=data.title, phone_e164=e164, email=data.email, is_primary=data.is_primary
    )


def new_contacts(contacts: Sequence[ContactInput], region: str) -> list[CustomerContact]:
    """Rows for a new customer's contacts; at most one primary."""
    rows = [_contact_row(c, region, f"contacts[{i}]") for i, c in enumerate(contacts)]
    if sum(r.is_primary for r in rows) > 1:
        raise InvalidInput("contacts", "only one contact can be primary")
    return rows


async def _touch(session: AsyncSession, customer: Customer) -> None:
    customer.updated_at = utcnow()
    await session.flush()


class CustomerParts:
    """Adds and removes phones and contacts of customers the actor may write."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], region: str) -> None:
        self._sessions = sessions
        self._region = region

    async def add_phone(self, actor: Actor, customer_id: int, data: PhoneInput) -> PhoneView:
        """Attach a phone (the customer's first becomes primary); :class:`InvalidInput` names ``number``."""
        row = _phone_row(data, self._region, "number")
        async with self._sessions() as session, session.begin():
            customer = await require(session, actor, customer_id, Access.WRITE, for_update=True)
            others = (
                await session.scalars(select(PhoneNumber.id).where(PhoneNumber.customer_id == customer_id))
            ).all()
            if row.is_primary:
                await session.execute(
                    update(PhoneNumber).where(PhoneNumber.customer_id == customer_id).values(is_primary=False)
                )
            elif not others:
                row.is_primary = True
            row.customer_id = customer_id
            session.add(row)
            await _touch(session, customer)
            await audit(
                session, actor, "update", "customer", customer_id, {"phone_added": row.id, "e164": row.e164}
            )
            return phone_view(row)

    async def remove_phone(self, actor: Actor, customer_id: int, phone_id: int) -> None:
        """Remove one phone; if it was the primary, the oldest remaining one becomes primary."""
        async with self._sessions() as session, session.begin():
            customer = await require(session, actor, customer_id, Access.WRITE, for_update=True)
            phone = await session.scalar(
                select(PhoneNumber).where(PhoneNumber.id == phone_id, PhoneNumber.customer_id == customer_id)
            )
            if phone is None:
                raise NotFound(f"customer {customer_id} has no phone {phone_id}")
            was_primary = phone.is_primary
            await session.delete(phone)
            await session.flush()
            if was_primary:
                successor = await session.scalar(
                    select(PhoneNumber)
                    .where(PhoneNumber.customer_id == customer_id)
                    .order_by(PhoneNumber.id)
                    .limit(1)
                )
                if successor is not None:
                    successor.is_primary = True
            await _touch(session, customer)
            await audit(
                session,
                actor,
                "update",
                "customer",
                customer_id,
                {"phone_removed": phone_id, "e164": phone.e164},
            )

    async def add_contact(self, actor: Actor, customer_id: int, data: ContactInput) -> ContactView:
        """Add a contact person; marking it primary unmarks the previous one."""
        row = _contact_row(data, self._region, "")
        async with self._sessions() as session, session.begin():
            customer = await require(session, actor, customer_id, Access.WRITE, for_update=True)
            if row.is_primary:
                await session.execute(
                    update(CustomerContact)
                    .where(CustomerContact.customer_id == customer_id)
                    .values(is_primary=False)
                )
            row.customer_id = customer_id
            session.add(row)
            await _touch(session, customer)
            await audit(session, actor, "update", "customer", customer_id, {"contact_added": row.id})
            return contact_view(row)

    async def remove_contact(self, actor: Actor, customer_id: int, contact_id: int) -> None:
        """Remove one contact person of the customer."""
        async with self._sessions() as session, session.begin():
            customer = await require(session, actor, customer_id, Access.WRITE, for_update=True)
            contact = await session.scalar(
                select(CustomerContact).where(
                    CustomerContact.id == contact_id, CustomerContact.customer_id == customer_id
                )
            )
            if contact is None:
                raise NotFound(f"customer {customer_id} has no contact {contact_id}")
            await session.delete(contact)
            await _touch(session, customer)
            await audit(session, actor, "update", "customer", customer_id, {"contact_removed": contact_id})
