"""An agent who does not answer: the call goes back to the head of the queue,
the agent is paused with reason ``no-answer``, the next agent gets it."""

from __future__ import annotations

from pathlib import Path

from bankcti.bench.console_client import AgentConsoleClient
from bankcti.settings import load_settings
from bankcti.stack import EmbeddedStack
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, session_factory
from cti.simulator import AgentPhone, CallerScript


async def _agents(url: str) -> None:
    engine = create_engine(url)
    try:
        directory = AgentDirectory(session_factory(engine))
        for login, ext in (("anna", "1001"), ("bob", "1002")):
            await directory.create_agent(
                login,
                login.title(),
                "pass-" + login,
                extension=ext,
                device=f"PJSIP/{ext}",
                queues=["general"],
            )
    finally:
        await engine.dispose()


async def test_unanswered_offer_moves_to_the_next_agent_and_pauses_the_first(
    db_url: str, tmp_path: Path
) -> None:
    await _agents(db_url)
    settings = load_settings(
        environ={},
        overrides={
            "database_url": db_url,
            "data_dir": tmp_path,
            "acd_ring_timeout": 10,
            "acd_hold_poll_ms": 50,
            "ivr_ignore_business_hours": True,
        },
    )
    phones = [
        AgentPhone(device="PJSIP/1001", answers=False),
        AgentPhone(device="PJSIP/1002", answer_after=1.0),
    ]
    async with EmbeddedStack(settings, speed=20, phones=phones) as stack:
        assert stack.simulator is not None and stack.service is not None
        anna, bob = AgentConsoleClient(stack.http_url), AgentConsoleClient(stack.http_url)
        try:
            for client, login in ((anna, "anna"), (bob, "bob")):
                await client.login(login, "pass-" + login)
                await client.connect()
            await anna.set_state("available")  # anna has waited longest: she is offered first
            await bob.set_state("available")
            call = await stack.simulator.place_call(
                CallerScript(caller_id="+8613900000001", keys=["2", "0"], hangup_after_answer=4.0)
            )
            first = await anna.next_message("call.offered", timeout=15)
            assert first.event["call_id"] == call.linkedid
            while True:
                state = await anna.next_message("agent.state", timeout=15)
                if state.event["state"] == "paused":
                    break
            assert state.event["reason"] == "no-answer"
            second = await bob.next_message("call.offered", timeout=15)
            assert second.event["call_id"] == call.linkedid
            result = await call.wait_finished(timeout=20)
            assert result.dial_statuses == ["NOANSWER", "ANSWER"]
            assert result.answered_by == "PJSIP/1002"
            await bob.next_message("call.ended", timeout=10)
        finally:
            await anna.close()
            await bob.close()
        assert stack.service.acd.status("anna").state == "paused"
        record = await stack.service.interactions.get(call.linkedid)
    assert record is not None
    assert record.outcome == "answered"
    assert record.agent_login == "bob"
