"""Wrap-up discipline through the real service: simulated PBX, HTTP console, database, bus.

A queue with ``disposition_required``: after a call the agent is not offered
the next waiting caller until the call's wrap-up is saved over HTTP
(``PUT /api/calls/{id}/wrap-up``); when nobody saves it, the queue's maximum
frees the agent and the call shows "not wrapped up" in the customer's
follow-ups (``wrapup_missed_at``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from acd_kit import AgentSpec, CustomerSpec, World, world

from acd.events import WrapUpMissed
from bankcti.bench.console_client import AgentConsoleClient

FIRST, SECOND = "+8613900000021", "+8613900000022"

QUEUES = """
[queues.general]
wrapup_seconds = {wrapup}
wrapup_max_seconds = {maximum}
disposition_required = true
ring_timeout = 6
announce_seconds = 60

[queues.skilled]
skills = ["fx"]
[queues.over]
[queues.short]
"""


def _queues(wrapup: float, maximum: float) -> str:
    return QUEUES.format(wrapup=wrapup, maximum=maximum)


async def _state(http: httpx.AsyncClient, console: AgentConsoleClient) -> dict[str, Any]:
    response = await http.get("/api/agent/state", headers={"Authorization": f"Bearer {console.token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _until(check: Any, within: float = 15.0) -> None:
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not true within {within} s")


async def _first_call_done(w: World, console: AgentConsoleClient) -> str:
    """ann takes a call of ``general`` and the caller hangs up; returns its id."""
    first = await w.call(FIRST, "1", hangup_after_answer=2.0)
    offered = await console.next_message("call.offered", timeout=15)
    call_id = str(offered.event["call_id"])
    assert call_id == first.linkedid
    await first.wait_finished(timeout=20)
    await w.recorder.transition(call_id, "completed")
    return call_id


async def test_agent_is_offered_the_next_caller_only_once_the_wrapup_is_saved(
    db_url: str, tmp_path: Path
) -> None:
    agent = AgentSpec("ann", "1001", ("general",), answer_after=0.5)
    customers = [CustomerSpec("First Caller", FIRST, owner="ann"), CustomerSpec("Second Caller", SECOND)]
    async with world(db_url, tmp_path, [agent], customers, queues=_queues(1, 120)) as w:
        console = AgentConsoleClient(w.stack.http_url)
        http = httpx.AsyncClient(base_url=w.stack.http_url, timeout=10)
        auth: dict[str, str] = {}
        try:
            await console.login("ann", "pw-ann")
            auth = {"Authorization": f"Bearer {console.token}"}
            await console.connect()
            await console.set_state("available")
            call_id = await _first_call_done(w, console)

            status = await _state(http, console)
            assert status["state"] == "wrap_up" and status["call_id"] == call_id
            assert status["wrapup_required"] is True
            assert status["wrapup_max_until"] - status["wrapup_until"] == 119  # 1 s, at most 120 s

            second = await w.call(SECOND, "1")
            await w.waiting(second, "general")
            # Past the wrap-up time: still in wrap-up, and the waiting caller is not offered to ann.
            await asyncio.sleep(max(0.0, status["wrapup_until"] - time.time()) + 1.0)
            status = await _state(http, console)
            assert (status["state"], status["wrapup_required"]) == ("wrap_up", True)
            assert second.linkedid not in [call for call, _ in w.recorder.offers()]
            assert [c.call_id for c in w.acd.waiting_calls("general")] == [second.linkedid]

            ready = await http.post("/api/agent/state", json={"state": "available"}, headers=auth)
            assert ready.status_code == 400
            assert "save the call's wrap-up first" in ready.json()["detail"]

            extended = await http.post("/api/agent/wrap-up/extend", json={"seconds": 5}, headers=auth)
            assert extended.status_code == 200, extended.text
            assert extended.json()["wrapup_until"] > status["wrapup_until"]
            for bad in (0, 601, "soon"):
                refused = await http.post("/api/agent/wrap-up/extend", json={"seconds": bad}, headers=auth)
                assert refused.status_code == 422, refused.text
            beyond = await http.post("/api/agent/wrap-up/extend", json={"seconds": 600}, headers=auth)
            assert beyond.status_code == 409
            assert "at most 120 s after the call" in beyond.json()["detail"]
            assert (await _state(http, console))["wrapup_until"] == extended.json()["wrapup_until"]

            # Notes without a disposition are stored, but the queue requires a disposition: still held.
            notes_only = await console.save_wrapup(call_id, "Asked for the branch hours.")
            assert notes_only.status_code == 200, notes_only.text
            assert notes_only.json()["notes"] == "Asked for the branch hours."
            assert notes_only.json()["disposition"] is None
            status = await _state(http, console)
            assert (status["state"], status["wrapup_required"]) == ("wrap_up", True)
            still = await http.post("/api/agent/state", json={"state": "available"}, headers=auth)
            assert still.status_code == 400 and "save the call's wrap-up first" in still.json()["detail"]
            assert second.linkedid not in [call for call, _ in w.recorder.offers()]

            saved = await console.save_wrapup(call_id, "Asked for the branch hours.", "resolved")
            assert saved.status_code == 200, saved.text
            # Saved: the extension still runs (the agent asked for it); "ready" is allowed now.
            status = await _state(http, console)
            assert (status["state"], status["wrapup_required"]) == ("wrap_up", False)
            await console.set_state("available")
            assert await w.recorder.offered(second.linkedid) == "ann"
            await second.hangup()
        finally:
            await http.aclose()
            await console.close()


async def test_the_maximum_frees_the_agent_and_flags_the_call(db_url: str, tmp_path: Path) -> None:
    agent = AgentSpec("ann", "1001", ("general",), answer_after=0.5)
    customers = [CustomerSpec("First Caller", FIRST, owner="ann"), CustomerSpec("Second Caller", SECOND)]
    async with world(db_url, tmp_path, [agent], customers, queues=_queues(0.5, 3)) as w:
        console = AgentConsoleClient(w.stack.http_url)
        http = httpx.AsyncClient(base_url=w.stack.http_url, timeout=10)
        try:
            await console.login("ann", "pw-ann")
            auth = {"Authorization": f"Bearer {console.token}"}
            await console.connect()
            await console.set_state("available")
            call_id = await _first_call_done(w, console)
            second = await w.call(SECOND, "1")
            await w.waiting(second, "general")

            missed = await w.recorder.wait_for(lambda e: isinstance(e, WrapUpMissed) and e.call_id == call_id)
            assert isinstance(missed, WrapUpMissed) and (missed.agent_login, missed.queue) == (
                "ann",
                "general",
            )
            assert await w.recorder.offered(second.linkedid) == "ann"  # freed by the maximum
            idle = await http.post("/api/agent/wrap-up/extend", json={"seconds": 10}, headers=auth)
            assert idle.status_code == 409 and "not in wrap-up" in idle.json()["detail"]
            await second.hangup()

            customer = w.customers["First Caller"]

            async def flagged() -> bool:
                page = await http.get(f"/api/crm/customers/{customer}/follow-ups", headers=auth)
                assert page.status_code == 200, page.text
                calls = [item for item in page.json()["items"] if item["call_id"] == call_id]
                return bool(calls) and calls[0]["wrapup_missed_at"] is not None

            await _until(flagged)
            # Saving it late records the wrap-up; the call still counts as not wrapped up in time.
            saved = await console.save_wrapup(call_id, "Late note.", "resolved")
            assert saved.status_code == 200, saved.text
        finally:
            await http.aclose()
            await console.close()
