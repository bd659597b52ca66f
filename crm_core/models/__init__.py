"""ORM models of the CRM (SQLAlchemy 2, typed, async-safe), re-exported from their modules.

Relationships are ``lazy="raise"``: lazy loading cannot work inside asyncio
(it would need a blocking round trip), so every query states what it loads
with ``selectinload``.  These objects never leave :mod:`crm_core`; services
convert them to :mod:`crm_core.schemas` before returning.

Modules: :mod:`crm_core.models.base` (base, value sets),
:mod:`crm_core.models.people` (teams, users, customers, phones, accounts),
:mod:`crm_core.models.activity` (follow-ups, transactions, ownership,
sharing), :mod:`crm_core.models.legs` (the legs of a call),
:mod:`crm_core.models.contracts`, :mod:`crm_core.models.system`
(parameters, audit log, job leases, login failures).

May import: nothing of the CRM but :mod:`crm_core.models.coltypes` (column types that behave the same on
SQLite and PostgreSQL) and the shared vocabulary; every domain package imports it.
"""

from __future__ import annotations

from crm_core.models.acd import AcdQueue, AgentEvent, AgentStateRow, QueueEvent
from crm_core.models.activity import Interaction, OwnershipHistory, SharingGrant, Transaction
from crm_core.models.analytics import AnalyticsRun, CustomerSegment
from crm_core.models.base import (
    ACCOUNT_STATUSES,
    ACCOUNT_TYPES,
    AGENT_ROLES,
    AUDIT_ACTIONS,
    CONTRACT_PRODUCT_TYPES,
    CONTRACT_STATUSES,
    CUSTOMER_DEAL_STATUSES,
    CUSTOMER_KINDS,
    CUSTOMER_SOURCES,
    CUSTOMER_STATUSES,
    GRANT_ACCESS_LEVELS,
    INTERACTION_CHANNELS,
    INTERACTION_DIRECTIONS,
    NAMING_CONVENTION,
    OWNERSHIP_ACTIONS,
    PHONE_TYPES,
    TRANSACTION_CHANNELS,
    Base,
    Timestamped,
)
from crm_core.models.commission import (
    CommissionLine,
    CommissionRule,
    CommissionSplit,
    CommissionStatement,
)
from crm_core.models.contracts import Contract, ContractInstallment, ContractLine, Payment
from crm_core.models.legs import LEG_END_REASONS, LEG_KINDS, InteractionLeg
from crm_core.models.people import Account, Agent, Customer, CustomerContact, PhoneNumber, Team
from crm_core.models.system import (
    LOGIN_THROTTLE_SCOPES,
    AuditLog,
    JobLease,
    LoginFailures,
    Parameter,
    ParameterChange,
)

__all__ = [
    "ACCOUNT_STATUSES",
    "ACCOUNT_TYPES",
    "AGENT_ROLES",
    "AUDIT_ACTIONS",
    "CONTRACT_PRODUCT_TYPES",
    "CONTRACT_STATUSES",
    "CUSTOMER_DEAL_STATUSES",
    "CUSTOMER_KINDS",
    "CUSTOMER_SOURCES",
    "CUSTOMER_STATUSES",
    "GRANT_ACCESS_LEVELS",
    "INTERACTION_CHANNELS",
    "INTERACTION_DIRECTIONS",
    "LEG_END_REASONS",
    "LEG_KINDS",
    "LOGIN_THROTTLE_SCOPES",
    "NAMING_CONVENTION",
    "OWNERSHIP_ACTIONS",
    "PHONE_TYPES",
    "TRANSACTION_CHANNELS",
    "Account",
    "AcdQueue",
    "Agent",
    "AgentEvent",
    "AgentStateRow",
    "AnalyticsRun",
    "AuditLog",
    "Base",
    "CommissionLine",
    "CommissionRule",
    "CommissionSplit",
    "CommissionStatement",
    "Contract",
    "ContractInstallment",
    "ContractLine",
    "Customer",
    "CustomerContact",
    "CustomerSegment",
    "Interaction",
    "InteractionLeg",
    "JobLease",
    "LoginFailures",
    "OwnershipHistory",
    "Parameter",
    "ParameterChange",
    "Payment",
    "PhoneNumber",
    "QueueEvent",
    "SharingGrant",
    "Team",
    "Timestamped",
    "Transaction",
]
