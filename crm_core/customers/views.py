"""Turning customer rows into the schemas the services return (never ORM objects).

Every function here masks: accounts show ``**** 1234``, ID numbers
``**************1234``; a limited view (a public-pool record seen by an
agent) also masks phones and hides balances, contacts, grants and segments.
"""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from crm_core.access.rules import Verdict, active_grant_clause
from crm_core.customers.accounts import mask
from crm_core.customers.id_numbers import mask_id_number
from crm_core.customers.schemas import (
    AccountView,
    ContactView,
    CustomerAction,
    CustomerDetail,
    CustomerSummary,
    GrantView,
    PhoneView,
    SegmentView,
)
from crm_core.models import Agent, Customer, CustomerContact, PhoneNumber, SharingGrant, Team

__all__ = [
    "contact_view",
    "customer_detail",
    "customer_summary",
    "grant_views",
    "load_customer",
    "mask_phone",
    "phone_view",
    "primary_phones",
]


def mask_phone(e164: str) -> str:
    """A phone number as its last four digits only: ``"*******5678"``."""
    return "*" * 7 + e164[-4:]


async def load_customer(session: AsyncSession, customer_id: int) -> Customer | None:
    """Customer ``customer_id`` (deleted or not) with its owner, phones, accounts and contacts."""
    return await session.scalar(
        select(Customer)
        .where(Customer.id == customer_id)
        .options(
            selectinload(Customer.owner),
            selectinload(Customer.phones),
            selectinload(Customer.accounts),
            selectinload(Customer.contacts),
        )
        .execution_options(populate_existing=True)
    )


async def grant_views(
    session: AsyncSession,
    *,
    customer_id: int | None = None,
    grant_ids: list[int] | None = None,
    include_inactive: bool = False,
) -> list[GrantView]:
    """Grants of one customer (or the grants ``grant_ids``), active ones only unless asked."""
    grantee = aliased(Agent)
    granter = aliased(Agent)
    active = case((active_grant_clause(), True), else_=False)
    query = (
        select(SharingGrant, grantee.login, Team.name, granter.login, active)
        .outerjoin(grantee, grantee.id == SharingGrant.grantee_user_id)
        .outerjoin(Team, Team.id == SharingGrant.grantee_team_id)
        .outerjoin(granter, granter.id == SharingGrant.granted_by_id)
        .order_by(SharingGrant.id)
    )
    if customer_id is not None:
        query = query.where(SharingGrant.customer_id == customer_id)
    if grant_ids is not None:
        query = query.where(SharingGrant.id.in_(grant_ids))
    if not include_inactive:
        query = query.where(active_grant_clause())
    rows = (await session.execute(query)).all()
    return [
        GrantView(
            id=grant.id,
            customer_id=grant.customer_id,
            grantee_user_id=grant.grantee_user_id,
            grantee_login=grantee_login,
            grantee_team_id=grant.grantee_team_id,
            grantee_team_name=team_name,
            access="write" if grant.access == "write" else "read",
            granted_by_login=granter_login,
            created_at=grant.created_at,
            expires_at=grant.expires_at,
            revoked_at=grant.revoked_at,
            active=bool(active),
        )
        for grant, grantee_login, team_name, granter_login, active in rows
    ]


def phone_view(phone: PhoneNumber, *, limited: bool = False) -> PhoneView:
    return PhoneView(
        id=phone.id,
        e164=mask_phone(phone.e164) if limited else phone.e164,
        raw=None if limited else phone.raw,
        type=phone.type,
        is_primary=phone.is_primary,
    )


def contact_view(contact: CustomerContact) -> ContactView:
    return ContactView(
        id=contact.id,
        name=contact.name,
        title=contact.title,
        phone_e164=contact.phone_e164,
        email=contact.email,
        is_primary=contact.is_primary,
    )


def customer_detail(
    customer: Customer,
    verdict: Verdict,
    grants: list[GrantView],
    actions: list[CustomerAction] | None = None,
) -> CustomerDetail:
    """The detail of a customer loaded by :func:`load_customer`, as ``verdict`` allows."""
    limited = verdict.limited
    owner = customer.owner
    segment = None
    if not limited:
        segment = SegmentView(
            segment_abc=customer.segment_abc,
            aum_tier=customer.aum_tier,
            rfm_score=customer.rfm_score,
            contribution=customer.contribution,
            computed_at=customer.segment_computed_at,
        )
    return CustomerDetail(
        id=customer.id,
        name=customer.name,
        kind=customer.kind,
        tier=customer.tier,
        status=customer.status,
        deal_status=customer.deal_status,
        source=customer.source,
        owner_login=owner.login if owner is not None else None,
        owner_name=owner.name if owner is not None else None,
        owned_since=customer.owned_since,
        id_number_masked=mask_id_number(customer.id_number_last4),
        phones=[phone_view(p, limited=limited) for p in customer.phones],
        accounts=[
            AccountView(
                id=a.id,
                type=a.type,
                masked_number=mask(a.number_last4),
                balance=None if limited else a.balance,
                currency=a.currency,
                status=a.status,
            )
            for a in customer.accounts
        ],
        contacts=[] if limited else [contact_view(c) for c in customer.contacts],
        grants=[] if limited else grants,
        segment=segment,
        last_follow_up_at=customer.last_follow_up_at,
        last_deal_at=None if limited else customer.last_deal_at,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        deleted_at=customer.deleted_at,
        access="write" if verdict.access == "write" else "read",
        limited=limited,
        actions=actions or [],
        access_reason=verdict.reason,
    )


def customer_summary(
    customer: Customer, owner_login: str | None, owner_name: str | None, primary_e164: str | None
) -> CustomerSummary:
    return CustomerSummary(
        id=customer.id,
        name=customer.name,
        kind=customer.kind,
        tier=customer.tier,
        status=customer.status,
        deal_status=customer.deal_status,
        source=customer.source,
        owner_login=owner_login,
        owner_name=owner_name,
        phone_masked=mask_phone(primary_e164) if primary_e164 else None,
        last_follow_up_at=customer.last_follow_up_at,
        updated_at=customer.updated_at,
    )


async def primary_phones(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    """The primary (else the oldest) phone of each customer in ``ids`` that has one."""
    if not ids:
        return {}
    rows = await session.execute(
        select(PhoneNumber.customer_id, PhoneNumber.e164)
        .where(PhoneNumber.customer_id.in_(ids))
        .order_by(PhoneNumber.customer_id, PhoneNumber.is_primary.desc(), PhoneNumber.id)
    )
    first: dict[int, str] = {}
    for customer_id, e164 in rows:
        first.setdefault(customer_id, e164)
    return first
