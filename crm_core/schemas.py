"""Schemas crm_core hands to the rest of bankcti (pydantic, JSON-serialisable).

These are the contract between the CRM and its consumers (IVR, ACD, console):
they carry masked data only — an account number never leaves crm_core except
as its last four digits.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccountCard",
    "CallEndRecord",
    "CustomerCard",
    "FollowUpCard",
    "InteractionRecord",
    "IvrStep",
    "LegRecord",
]


class AccountCard(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    type: str  # deposit, loan, card, wealth
    masked_number: str  # "**** 1234"
    balance: Decimal
    currency: str = "CNY"
    status: str = "active"


class FollowUpCard(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    channel: str
    direction: str
    outcome: str | None = None
    disposition: str | None = None
    #: What was recorded (a call's wrap-up notes, a visit's summary).
    content: str | None = None
    agent_name: str | None = None


class CustomerCard(BaseModel):
    """What a screen-pop shows of a customer."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    tier: str
    phone_e164: str | None = None
    owner_agent: str | None = None
    # ABC segment by contribution (None until analytics has run) and the VIP-treatment
    # flag of crm_core.analytics.value.vip_treatment (VIP tier or segment A).
    segment: str | None = None
    vip: bool = False
    accounts: list[AccountCard] = Field(default_factory=list)
    recent_follow_ups: list[FollowUpCard] = Field(default_factory=list)


class IvrStep(BaseModel):
    """One step of a caller's path through the IVR (secrets already masked)."""

    model_config = ConfigDict(frozen=True)

    node: str
    at: float  # epoch seconds
    keys: str = ""
    result: str = ""


class InteractionRecord(BaseModel):
    """Everything known about one call, upserted by ``call_id`` (the Linkedid).

    Fields left ``None`` do not overwrite what is already stored, so partial
    updates from different moments of a call (IVR, queue, agent's note) merge.
    ``arrived_at``, ``queued_at``, ``offered_at`` and ``answered_at`` are the
    call's *first* arrival, queueing, offer and answer: once stored they are
    kept (a call transferred back into a queue adds legs, it does not restart).
    """

    call_id: str
    channel: str = "phone"
    direction: str = "inbound"
    caller_number: str | None = None
    caller_e164: str | None = None
    customer_id: int | None = None
    agent_login: str | None = None
    queue: str | None = None
    ivr_path: list[IvrStep] | None = None
    arrived_at: datetime | None = None
    queued_at: datetime | None = None
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    # answered, abandoned_in_ivr, abandoned_in_queue, ended_in_ivr, no_agent, failed, ended_unobserved,
    # interrupted (the PBX ended a call still in the IVR or queue after bankcti stopped serving it; rows
    # written before issue 13 also used it for a shutdown recorded as the call's end)
    outcome: str | None = None
    disposition: str | None = None
    #: Notes stored as the follow-up's text (``content``); written by earlier versions' spooled records.
    notes: str | None = None
    #: The IVR could not look the caller up (CRM unavailable): when the database takes this write,
    #: a call still without a customer is linked to the one live customer with ``caller_e164``,
    #: and ``customer_link`` says so (a number match, never a verification).
    identify_later: bool = False
    #: Read only (ignored by writes): how the customer was linked after the fact, one of
    #: ``crm_core.models.CUSTOMER_LINKS``; ``None`` when the IVR or a user linked it (or nobody).
    customer_link: str | None = None
    #: The last moment bankcti saw the call live, written when it stops observing a call it cannot
    #: follow to its end (a shutdown); with ``found_gone_at`` it bounds an end nobody observed.
    last_seen_at: datetime | None = None
    #: Read only: when bankcti found the call gone from the PBX (outcome ``ended_unobserved``).
    found_gone_at: datetime | None = None
    #: When the wrap-up its queue requires was still unsaved ``wrapup_max_seconds`` after the call
    #: (the ACD's ``wrapup.missed``): the call counts as "not wrapped up" in the reports.
    wrapup_missed_at: datetime | None = None


class LegRecord(BaseModel):
    """One leg of a call (``crm_core.models.InteractionLeg``), upserted by ``(call_id, leg_key)``.

    ``None`` fields keep what is stored; ``kind`` and ``started_at`` are
    needed only by the first write of a leg (a later write may repeat them).
    """

    call_id: str = Field(min_length=1, max_length=64)
    leg_key: str = Field(min_length=1, max_length=64)
    kind: str | None = None  # ivr, queue, agent, external, hold
    queue: str | None = None
    agent_login: str | None = None
    target: str | None = None
    started_at: datetime | None = None
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    transferred_to: str | None = None


class CallEndRecord(BaseModel):
    """The end of a call as the PBX (or its absence) says: closes the interaction and its open legs.

    ``ended_at`` is the PBX's end; ``None`` with outcome ``ended_unobserved``
    means the call ended while bankcti was not observing it, between
    ``last_seen_at`` and ``found_gone_at``.  Open legs are closed at
    ``ended_at`` (an answered agent leg ``completed``, any other
    ``caller_hung_up``) or, unobserved, with reason ``ended_unobserved`` and
    no time.
    """

    call_id: str = Field(min_length=1, max_length=64)
    outcome: str = Field(min_length=1, max_length=32)
    ended_at: datetime | None = None
    agent_login: str | None = None
    last_seen_at: datetime | None = None
    found_gone_at: datetime | None = None
