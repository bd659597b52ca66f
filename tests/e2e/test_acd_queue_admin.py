"""Database queues: admins change them over HTTP; the ACD routes by them now and after a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
from acd_kit import AgentSpec, world

from acd import Strategy
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, session_factory, upgrade

AGENTS = [AgentSpec("ann", "1001", ("general",))]


async def _staff(db_url: str) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        directory = AgentDirectory(session_factory(engine))
        await directory.create_agent("root", "Root", "pw-root", extension="9001", role="admin")
        await directory.create_agent("sue", "Sue", "pw-sue", extension="9002", role="supervisor")
    finally:
        await engine.dispose()


async def _client(url: str, login: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=10)
    answer = await client.post("/api/login", json={"login": login, "password": f"pw-{login}"})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


async def test_admins_change_queues_live_and_the_change_survives_a_restart(
    db_url: str, tmp_path: Path
) -> None:
    await _staff(db_url)
    async with world(db_url, tmp_path, AGENTS) as w:
        root = await _client(w.stack.http_url, "root")
        sue = await _client(w.stack.http_url, "sue")
        ann = await _client(w.stack.http_url, "ann")
        try:
            listed = await sue.get("/api/queues")
            assert listed.status_code == 200
            assert {q["name"] for q in listed.json()} >= {"general", "skilled", "over", "backup", "short"}
            assert (await ann.get("/api/queues")).status_code == 403
            change = {"settings": {"strategy": "fewest-calls", "priority": 5, "skills": ["fx"]}}
            assert (await sue.put("/api/queues/general", json=change)).status_code == 403
            saved = await root.put("/api/queues/general", json=change)
            assert saved.status_code == 200, saved.text
            assert saved.json()["strategy"] == "fewest-calls" and saved.json()["skills"] == ["fx"]
            live = w.acd.queue_config("general")
            assert (live.strategy, live.priority, live.skills) == (
                Strategy.FEWEST_CALLS,
                5,
                frozenset({"fx"}),
            )
            bad = await root.put("/api/queues/general", json={"settings": {"strategy": "random"}})
            assert bad.status_code == 422 and "strategy" in bad.json()["detail"]
            file_only = await root.put("/api/queues/general", json={"settings": {"bullseye": [[0, 1]]}})
            assert file_only.status_code == 422 and "queue file" in file_only.json()["detail"]
            dangling = {"settings": {"overflow": [{"after": 5, "action": "widen", "queue": "nowhere"}]}}
            missing = await root.put("/api/queues/general", json=dangling)
            assert missing.status_code == 422 and "nowhere" in missing.json()["detail"]
            assert w.acd.queue_config("general").strategy is Strategy.FEWEST_CALLS  # refused: nothing changed
        finally:
            for client in (root, sue, ann):
                await client.aclose()
    async with world(db_url, tmp_path, AGENTS, seeded=True) as w:
        restored = w.acd.queue_config("general")
        assert (restored.strategy, restored.priority) == (Strategy.FEWEST_CALLS, 5)
