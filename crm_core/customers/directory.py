"""Customer directory: caller-ID lookup, screen-pop cards, and customer upkeep.

Lookups match the caller's E.164 number exactly through a bound parameter:
no ``LIKE``, no caller text in SQL.  Soft-deleted customers are invisible
here.  Cards carry masked account numbers only.  A card's ``vip`` flag
follows the parameter ``analytics.vip_tiers`` as it stands at the lookup
(see :func:`crm_core.analytics.value.vip_treatment`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from crm_core.actor import Actor
from crm_core.analytics.value import vip_treatment
from crm_core.customers.accounts import mask
from crm_core.customers.phones import normalize
from crm_core.customers.recycle import RecycleBin
from crm_core.errors import Conflict, NotFound
from crm_core.models import (
    CUSTOMER_KINDS,
    CUSTOMER_STATUSES,
    PHONE_TYPES,
    Account,
    Agent,
    Customer,
    Interaction,
    PhoneNumber,
)
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore
from crm_core.schemas import AccountCard, CustomerCard, FollowUpCard

__all__ = ["RECENT_FOLLOW_UPS", "CustomerDirectory", "live_customers_with_number"]

log = logging.getLogger(__name__)

#: How many follow-ups a card carries, newest first.
RECENT_FOLLOW_UPS = 5


class CustomerDirectory:
    """Finds customers by caller ID and builds their cards; adds and soft-deletes them.

    ``parameters`` is the store ``analytics.vip_tiers`` is read from; give the
    service's own so that an administrator's change shows at the next call
    (a store of its own otherwise, whose cache lags by up to its TTL).
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], parameters: ParameterStore | None = None
    ) -> None:
        self._sessions = sessions
        self._parameters = parameters if parameters is not None else ParameterStore(sessions)

    async def _vip_tiers(self) -> tuple[str, ...]:
        return tuple(await self._parameters.get("analytics.vip_tiers"))

    async def lookup_by_caller_id(self, raw: str | None, region: str) -> list[CustomerCard]:
        """Cards of every live customer with the caller's number (exact E.164 match).

        Withheld or unparseable caller ID gives ``[]``; several customers may
        share a number (a family landline), hence a list, ordered by id.
        """
        e164 = normalize(raw, region)
        if e164 is None:
            return []
        vip_tiers = await self._vip_tiers()
        async with self._sessions() as session:
            # The number's customers and their card columns in one query (live_customers_with_number's match).
            rows = (await session.execute(_CUSTOMERS_WITH_NUMBER, {"e164": e164})).all()
            cards = await _cards(session, rows, matched_e164=e164, vip_tiers=vip_tiers)
        log.debug("crm.lookup", extra={"matches": len(cards)})
        return cards

    async def card(self, customer_id: int) -> CustomerCard | None:
        """The card of one live customer (``None`` if unknown or deleted)."""
        vip_tiers = await self._vip_tiers()
        async with self._sessions() as session:
            rows = (await session.execute(_CUSTOMERS_BY_ID, {"ids": [customer_id]})).all()
            cards = await _cards(session, rows, matched_e164=None, vip_tiers=vip_tiers)
        return cards[0] if cards else None

    async def create_customer(
        self,
        name: str,
        *,
        kind: str = "individual",
        tier: str = "standard",
        owner_login: str | None = None,
        status: str | None = None,
    ) -> int:
        """Add a customer and return its id.

        ``status`` defaults to ``owned`` with an owner, ``public`` without.
        Raises :class:`ValueError` for an empty name, a bad kind/status or an
        unknown owner login.
        """
        name = name.strip()
        if not name or len(name) > 200:
            raise ValueError("customer name must be 1 to 200 characters")
        if kind not in CUSTOMER_KINDS:
            raise ValueError(f"customer kind must be one of {', '.join(CUSTOMER_KINDS)}")
        status = status or ("owned" if owner_login else "public")
        if status not in CUSTOMER_STATUSES:
            raise ValueError(f"customer status must be one of {', '.join(CUSTOMER_STATUSES)}")
        if not tier or len(tier) > 32:
            raise ValueError("customer tier must be 1 to 32 characters")
        async with self._sessions() as session, session.begin():
            owner_id = None
            if owner_login is not None:
                owner_id = await session.scalar(select(Agent.id).where(Agent.login == owner_login))
                if owner_id is None:
                    raise ValueError(f"no agent with login {owner_login!r}")
            customer = Customer(
                name=name,
                kind=kind,
                tier=tier,
                owner_agent_id=owner_id,
                status=status,
                owned_since=utcnow() if owner_id is not None else None,
            )
            session.add(customer)
            await session.flush()
            return customer.id

    async def add_phone(
        self, customer_id: int, raw: str, region: str, *, type: str = "mobile", is_primary: bool = False
    ) -> str:
        """Attach a phone number to a customer; return its E.164 form.

        Raises :class:`ValueError` if the number does not parse, the type is
        unknown or the customer does not exist.
        """
        if type not in PHONE_TYPES:
            raise ValueError(f"phone type must be one of {', '.join(PHONE_TYPES)}")
        e164 = normalize(raw, region)
        if e164 is None:
            raise ValueError("not a valid phone number")
        async with self._sessions() as session, session.begin():
            if await session.get(Customer, customer_id) is None:
                raise ValueError(f"no customer {customer_id}")
            if is_primary:
                await session.execute(
                    update(PhoneNumber).where(PhoneNumber.customer_id == customer_id).values(is_primary=False)
                )
            session.add(
                PhoneNumber(
                    customer_id=customer_id, raw=raw[:64], e164=e164, type=type, is_primary=is_primary
                )
            )
        return e164

    async def soft_delete(self, customer_id: int) -> bool:
        """Move a customer to the recycle bin as the system; False if unknown or already deleted.

        Same as :meth:`crm_core.customers.recycle.RecycleBin.delete` by the system
        actor (audited, purged after the default delay).
        """
        try:
            await RecycleBin(self._sessions).delete(Actor.system(), customer_id)
        except (NotFound, Conflict):
            return False
        return True


