"""The handled-call grant: the agent who answered a call may read the caller's record for a while after.

An agent who answered a call (an ``agent`` leg of theirs with an answer, or
the call's own agent on a call recorded without legs) may read the record of
the customer the call is linked to, even though they do not own it and it is
not shared with them:

* while the call is live and while they are wrapping it up (the ACD's
  ``agent_states`` row says ``wrap_up`` on that call), and
* for :attr:`~crm_core.actor.Actor.recent_call_minutes` minutes after the
  latest of the call's end, their leg's end and the wrap-up's save.

Read-only: the grant never gives write (the agent may have write on other
grounds).  Every read through it is audited with the reason ``handled call
<call_id>`` (see :func:`crm_core.access.rules.evaluate`).  Like sharing
grants, it is decided against the database's clock: it stops at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, exists, false, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from crm_core.actor import Actor
from crm_core.models import AgentStateRow, Interaction, InteractionLeg
from crm_core.models.coltypes import UtcDateTime

__all__ = ["LIVE_CALL_HOURS", "answered_by", "grant_clause", "handled_call", "handled_reason"]

#: A call still open after this long (hours since its answer) grants nothing: a row the PBX side never
#: closed must not become a permanent grant.
LIVE_CALL_HOURS = 24


class minutes_ago(FunctionElement[datetime]):
    """SQL for the database's "now" minus an integer number of minutes (UTC)."""

    type = UtcDateTime()
    inherit_cache = True
    name = "minutes_ago"


@compiles(minutes_ago)
def _minutes_ago_default(element: minutes_ago, compiler: SQLCompiler, **kw: Any) -> str:
    raise NotImplementedError("minutes_ago: only SQLite and PostgreSQL")


@compiles(minutes_ago, "postgresql")
def _minutes_ago_postgresql(element: minutes_ago, compiler: SQLCompiler, **kw: Any) -> str:
    (minutes,) = element.clauses
    return f"(statement_timestamp() - make_interval(mins => {compiler.process(minutes, **kw)}))"


@compiles(minutes_ago, "sqlite")
def _minutes_ago_sqlite(element: minutes_ago, compiler: SQLCompiler, **kw: Any) -> str:
    (minutes,) = element.clauses
    # Same text format as crm_core.dbtime.db_now, so it compares with stored datetimes.
    return f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || {compiler.process(minutes, **kw)} || ' minutes')"


def _ago(minutes: int) -> minutes_ago:
    return minutes_ago(literal(int(minutes), Integer))


def _agent_leg(actor: Actor) -> ColumnElement[bool]:
    return and_(
        InteractionLeg.interaction_id == Interaction.id,
        InteractionLeg.kind == "agent",
        InteractionLeg.agent_login == actor.login,
        InteractionLeg.answered_at.is_not(None),
    )


def answered_by(actor: Actor) -> ColumnElement[bool]:
    """Where-clause on :class:`Interaction`: a call ``actor`` answered (an agent leg, or its own agent)."""
    clauses: list[ColumnElement[bool]] = [exists(select(InteractionLeg.id).where(_agent_leg(actor)))]
    if actor.user_id is not None:
        clauses.append(and_(Interaction.agent_id == actor.user_id, Interaction.answered_at.is_not(None)))
    return or_(*clauses)


def grant_clause(actor: Actor) -> ColumnElement[bool]:
    """Where-clause on :class:`Interaction`: a call whose handled-call grant to ``actor`` holds right now."""
    minutes = actor.recent_call_minutes
    if minutes is None or actor.role not in ("agent", "supervisor"):
        return false()
    since = _ago(minutes)
    live_since = _ago(LIVE_CALL_HOURS * 60)
    leg_recent = exists(
        select(InteractionLeg.id).where(
            _agent_leg(actor),
            or_(
                InteractionLeg.ended_at > since,
                and_(
                    InteractionLeg.ended_at.is_(None),
                    InteractionLeg.end_reason.is_(None),
                    InteractionLeg.answered_at > live_since,
                ),
            ),
        )
    )
    wrapping_up = exists(
        select(AgentStateRow.login).where(
            AgentStateRow.login == actor.login,
            AgentStateRow.state == "wrap_up",
            AgentStateRow.call_id == Interaction.call_id,
        )
    )
    call_recent = or_(
        Interaction.ended_at > since,
        Interaction.wrapped_up_at > since,
        and_(
            Interaction.ended_at.is_(None),
            Interaction.outcome.is_(None),
            Interaction.answered_at > live_since,
        ),
    )
    return and_(
        Interaction.call_id.is_not(None),
        answered_by(actor),
        or_(call_recent, leg_recent, wrapping_up),
    )


async def handled_call(session: AsyncSession, actor: Actor, customer_id: int) -> str | None:
    """The call through which ``actor`` may read customer ``customer_id`` now (latest first), or ``None``."""
    if actor.recent_call_minutes is None:
        return None
    call_id = await session.scalar(
        select(Interaction.call_id)
        .where(Interaction.customer_id == customer_id, grant_clause(actor))
        .order_by(Interaction.answered_at.desc(), Interaction.id.desc())
        .limit(1)
    )
    return str(call_id) if call_id is not None else None


def handled_reason(call_id: str) -> str:
    """The audit reason of a read through the grant of ``call_id``."""
    return f"handled call {call_id}"
