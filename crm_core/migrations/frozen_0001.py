"""The tables of revision 0001 that 0002 alters, frozen exactly as 0001 created them.

SQLite batch mode rebuilds a table by copying it into a new one; handing
it the old definition spares the reflection, so ``alembic upgrade --sql``
works too.  Plain SQLAlchemy types only: this must keep describing 0001
whatever the models become.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["v1_tables"]

UTC_TIMESTAMP = sa.DateTime(timezone=True)


def v1_tables() -> dict[str, sa.Table]:
    """``agents``, ``customers`` and ``interactions`` as 0001 left them, by name."""
    meta = sa.MetaData()
    agents = sa.Table(
        "agents", meta,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("extension", sa.String(length=32), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("role IN ('agent', 'supervisor', 'admin')", name="ck_agents_role"),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.UniqueConstraint("login", name="uq_agents_login"),
    )  # fmt: skip
    customers = sa.Table(
        "customers", meta,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("owner_agent_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("deleted_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('individual', 'company')", name="ck_customers_kind"),
        sa.CheckConstraint("status IN ('owned', 'public', 'locked')", name="ck_customers_status"),
        sa.ForeignKeyConstraint(
            ["owner_agent_id"], ["agents.id"], name="fk_customers_owner_agent_id_agents", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.Index("ix_customers_owner_agent_id", "owner_agent_id"),
        sa.Index("ix_customers_tier", "tier"),
    )  # fmt: skip
    interactions = sa.Table(
        "interactions", meta,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("caller_number", sa.String(length=64), nullable=True),
        sa.Column("caller_e164", sa.String(length=20), nullable=True),
        sa.Column("ivr_path", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("arrived_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("queued_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("offered_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("answered_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("ended_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("wait_seconds", sa.Double(), nullable=True),
        sa.Column("talk_seconds", sa.Double(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_interactions_agent_id_agents", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"],
            name="fk_interactions_customer_id_customers", ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_interactions"),
        sa.UniqueConstraint("call_id", name="uq_interactions_call_id"),
        sa.Index("ix_interactions_agent_id", "agent_id"),
        sa.Index("ix_interactions_caller_e164", "caller_e164"),
        sa.Index("ix_interactions_customer_id_arrived_at", "customer_id", "arrived_at"),
    )  # fmt: skip
    return {table.name: table for table in (agents, customers, interactions)}
