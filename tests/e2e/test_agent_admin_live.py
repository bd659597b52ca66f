"""Agent accounts changed while the service runs reach its ACD at once: no restart.

Over the console's admin API (same process: applied before the answer) and
over ``bankcti agents …`` (another command, which signals the service through
the pid file), against the real stack and the PBX simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from acd_kit import AgentSpec, CustomerSpec, world

from acd.model import AgentState, UnknownAgent
from bankcti.cli.main import main
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, session_factory, upgrade
from cti.simulator import AgentPhone

AGENTS = [AgentSpec("ann", "1001", ("general",))]
CALLER = CustomerSpec("Li Lei", "+8613800138011")


async def _admin(db_url: str) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        await AgentDirectory(session_factory(engine)).create_agent(
            "root", "Root", "root-pass-1", extension="9001", role="admin"
        )
    finally:
        await engine.dispose()


async def _client(url: str, login: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=10)
    answer = await client.post("/api/login", json={"login": login, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


async def _until(check: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``check`` (the ACD's state: nothing to wait on) until true, within ``within`` seconds."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_agents_added_changed_and_disabled_over_the_api_route_at_once(
    db_url: str, tmp_path: Path
) -> None:
    await _admin(db_url)
    async with world(db_url, tmp_path, AGENTS, [CALLER]) as w:
        root = await _client(w.stack.http_url, "root", "root-pass-1")
        try:
            w.stack.add_phone(AgentPhone("PJSIP/1002", answer_after=0.5, talk_seconds=1.0))
            bob = {
                "login": "bob", "name": "Bob", "extension": "1002", "device": "PJSIP/1002",
                "queues": ["skilled"], "skills": {"fx": 5}, "password": "bob-pass-1",
            }  # fmt: skip
            unknown = await root.post("/api/admin/agents", json={**bob, "queues": ["nowhere"]})
            assert unknown.status_code == 422 and unknown.json()["field"] == "queues"
            with pytest.raises(UnknownAgent):
                w.acd.status("bob")  # refused: nothing reached the ACD either
            created = await root.post("/api/admin/agents", json=bob)
            assert created.status_code == 201, created.text
            record = w.acd.status("bob")  # registered before the answer came back
            assert (record.device, record.queues, dict(record.skills)) == (
                "PJSIP/1002",
                {"skilled"},
                {"fx": 5},
            )
            console = await _client(w.stack.http_url, "bob", "bob-pass-1")
            try:
                ready = await console.post("/api/agent/state", json={"state": "available"})
                assert ready.status_code == 200, ready.text
            finally:
                await console.aclose()
            first = await w.call(CALLER.phone, "2")  # the skilled queue, fx required
            assert await w.recorder.offered(first.linkedid) == "bob"
            await w.recorder.transition(first.linkedid, "completed", within=20)
            await _until(lambda: w.acd.status("bob").state is not AgentState.ON_CALL)

            disabled = await root.post("/api/admin/agents/bob/disable")
            assert disabled.status_code == 200, disabled.text
            with pytest.raises(UnknownAgent):
                w.acd.status("bob")  # logged out and out of routing
            assert await w.recorder.wait_for(
                lambda e: (
                    getattr(e, "agent_login", None) == "bob" and getattr(e, "state", None) == "logged_out"
                )
            )
            changed = await root.patch(
                "/api/admin/agents/ann", json={"queues": ["general", "skilled"], "skills": {"fx": 3}}
            )
            assert changed.status_code == 200, changed.text
            assert w.acd.status("ann").queues == {"general", "skilled"}
            await w.state("ann", "available")
            second = await w.call(CALLER.phone, "2")
            assert await w.recorder.offered(second.linkedid, within=20) == "ann"
        finally:
            await root.aclose()


async def test_a_change_made_with_the_command_line_reaches_the_running_service(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _admin(db_url)
    async with world(db_url, tmp_path, AGENTS, [CALLER]) as w:
        # The command reads the same settings as the service: database, queue file and menus.
        monkeypatch.setenv("BANKCTI_DATABASE_URL", db_url)
        monkeypatch.setenv("BANKCTI_ACD_QUEUE_FILE", str(tmp_path / "queues.toml"))
        monkeypatch.setenv("BANKCTI_IVR_MENU_DIR", str(tmp_path / "menus"))
        data_dir = str(tmp_path / "data")  # the service's: its pid file is there
        status = await asyncio.to_thread(
            main,
            [
                "agents",
                "set",
                "ann",
                "--device",
                "PJSIP/1009",
                "--queues",
                "general,over",
                "--data-dir",
                data_dir,
            ],
        )
        assert status == 0
        # Well before the roster's 30 s poll: the command signalled the service (SIGUSR1).
        await _until(lambda: w.acd.status("ann").device == "PJSIP/1009")
        assert w.acd.status("ann").queues == {"general", "over"}
        status = await asyncio.to_thread(main, ["agents", "disable", "ann", "--data-dir", data_dir])
        assert status == 0
        await _until(lambda: "ann" not in {record.login for record in w.acd.agents()})
