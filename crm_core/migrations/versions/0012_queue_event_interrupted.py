"""Queue event ``interrupted``: bankcti stopped while a call waited

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

A bankcti that stops under a waiting call used to record the caller's ``abandoned``: a guess, and a
wrong one (the caller did not leave; bankcti did).  It now records ``interrupted``, which the CHECK
constraint on ``queue_events.event`` must admit (SQLite: the table is rebuilt in batch mode, as 0010).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "joined", "offered", "no_answer", "connected", "abandoned", "overflowed", "max_wait", "completed",
    "transferred", "moved", "callback_requested", "callback_attempt", "callback_completed", "callback_failed",
    "ring_cancelled", "ring_failed",
)  # fmt: skip
AFTER = (*BEFORE, "interrupted")


def _in(values: tuple[str, ...]) -> str:
    return "event IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _table(values: tuple[str, ...]) -> sa.Table:
    """``queue_events`` as 0004 created it and 0007 keyed it (a frozen copy, as migrations must be):
    SQLite's batch rebuild copies from this, so the migration renders offline (``--sql``) too."""
    return sa.Table(
        "queue_events",
        sa.MetaData(),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("agent_login", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("event_key", sa.String(length=32), nullable=True),
        sa.CheckConstraint(_in(values), name="ck_queue_events_event"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_queue_events_customer_id_customers", ondelete="SET NULL"
        ),
        sa.Index("ix_queue_events_at", "at"),
        sa.Index("ix_queue_events_queue_at", "queue", "at"),
        sa.Index("ix_queue_events_call_id_at", "call_id", "at"),
        sa.Index("ix_queue_events_event_key", "event_key", unique=True),
    )


def _replace(before: tuple[str, ...], values: tuple[str, ...]) -> None:
    with op.batch_alter_table("queue_events", copy_from=_table(before)) as batch:
        batch.drop_constraint(op.f("ck_queue_events_event"), type_="check")
        batch.create_check_constraint(op.f("ck_queue_events_event"), _in(values))


def upgrade() -> None:
    _replace(BEFORE, AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM queue_events WHERE event = 'interrupted'")
    _replace(AFTER, BEFORE)
