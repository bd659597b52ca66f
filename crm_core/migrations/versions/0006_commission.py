"""Commission accounting: rules, statements, lines, adjustments

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types only (no imports from crm_core): a migration must keep meaning
# the same schema when the models move on.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 2).with_variant(sa.BigInteger(), "sqlite")  # SQLite: integer cents


def _in(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _fk(column: str, target: str, ondelete: str, *, source: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{source}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "commission_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_key", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("date_basis", sa.String(length=8), nullable=False),
        sa.Column("tier_method", sa.String(length=8), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("renewal_rate", sa.String(length=16), nullable=True),
        sa.Column("margin_ratio", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            _in("product_key", "*", "deposit", "loan", "card", "wealth", "insurance"),
            name=op.f("ck_commission_rules_product_key"),
        ),
        sa.CheckConstraint(
            _in("basis", "contract_amount", "collected", "margin"), name=op.f("ck_commission_rules_basis")
        ),
        sa.CheckConstraint(_in("date_basis", "signed", "paid"), name=op.f("ck_commission_rules_date_basis")),
        sa.CheckConstraint(
            _in("tier_method", "whole", "slice"), name=op.f("ck_commission_rules_tier_method")
        ),
        _fk("created_by_id", "agents", "SET NULL", source="commission_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_rules")),
        sa.UniqueConstraint("product_key", "version", name="uq_commission_rules_product_key_version"),
    )
    op.create_index(op.f("ix_commission_rules_product_key"), "commission_rules", ["product_key"])
    op.create_table(
        "commission_splits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("percent", MONEY, nullable=False),
        _fk("contract_id", "contracts", "CASCADE", source="commission_splits"),
        _fk("agent_id", "agents", "CASCADE", source="commission_splits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_splits")),
        sa.UniqueConstraint("contract_id", "agent_id", name="uq_commission_splits_contract_id_agent_id"),
    )
    op.create_index(op.f("ix_commission_splits_contract_id"), "commission_splits", ["contract_id"])
    op.create_table(
        "commission_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("calculated_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("approved_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(_in("status", "open", "approved"), name=op.f("ck_commission_statements_status")),
        _fk("agent_id", "agents", "CASCADE", source="commission_statements"),
        _fk("approved_by_id", "agents", "SET NULL", source="commission_statements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_statements")),
        sa.UniqueConstraint("period", "agent_id", name="uq_commission_statements_period_agent_id"),
    )
    op.create_index(op.f("ix_commission_statements_period"), "commission_statements", ["period"])
    op.create_index(op.f("ix_commission_statements_agent_id"), "commission_statements", ["agent_id"])
    op.create_table(
        "commission_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("for_period", sa.String(length=7), nullable=False),
        sa.Column("event", sa.String(length=8), nullable=False),
        sa.Column("event_on", sa.Date(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("contract_number", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("base", MONEY, nullable=False),
        sa.Column("share_percent", MONEY, nullable=False),
        sa.Column("credited", MONEY, nullable=False),
        sa.Column("commission", MONEY, nullable=False),
        sa.Column("rate", sa.String(length=255), nullable=False),
        sa.CheckConstraint(_in("kind", "commission", "adjustment"), name=op.f("ck_commission_lines_kind")),
        _fk("statement_id", "commission_statements", "CASCADE", source="commission_lines"),
        _fk("contract_id", "contracts", "SET NULL", source="commission_lines"),
        _fk("payment_id", "payments", "SET NULL", source="commission_lines"),
        _fk("rule_id", "commission_rules", "SET NULL", source="commission_lines"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_lines")),
    )
    op.create_index(op.f("ix_commission_lines_statement_id"), "commission_lines", ["statement_id"])
    op.create_index(op.f("ix_commission_lines_contract_id"), "commission_lines", ["contract_id"])


def downgrade() -> None:
    for table in ("commission_lines", "commission_statements", "commission_splits", "commission_rules"):
        op.drop_table(table)