async def live_customers_with_number(session: AsyncSession, e164: str) -> list[int]:
    """Ids of every live (not deleted) customer with the phone number ``e164``, in id order.

    The caller-ID match of the IVR's lookup, also used to link a call to its
    customer after the fact (:mod:`crm_core.followups.interactions`).
    """
    ids = await session.scalars(
        select(PhoneNumber.customer_id)
        .join(Customer, Customer.id == PhoneNumber.customer_id)
        .where(PhoneNumber.e164 == e164, Customer.deleted_at.is_(None))
        .distinct()
        .order_by(PhoneNumber.customer_id)
    )
    return list(ids.all())


# The card's queries, built once: a screen-pop needs a few columns of a few rows, and at tens of
# calls per second building statements and ORM entities (identity map, relationship loaders)
# cost the service's event loop more than the queries themselves.
_OWNER = aliased(Agent)
_CARD_COLUMNS = select(
    Customer.id, Customer.name, Customer.tier, Customer.segment_abc, _OWNER.login
).outerjoin(_OWNER, _OWNER.id == Customer.owner_agent_id)
_CUSTOMERS_WITH_NUMBER = _CARD_COLUMNS.where(
    Customer.id.in_(select(PhoneNumber.customer_id).where(PhoneNumber.e164 == bindparam("e164"))),
    Customer.deleted_at.is_(None),
).order_by(Customer.id)
_CUSTOMERS_BY_ID = _CARD_COLUMNS.where(
    Customer.id.in_(bindparam("ids", expanding=True)), Customer.deleted_at.is_(None)
).order_by(Customer.id)
_ACCOUNTS = (
    select(
        Account.customer_id,
        Account.id,
        Account.type,
        Account.number_last4,
        Account.balance,
        Account.currency,
        Account.status,
    )
    .where(Account.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(Account.customer_id, Account.id)
)
_PRIMARY_PHONES = (
    select(PhoneNumber.customer_id, PhoneNumber.e164)
    .where(PhoneNumber.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(PhoneNumber.customer_id, PhoneNumber.is_primary.desc(), PhoneNumber.id)
)


async def _cards(
    session: AsyncSession,
    customers: Sequence[Row[int, str, str, str | None, str]],
    *,
    matched_e164: str | None,
    vip_tiers: Sequence[str],
) -> list[CustomerCard]:
    """The cards of ``customers`` (rows of ``_CARD_COLUMNS``, in id order)."""
    if not customers:
        return []
    found = [row[0] for row in customers]
    accounts: dict[int, list[AccountCard]] = defaultdict(list)
    for customer_id, account_id, type_, last4, balance, currency, status in await session.execute(
        _ACCOUNTS, {"ids": found}
    ):
        accounts[customer_id].append(
            AccountCard(
                id=account_id,
                type=type_,
                masked_number=mask(last4),
                balance=balance,
                currency=currency,
                status=status,
            )
        )
    phones = {} if matched_e164 is not None else await _primary_phones(session, found)
    follow_ups = await _recent_follow_ups(session, found)
    return [
        CustomerCard(
            id=customer_id,
            name=name,
            tier=tier,
            phone_e164=matched_e164 if matched_e164 is not None else phones.get(customer_id),
            owner_agent=owner_login,
            segment=segment,
            vip=vip_treatment(tier, segment, vip_tiers),
            accounts=accounts.get(customer_id, []),
            recent_follow_ups=follow_ups.get(customer_id, []),
        )
        for customer_id, name, tier, segment, owner_login in customers
    ]


async def _primary_phones(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """Each customer's primary number, else its first (by id)."""
    phones: dict[int, str] = {}
    for customer_id, e164 in await session.execute(_PRIMARY_PHONES, {"ids": list(ids)}):
        phones.setdefault(customer_id, e164)
    return phones


def _recent_follow_ups_statement() -> Select[*tuple[Any, ...]]:
    at = func.coalesce(Interaction.arrived_at, Interaction.created_at)
    rank = (
        func.row_number()
        .over(partition_by=Interaction.customer_id, order_by=(at.desc(), Interaction.id.desc()))
        .label("rank")
    )
    ranked = (
        select(Interaction.id, rank)
        .where(Interaction.customer_id.in_(bindparam("ids", expanding=True)))
        .subquery()
    )
    return (
        select(
            Interaction.customer_id,
            Interaction.id,
            at,
            Interaction.channel,
            Interaction.direction,
            Interaction.outcome,
            Interaction.disposition,
            Interaction.content,
            Agent.name,
        )
        .join(ranked, ranked.c.id == Interaction.id)
        .outerjoin(Agent, Agent.id == Interaction.agent_id)
        .where(ranked.c.rank <= RECENT_FOLLOW_UPS)
        .order_by(Interaction.customer_id, ranked.c.rank)
    )


_RECENT_FOLLOW_UPS = _recent_follow_ups_statement()


async def _recent_follow_ups(session: AsyncSession, ids: Iterable[int]) -> dict[int, list[FollowUpCard]]:
    ids = list(ids)
    if not ids:
        return {}
    rows = await session.execute(_RECENT_FOLLOW_UPS, {"ids": ids})
    grouped: dict[int, list[FollowUpCard]] = defaultdict(list)
    for customer_id, id_, at_, channel, direction, outcome, disposition, content, agent_name in rows:
        grouped[customer_id].append(
            FollowUpCard(
                id=id_,
                at=at_,
                channel=channel,
                direction=direction,
                outcome=outcome,
                disposition=disposition,
                content=content,
                agent_name=agent_name,
            )
        )
    return grouped
