"""Callback routing: a callback keeps the routing facts of the call it replaces

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

``callback_requests.routing`` holds what the ACD routed the caller's call
by — the customer's tier and segment, the skills the IVR asked for and the
relationship manager — so a callback queued again (in the caller's place,
or after a restart) ranks and reaches agents exactly as the call would
have.  NULL for requests stored before, which route as before.  A nullable
column added in place: nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("callback_requests", sa.Column("routing", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite >= 3.35 drops a column in place (no batch rebuild of the table).
        op.execute("ALTER TABLE callback_requests DROP COLUMN routing")
    else:
        op.drop_column("callback_requests", "routing")
