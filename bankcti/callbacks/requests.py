"""A callback request as the callback engine holds it, and the ports the engine talks through.

:class:`HeldCallback` pairs a stored request (``callback_requests`` row id,
the number to dial) with what the ACD queues for it: a
:class:`~acd.QueuedCall` of kind ``callback`` carrying the place (queue,
priority, arrival time) and the routing facts (tier, segment, skills,
relationship manager) of the call it replaces.  :func:`routing_of` is how
those facts are stored with the request, so a restart queues it the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from acd import QueuedCall
from crm_core.schemas import CustomerCard
from cti.ami.message import AmiMessage

__all__ = ["CustomerCards", "HeldCallback", "OriginatePort", "routing_of"]


class OriginatePort(Protocol):
    """The AMI client as far as callbacks need it."""

    async def action(self, action: str, **fields: str | int) -> AmiMessage: ...


class CustomerCards(Protocol):
    """Where the routing facts of a callback booked in the IVR come from (the CRM's customer cards)."""

    async def card(self, customer_id: int) -> CustomerCard | None: ...


def routing_of(call: QueuedCall) -> dict[str, Any]:
    """The routing facts of a call, as stored with its callback request (JSON)."""
    return {
        "tier": call.tier,
        "segment": call.segment,
        "skills": sorted(call.skills),
        "owner_login": call.owner_login,
        "place_of": call.place_of,
    }


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class HeldCallback:
    """One callback request the engine holds: ``request`` is what the ACD queues (place and routing).

    ``attempts`` counts the attempts made; ``outcome``, ``channel_id``,
    ``agent_login`` and ``answered_at`` describe the attempt under way;
    ``retry`` is the timer that queues the request when it is next due.
    """

    callback_id: int
    number: str
    request: QueuedCall
    attempts: int = 0
    outcome: asyncio.Future[str] | None = None
    channel_id: str | None = None
    agent_login: str | None = None
    answered_at: float | None = None
    retry: asyncio.TimerHandle | None = None

    @property
    def call_id(self) -> str:
        return self.request.call_id

    @property
    def customer_id(self) -> int | None:
        return self.request.customer_id

    @property
    def queue(self) -> str:
        return self.request.queue

    @property
    def queued_at(self) -> float:
        assert self.request.enqueued_at is not None
        return self.request.enqueued_at

    @classmethod
    def create(
        cls,
        callback_id: int,
        number: str,
        *,
        queue: str,
        customer_id: int | None,
        priority: int,
        queued_at: float,
        routing: Mapping[str, Any],
    ) -> HeldCallback:
        listed = routing.get("skills")
        skills = frozenset(s for s in listed if isinstance(s, str)) if isinstance(listed, list) else None
        request = QueuedCall(
            call_id=f"callback-{callback_id}",
            queue=queue,
            customer_id=customer_id,
            priority=priority,
            enqueued_at=queued_at,
            tier=_text(routing.get("tier")),
            segment=_text(routing.get("segment")),
            skills=skills or frozenset(),
            owner_login=_text(routing.get("owner_login")),
            place_of=_text(routing.get("place_of")),
            kind="callback",
            callback_id=callback_id,
            callback_number=number,
        )
        return cls(callback_id, number, request)
