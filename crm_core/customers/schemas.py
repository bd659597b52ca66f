"""Input and output schemas of the customer services (pydantic, JSON-serialisable).

Inputs forbid unknown fields and constrain every value, so a bad request is
refused with the field named before any rule runs.  Outputs carry sensitive
numbers masked only: an account as ``**** 1234``, an ID number as
``**************1234``; the ID number typed in is a :class:`SecretStr`, so
it never shows in a ``repr`` or a log line either.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from crm_core.customers.id_numbers import normalize_id_number

__all__ = [
    "AccountView",
    "ContactInput",
    "ContactView",
    "CustomerCreate",
    "CustomerDetail",
    "CustomerSummary",
    "CustomerUpdate",
    "GrantView",
    "PhoneInput",
    "PhoneView",
    "RecycleEntry",
    "SegmentView",
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tier = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Login = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
PhoneText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Kind = Literal["individual", "company"]
DealStatus = Literal["none", "prospect", "negotiating", "won", "lost"]
Source = Literal["walk-in", "referral", "web", "campaign", "import", "phone", "branch"]
PhoneType = Literal["mobile", "landline", "work"]
IdNumber = Annotated[SecretStr, Field(min_length=1, max_length=64)]


def _check_id_number(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        # The message must not echo the number.
        normalize_id_number(value.get_secret_value())
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhoneInput(_Input):
    """A phone number to attach: any format the region's numbering plan accepts."""

    number: PhoneText
    type: PhoneType = "mobile"
    is_primary: bool = False


class ContactInput(_Input):
    """A person to talk to at a (company) customer."""

    name: Name
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    phone: PhoneText | None = None
    email: Email | None = None
    is_primary: bool = False


class CustomerCreate(_Input):
    """A new customer.

    ``owner_login``/``status`` are for supervisors and admins: an agent's new
    customer is always owned by that agent.
    """

    name: Name
    kind: Kind = "individual"
    tier: Tier = "standard"
    id_number: IdNumber | None = None
    deal_status: DealStatus = "none"
    source: Source = "branch"
    owner_login: Login | None = None
    status: Literal["owned", "public", "locked"] | None = None
    phones: list[PhoneInput] = Field(default_factory=list, max_length=10)
    contacts: list[ContactInput] = Field(default_factory=list, max_length=20)

    _id_number = field_validator("id_number")(_check_id_number)


class CustomerUpdate(_Input):
    """The fields of a customer its writers may change; unset fields stay as they are.

    ``id_number`` set to ``null`` removes the ID number on file.  Owner and
    status change only through the protection rules (claim, release,
    assign); segment fields only through analytics.
    """

    name: Name | None = None
    kind: Kind | None = None
    tier: Tier | None = None
    id_number: IdNumber | None = None
    deal_status: DealStatus | None = None
    source: Source | None = None

    _id_number = field_validator("id_number")(_check_id_number)

    @field_validator("name", "kind", "tier", "deal_status", "source")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for values given explicitly: null means "clear", which these fields cannot be.
        if value is None:
            raise ValueError("may not be null")
        return value


#: What a reader may do with a customer record, each allowed by the rules of its service: ``edit`` its
#: fields and ``follow-up`` (record a contact) with write access; ``lock``/``unlock`` and ``share``
#: for its owner, a supervisor of the owner's team or an admin; ``transfer`` to another agent for a
#: supervisor of the owner's team or an admin.
CUSTOMER_ACTIONS = ("edit", "follow-up", "lock", "unlock", "share", "transfer")
CustomerAction = Literal["edit", "follow-up", "lock", "unlock", "share", "transfer"]


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True)


class PhoneView(_Output):
    """A customer's phone; ``raw`` is ``None`` and ``e164`` masked in a limited view."""

    id: int
    e164: str
    raw: str | None
    type: str
    is_primary: bool


class AccountView(_Output):
    """An account, number masked; ``balance`` is ``None`` in a limited view."""

    id: int
    type: str
    masked_number: str
    balance: Decimal | None
    currency: str
    status: str


class ContactView(_Output):
    id: int
    name: str
    title: str | None
    phone_e164: str | None
    email: str | None
    is_primary: bool


class GrantView(_Output):
    """A sharing grant; ``active`` is as of the moment it was read."""

    id: int
    customer_id: int
    grantee_user_id: int | None
    grantee_login: str | None
    grantee_team_id: int | None
    grantee_team_name: str | None
    access: Literal["read", "write"]
    granted_by_login: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool


class SegmentView(_Output):
    """Value segments computed by analytics (all ``None`` until it has run)."""

    segment_abc: str | None
    aum_tier: str | None
    rfm_score: str | None
    contribution: Decimal | None
    computed_at: datetime | None


class CustomerSummary(_Output):
    """A customer in a list: no balances, the primary phone as its last four only."""

    id: int
    name: str
    kind: str
    tier: str
    status: str
    deal_status: str
    source: str
    owner_login: str | None
    owner_name: str | None
    phone_masked: str | None
    last_follow_up_at: datetime | None
    updated_at: datetime


class CustomerDetail(_Output):
    """One customer as its reader may see it.

    ``access`` is the reader's right (``read``/``write``).  ``limited`` is
    true when the reader sees the record only because it is in the public
    pool: then phones and balances are masked and contacts, grants and
    segments left out.  ``deleted_at`` is set only for an admin looking
    into the recycle bin.  ``actions`` are what the reader's rights allow on
    the record (see :data:`CUSTOMER_ACTIONS`); ``access_reason`` says why a
    reader with no other right may read it (``handled call <call_id>``).
    """

    id: int
    name: str
    kind: str
    tier: str
    status: str
    deal_status: str
    source: str
    owner_login: str | None
    owner_name: str | None
    owned_since: datetime | None
    id_number_masked: str | None
    phones: list[PhoneView]
    accounts: list[AccountView]
    contacts: list[ContactView]
    grants: list[GrantView]
    segment: SegmentView | None
    last_follow_up_at: datetime | None
    last_deal_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    access: Literal["read", "write"]
    limited: bool
    actions: list[CustomerAction] = []
    access_reason: str | None = None


class RecycleEntry(_Output):
    """A customer in the recycle bin."""

    id: int
    name: str
    kind: str
    tier: str
    owner_login: str | None
    deleted_at: datetime
    deleted_by_login: str | None
    purge_after: datetime | None
