"""What a customer search box means: a phone number in any format, an account's last four, or a name.

``q`` is read, in this order, as

* four digits (``8000``, also as shown masked: ``****8000``): an account's
  last four digits;
* a phone number in any format the network or a person writes it —
  ``+86 138 0013 8000``, ``13800138000``, ``138-0013-8000``,
  ``0086 138 0013 8000``, ``8613800138000``, full-width digits — normalised
  to E.164 (:func:`crm_core.customers.phones.normalize`) and matched exactly
  against the customer's phones and their contact persons' phones;
* anything else: part of the name, case-insensitive, names starting with it first.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, case, exists, or_, select

from crm_core.customers.phones import normalize
from crm_core.errors import InvalidInput
from crm_core.models import Account, Customer, CustomerContact, PhoneNumber

__all__ = ["MAX_QUERY", "search_clause"]

#: The longest search text accepted (characters).
MAX_QUERY = 200
_LAST4 = re.compile(r"\**(\d{4})")


def search_clause(q: str, region: str) -> tuple[ColumnElement[bool], ColumnElement[int] | None]:
    """The where-clause on :class:`Customer` for the search ``q`` and its ranking (``None``: no ranking).

    Raises :class:`InvalidInput` naming ``q`` when it is longer than :data:`MAX_QUERY`.
    """
    if len(q) > MAX_QUERY:
        raise InvalidInput("q", f"must be at most {MAX_QUERY} characters")
    last4 = _LAST4.fullmatch(q)
    if last4 is not None:
        clause = exists(
            select(Account.id).where(
                Account.customer_id == Customer.id, Account.number_last4 == last4.group(1)
            )
        )
        return clause, None
    e164 = normalize(q, region)
    if e164 is not None:
        phone = exists(
            select(PhoneNumber.id).where(PhoneNumber.customer_id == Customer.id, PhoneNumber.e164 == e164)
        )
        contact = exists(
            select(CustomerContact.id).where(
                CustomerContact.customer_id == Customer.id, CustomerContact.phone_e164 == e164
            )
        )
        return or_(phone, contact), None
    # autoescape: "%" and "_" typed by the user are matched literally.
    prefix_first = case((Customer.name.istartswith(q, autoescape=True), 0), else_=1)
    return Customer.name.icontains(q, autoescape=True), prefix_first
