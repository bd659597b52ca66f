"""CRM statistics on a hand-computed office, on SQLite and PostgreSQL.

Period: June 2025 (``[2025-06-01, 2025-07-01)``).  North team: supervisor
sue, agents alice and bob; South team: supervisor sam, agent carol; admin1.

======== ===== ========== =========== ====================================================
customer owner created    deal        contracts / follow-ups
======== ===== ========== =========== ====================================================
c1       alice 06-05      won         signed 06-10, 100 000 (40 000 due 06-15, 60 000 due
                                      07-15; 30 000 paid 06-20); phone 06-06 by alice
c2       alice 06-07      prospect    visit 06-08 by alice
c3       alice 06-09      none        phone 06-09 by alice (not a prospect)
c4       bob   06-10      none        signed 06-12, 50 000 (due 06-12; 60 000 paid 06-12:
                                      overpaid); phone 07-02 by bob (after the period)
c5       bob   05-20      negotiating signed 05-25, 20 000 (due 06-01, unpaid; 5 000 paid 07-02)
c6       carol 06-15      negotiating draft 80 000 (unsigned, 80 000 due 06-20); email 06-16
c7       carol 06-20      prospect    deleted
c8       pool  06-21      prospect    —
c9       alice 04-01      none        signed 06-20, 999, deleted (999 paid 06-21)
======== ===== ========== =========== ====================================================

Follow-ups on the period's edges: alice phone at 05-31 23:59 and at 07-01 00:00
(neither counts).  Ownership moves: claims to alice 06-03 and 07-01 (the
second outside), to carol 06-04; releases from bob 06-11 and 05-30.

Hand-computed: alice 3 follow-ups (phone 2, visit 1), 3 new customers,
1 claim, contracts 1 / 100 000, collected 30 000, outstanding 40 000 −
30 000 = 10 000.  bob: 0 follow-ups, 1 new customer, 1 release, 1 / 50 000,
collected 60 000, outstanding max(50 000 − 60 000, 0) + 20 000 = 20 000 (the
overpaid contract does not hide c5's arrears).  carol: 1 email, 1 new (c7 is
deleted), 1 claim, nothing signed, outstanding 0 (c6 is unsigned).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from analytics_kit import Bank
from protection_world import World
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.errors import InvalidInput
from crm_core.models import Contract, ContractInstallment, OwnershipHistory, Payment
from crm_core.stats.crm import AgentStats, CrmStatisticsService

D = Decimal
START = datetime(2025, 6, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Office:
    world: World
    customers: dict[str, int]

    def actor(self, login: str) -> Actor:
        return self.world.admin if login == "admin1" else self.world[login]


async def _contract(
    sessions: async_sessionmaker[AsyncSession],
    customer_id: int,
    owner: Actor,
    amount: str,
    signed_on: date | None,
    *,
    due: list[tuple[date, str]] = (),  # type: ignore[assignment]
    paid: list[tuple[date, str]] = (),  # type: ignore[assignment]
    deleted: bool = False,
) -> None:
    async with sessions() as session, session.begin():
        contract = Contract(
            number=f"C-{customer_id}-{amount}",
            customer_id=customer_id,
            owner_id=owner.user_id,
            title="Loan",
            product_type="loan",
            amount=D(amount),
            start_on=date(2025, 1, 1),
            end_on=date(2027, 1, 1),
            status="active" if signed_on else "draft",
            signed_on=signed_on,
            deleted_at=at(6, 25) if deleted else None,
        )
        session.add(contract)
        await session.flush()
        for day, value in due:
            session.add(ContractInstallment(contract_id=contract.id, due_on=day, amount=D(value)))
        for day, value in paid:
            session.add(Payment(contract_id=contract.id, received_on=day, amount=D(value), method="cash"))


async def _move(
    sessions: async_sessionmaker[AsyncSession],
    customer_id: int,
    action: str,
    when: datetime,
    *,
    to: Actor | None = None,
    source: Actor | None = None,
) -> None:
    async with sessions() as session, session.begin():
        session.add(
            OwnershipHistory(
                customer_id=customer_id,
                action=action,
                to_owner_id=to.user_id if to else None,
                from_owner_id=source.user_id if source else None,
                at=when,
            )
        )


@pytest.fixture
async def office(sessions: async_sessionmaker[AsyncSession]) -> Office:
    world = await World(sessions).setup()
    north = await world.team("North", "sue")
    south = await world.team("South", "sam")
    alice = await world.agent("alice", team=north)
    bob = await world.agent("bob", team=north)
    carol = await world.agent("carol", team=south)
    plan = {
        "c1": ("alice", at(6, 5), "won", None),
        "c2": ("alice", at(6, 7), "prospect", None),
        "c3": ("alice", at(6, 9), "none", None),
        "c4": ("bob", at(6, 10), "none", None),
        "c5": ("bob", at(5, 20), "negotiating", None),
        "c6": ("carol", at(6, 15), "negotiating", None),
        "c7": ("carol", at(6, 20), "prospect", at(6, 22)),
        "c8": (None, at(6, 21), "prospect", None),
        "c9": ("alice", at(4, 1), "none", None),
    }
    ids = {}
    for key, (owner, created, deal, deleted) in plan.items():
        ids[key] = await world.customer(key, owner, created_at=created, deal_status=deal, deleted_at=deleted)
    await _contract(
        sessions, ids["c1"], alice, "100000", date(2025, 6, 10),
        due=[(date(2025, 6, 15), "40000"), (date(2025, 7, 15), "60000")], paid=[(date(2025, 6, 20), "30000")],
    )  # fmt: skip
    await _contract(
        sessions, ids["c4"], bob, "50000", date(2025, 6, 12),
        due=[(date(2025, 6, 12), "50000")], paid=[(date(2025, 6, 12), "60000")],
    )  # fmt: skip
    await _contract(
        sessions, ids["c5"], bob, "20000", date(2025, 5, 25),
        due=[(date(2025, 6, 1), "20000")], paid=[(date(2025, 7, 2), "5000")],
    )  # fmt: skip
    await _contract(sessions, ids["c6"], carol, "80000", None, due=[(date(2025, 6, 20), "80000")])
    await _contract(
        sessions, ids["c9"], alice, "999", date(2025, 6, 20), paid=[(date(2025, 6, 21), "999")], deleted=True
    )
    bank = Bank(sessions)
    await bank.contact(ids["c1"], "phone", 0, agent_id=alice.user_id, at=at(6, 6))
    await bank.contact(ids["c2"], "visit", 0, agent_id=alice.user_id, at=at(6, 8))
    await bank.contact(ids["c3"], "phone", 0, agent_id=alice.user_id, at=at(6, 9))
    await bank.contact(ids["c3"], "phone", 0, agent_id=alice.user_id, at=at(5, 31, 23, 59))
    await bank.contact(ids["c3"], "phone", 0, agent_id=alice.user_id, at=END)
    await bank.contact(ids["c4"], "phone", 0, agent_id=bob.user_id, at=at(7, 2))
    await bank.contact(ids["c6"], "email", 0, agent_id=carol.user_id, at=at(6, 16))
    await _move(sessions, ids["c3"], "claim", at(6, 3), to=alice)
    await _move(sessions, ids["c3"], "claim", END, to=alice)
    await _move(sessions, ids["c6"], "claim", at(6, 4), to=carol)
    await _move(sessions, ids["c4"], "release", at(6, 11), source=bob)
    await _move(sessions, ids["c4"], "release", at(5, 30), source=bob)
    return Office(world, ids)


def _row(stats: AgentStats) -> tuple[object, ...]:
    return (
        stats.follow_ups, stats.new_customers, stats.claims, stats.releases, stats.contracts_signed,
        stats.contract_amount, stats.collected, stats.outstanding, stats.rank_amount, stats.rank_collected,
    )  # fmt: skip


ALICE = (3, 3, 1, 0, 1, D("100000.00"), D("30000.00"), D("10000.00"), 1, 2)
BOB = (0, 1, 0, 1, 1, D("50000.00"), D("60000.00"), D("20000.00"), 2, 1)
CAROL = (1, 1, 1, 0, 0, D("0.00"), D("0.00"), D("0.00"), 3, 3)
NOTHING = (0, 0, 0, 0, 0, D("0.00"), D("0.00"), D("0.00"), 3, 3)


async def test_statistics_per_agent_for_an_admin(
    sessions: async_sessionmaker[AsyncSession], office: Office
) -> None:
    stats = await CrmStatisticsService(sessions).statistics(office.actor("admin1"), START, END)
    assert (stats.start, stats.end) == (START, END)
    # Best contract amount first; the zeros share rank 3 (competition ranking) and sort by login.
    assert {a.agent_login: _row(a) for a in stats.agents} == {
        "alice": ALICE, "bob": BOB, "carol": CAROL, "admin1": NOTHING, "sam": NOTHING, "sue": NOTHING,
    }  # fmt: skip
    assert [a.agent_login for a in stats.agents] == ["alice", "bob", "admin1", "carol", "sam", "sue"]
    assert [(f.agent_login, f.channel, f.follow_ups) for f in stats.follow_ups] == [
        ("alice", "phone", 2),
        ("alice", "visit", 1),
        ("carol", "email", 1),
    ]
    # Admin's cohort: c1 c2 c3 c4 c6 c8 (c5 earlier, c7 deleted, c9 earlier); prospects c1 c2 c4 c6 c8;
    # contacted before the end c1 c2 c6; with a signed live contract c1 c4 (c4 never contacted: not lost).
    assert [(s.stage, s.customers, s.share) for s in stats.funnel] == [
        ("prospects", 5, 1.0),
        ("contacted", 3, pytest.approx(0.6)),
        ("with_contract", 2, pytest.approx(0.4)),
    ]


@pytest.mark.parametrize(
    ("login", "agents", "funnel"),
    [
        # Ranks are within what the reader sees: alone, an agent is first.
        ("alice", {"alice": (*ALICE[:-2], 1, 1)}, [2, 2, 1]),
        ("bob", {"bob": (*BOB[:-2], 1, 1)}, [1, 0, 1]),
        ("sue", {"alice": ALICE, "bob": BOB, "sue": (0, 0, 0, 0, 0, D(0), D(0), D(0), 3, 3)}, [3, 2, 2]),
        ("sam", {"carol": (1, 1, 1, 0, 0, D(0), D(0), D(0), 1, 1), "sam": (0,) * 5 + (D(0),) * 3 + (1, 1)},
         [1, 1, 0]),
    ],
)  # fmt: skip
async def test_scope_by_role(
    sessions: async_sessionmaker[AsyncSession],
    office: Office,
    login: str,
    agents: dict[str, tuple[object, ...]],
    funnel: list[int],
) -> None:
    stats = await CrmStatisticsService(sessions).statistics(office.actor(login), START, END)
    assert {a.agent_login: _row(a) for a in stats.agents} == agents
    assert [s.customers for s in stats.funnel] == funnel
    assert {f.agent_login for f in stats.follow_ups} <= set(agents)


async def test_period_boundaries_move_the_numbers(
    sessions: async_sessionmaker[AsyncSession], office: Office
) -> None:
    service = CrmStatisticsService(sessions)
    alice = office.actor("alice")
    # Including July 1st: the 00:00 call and the second claim now count; c1's July installment is not due yet.
    july_first = await service.statistics(alice, START, END + timedelta(days=1))
    assert _row(july_first.agents[0])[:4] == (4, 3, 2, 0)
    # May only: the 23:59 call on May 31st; nothing signed; c1 did not exist yet.
    may = await service.statistics(alice, datetime(2025, 5, 1, tzinfo=UTC), START)
    assert _row(may.agents[0]) == (1, 0, 0, 0, 0, D(0), D(0), D(0), 1, 1)
    assert [s.customers for s in may.funnel] == [0, 0, 0] and may.funnel[0].share is None
    # Bob by the end of July 2nd: c5's 5 000 payment lowers its arrears to 15 000.
    bob = await service.statistics(office.actor("bob"), START, datetime(2025, 7, 3, tzinfo=UTC))
    assert (bob.agents[0].collected, bob.agents[0].outstanding) == (D("65000.00"), D("15000.00"))


async def test_empty_or_reversed_period_is_refused(
    sessions: async_sessionmaker[AsyncSession], office: Office
) -> None:
    service = CrmStatisticsService(sessions)
    for end in (START, START - timedelta(days=1)):
        with pytest.raises(InvalidInput) as raised:
            await service.statistics(office.actor("admin1"), START, end)
        assert raised.value.field == "to"
