"""Customer-value analytics: segment results per customer and run history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types only (no imports from crm_core): a migration must keep meaning
# the same schema when the models move on.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 2).with_variant(sa.BigInteger(), "sqlite")  # SQLite: integer cents


def upgrade() -> None:
    op.create_table(
        "analytics_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.Column("as_of", UTC_TIMESTAMP, nullable=False),
        sa.Column("started_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("a_share_contribution", sa.Float(), nullable=True),
        sa.Column("a_share_aum", sa.Float(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name=op.f("ck_analytics_runs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_runs")),
    )
    op.create_index(op.f("ix_analytics_runs_computed_on"), "analytics_runs", ["computed_on"])
    op.create_table(
        "customer_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.Column("abc_contribution", sa.String(length=1), nullable=False),
        sa.Column("abc_aum", sa.String(length=1), nullable=False),
        sa.Column("aum_tier", sa.String(length=32), nullable=False),
        sa.Column("service_tier", sa.String(length=32), nullable=False),
        sa.Column("vip", sa.Boolean(), nullable=False),
        sa.Column("aum_balance", MONEY, nullable=False),
        sa.Column("avg_daily_balance", MONEY, nullable=False),
        sa.Column("avg_balance_3m", MONEY, nullable=False),
        sa.Column("last_transaction_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", MONEY, nullable=False),
        sa.Column("r_score", sa.Integer(), nullable=False),
        sa.Column("f_score", sa.Integer(), nullable=False),
        sa.Column("m_score", sa.Integer(), nullable=False),
        sa.Column("rfm_score", sa.String(length=3), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("talk_seconds", sa.Float(), nullable=False),
        sa.Column("income", MONEY, nullable=False),
        sa.Column("cost_to_serve", MONEY, nullable=False),
        sa.Column("contribution", MONEY, nullable=False),
        sa.Column("churn_balance_drop", sa.Boolean(), nullable=False),
        sa.Column("churn_dormant", sa.Boolean(), nullable=False),
        sa.Column("churn_complaint", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "abc_contribution IN ('A', 'B', 'C')", name=op.f("ck_customer_segments_abc_contribution")
        ),
        sa.CheckConstraint("abc_aum IN ('A', 'B', 'C')", name=op.f("ck_customer_segments_abc_aum")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_segments_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["analytics_runs.id"], name=op.f("fk_customer_segments_run_id_analytics_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_segments")),
    )
    op.create_index(
        "ix_customer_segments_customer_id_computed_on", "customer_segments", ["customer_id", "computed_on"]
    )
    op.create_index(
        "ix_customer_segments_run_id_customer_id", "customer_segments", ["run_id", "customer_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_customer_segments_run_id_customer_id", table_name="customer_segments")
    op.drop_index("ix_customer_segments_customer_id_computed_on", table_name="customer_segments")
    op.drop_table("customer_segments")
    op.drop_index(op.f("ix_analytics_runs_computed_on"), table_name="analytics_runs")
    op.drop_table("analytics_runs")
