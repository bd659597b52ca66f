"""Faithfulness: scenarios a, e1 and e2 — login, errors and list responses
answer the recorded requests exactly like the real Asterisk."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from sim_harness import AmiTestClient, normalise, trace_bytes, trace_messages

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

FAIL_DELAY = 0.3


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(
        SimulatorConfig(
            ami_username="cti", ami_secret="cti-secret", login_failure_delay=FAIL_DELAY, agi_port=1
        )
    )
    await simulator.start()
    yield simulator
    await simulator.close()


async def test_e1_bad_login_and_security_events(sim: PbxSimulator) -> None:
    monitor = await AmiTestClient.connect(sim.ami_port)
    for request in trace_messages("ami-e1-security-events-monitor", "client-to-server")[:1]:
        monitor.send_message(request)
    await monitor.wait_for(lambda m: m.event == "SuccessfulAuth")

    intruder = await AmiTestClient.connect(sim.ami_port)
    started = time.monotonic()
    intruder.writer.write(trace_bytes("ami-e1-bad-login.client-to-server.raw"))
    await intruder.wait_closed()
    assert time.monotonic() - started >= FAIL_DELAY
    assert intruder.parser.banner == "Asterisk Call Manager/11.0.0"
    assert normalise(intruder.messages) == normalise(trace_messages("ami-e1-bad-login"))

    await monitor.wait_for(lambda m: m.event == "InvalidPassword")
    monitor.send_message(trace_messages("ami-e1-security-events-monitor", "client-to-server")[1])
    await monitor.wait_closed()
    ours = normalise(monitor.messages)
    real = normalise(trace_messages("ami-e1-security-events-monitor"))
    assert [dict(m).get("Event") for m in ours] == [dict(m).get("Event") for m in real]
    for mine, theirs in zip(ours, real, strict=True):
        assert [k for k, _ in mine] == [k for k, _ in theirs]
    denied = next(m for m in monitor.messages if m.event == "RequestNotAllowed")
    assert denied["RequestType"] == "Action: CoreSettings" and denied["AccountID"] == ""
    invalid = next(m for m in monitor.messages if m.event == "InvalidPassword")
    assert invalid["AccountID"] == "cti" and invalid["EventVersion"] == "2"


async def test_e2_bad_actions_answer_like_asterisk(sim: PbxSimulator) -> None:
    client = await AmiTestClient.connect(sim.ami_port)
    client.writer.write(trace_bytes("ami-e2-bad-actions.client-to-server.raw"))
    await client.wait_closed()
    ours, real = client.messages, trace_messages("ami-e2-bad-actions")
    assert [m.keys() for m in ours] == [m.keys() for m in real]
    for mine, theirs in zip(ours, real, strict=True):
        if mine.getall("Output"):
            assert mine.getall("Output")[0].startswith(
                "support has 0 calls (max unlimited) in 'ringall' strategy ("
            )
            assert (
                "Agent 1001 (Local/1001@agents/n from Local/1001@agents) (ringinuse disabled) (Not in use)"
                in (mine.getall("Output")[2])
            )
            assert mine.getall("Output")[1:2] + mine.getall("Output")[3:] == (
                theirs.getall("Output")[1:2] + theirs.getall("Output")[3:]
            )
            continue
        assert mine == theirs


async def test_a_lists_and_core_actions_have_trace_shapes(sim: PbxSimulator) -> None:
    client = await AmiTestClient.connect(sim.ami_port)
    client.writer.write(trace_bytes("ami-a-login-coresettings-queuestatus-logoff.client-to-server.raw"))
    await client.wait_closed()
    real = trace_messages("ami-a-login-coresettings-queuestatus-logoff")
    assert [m.keys() for m in client.messages] == [m.keys() for m in real]
    assert _same_except_dates(client.messages, real)


def _same_except_dates(ours: list[AmiMessage], real: list[AmiMessage]) -> bool:
    dated = {"CoreStartupDate", "CoreStartupTime", "CoreReloadDate", "CoreReloadTime", "LoginTime"}
    for mine, theirs in zip(ours, real, strict=True):
        if mine.event in ("SuccessfulAuth", "FullyBooted"):
            continue
        for (key, value), (_key, real_value) in zip(mine.fields, theirs.fields, strict=True):
            if key not in dated and value != real_value:
                return False
    return True


async def test_action_before_login_and_unknown_user(sim: PbxSimulator) -> None:
    client = await AmiTestClient.connect(sim.ami_port)
    client.send(("Action", "Ping"), ("ActionID", "p1"))
    denied = await client.wait_for(lambda m: m.get("ActionID") == "p1")
    assert denied.fields == [("Response", "Error"), ("ActionID", "p1"), ("Message", "Permission denied")]
    client.send(("Action", "Login"), ("Username", "nobody"), ("Secret", "x"))
    await client.wait_closed()
    assert client.messages[-1].fields == [("Response", "Error"), ("Message", "Authentication failed")]
