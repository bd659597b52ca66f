"""The demo bank as plain data: what :mod:`crm_core.demo.data` generates and :mod:`crm_core.demo.seed` stores.

Nothing here knows the clock: a moment is a ``timedelta`` *ago* and a day
is an ``int`` offset from today (negative: in the past), so one seed always
gives equal values and the seeding turns them into dates on the day it runs.
Agents are indexes into the demo agents; :data:`SUPERVISOR` is the
supervisor and ``None`` the system.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from crm_core.models import CUSTOMER_STATUSES

__all__ = [
    "SUPERVISOR",
    "DemoAccount",
    "DemoCompanyContact",
    "DemoContact",
    "DemoContract",
    "DemoContractLine",
    "DemoCustomer",
    "DemoFollowUp",
    "DemoGrant",
    "DemoInstallment",
    "DemoOwnershipEvent",
    "DemoPayment",
    "DemoPhone",
    "DemoTransaction",
]

#: The agent index that stands for the demo supervisor.
SUPERVISOR = -1


@dataclass(frozen=True)
class DemoPhone:
    raw: str
    e164: str
    type: str
    is_primary: bool


@dataclass(frozen=True)
class DemoTransaction:
    ago: timedelta
    amount: Decimal  # signed: + credit, − debit
    channel: str
    customer_initiated: bool
    description: str


@dataclass(frozen=True)
class DemoAccount:
    type: str
    number: str  # full number: hashed and reduced to its last 4 before storage
    balance: Decimal
    transactions: tuple[DemoTransaction, ...] = ()


@dataclass(frozen=True)
class DemoContact:
    """A past inbound call (keyed by ``call_id``)."""

    call_id: str
    days_ago: timedelta
    talk_seconds: int
    disposition: str


@dataclass(frozen=True)
class DemoFollowUp:
    """A follow-up that is not an inbound call: a visit, an outbound call, an email, an SMS."""

    agent: int
    channel: str
    direction: str
    ago: timedelta
    content: str
    outcome: str
    disposition: str
    next_contact_in_days: int | None
    urgent: bool


@dataclass(frozen=True)
class DemoCompanyContact:
    name: str
    title: str
    phone_e164: str
    email: str
    is_primary: bool


@dataclass(frozen=True)
class DemoOwnershipEvent:
    action: str
    from_owner: int | None
    to_owner: int | None
    actor: int | None
    reason: str
    ago: timedelta


@dataclass(frozen=True)
class DemoGrant:
    grantee_agent: int | None
    grantee_team: int | None  # index into the demo teams
    access: str
    granted_by: int
    ago: timedelta
    expires_in_days: int | None


@dataclass(frozen=True)
class DemoContractLine:
    product: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class DemoInstallment:
    due_in_days: int
    amount: Decimal


@dataclass(frozen=True)
class DemoPayment:
    received_in_days: int
    amount: Decimal  # negative: a refund
    method: str
    reference: str


@dataclass
class DemoContract:
    number: str
    product_type: str
    title: str
    status: str
    start_in_days: int
    end_in_days: int
    lines: list[DemoContractLine]
    installments: list[DemoInstallment] = field(default_factory=list)
    payments: list[DemoPayment] = field(default_factory=list)
    approved_ago: timedelta | None = None
    signed_in_days: int | None = None
    renewal_of: int | None = None  # index of the renewed contract in the customer's list

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def received(self) -> Decimal:
        return sum((payment.amount for payment in self.payments), Decimal("0.00"))


@dataclass
class DemoCustomer:
    name: str
    kind: str
    tier: str
    status: str
    owner_index: int | None  # index into the demo agents, None for the public pool
    phones: list[DemoPhone] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)
    contacts: list[DemoContact] = field(default_factory=list)
    id_number: str = ""  # full number: hashed and reduced to its last 4 before storage
    deal_status: str = "none"
    source: str = "branch"
    created_ago: timedelta = timedelta(days=365)
    owned_ago: timedelta | None = None
    previous_owner_index: int | None = None
    released_ago: timedelta | None = None
    deleted_ago: timedelta | None = None
    deleted_by: int | None = None
    company_contacts: list[DemoCompanyContact] = field(default_factory=list)
    history: list[DemoOwnershipEvent] = field(default_factory=list)
    follow_ups: list[DemoFollowUp] = field(default_factory=list)
    contracts: list[DemoContract] = field(default_factory=list)
    grants: list[DemoGrant] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in CUSTOMER_STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    @property
    def primary_e164(self) -> str:
        return next(p.e164 for p in self.phones if p.is_primary)

    @property
    def last_follow_up_ago(self) -> timedelta | None:
        """The most recent contact of any kind (calls included), or ``None``."""
        moments = [c.days_ago for c in self.contacts] + [f.ago for f in self.follow_ups]
        return min(moments) if moments else None

    @property
    def last_deal_ago(self) -> timedelta | None:
        """When the latest contract that went active started, or ``None``."""
        starts = [-c.start_in_days for c in self.contracts if c.status in {"active", "expired", "terminated"}]
        return timedelta(days=min(starts)) if starts else None
