"""Interaction legs: a call keeps every leg (IVR, queue waits, agents, holds, transfers)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

A call transferred back into a queue used to restart its single interaction row: arrival, wait
and the first agent's talk were overwritten.  ``interaction_legs`` keeps one row per stretch of
the call, unique by ``(call_id, leg_key)`` so replays from the history spool merge; the
interaction's totals are derived from them, and ``hold_seconds`` joins wait and talk.
``last_seen_at`` / ``found_gone_at`` bound the end of a call that ended while bankcti was not
observing it (a restart): ``ended_at`` stays NULL rather than a guessed time.  New table and
nullable columns added in place: nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True)
KINDS = ("ivr", "queue", "agent", "external", "hold")
END_REASONS = (
    "routed", "ended_in_ivr", "answered", "caller_hung_up", "no_agent", "closed", "callback_requested",
    "completed", "no_answer", "ring_failed", "transferred_blind", "transferred_attended", "redirected",
    "resumed", "timed_out", "failed", "ended_unobserved", "interrupted",
)  # fmt: skip
COLUMNS = ("hold_seconds", "last_seen_at", "found_gone_at")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "interaction_legs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("leg_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("agent_login", sa.String(length=64), nullable=True),
        sa.Column("target", sa.String(length=80), nullable=True),
        sa.Column("started_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("offered_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("answered_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("ended_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("end_reason", sa.String(length=24), nullable=True),
        sa.Column("transferred_to", sa.String(length=80), nullable=True),
        sa.CheckConstraint(_in("kind", KINDS), name=op.f("ck_interaction_legs_kind")),
        sa.CheckConstraint(
            "end_reason IS NULL OR " + _in("end_reason", END_REASONS),
            name=op.f("ck_interaction_legs_end_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_legs_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("call_id", "leg_key", name=op.f("uq_interaction_legs_call_id")),
    )
    op.create_index(
        "ix_interaction_legs_interaction_id_started_at", "interaction_legs", ["interaction_id", "started_at"]
    )
    op.add_column("interactions", sa.Column("hold_seconds", sa.Double(), nullable=True))
    op.add_column("interactions", sa.Column("last_seen_at", UTC_TIMESTAMP, nullable=True))
    op.add_column("interactions", sa.Column("found_gone_at", UTC_TIMESTAMP, nullable=True))


def downgrade() -> None:
    for column in COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            # SQLite >= 3.35 drops a column in place (no batch rebuild of the table).
            op.execute(f"ALTER TABLE interactions DROP COLUMN {column}")
        else:
            op.drop_column("interactions", column)
    op.drop_index("ix_interaction_legs_interaction_id_started_at", table_name="interaction_legs")
    op.drop_table("interaction_legs")
