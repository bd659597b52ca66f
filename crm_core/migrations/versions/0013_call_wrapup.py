"""One wrap-up per call: the agent's notes live in ``content``; who saved the wrap-up, when, and the next contact's channel

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

A call's wrap-up used to go two ways: the owner's follow-up form wrote ``content`` (and cleared
the call's outcome), any other agent's note went to ``interactions.notes``, which no screen or API
showed.  The wrap-up service now writes the call's one row: ``content`` holds the notes, the
handling agent stays in ``agent_id`` and whoever saved the wrap-up is ``wrapped_up_by`` (a login,
as in the legs: the record outlives the account) at ``wrapped_up_at``; ``next_contact_channel``
says how to contact the customer next; ``wrapup_missed_at`` is when the queue's longest wrap-up
ended without a save (the call is reported "not wrapped up").  Legs get an index by agent: an
agent's recent calls, and the rule that lets them read the customer of a call they handled, look
them up so.

Notes already in ``notes`` move into ``content`` (appended after a blank line where both exist),
then the column goes: nothing an agent wrote is lost.  Downgrade brings back an empty ``notes``
column (the notes stay in ``content``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("interactions", sa.Column("next_contact_channel", sa.String(length=16), nullable=True))
    op.add_column("interactions", sa.Column("wrapped_up_by", sa.String(length=64), nullable=True))
    op.add_column("interactions", sa.Column("wrapped_up_at", UTC_TIMESTAMP, nullable=True))
    op.add_column("interactions", sa.Column("wrapup_missed_at", UTC_TIMESTAMP, nullable=True))
    op.execute(
        sa.text(
            "UPDATE interactions SET content = CASE WHEN content IS NULL OR content = '' THEN notes "
            "ELSE content || :gap || notes END WHERE notes IS NOT NULL AND notes <> ''"
        ).bindparams(gap="\n\n")
    )
    # SQLite >= 3.35 drops a plain column in place; it has no index or constraint.
    op.drop_column("interactions", "notes")
    op.create_index(
        "ix_interaction_legs_agent_login_started_at", "interaction_legs", ["agent_login", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_interaction_legs_agent_login_started_at", table_name="interaction_legs")
    op.add_column("interactions", sa.Column("notes", sa.Text(), nullable=True))
    for column in ("wrapup_missed_at", "wrapped_up_at", "wrapped_up_by", "next_contact_channel"):
        op.drop_column("interactions", column)
