"""The wallboard and the reports tell one story: same zone, same per-queue threshold, same service level.

One day at a site in Asia/Shanghai (UTC+8), queue ``retail``; its stored
row says 20 s but the live queue settings say 30 s (what the wallboard
folds with, so the reports must use it too).  Local times:

    s1 00:10:00  answered after 25 s by alice   within 30 s (not within 20 s)
    s2 00:20:00  answered after 10 s by alice   within
    s3 00:30:00  abandoned after 40 s           abandoned after T
    s4 00:40:00  abandoned after 3 s            short abandon: in neither part
    s5 09:00:00  answered after 45 s by carol   not within

    SL = within / (answered + abandoned after T) = 2 / (3 + 1) = 0.5
    (with 20 s it would be 1/4; cut in UTC, s1-s4 belong to the day before: 0/1)

Every answered call talks 60 s; alice is available 00:05:00, on_call
00:10:25 (s1), wrap_up 00:11:25 (no call id: s1's), available 00:11:55,
paused 00:15:00 for the rest of the day (the other agents have no states):

    AHT = (60 + 60 + 60 talk + 30 wrap-up) / 3 handled = 70 s
    occupancy of retail's agents = (60 + 30) / (60 + 30 + 325 + 185 idle) = 0.15

The wallboard gets the day as bus events, the reports as ``queue_events``
rows; both are read over HTTP.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from console_harness import WAIT
from crm_harness import CrmConsole, CrmConsoleFactory, ok, refused
from sqlalchemy import delete

from acd.events import AgentStateChanged, BusEvent, CallConnected, CallEnded, CallOffered, CallQueued
from agent_console.wallboard.board import WallboardConfig
from agent_console.wallboard.seed import DbCallHistory, SeedCall
from crm_core.models import AcdQueue, AgentEvent, QueueEvent

SITE = ZoneInfo("Asia/Shanghai")
DAY = "2026-11-29"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=SITE).timestamp()

#: alice's states: local h:m:s, state, call
STATES: list[tuple[str, str, str | None]] = [
    ("00:05:00", "available", None),
    ("00:10:25", "on_call", "s1"),
    ("00:11:25", "wrap_up", None),
    ("00:11:55", "available", None),
    ("00:15:00", "paused", None),
]

#: call, local h:m:s queued, wait, outcome ("answered" / "abandoned"), agent
CALLS: list[tuple[str, str, float, str, str | None]] = [
    ("s1", "00:10:00", 25, "answered", "alice"),
    ("s2", "00:20:00", 10, "answered", "alice"),
    ("s3", "00:30:00", 40, "abandoned", None),
    ("s4", "00:40:00", 3, "abandoned", None),
    ("s5", "09:00:00", 45, "answered", "carol"),
]


def local(hms: str) -> datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(2026, 11, 29, h, m, s, tzinfo=SITE)


def bus_events() -> list[BusEvent]:
    events: list[BusEvent] = []
    for call, hms, wait, outcome, agent in CALLS:
        start = local(hms).timestamp()
        events.append(CallQueued(call_id=call, queue="retail", at=start))
        if outcome == "answered" and agent is not None:
            events.append(CallOffered(call_id=call, agent_login=agent, queue="retail", at=start + wait - 2))
            events.append(CallConnected(call_id=call, agent_login=agent, queue="retail", at=start + wait))
            events.append(
                CallEnded(
                    call_id=call, outcome="answered", agent_login=agent, queue="retail", at=start + wait + 60
                )
            )
        else:
            events.append(
                CallEnded(call_id=call, outcome="abandoned_in_queue", queue="retail", at=start + wait)
            )
    for hms, name, call_id in STATES:
        at = local(hms).timestamp()
        events.append(AgentStateChanged(agent_login="alice", state=name, call_id=call_id, at=at))
    return events


def queue_rows() -> list[QueueEvent]:
    rows: list[QueueEvent] = []

    def row(when: datetime, call: str, event: str, agent: str | None = None, **data: Any) -> None:
        rows.append(
            QueueEvent(
                at=when, call_id=call, event=event, queue="retail", agent_login=agent, data=data or None
            )
        )

    for call, hms, wait, outcome, agent in CALLS:
        start = local(hms)
        row(start, call, "joined", position=1)
        then = datetime.fromtimestamp(start.timestamp() + wait, SITE)
        if outcome == "answered":
            row(then, call, "connected", agent, wait_seconds=wait, ring_seconds=2)
            done = datetime.fromtimestamp(then.timestamp() + 60, SITE)
            row(done, call, "completed", agent, talk_seconds=60, hold_seconds=0, by="caller")
        else:
            row(then, call, "abandoned", wait_seconds=wait, position=1, original_position=1)
    return rows


def agent_rows() -> list[AgentEvent]:
    return [
        AgentEvent(at=local(hms), agent_login="alice", state=name, call_id=call) for hms, name, call in STATES
    ]


@pytest.fixture
async def site_console(make_crm_console: CrmConsoleFactory) -> CrmConsole:
    config = WallboardConfig(tz=SITE, service_levels={"retail": 30.0}, clock=lambda: NOW, push_interval=0.05)
    console = await make_crm_console(wallboard=config)
    async with console.sessions() as session, session.begin():
        for model in (QueueEvent, AgentEvent, AcdQueue):
            await session.execute(delete(model))
        session.add(AcdQueue(name="retail", display_name="Retail banking", service_level_seconds=20))
        session.add(AcdQueue(name="vip", display_name="Private banking", service_level_seconds=10))
        session.add_all(queue_rows())
        session.add_all(agent_rows())
    for event in bus_events():
        await console.bus.publish(event)
    async with asyncio.timeout(WAIT):
        while console.app.state.wallboard.figures.totals("retail").offered < len(CALLS):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return console


def _retail(board: dict[str, Any]) -> dict[str, Any]:
    return next(q for q in board["queues"] if q["name"] == "retail")


async def test_one_days_service_level_is_the_same_on_the_wallboard_and_in_the_reports(
    site_console: CrmConsole,
) -> None:
    board = ok(await site_console.call("GET", "/api/wallboard", "sue"))
    retail = _retail(board)
    assert (board["day"], board["timezone"]) == (DAY, "Asia/Shanghai")
    assert retail["service_level_seconds"] == 30
    assert (retail["offered"], retail["answered"], retail["abandoned"], retail["short_abandoned"]) == (
        5,
        3,
        1,
        1,
    )
    assert retail["service_level"] == pytest.approx(0.5)

    # No tz: the report uses the site zone, and the wallboard's threshold, not the stored 20 s.
    report = ok(await site_console.call("GET", f"/api/reports/contact-center?from={DAY}", "sue"))
    assert report["tz"] == "Asia/Shanghai"
    assert report["service_level_seconds"] == {"retail": 30}
    (row,) = report["rows"]
    assert (row["group"], row["offered"], row["answered"]) == ("retail", 5, 3)
    assert row["service_level"] == pytest.approx(retail["service_level"])
    assert row["asa_seconds"] == pytest.approx(retail["asa_seconds"], abs=0.01)  # reports round to 0.01 s
    # Live AHT and occupancy (the agents serving the queue) tell the same as the report.
    assert row["aht_seconds"] == pytest.approx(retail["aht_seconds"]) == pytest.approx(70.0)
    assert row["occupancy"] == pytest.approx(retail["occupancy"]) == pytest.approx(0.15)
    whole = ok(await site_console.call("GET", f"/api/reports/contact-center?from={DAY}&group_by=all", "sue"))
    assert whole["rows"][0]["service_level"] == pytest.approx(board["totals"]["service_level"])
    assert whole["rows"][0]["occupancy"] == pytest.approx(board["totals"]["occupancy"]) == pytest.approx(0.15)

    # Per 15 minutes, too: every interval with a service level has the same one on both pages.
    series = ok(await site_console.call("GET", f"/api/reports/intervals?day={DAY}", "sue"))
    assert series["tz"] == "Asia/Shanghai"
    reported = {
        p["start"][11:16]: p["service_level"]
        for p in series["queues"]["retail"]
        if p["service_level"] is not None
    }
    live = dict(
        zip(board["interval_labels"], board["queue_intervals"]["retail"]["service_level"], strict=True)
    )
    shown = {label: level for label, level in live.items() if level is not None}
    assert reported == pytest.approx(shown)
    assert reported == {"00:00": 1.0, "00:15": 1.0, "00:30": 0.0, "09:00": 0.0}

    # Cut in UTC the same day looks different: the site zone is what made them agree.
    utc = ok(await site_console.call("GET", f"/api/reports/contact-center?from={DAY}&tz=UTC", "sue"))
    assert utc["tz"] == "UTC" and utc["rows"][0]["service_level"] == pytest.approx(0.0)


async def test_the_reports_page_is_told_the_zone_and_thresholds_the_wallboard_uses(
    site_console: CrmConsole,
) -> None:
    site = ok(await site_console.call("GET", "/api/reports/site", "sue"))
    assert site == {
        "timezone": "Asia/Shanghai",
        "default_service_level_seconds": 20.0,
        "queues": [
            {"name": "retail", "display_name": "Retail banking", "service_level_seconds": 30.0},
            {"name": "vip", "display_name": "Private banking", "service_level_seconds": 10.0},
        ],
    }
    refused(await site_console.call("GET", "/api/reports/site", "alice"), 403)
    assert (await site_console.call("GET", "/api/reports/site", None)).status_code == 401
    # A zone the server does not know is refused, and nothing falls back silently.
    refused(
        await site_console.call("GET", f"/api/reports/contact-center?from={DAY}&tz=Mars/Olympus", "sue"),
        422,
        "tz",
    )
    refused(await site_console.call("GET", f"/api/reports/contact-center?from={DAY}&tz=", "sue"), 422, "tz")


async def test_the_staffing_forecast_aims_at_each_queues_own_threshold_unless_told(
    site_console: CrmConsole,
) -> None:
    plan = ok(await site_console.call("GET", "/api/reports/staffing?day=2026-11-30&weeks=1", "sue"))
    assert (plan["target_seconds"], plan["tz"]) == (None, "Asia/Shanghai")
    assert {q["queue"]: q["target_seconds"] for q in plan["queues"]} == {"retail": 30.0, "vip": 10.0}
    asked = ok(
        await site_console.call("GET", "/api/reports/staffing?day=2026-11-30&target_seconds=15", "sue")
    )
    assert asked["target_seconds"] == 15
    assert {q["queue"]: q["target_seconds"] for q in asked["queues"]} == {"retail": 15.0, "vip": 15.0}
    text = (await site_console.call("GET", "/api/reports/staffing?day=2026-11-30&format=csv", "sue")).text
    assert text.removeprefix("\ufeff").splitlines()[0].endswith(",occupancy,target_seconds")
    refused(
        await site_console.call("GET", "/api/reports/staffing?day=2026-11-30&target_seconds=-1", "sue"), 422
    )


class GatedHistory:
    """The database history, read only once the test opens the gate (so live events come first)."""

    def __init__(self, inner: DbCallHistory) -> None:
        self.inner = inner
        self.gate = asyncio.Event()

    async def queued_calls(self, start: datetime, end: datetime) -> list[SeedCall]:
        await self.gate.wait()
        return await self.inner.queued_calls(start, end)

    async def agent_states(self, start: datetime, end: datetime) -> list[AgentStateChanged]:
        return await self.inner.agent_states(start, end)


@pytest.mark.parametrize("seen_live", [False, True], ids=["history-only", "last-state-live"])
async def test_a_restarted_wallboard_counts_the_agents_time_from_the_history_as_the_reports_do(
    make_crm_console: CrmConsoleFactory, seen_live: bool
) -> None:
    first = await make_crm_console()
    async with first.sessions() as session, session.begin():
        for model in (QueueEvent, AgentEvent, AcdQueue):
            await session.execute(delete(model))
        session.add(AcdQueue(name="retail", service_level_seconds=20))
        session.add_all(queue_rows())
        session.add_all(agent_rows())
        # Yesterday's last state: carol has been available since before midnight (counted from midnight on).
        session.add(
            AgentEvent(at=local("00:00:00") - timedelta(hours=2), agent_login="carol", state="available")
        )
    history = GatedHistory(DbCallHistory(first.sessions))
    config = WallboardConfig(
        tz=SITE, service_levels={"retail": 30.0}, clock=lambda: NOW, history=history, push_interval=0.05
    )
    console = await make_crm_console(wallboard=config)
    calls = [e for e in bus_events() if not isinstance(e, AgentStateChanged)]
    live_states = [e for e in bus_events() if isinstance(e, AgentStateChanged)][-1:] if seen_live else []
    for event in [*calls, *live_states]:
        await console.bus.publish(event)
    board = console.app.state.wallboard

    def folded() -> bool:
        return board.figures.totals("retail").handled == 3 and (
            not seen_live or "alice" in board.figures.agents
        )

    async with asyncio.timeout(WAIT):
        while not folded():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        history.gate.set()
        await board.seeded.wait()
    shown = ok(await console.call("GET", "/api/wallboard", "root"))
    report = ok(await console.call("GET", f"/api/reports/contact-center?from={DAY}&group_by=agent", "root"))
    rows = {r["group"]: r for r in report["rows"]}
    agents = {a["login"]: a for a in shown["agents"]}
    assert agents["alice"]["occupancy"] == pytest.approx(rows["alice"]["occupancy"]) == pytest.approx(0.15)
    assert agents["alice"]["state"] == "paused"
    # carol: available since before midnight until NOW, never handling: 0 %, on both pages.
    assert agents["carol"]["occupancy"] == pytest.approx(rows["carol"]["occupancy"]) == pytest.approx(0.0)
    retail = _retail(shown)
    assert retail["aht_seconds"] == pytest.approx(70.0)  # s1's wrap-up came from the history
