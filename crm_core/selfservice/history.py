"""How self-service actions reach a customer's follow-up history.

Two kinds of writes, both in the caller's transaction:

* the **call's own row** (keyed by the Linkedid ``call_id``, merged with
  ``INSERT … ON CONFLICT (call_id) DO UPDATE`` exactly like
  :class:`crm_core.followups.interactions.InteractionWriter`) is linked to the
  customer the caller proved to be;
* one **IVR follow-up** per action (channel ``ivr``, ``call_id`` NULL,
  written by the system: ``created_by_id`` NULL) whose content says what
  happened — last four digits at most, never a PIN or a full number.

Either moves ``customers.last_follow_up_at`` forward, as every write of an
interaction row linked to a customer does.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.errors import InvalidInput
from crm_core.followups.interactions import touch_last_follow_up
from crm_core.models import Interaction

__all__ = ["CALL_ID_LENGTH", "check_call_id", "ivr_follow_up", "link_call"]

CALL_ID_LENGTH = 64
_CONTENT_LENGTH = 2000


def check_call_id(call_id: str | None) -> str | None:
    """``call_id`` if ``None`` or 1 to 64 characters; :class:`InvalidInput` otherwise."""
    if call_id is not None and not 1 <= len(call_id) <= CALL_ID_LENGTH:
        raise InvalidInput("call_id", f"must be 1 to {CALL_ID_LENGTH} characters")
    return call_id


async def link_call(session: AsyncSession, call_id: str, customer_id: int, now: datetime) -> None:
    """Link the call ``call_id`` to ``customer_id``, creating its row if the call flow has not yet."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(Interaction).values(
        call_id=call_id,
        channel="phone",
        direction="inbound",
        customer_id=customer_id,
        created_at=now,
        updated_at=now,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Interaction.call_id],
            set_={"customer_id": stmt.excluded.customer_id, "updated_at": stmt.excluded.updated_at},
        )
    )
    await touch_last_follow_up(session, customer_id, now)


async def ivr_follow_up(
    session: AsyncSession,
    customer_id: int,
    content: str,
    *,
    outcome: str,
    now: datetime,
    urgent: bool = False,
    next_contact_on: date | None = None,
) -> int:
    """Add one IVR follow-up for ``customer_id`` and return its id."""
    follow_up = Interaction(
        call_id=None,
        channel="ivr",
        direction="inbound",
        customer_id=customer_id,
        content=content[:_CONTENT_LENGTH],
        outcome=outcome[:32],
        urgent=urgent,
        next_contact_on=next_contact_on,
        arrived_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(follow_up)
    await session.flush()
    await touch_last_follow_up(session, customer_id, now)
    return follow_up.id
