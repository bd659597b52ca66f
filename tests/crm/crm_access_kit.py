"""A small office for the access-control tests: two teams, their supervisors, agents, an admin.

Users are inserted directly (a dummy password hash): these tests are about
who may see what, not about logging in.

    north: supervisor sam, agents alice and bob
    south: supervisor sue, agent carol
    no team: agent dan; admin root
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.customers.phones import normalize
from crm_core.models import Agent, Customer, PhoneNumber, SharingGrant, Team
from crm_core.models.coltypes import utcnow

PEPPER = b"k" * 32
REGION = "CN"


@dataclass(frozen=True)
class Office:
    north: int
    south: int
    root: Actor
    sam: Actor
    sue: Actor
    alice: Actor
    bob: Actor
    carol: Actor
    dan: Actor

    def offered(self, actor: Actor, *customer_ids: int) -> Actor:
        """``actor`` while ``customer_ids`` are being offered to them on a call."""
        return Actor(
            user_id=actor.user_id,
            login=actor.login,
            role=actor.role,
            team_ids=actor.team_ids,
            offered_customer_ids=frozenset(customer_ids),
            remote_addr=actor.remote_addr,
        )


async def _user(session: AsyncSession, login: str, role: str, team_id: int | None) -> int:
    agent = Agent(
        login=login,
        name=login.title(),
        password_hash="scrypt$unused",
        extension=str(1000 + len(login) * 7 + sum(map(ord, login)) % 900),
        device=f"PJSIP/{login}",
        role=role,
        queues=[],
        team_id=team_id,
    )
    session.add(agent)
    await session.flush()
    return agent.id


async def make_office(sessions: async_sessionmaker[AsyncSession]) -> Office:
    """Create the office's teams and users; return their actors."""
    async with sessions() as session, session.begin():
        north = Team(name="north")
        south = Team(name="south")
        session.add_all([north, south])
        await session.flush()
        ids = {
            "root": await _user(session, "root", "admin", None),
            "sam": await _user(session, "sam", "supervisor", north.id),
            "sue": await _user(session, "sue", "supervisor", south.id),
            "alice": await _user(session, "alice", "agent", north.id),
            "bob": await _user(session, "bob", "agent", north.id),
            "carol": await _user(session, "carol", "agent", south.id),
            "dan": await _user(session, "dan", "agent", None),
        }
        north.supervisor_id, south.supervisor_id = ids["sam"], ids["sue"]
        teams = {"sam": north.id, "alice": north.id, "bob": north.id, "sue": south.id, "carol": south.id}
        roles = {"root": "admin", "sam": "supervisor", "sue": "supervisor"}

    def actor(login: str) -> Actor:
        team = teams.get(login)
        return Actor(
            user_id=ids[login],
            login=login,
            role=roles.get(login, "agent"),
            team_ids=frozenset({team} if team is not None else set()),
            remote_addr="10.0.0.7",
        )

    return Office(
        north=north.id,
        south=south.id,
        root=actor("root"),
        sam=actor("sam"),
        sue=actor("sue"),
        alice=actor("alice"),
        bob=actor("bob"),
        carol=actor("carol"),
        dan=actor("dan"),
    )


async def add_customer(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    owner: Actor | None = None,
    *,
    status: str | None = None,
    phone: str | None = None,
    tier: str = "standard",
    deal_status: str = "none",
) -> int:
    """Insert a customer directly (owned by ``owner``, else in the public pool)."""
    async with sessions() as session, session.begin():
        customer = Customer(
            name=name,
            tier=tier,
            owner_agent_id=owner.user_id if owner else None,
            status=status or ("owned" if owner else "public"),
            deal_status=deal_status,
        )
        session.add(customer)
        await session.flush()
        if phone is not None:
            e164 = normalize(phone, REGION)
            assert e164 is not None
            session.add(PhoneNumber(customer_id=customer.id, raw=phone, e164=e164, is_primary=True))
        return customer.id


async def add_grant(
    sessions: async_sessionmaker[AsyncSession],
    customer_id: int,
    *,
    user: Actor | None = None,
    team_id: int | None = None,
    access: str = "read",
    expires_in: timedelta | None = None,
) -> int:
    """Insert a sharing grant directly (no rules applied: the access tests judge its effect)."""
    async with sessions() as session, session.begin():
        grant = SharingGrant(
            customer_id=customer_id,
            grantee_user_id=user.user_id if user else None,
            grantee_team_id=team_id,
            access=access,
            expires_at=utcnow() + expires_in if expires_in is not None else None,
        )
        session.add(grant)
        await session.flush()
        return grant.id


async def set_grant_expiry(sessions: async_sessionmaker[AsyncSession], grant_id: int, at: datetime) -> None:
    """Move a grant's expiry (how the tests let time pass without sleeping)."""
    async with sessions() as session, session.begin():
        await session.execute(update(SharingGrant).where(SharingGrant.id == grant_id).values(expires_at=at))


async def customer_row(sessions: async_sessionmaker[AsyncSession], customer_id: int) -> Customer | None:
    async with sessions() as session:
        return await session.scalar(select(Customer).where(Customer.id == customer_id))
