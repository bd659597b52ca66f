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


def upgrade() -> None:
    op.execute("SELECT 1")


def downgrade() -> None:
    op.execute("SELECT 1")
