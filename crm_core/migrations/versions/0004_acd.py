"""ACD: queue definitions, persisted agent states, queue and agent events, agent skills, callbacks keeping place

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types only (no imports from crm_core): a migration must keep meaning
# the same schema when the models move on.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


STRATEGIES = ("longest-idle", "fewest-calls", "round-robin", "ring-all", "skills-best-match")
NO_AGENTS = ("callback", "closed", "overflow")
STATES = ("logged_out", "available", "reserved", "ringing", "on_call", "on_hold", "wrap_up", "paused")
EVENTS = (
    "joined", "offered", "no_answer", "connected", "abandoned", "overflowed", "max_wait", "completed",
    "transferred", "moved", "callback_requested", "callback_attempt", "callback_completed", "callback_failed",
)  # fmt: skip


def upgrade() -> None:
    op.add_column("agents", sa.Column("skills", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
    op.add_column("callback_requests", sa.Column("queue", sa.String(length=64), nullable=True))
    op.add_column("callback_requests", sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
    op.add_column("callback_requests", sa.Column("queued_at", UTC_TIMESTAMP, nullable=True))
    op.add_column("callback_requests", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("callback_requests", sa.Column("next_attempt_at", UTC_TIMESTAMP, nullable=True))
    op.add_column("callback_requests", sa.Column("agent_login", sa.String(length=64), nullable=True))

    op.create_table(
        "acd_queues",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=24), nullable=False),
        sa.Column("ring_timeout", sa.Integer(), nullable=False),
        sa.Column("wrapup_seconds", sa.Integer(), nullable=False),
        sa.Column("max_wait_seconds", sa.Integer(), nullable=False),
        sa.Column("max_wait_queue", sa.String(length=64), nullable=True),
        sa.Column("service_level_seconds", sa.Integer(), nullable=False),
        sa.Column("overflow", sa.JSON(), nullable=False),
        sa.Column("open_hours", sa.String(length=64), nullable=True),
        sa.Column("no_agents", sa.String(length=16), nullable=False),
        sa.Column("no_agents_queue", sa.String(length=64), nullable=True),
        sa.Column("announce_seconds", sa.Integer(), nullable=False),
        sa.Column("rm_grace_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
        sa.CheckConstraint(_in("strategy", STRATEGIES), name=op.f("ck_acd_queues_strategy")),
        sa.CheckConstraint(_in("no_agents", NO_AGENTS), name=op.f("ck_acd_queues_no_agents")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_acd_queues")),
    )
    op.create_table(
        "agent_states",
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("since", UTC_TIMESTAMP, nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("last_available_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("calls_handled", sa.Integer(), nullable=False),
        sa.Column("handled_on", sa.Date(), nullable=True),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
        sa.CheckConstraint(_in("state", STATES), name=op.f("ck_agent_states_state")),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_agent_states")),
    )
    op.create_table(
        "queue_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("agent_login", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(none_as_null=True), nullable=True),
        sa.CheckConstraint(_in("event", EVENTS), name=op.f("ck_queue_events_event")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_queue_events_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_events")),
    )
    op.create_index(op.f("ix_queue_events_at"), "queue_events", ["at"])
    op.create_index("ix_queue_events_queue_at", "queue_events", ["queue", "at"])
    op.create_index("ix_queue_events_call_id_at", "queue_events", ["call_id", "at"])
    op.create_table(
        "agent_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("agent_login", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_events")),
    )
    op.create_index(op.f("ix_agent_events_at"), "agent_events", ["at"])
    op.create_index("ix_agent_events_agent_login_at", "agent_events", ["agent_login", "at"])


def downgrade() -> None:
    op.drop_index("ix_agent_events_agent_login_at", table_name="agent_events")
    op.drop_index(op.f("ix_agent_events_at"), table_name="agent_events")
    op.drop_table("agent_events")
    op.drop_index("ix_queue_events_call_id_at", table_name="queue_events")
    op.drop_index("ix_queue_events_queue_at", table_name="queue_events")
    op.drop_index(op.f("ix_queue_events_at"), table_name="queue_events")
    op.drop_table("queue_events")
    op.drop_table("agent_states")
    op.drop_table("acd_queues")
    with op.batch_alter_table("callback_requests") as batch:
        for column in ("agent_login", "next_attempt_at", "attempts", "queued_at", "priority", "queue"):
            batch.drop_column(column)
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("skills")
