"""The call-control API of the console: who may act on which call, and how errors reach the user.

A real console (uvicorn on 127.0.0.1, real database, the office of
crm_harness) with a recording :class:`~agent_console.ports.CallControl`
behind it; the end-to-end path through AMI is tests/e2e/test_call_control.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from console_harness import offer
from crm_harness import CrmConsole, CrmConsoleFactory, ok, refused

from agent_console.schemas import AgentStatus


class RecordingCalls:
    """Records every call-control request; ``fail`` makes the next one raise."""

    def __init__(self) -> None:
        self.done: list[tuple[Any, ...]] = []
        self.fail: BaseException | None = None
        self.outbound: dict[str, str] = {}

    def _record(self, *entry: Any) -> None:
        if self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        self.done.append(entry)

    async def hold(self, login: str, call_id: str) -> None:
        self._record("hold", login, call_id)

    async def resume(self, login: str, call_id: str) -> None:
        self._record("resume", login, call_id)

    async def hangup(self, login: str, call_id: str) -> None:
        self._record("hangup", login, call_id)

    async def transfer(self, login: str, call_id: str, *, kind: str, target_type: str, target: str) -> None:
        self._record("transfer", login, call_id, kind, target_type, target)

    async def complete_transfer(self, login: str, call_id: str) -> None:
        self._record("complete", login, call_id)

    async def cancel_transfer(self, login: str, call_id: str) -> None:
        self._record("cancel", login, call_id)

    def dialled_by(self, call_id: str) -> str | None:
        return self.outbound.get(call_id)

    async def dial(self, login: str, customer_id: int, number: str) -> str:
        self._record("dial", login, customer_id, number)
        self.outbound["out-1"] = login
        return "out-1"

    async def spy(self, supervisor: str, agent: str, mode: str) -> None:
        self._record("spy", supervisor, agent, mode)

    async def force_state(self, login: str, state: str, reason: str | None, *, by: str) -> AgentStatus:
        self._record("force", login, state, reason, by)
        return AgentStatus.model_validate(
            {"login": login, "state": state, "reason": reason, "since": time.time()}
        )

    async def move_call(self, call_id: str, queue: str, *, by: str) -> None:
        self._record("move", call_id, queue, by)


@pytest.fixture
async def calls() -> RecordingCalls:
    return RecordingCalls()


@pytest.fixture
async def desk(make_crm_console: CrmConsoleFactory, calls: RecordingCalls) -> CrmConsole:
    console = await make_crm_console(calls=calls)
    console.control.statuses["alice"] = AgentStatus.model_validate(
        {"login": "alice", "state": "on_call", "since": time.time(), "call_id": "c1"}
    )
    return console


async def until(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached")


async def test_every_route_needs_a_live_token(desk: CrmConsole) -> None:
    for path in (
        "/api/calls/c1/hold",
        "/api/calls/c1/hangup",
        "/api/dial",
        "/api/supervisor/agents/alice/spy",
        "/api/supervisor/calls/c1/move",
    ):
        refused(await desk.call("POST", path, None, json={}), 401)
    schema = ok(await desk.http.get("/openapi.json"))
    for path in (
        "/api/calls/{call_id}/hold",
        "/api/calls/{call_id}/resume",
        "/api/calls/{call_id}/hangup",
        "/api/calls/{call_id}/transfer",
        "/api/calls/{call_id}/transfer/complete",
        "/api/calls/{call_id}/transfer/cancel",
        "/api/dial",
        "/api/supervisor/agents/{login}/spy",
        "/api/supervisor/agents/{login}/state",
        "/api/supervisor/calls/{call_id}/move",
    ):
        assert path in schema["paths"], path


async def test_an_agent_acts_only_on_the_call_they_are_on(desk: CrmConsole, calls: RecordingCalls) -> None:
    for action in ("hold", "resume", "hangup", "transfer/complete", "transfer/cancel"):
        ok(await desk.call("POST", f"/api/calls/c1/{action}", "alice"))
    assert [entry[0] for entry in calls.done] == ["hold", "resume", "hangup", "complete", "cancel"]
    assert all(entry[1:] == ("alice", "c1") for entry in calls.done)
    calls.done.clear()
    assert "not on this call" in refused(await desk.call("POST", "/api/calls/c1/hold", "bob"), 403)
    refused(await desk.call("POST", "/api/calls/c2/hold", "alice"), 403)
    refused(await desk.call("POST", "/api/calls/c1/hold", "carol"), 403)  # not even an ACD agent here
    refused(await desk.call("POST", "/api/calls/c1/hold", "sue"), 403)
    refused(await desk.call("POST", "/api/calls/c1/hangup", "sam"), 403)  # c1 was never offered through us
    assert calls.done == []


async def test_transfer_requests_are_checked_before_they_reach_the_pbx(
    desk: CrmConsole, calls: RecordingCalls
) -> None:
    body = {"kind": "blind", "target_type": "queue", "target": "retail"}
    ok(await desk.call("POST", "/api/calls/c1/transfer", "alice", json=body))
    assert calls.done == [("transfer", "alice", "c1", "blind", "queue", "retail")]
    refused(
        await desk.call("POST", "/api/calls/c1/transfer", "alice", json={**body, "kind": "warm"}), 422, "kind"
    )
    refused(
        await desk.call("POST", "/api/calls/c1/transfer", "alice", json={**body, "target_type": "x"}),
        422,
        "target_type",
    )
    refused(
        await desk.call("POST", "/api/calls/c1/transfer", "alice", json={**body, "target": ""}), 422, "target"
    )
    yourself = {"kind": "attended", "target_type": "agent", "target": "alice"}
    assert "yourself" in refused(
        await desk.call("POST", "/api/calls/c1/transfer", "alice", json=yourself), 409
    )
    assert len(calls.done) == 1


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValueError("the call is already on hold"), 409),
        (LookupError("alice has no channel on call c1"), 404),
        (PermissionError("no"), 403),
        (ConnectionError("the PBX is not reachable"), 503),
    ],
)
async def test_port_errors_become_clear_4xx_and_503(
    desk: CrmConsole, calls: RecordingCalls, error: BaseException, status: int
) -> None:
    calls.fail = error
    assert refused(await desk.call("POST", "/api/calls/c1/hold", "alice"), status) == str(error)


async def test_supervisors_act_on_the_agents_of_their_teams_only(
    desk: CrmConsole, calls: RecordingCalls
) -> None:
    ok(await desk.call("POST", "/api/supervisor/agents/alice/spy", "sue", json={"mode": "barge"}))
    ok(await desk.call("POST", "/api/supervisor/agents/alice/spy", "root", json={"mode": "listen"}))
    assert calls.done == [("spy", "sue", "alice", "barge"), ("spy", "root", "alice", "listen")]
    assert "not an agent of your teams" in refused(
        await desk.call("POST", "/api/supervisor/agents/alice/spy", "sam", json={"mode": "listen"}), 403
    )
    refused(await desk.call("POST", "/api/supervisor/agents/alice/spy", "bob", json={"mode": "listen"}), 403)
    refused(
        await desk.call("POST", "/api/supervisor/agents/alice/spy", "sue", json={"mode": "loud"}), 422, "mode"
    )
    assert "not on a call" in refused(
        await desk.call("POST", "/api/supervisor/agents/bob/spy", "sue", json={"mode": "listen"}), 409
    )
    calls.done.clear()

    state = ok(await desk.call("POST", "/api/supervisor/agents/bob/state", "sue", json={"state": "paused"}))
    assert state["state"] == "paused"
    assert calls.done == [("force", "bob", "paused", None, "sue")]
    refused(
        await desk.call("POST", "/api/supervisor/agents/carol/state", "sue", json={"state": "paused"}), 403
    )
    refused(
        await desk.call("POST", "/api/supervisor/agents/bob/state", "sam", json={"state": "logged_out"}), 403
    )
    refused(
        await desk.call("POST", "/api/supervisor/agents/bob/state", "alice", json={"state": "paused"}), 403
    )
    refused(
        await desk.call("POST", "/api/supervisor/agents/bob/state", "sue", json={"state": "on_call"}), 422
    )

    ok(await desk.call("POST", "/api/supervisor/calls/w1/move", "sue", json={"queue": "vip"}))
    refused(await desk.call("POST", "/api/supervisor/calls/w1/move", "alice", json={"queue": "vip"}), 403)
    assert calls.done[-1] == ("move", "w1", "vip", "sue")

    # Hanging up an agent's call: the supervisor of that agent, through the agent's leg.
    await desk.bus.publish(offer("c1", "alice"))
    await until(lambda: desk.app.state.hub.offered_to("c1") == "alice")
    refused(await desk.call("POST", "/api/calls/c1/hangup", "sam"), 403)
    ok(await desk.call("POST", "/api/calls/c1/hangup", "sue"))
    assert calls.done[-1] == ("hangup", "alice", "c1")


async def test_click_to_dial_calls_a_number_of_a_customer_the_agent_may_see(
    desk: CrmConsole, calls: RecordingCalls
) -> None:
    zhang = desk.customer("zhang")  # alice's, phone +8613800138000
    started = ok(await desk.call("POST", "/api/dial", "alice", json={"customer_id": zhang}))
    assert started["call_id"] == "out-1" and started["number"] == "*******8000"
    assert calls.done == [("dial", "alice", zhang, "+8613800138000")]
    ok(
        await desk.call(
            "POST", "/api/dial", "alice", json={"customer_id": zhang, "number": "86 138-0013-8000"}
        )
    )
    assert calls.done[-1][-1] == "+8613800138000"
    detail = refused(
        await desk.call(
            "POST", "/api/dial", "alice", json={"customer_id": zhang, "number": "+8613999999999"}
        ),
        422,
    )
    assert "not one of this customer's numbers" in detail
    refused(await desk.call("POST", "/api/dial", "bob", json={"customer_id": zhang}), 403)
    refused(await desk.call("POST", "/api/dial", "alice", json={"customer_id": desk.customer("pool")}), 403)
    refused(await desk.call("POST", "/api/dial", "alice", json={"customer_id": 0}), 422, "customer_id")
    ok(await desk.call("POST", "/api/dial", "sue", json={"customer_id": zhang}))  # a supervisor of alice
    assert len(calls.done) == 3
    # The outbound call is the dialler's own: they may hang it up, nobody else may.
    calls.outbound["out-1"] = "alice"
    ok(await desk.call("POST", "/api/calls/out-1/hangup", "alice"))
    refused(await desk.call("POST", "/api/calls/out-1/hangup", "bob"), 403)
