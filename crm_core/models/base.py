"""Declarative base, naming convention and the value sets of the CRM's models.

The value tuples are the single source for both the CHECK constraints here
and the validation in the services; the migrations spell the same values
out literally (a migration must not change meaning when the models move on).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import Date, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_core.models.coltypes import Money, UtcDateTime, utcnow

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
    "NAMING_CONVENTION",
    "OWNERSHIP_ACTIONS",
    "PHONE_TYPES",
    "TRANSACTION_CHANNELS",
    "Base",
    "Timestamped",
    "check_in",
]

CUSTOMER_KINDS = ("individual", "company")
CUSTOMER_STATUSES = ("owned", "public", "locked")
CUSTOMER_DEAL_STATUSES = ("none", "prospect", "negotiating", "won", "lost")
CUSTOMER_SOURCES = ("walk-in", "referral", "web", "campaign", "import", "phone", "branch")
PHONE_TYPES = ("mobile", "landline", "work")
ACCOUNT_TYPES = ("deposit", "loan", "card", "wealth")
ACCOUNT_STATUSES = ("active", "frozen", "lost")
AGENT_ROLES = ("agent", "supervisor", "admin")
TRANSACTION_CHANNELS = ("branch", "atm", "mobile", "online", "phone", "pos", "transfer")
INTERACTION_CHANNELS = ("phone", "ivr", "email", "web", "visit", "sms")
INTERACTION_DIRECTIONS = ("inbound", "outbound")
CONTRACT_PRODUCT_TYPES = ("deposit", "loan", "card", "wealth", "insurance")
CONTRACT_STATUSES = ("draft", "pending", "approved", "rejected", "active", "expired", "terminated")
OWNERSHIP_ACTIONS = ("create", "claim", "release", "assign", "transfer", "lock", "unlock", "import")
GRANT_ACCESS_LEVELS = ("read", "write")
#: Not a CHECK constraint: an audit write must never fail the change it records.
AUDIT_ACTIONS = (
    "view", "create", "update", "delete", "restore", "purge", "claim", "release", "assign",
    "transfer", "lock", "unlock", "share", "unshare", "transition", "payment", "import", "login",
    "set-parameter", "verify", "login-locked", "login-throttled", "login-unlocked",
)  # fmt: skip

# Stable constraint names keep Alembic batch mode (SQLite) and PostgreSQL in step.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def check_in(column: str, values: tuple[str, ...]) -> str:
    """SQL text of ``column IN ('a', 'b', …)`` for a CHECK constraint."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        Decimal: Money(),
        date: Date(),
    }


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())
