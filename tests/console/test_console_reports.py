"""/api/reports over a live console: figures, CSV, queue_log, staffing, and who may see what.

The office of crm_harness (admin root; North: sue with alice and bob; South:
sam with carol) and a small hand-computed day in ``retail`` (SL 20 s):

    k1 09:00 alice answers after 10 s, talk 60 s
    k2 09:05 abandons after 30 s
    k3 09:10 carol answers after 40 s, talk 100 s
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from crm_harness import CrmConsole, ok, refused
from sqlalchemy import delete

from crm_core.models import AcdQueue, AgentEvent, QueueEvent

D = datetime(2026, 11, 20, tzinfo=UTC)
DAY = D.date().isoformat()


def _q(hh: int, mm: int, ss: int, call: str, event: str, agent: str | None = None, **data: Any) -> QueueEvent:
    at = D.replace(hour=hh, minute=mm, second=ss)
    return QueueEvent(at=at, call_id=call, event=event, queue="retail", agent_login=agent, data=data or None)


@pytest.fixture
async def console(crm_console: CrmConsole) -> CrmConsole:
    async with crm_console.sessions() as session, session.begin():
        for model in (QueueEvent, AgentEvent, AcdQueue):
            await session.execute(delete(model))
        session.add(AcdQueue(name="retail", service_level_seconds=20))
        session.add_all(
            [
                _q(9, 0, 0, "k1", "joined", position=1),
                _q(9, 0, 10, "k1", "connected", "alice", wait_seconds=10, ring_seconds=4),
                _q(9, 1, 10, "k1", "completed", "alice", talk_seconds=60, hold_seconds=0, by="caller"),
                _q(9, 5, 0, "k2", "joined", position=1),
                _q(9, 5, 30, "k2", "abandoned", wait_seconds=30, position=1, original_position=1),
                _q(9, 10, 0, "k3", "joined", position=1),
                _q(9, 10, 40, "k3", "connected", "carol", wait_seconds=40, ring_seconds=5),
                _q(9, 12, 20, "k3", "completed", "carol", talk_seconds=100, hold_seconds=0, by="agent"),
                AgentEvent(at=D.replace(hour=8), agent_login="alice", state="available"),
                AgentEvent(at=D.replace(hour=8), agent_login="carol", state="available"),
            ]
        )
    return crm_console


def _url(path: str, **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/reports/{path}?{query}"


async def test_queue_figures_json_and_csv(console: CrmConsole) -> None:
    body = ok(await console.call("GET", _url("contact-center", **{"from": DAY}), "root"))
    [retail] = body["rows"]
    assert (retail["group"], retail["offered"], retail["answered"], retail["abandoned"]) == (
        "retail",
        3,
        2,
        1,
    )
    assert retail["service_level"] == 0.3333  # k1 within 20 s ÷ (2 answered + k2 abandoned after 20 s)
    assert retail["asa_seconds"] == 25.0  # (10 + 40) / 2
    assert retail["aht_seconds"] == 80.0  # (60 + 100) / 2
    assert retail["abandon_rate"] == 0.3333
    response = await console.call("GET", _url("contact-center", format="csv", **{"from": DAY}), "sue")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("group,interval_start,offered,answered,")
    assert lines[1].startswith("retail,,3,2,")


async def test_agents_see_only_themselves(console: CrmConsole) -> None:
    mine = ok(await console.call("GET", _url("contact-center", group_by="agent", **{"from": DAY}), "alice"))
    assert [(r["group"], r["answered"], r["asa_seconds"]) for r in mine["rows"]] == [("alice", 1, 10.0)]
    for path in (
        _url("contact-center", group_by="queue", **{"from": DAY}),
        _url("contact-center", group_by="team", **{"from": DAY}),
        _url("intervals", day=DAY),
        _url("staffing", day=DAY),
        _url("queue-log", **{"from": DAY}),
    ):
        refused(await console.call("GET", path, "alice"), 403)
    refused(await console.call("GET", _url("contact-center", **{"from": DAY}), None), 401)


async def test_supervisors_see_their_teams(console: CrmConsole) -> None:
    north = ok(await console.call("GET", _url("contact-center", group_by="agent", **{"from": DAY}), "sue"))
    assert [r["group"] for r in north["rows"]] == ["alice"]
    south = ok(await console.call("GET", _url("contact-center", group_by="team", **{"from": DAY}), "sam"))
    assert [(r["group"], r["answered"]) for r in south["rows"]] == [("South", 1)]
    everyone = ok(
        await console.call("GET", _url("contact-center", group_by="agent", **{"from": DAY}), "root")
    )
    assert [r["group"] for r in everyone["rows"]] == ["alice", "carol"]


async def test_intervals_for_the_wallboard(console: CrmConsole) -> None:
    body = ok(await console.call("GET", _url("intervals", day=DAY, queue="retail"), "sue"))
    points = body["queues"]["retail"]
    assert len(points) == 96
    figures = [(p["offered"], p["answered"], p["abandoned"], p["service_level"]) for p in points[36:38]]
    assert figures == [(3, 2, 1, 0.3333), (0, 0, 0, None)]  # 09:00 holds k1, k2, k3; 09:15 is empty
    assert points[36]["start"].startswith(f"{DAY}T09:00:00")
    csv = await console.call("GET", _url("intervals", day=DAY, format="csv"), "root")
    assert csv.text.lstrip("\ufeff").splitlines()[0] == "queue,start,offered,answered,abandoned,service_level"


async def test_staffing_forecast(console: CrmConsole) -> None:
    week_later = (D + timedelta(weeks=1)).date().isoformat()
    body = ok(
        await console.call("GET", _url("staffing", day=week_later, weeks=1, interval_minutes=60), "root")
    )
    [retail] = body["queues"]
    assert (retail["queue"], retail["aht_seconds"], retail["aht_observed"]) == ("retail", 80.0, True)
    [nine] = retail["intervals"]
    assert (nine["offered"], nine["agents"]) == (3.0, 1)  # 3 calls × 80 s in an hour: 0.067 Erlang
    csv = await console.call("GET", _url("staffing", day=week_later, weeks=1, format="csv"), "root")
    assert csv.text.lstrip("\ufeff").splitlines()[1].startswith("retail,80.0,")


async def test_queue_log_download(console: CrmConsole) -> None:
    response = await console.call("GET", _url("queue-log", **{"from": DAY}), "root")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    epoch = int(D.replace(hour=9).timestamp())
    assert f"{epoch}|k1|retail|NONE|ENTERQUEUE||" in lines
    assert f"{epoch + 10}|k1|retail|Agent/alice|CONNECT|10|k1|4" in lines
    assert f"{epoch + 330}|k2|retail|NONE|ABANDON|1|1|30" in lines
    assert any("Agent/carol|AGENTLOGIN" in line for line in lines)
    sam = (await console.call("GET", _url("queue-log", **{"from": DAY}), "sam")).text
    assert "Agent/carol|AGENTLOGIN" in sam and "Agent/alice|AGENTLOGIN" not in sam


async def test_bad_input_is_a_clear_422(console: CrmConsole) -> None:
    refused(await console.call("GET", _url("contact-center", **{"from": "2026-13-01"}), "root"), 422, "from")
    refused(
        await console.call("GET", _url("contact-center", tz="Mars/Base", **{"from": DAY}), "root"), 422, "tz"
    )
    refused(
        await console.call("GET", _url("contact-center", to="2026-11-01", **{"from": DAY}), "root"), 422, "to"
    )
    refused(await console.call("GET", _url("contact-center", interval="5min", **{"from": DAY}), "root"), 422)
    refused(await console.call("GET", _url("staffing", day=DAY, target_level=2), "root"), 422, "target_level")
    refused(
        await console.call("GET", _url("staffing", day=DAY, interval_minutes=45), "root"),
        422,
        "interval_minutes",
    )
