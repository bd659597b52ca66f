"""Replay keys and late customer links: writes spooled during a database outage are replayed once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

``queue_events``, ``agent_events`` and ``audit_log`` get a unique
``event_key`` (NULL for existing rows), so a write replayed from a spool
after a crash is not stored twice.  ``interactions.customer_link`` records
how a call the IVR could not identify (CRM unavailable) was linked to a
customer afterwards.  Columns and indexes are added in place on SQLite too:
rebuilding ``audit_log`` in batch mode would drop its append-only triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYED_TABLES = ("queue_events", "agent_events", "audit_log")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    for table in KEYED_TABLES:
        op.add_column(table, sa.Column("event_key", sa.String(length=32), nullable=True))
        op.create_index(op.f(f"ix_{table}_event_key"), table, ["event_key"], unique=True)
    op.add_column("interactions", sa.Column("customer_link", sa.String(length=16), nullable=True))


def downgrade() -> None:
    for table, column in (*((table, "event_key") for table in KEYED_TABLES), ("interactions", "customer_link")):
        if column == "event_key":
            op.drop_index(op.f(f"ix_{table}_event_key"), table_name=table)
        if _sqlite():
            # SQLite >= 3.35 drops a column in place; batch mode would rebuild audit_log without its triggers.
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
