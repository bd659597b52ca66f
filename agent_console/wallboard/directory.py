"""Who is who on the wallboard: the waiting caller's customer and tier, queue and agent display names.

The board is drawn synchronously from what is known; the names come from
the CRM database in the background (:class:`DbWallboardDirectory`) and are
kept in :class:`Names`, so a name looked up late shows from the next push.

Agent names are made unique for the page (:func:`unique_names`): two agents
with the same display name are told apart by their login, ``"Li Wei
(liwei2)"``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import AcdQueue, Agent, Customer

__all__ = ["CustomerBadge", "DbWallboardDirectory", "Names", "WallboardDirectory", "unique_names"]

#: Customers remembered at most (the cache starts again beyond).
MAX_CUSTOMERS = 5000


@dataclass(frozen=True, slots=True)
class CustomerBadge:
    name: str
    tier: str


class WallboardDirectory(Protocol):
    async def customers(self, ids: Collection[int]) -> dict[int, CustomerBadge]:
        """Name and tier of each customer of ``ids`` that exists."""
        ...

    async def agent_names(self) -> dict[str, str]:
        """Display name by login."""
        ...

    async def queue_titles(self) -> dict[str, str]:
        """Display name by queue (only queues that have one)."""
        ...


@dataclass
class Names:
    """What the board knows of names; ``queue_lookup`` (the live queue settings) goes first."""

    customers: dict[int, CustomerBadge] = field(default_factory=dict)
    missing: set[int] = field(default_factory=set)  # looked up, not found: never asked again
    agents: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    queue_lookup: Callable[[str], str | None] | None = None

    def queue_title(self, queue: str) -> str:
        title: str | None = None
        if self.queue_lookup is not None:
            try:
                title = self.queue_lookup(queue)
            except (LookupError, ValueError):
                title = None
        return title or self.queues.get(queue) or queue

    def customer(self, customer_id: int | None) -> CustomerBadge | None:
        return self.customers.get(customer_id) if customer_id is not None else None

    def unknown(self, ids: Collection[int | None]) -> set[int]:
        """The ids of ``ids`` not looked up yet."""
        return {i for i in ids if i is not None and i not in self.customers and i not in self.missing}

    def learn(self, asked: Collection[int], found: Mapping[int, CustomerBadge]) -> bool:
        """Remember a lookup's answer; return whether anything shown changes."""
        if len(self.customers) + len(found) > MAX_CUSTOMERS:
            self.customers.clear()
            self.missing.clear()
        self.customers.update(found)
        self.missing.update(i for i in asked if i not in found)
        return bool(found)


def unique_names(names: Mapping[str, str]) -> dict[str, str]:
    """``login -> name`` as shown: a name two or more logins share gets the login appended."""
    shown = {login: (name or "").strip() or login for login, name in names.items()}
    counts = Counter(name.casefold() for name in shown.values())
    return {
        login: f"{name} ({login})" if counts[name.casefold()] > 1 and name != login else name
        for login, name in shown.items()
    }


class DbWallboardDirectory:
    """:class:`WallboardDirectory` over the CRM database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def customers(self, ids: Collection[int]) -> dict[int, CustomerBadge]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        async with self._sessions() as session:
            rows = await session.execute(
                select(Customer.id, Customer.name, Customer.tier).where(
                    Customer.id.in_(wanted), Customer.deleted_at.is_(None)
                )
            )
            return {cid: CustomerBadge(name, tier) for cid, name, tier in rows}

    async def agent_names(self) -> dict[str, str]:
        async with self._sessions() as session:
            rows = await session.execute(select(Agent.login, Agent.name))
            return {login: name for login, name in rows}

    async def queue_titles(self) -> dict[str, str]:
        async with self._sessions() as session:
            rows = await session.execute(select(AcdQueue.name, AcdQueue.display_name))
            return {name: title for name, title in rows if title}
