"""The morning of cc_stats_kit as Asterisk queue_log lines, field by field."""

from __future__ import annotations

from datetime import datetime

import pytest
from cc_stats_kit import D, at, q, seed_morning
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import Interaction
from crm_core.stats.intervals import ReportRange, parse_zone
from crm_core.stats.queue_log import QueueLogLine, queue_log_lines
from crm_core.stats.visits import load_visits


def e(hh: int, mm: int, ss: int = 0) -> int:
    return int(at(hh, mm, ss).timestamp())


@pytest.fixture
async def lines(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    await seed_morning(sessions)
    async with sessions() as session, session.begin():
        session.add(Interaction(call_id="c1", caller_e164="+8613800138000", queue="retail"))
    report = ReportRange.of_days(D.date(), D.date(), parse_zone("UTC"))
    async with sessions() as session:
        return [line.text() for line in await queue_log_lines(session, report)]


async def test_call_lines(lines: list[str]) -> None:
    expected = [
        f"{e(9, 0)}|c1|retail|NONE|ENTERQUEUE||+8613800138000",
        f"{e(9, 0, 10)}|c1|retail|Agent/alice|CONNECT|10|c1|5",
        f"{e(9, 3, 30)}|c1|retail|Agent/alice|COMPLETECALLER|10|180|1",
        f"{e(9, 1, 17)}|c2|retail|Agent/bob|RINGNOANSWER|15000",
        f"{e(9, 1, 30)}|c2|retail|Agent/carol|CONNECT|30|c2|3",
        f"{e(9, 3, 29)}|c2|retail|Agent/carol|TRANSFER|vip|bankcti|30|119|1",
        f"{e(9, 3, 30)}|c2|retail|Agent/carol|COMPLETEAGENT|30|120|1",
        f"{e(9, 2, 3)}|c3|retail|NONE|ABANDON|1|2|3",
        f"{e(9, 7, 50)}|c6|retail|NONE|EXITWITHKEY|1|1|1|50",
        f"{e(9, 21)}|c7|retail|NONE|EXITWITHTIMEOUT|1|1|60",
        f"{e(9, 21)}|c7|vip|NONE|ENTERQUEUE||",
        f"{e(9, 21, 5)}|c7|vip|Agent/bob|CONNECT|5|c7|2",
        f"{e(9, 24, 5)}|c7|vip|Agent/bob|COMPLETECALLER|5|180|1",
        f"{e(9, 30)}|c8|retail|NONE|ENTERQUEUE||",
    ]
    for line in expected:
        assert line in lines, line
    # Offers, callback attempts and completions have no queue_log event.
    assert not [
        line for line in lines if "|c6|" in line and "EXITWITHKEY" not in line and "ENTERQUEUE" not in line
    ]
    epochs = [int(line.split("|")[0]) for line in lines]
    assert epochs == sorted(epochs)


async def test_agent_lines(lines: list[str]) -> None:
    agent_lines = [line for line in lines if "|NONE|NONE|" in line]
    assert agent_lines == [
        f"{e(8, 50)}|NONE|NONE|Agent/alice|AGENTLOGIN|PJSIP/alice",
        f"{e(9, 0)}|NONE|NONE|Agent/carol|AGENTLOGIN|PJSIP/carol",
        f"{e(9, 5)}|NONE|NONE|Agent/carol|AGENTLOGOFF|PJSIP/carol|300",
        f"{e(9, 10)}|NONE|NONE|Agent/alice|PAUSE|lunch",
        f"{e(9, 40)}|NONE|NONE|Agent/alice|AGENTLOGOFF|PJSIP/alice|3000",
    ]


def test_fields_cannot_break_the_format() -> None:
    line = QueueLogLine(
        datetime(2026, 1, 1, tzinfo=D.tzinfo), "c|1", "re\ntail", "Agent/x", "PAUSE", ("a|b",)
    )
    assert line.text() == "1767225600|c_1|re_tail|Agent/x|PAUSE|a_b"


async def test_a_caller_hanging_up_while_agents_ring_gives_ringcanceled_then_abandon(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # app_queue writes RINGCANCELED (ring time in ms) for each member whose phone stopped ringing because
    # the caller hung up, then ABANDON; the ACD records one ring_cancelled per ringing agent.
    await seed_morning(sessions)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                q(at(10, 0), "c9", "joined", position=1),
                *(
                    q(at(10, 0, 20), "c9", "ring_cancelled", agent=a, ring_seconds=4.25, dial_status="CANCEL")
                    for a in ("alice", "bob")
                ),
                q(at(10, 0, 20), "c9", "abandoned", position=1, original_position=1, wait_seconds=20),
            ]
        )
    report = ReportRange.of_days(D.date(), D.date(), parse_zone("UTC"))
    async with sessions() as session:
        lines = [line.text() for line in await queue_log_lines(session, report) if "|c9|" in line.text()]
    assert lines == [
        f"{e(10, 0)}|c9|retail|NONE|ENTERQUEUE||",
        f"{e(10, 0, 20)}|c9|retail|Agent/alice|RINGCANCELED|4250",
        f"{e(10, 0, 20)}|c9|retail|Agent/bob|RINGCANCELED|4250",
        f"{e(10, 0, 20)}|c9|retail|NONE|ABANDON|1|1|20",
    ]


async def test_a_call_bankcti_stopped_serving_is_neither_abandoned_nor_answered(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # bankcti stopped while c10 waited: its visit ends "interrupted" (the caller did not leave), and
    # queue_log gains no ABANDON (app_queue has no line for it), nor do the abandon counts.
    await seed_morning(sessions)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                q(at(10, 5), "c10", "joined", position=1),
                q(at(10, 5, 30), "c10", "interrupted", position=1, original_position=1, wait_seconds=30),
            ]
        )
    report = ReportRange.of_days(D.date(), D.date(), parse_zone("UTC"))
    async with sessions() as session:
        lines = [line.text() for line in await queue_log_lines(session, report) if "|c10|" in line.text()]
        visits, _ = await load_visits(session, report)
    assert lines == [f"{e(10, 5)}|c10|retail|NONE|ENTERQUEUE||"]
    (visit,) = [v for v in visits if v.call_id == "c10"]
    assert (visit.outcome, visit.wait_seconds, visit.ended_at) == ("interrupted", 30.0, at(10, 5, 30))
