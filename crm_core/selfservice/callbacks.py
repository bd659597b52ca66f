"""Callback requests left in the IVR, and the list the ACD works through.

A request is idempotent per call (unique ``call_id``: the IVR retrying
after a glitch finds the first request).  Status changes are conditional
``UPDATE``s on the current status, so two ACD instances taking the same
pending request cannot both get it: the second sees :class:`Conflict`.

Transitions: ``pending`` → ``in-progress`` | ``done`` | ``failed`` |
``cancelled``; ``in-progress`` → ``pending`` (try again later) | ``done`` |
``failed`` | ``cancelled``; the last three are final.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.customers.phones import normalize
from crm_core.errors import Conflict, InvalidInput, NotFound
from crm_core.models import Customer
from crm_core.models.activity import CALLBACK_STATUSES, CallbackRequest
from crm_core.selfservice.history import check_call_id, ivr_follow_up
from crm_core.selfservice.schemas import CallbackRef, CallbackView

__all__ = ["MAX_CALLBACK_LIST", "TRANSITIONS", "Callbacks", "callback_reference"]

log = logging.getLogger(__name__)

#: Which status a request may move to from each status.
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in-progress", "done", "failed", "cancelled"}),
    "in-progress": frozenset({"pending", "done", "failed", "cancelled"}),
    "done": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}
MAX_CALLBACK_LIST = 1000
_TEXT_LENGTH = 255
_MAX_WINDOW = timedelta(days=7)
_MAX_AHEAD = timedelta(days=30)


def callback_reference(callback_id: int, created_at: datetime) -> str:
    """``CB-<UTC date>-<id, 6 digits or more>``."""
    return f"CB-{created_at:%Y%m%d}-{callback_id:06d}"


def _aware(name: str, moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidInput(name, "must be a date and time")
    # The service works in UTC: a naive time is taken to be UTC already.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _text(name: str, value: str | None, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > _TEXT_LENGTH:
        raise InvalidInput(name, f"must be 1 to {_TEXT_LENGTH} characters")
    return text


def _view(row: CallbackRequest) -> CallbackView:
    return CallbackView(
        id=row.id,
        reference=callback_reference(row.id, row.created_at),
        customer_id=row.customer_id,
        number_e164=row.number_e164,
        window_start=row.window_start,
        window_end=row.window_end,
        reason=row.reason,
        status=row.status,
        result=row.result,
        call_id=row.call_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class Callbacks:
    """Stores and settles callback requests for :class:`crm_core.selfservice.service.SelfService`."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], actor: Actor, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._actor = actor
        self._clock = clock

    async def request(
        self,
        customer_id: int | None,
        *,
        number_e164: str,
        window_start: datetime,
        window_end: datetime,
        reason: str,
        call_id: str | None,
    ) -> CallbackRef:
        """See :meth:`crm_core.selfservice.service.SelfService.request_callback`."""
        now = self._clock()
        # International form only: no default region can be right for every caller.
        plus = isinstance(number_e164, str) and number_e164.strip().startswith("+")
        number = normalize(number_e164, "ZZ") if plus else None
        if number is None:
            raise InvalidInput(
                "number_e164", "must be a valid phone number in E.164 form, e.g. +8613812345678"
            )
        start, end = _aware("window_start", window_start), _aware("window_end", window_end)
        if end <= start:
            raise InvalidInput("window_end", "must be after window_start")
        if end - start > _MAX_WINDOW:
            raise InvalidInput("window_end", "a callback window may last at most 7 days")
        if end <= now:
            raise InvalidInput("window_end", "must be in the future")
        if start > now + _MAX_AHEAD:
            raise InvalidInput("window_start", "must be within the next 30 days")
        text = _text("reason", reason, required=True)
        check_call_id(call_id)
        if customer_id is not None:
            async with self._sessions() as session:
                customer = await session.get(Customer, customer_id)
                if customer is None or customer.deleted_at is not None:
                    raise NotFound(f"no customer {customer_id}")
        async with self._sessions() as session, session.begin():
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            stmt = insert(CallbackRequest).values(
                customer_id=customer_id,
                number_e164=number,
                window_start=start,
                window_end=end,
                reason=text,
                status="pending",
                call_id=call_id,
                created_at=now,
                updated_at=now,
            )
            # The write comes first: SQLite then takes its write lock before reading anything.
            new_id = await session.scalar(
                stmt.on_conflict_do_nothing(index_elements=[CallbackRequest.call_id]).returning(
                    CallbackRequest.id
                )
            )
            if new_id is None:
                row = await session.scalar(select(CallbackRequest).where(CallbackRequest.call_id == call_id))
                assert row is not None
                return self._ref(row, created=False)
            if customer_id is not None:
                await ivr_follow_up(
                    session,
                    customer_id,
                    f"callback requested by phone to {number} between {start:%Y-%m-%d %H:%M} "
                    f"and {end:%Y-%m-%d %H:%M} UTC ({text})",
                    outcome="ivr-callback",
                    now=now,
                )
            await audit(
                session,
                self._actor,
                "create",
                "callback",
                new_id,
                {"customer_id": customer_id, "call_id": call_id, "reason": text},
            )
            row = await session.get_one(CallbackRequest, new_id)
        log.info("selfservice.callback_requested", extra={"callback_id": new_id, "call_id": call_id})
        return self._ref(row, created=True)

    @staticmethod
    def _ref(row: CallbackRequest, *, created: bool) -> CallbackRef:
        return CallbackRef(
            id=row.id,
            reference=callback_reference(row.id, row.created_at),
            status=row.status,
            window_start=row.window_start,
            window_end=row.window_end,
            created=created,
        )

    async def pending(self, limit: int = 50, *, due_by: datetime | None = None) -> list[CallbackView]:
        """See :meth:`crm_core.selfservice.service.SelfService.pending_callbacks`."""
        if not 1 <= limit <= MAX_CALLBACK_LIST:
            raise InvalidInput("limit", f"must be 1 to {MAX_CALLBACK_LIST}")
        query = select(CallbackRequest).where(CallbackRequest.status == "pending")
        if due_by is not None:
            query = query.where(CallbackRequest.window_start <= _aware("due_by", due_by))
        async with self._sessions() as session:
            rows = await session.scalars(
                query.order_by(CallbackRequest.window_start, CallbackRequest.id).limit(limit)
            )
            return [_view(row) for row in rows]

    async def mark(self, callback_id: int, status: str, result: str | None = None) -> CallbackView:
        """See :meth:`crm_core.selfservice.service.SelfService.mark_callback`."""
        if status not in CALLBACK_STATUSES:
            raise InvalidInput("status", f"must be one of {', '.join(CALLBACK_STATUSES)}")
        text = _text("result", result, required=False)
        sources = sorted(old for old, targets in TRANSITIONS.items() if status in targets)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            changed = await session.scalar(
                update(CallbackRequest)
                .where(CallbackRequest.id == callback_id, CallbackRequest.status.in_(sources))
                .values(status=status, result=text, updated_at=now)
                .returning(CallbackRequest.id)
                .execution_options(synchronize_session=False)
            )
            row = await session.get(CallbackRequest, callback_id, populate_existing=True)
            if row is None:
                raise NotFound(f"no callback request {callback_id}")
            if changed is None:
                raise Conflict(f"callback request {callback_id} is {row.status}: it cannot become {status}")
            await audit(
                session,
                self._actor,
                "update",
                "callback",
                callback_id,
                {"status": status, "result": text, "customer_id": row.customer_id},
            )
            if row.customer_id is not None and not TRANSITIONS[status]:
                await ivr_follow_up(
                    session,
                    row.customer_id,
                    f"callback to {row.number_e164} {status}" + (f": {text}" if text else ""),
                    outcome=f"callback-{status}",
                    now=now,
                )
            view = _view(row)
        log.info("selfservice.callback_marked", extra={"callback_id": callback_id, "status": status})
        return view
