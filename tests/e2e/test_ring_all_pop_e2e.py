"""A ring-all queue pops every ringing agent; the ones who did not answer lose the call (issue 12, item 8).

Three agents logged in over the websocket console client, their phones
ringing together through the PBX simulator over TCP: each gets the pop and
may read the customer while the phones ring; once one answers, the two
others get "taken by <agent>" and the CRM refuses them the customer.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from acd_kit import AgentSpec, CustomerSpec, world

from bankcti.bench.console_client import AgentConsoleClient, ReceivedMessage

CALLER = "+8613900000081"
QUEUES = """
[queues.general]
strategy = "ring-all"
wrapup_seconds = 0
ring_timeout = 60
"""
# ann answers after 30 simulated seconds (3 s real): time for every pop and every check while it rings.
AGENTS = [
    AgentSpec("ann", "1001", ("general",), answer_after=30.0),
    AgentSpec("bob", "1002", ("general",), answers=False),
    AgentSpec("cat", "1003", ("general",), answers=False),
]
# The customer belongs to dan (logged out): nobody else may read the record but through a call.
OWNER = AgentSpec("dan", "1004", ("general",))


async def customer_status(client: AgentConsoleClient, base_url: str, customer_id: int) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        response = await http.get(
            f"/api/crm/customers/{customer_id}", headers={"Authorization": f"Bearer {client.token}"}
        )
    return response.status_code


async def test_every_ringing_agent_gets_the_pop_and_the_others_lose_it_when_one_answers(
    db_url: str, tmp_path: Path
) -> None:
    customers = [CustomerSpec("Ring All", CALLER, owner="dan")]
    async with world(db_url, tmp_path, [*AGENTS, OWNER], customers, queues=QUEUES) as w:
        base = w.stack.http_url
        customer_id = w.customers["Ring All"]
        clients = {spec.login: AgentConsoleClient(base) for spec in AGENTS}
        try:
            for login, client in clients.items():
                await client.login(login, "pw-" + login)
                await client.connect()
                await client.set_state("available")
                assert await customer_status(client, base, customer_id) == 403, login
            call = await w.call(CALLER, "1", hangup_after_answer=20.0)

            pops: dict[str, ReceivedMessage] = {}
            for login, client in clients.items():
                pops[login] = await client.next_message("call.offered", timeout=15)
                # Received while the phones ring: nobody has answered yet.
                assert call.answered_by is None, f"{login}'s pop came after the answer"
            for login, pop in pops.items():
                assert pop.event["call_id"] == call.linkedid
                assert pop.event["agent_login"] == login
                assert sorted(pop.event["group"]) == ["ann", "bob", "cat"]
                assert pop.event["customer"]["id"] == customer_id
            # While their phones ring, each of them may read the caller's record.
            for login, client in clients.items():
                assert await customer_status(client, base, customer_id) == 200, login
            assert call.answered_by is None

            connected = await clients["ann"].next_message("call.connected", timeout=15)
            assert connected.event["agent_login"] == "ann"
            for login in ("bob", "cat"):
                taken = await clients[login].next_message("call.taken", timeout=15)
                assert taken.event["call_id"] == call.linkedid
                assert taken.event["taken_by"] == "ann"
                assert taken.event["agent_login"] == login
                assert taken.received_at > pops[login].received_at
                # The record is no longer theirs to read.
                assert await customer_status(clients[login], base, customer_id) == 403, login
            assert await customer_status(clients["ann"], base, customer_id) == 200
            assert not any(m.type == "call.taken" for m in clients["ann"].received)
            assert call.answered_by == "PJSIP/1001"
            assert w.acd.status("ann").state.value == "on_call"
            assert {w.acd.status(login).state.value for login in ("bob", "cat")} == {"available"}
            await call.hangup()
            await call.wait_finished(timeout=20)
        finally:
            for client in clients.values():
                await client.close()
        assert w.stack.service is not None
        record = await w.stack.service.interactions.get(call.linkedid)
        assert record is not None
        assert (record.outcome, record.agent_login) == ("answered", "ann")
