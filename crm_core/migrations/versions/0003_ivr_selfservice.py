"""IVR self-service: account PINs with lockout state, lost-card reports, callback requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types only (no imports from crm_core): a migration must keep meaning
# the same schema when the models move on.
UTC_TIMESTAMP = sa.DateTime(timezone=True)


def _fk(column: str, table: str, ondelete: str, *, source: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_{source}_{column}_{table}"), ondelete=ondelete
    )


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable or with a constant default): no table rebuild on SQLite.
    op.add_column("accounts", sa.Column("pin_hash", sa.String(length=128), nullable=True))
    op.add_column("accounts", sa.Column("pin_failures", sa.Integer(), server_default="0", nullable=False))
    op.add_column("accounts", sa.Column("pin_first_failure_at", UTC_TIMESTAMP, nullable=True))
    op.add_column("accounts", sa.Column("pin_locked_until", UTC_TIMESTAMP, nullable=True))

    op.create_table(
        "lost_card_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("follow_up_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        _fk("customer_id", "customers", "CASCADE", source="lost_card_reports"),
        _fk("account_id", "accounts", "CASCADE", source="lost_card_reports"),
        _fk("follow_up_id", "interactions", "SET NULL", source="lost_card_reports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lost_card_reports")),
        sa.UniqueConstraint("reference", name=op.f("uq_lost_card_reports_reference")),
        sa.UniqueConstraint("call_id", "account_id", name=op.f("uq_lost_card_reports_call_id")),
    )
    op.create_index(op.f("ix_lost_card_reports_customer_id"), "lost_card_reports", ["customer_id"])
    op.create_index(op.f("ix_lost_card_reports_account_id"), "lost_card_reports", ["account_id"])

    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("number_e164", sa.String(length=20), nullable=False),
        sa.Column("window_start", UTC_TIMESTAMP, nullable=False),
        sa.Column("window_end", UTC_TIMESTAMP, nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("result", sa.String(length=255), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'in-progress', 'done', 'failed', 'cancelled')",
            name=op.f("ck_callback_requests_status"),
        ),
        sa.CheckConstraint("window_end > window_start", name=op.f("ck_callback_requests_window")),
        _fk("customer_id", "customers", "SET NULL", source="callback_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_requests")),
        sa.UniqueConstraint("call_id", name=op.f("uq_callback_requests_call_id")),
    )
    op.create_index(op.f("ix_callback_requests_customer_id"), "callback_requests", ["customer_id"])
    op.create_index(
        "ix_callback_requests_status_window_start", "callback_requests", ["status", "window_start"]
    )


def downgrade() -> None:
    op.drop_index("ix_callback_requests_status_window_start", table_name="callback_requests")
    op.drop_index(op.f("ix_callback_requests_customer_id"), table_name="callback_requests")
    op.drop_table("callback_requests")
    op.drop_index(op.f("ix_lost_card_reports_account_id"), table_name="lost_card_reports")
    op.drop_index(op.f("ix_lost_card_reports_customer_id"), table_name="lost_card_reports")
    op.drop_table("lost_card_reports")
    with op.batch_alter_table("accounts") as batch:
        for column in ("pin_locked_until", "pin_first_failure_at", "pin_failures", "pin_hash"):
            batch.drop_column(column)
