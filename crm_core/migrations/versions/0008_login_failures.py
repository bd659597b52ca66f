"""Login throttling: failed-login counts per login, per client address and per pair

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

One row per count (see ``crm_core.contact_center.throttle``), shared by every
console gateway on the database.  A new table only: nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types only (no imports from crm_core): a migration must keep meaning
# the same schema when the models move on.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
SCOPES = ("login", "address", "pair")


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("locked_until", UTC_TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            f"scope IN ({', '.join(repr(s) for s in SCOPES)})", name=op.f("ck_login_failures_scope")
        ),
        sa.PrimaryKeyConstraint("scope", "login", "address", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_last_failure_at"), "login_failures", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_failures_last_failure_at"), table_name="login_failures")
    op.drop_table("login_failures")
