"""A call the IVR could not identify during a PostgreSQL outage is linked to its customer afterwards (item 4).

The PBX simulator places real calls over TCP to a real service on a private
cluster that the test has stopped: the IVR's caller-ID lookup fails, the
caller goes on unidentified, the call's history waits in the spool.  Once the
cluster is back, the call is linked to the one customer with the caller's
number — and the history says the link came from the number afterwards; a
number several customers share links nobody.
"""

from __future__ import annotations

from pathlib import Path

from fault_kit import fault_settings, seed_customer, wait_until
from pg_cluster import PgCluster
from sqlalchemy import select

from bankcti.bus import InProcessBus
from bankcti.stack import EmbeddedStack
from crm_core.models import Interaction
from cti.simulator import CallerScript

SOLO = "+8613800000001"  # one customer
SHARED = "+8613800000002"  # a family landline: two customers
CALL_TIMEOUT = 20.0


async def test_calls_during_an_outage_are_linked_by_caller_number_once_the_database_is_back(
    pg: PgCluster, pg_db_url: str, tmp_path: Path
) -> None:
    solo = await seed_customer(pg_db_url, "Wang Fang", SOLO)
    await seed_customer(pg_db_url, "Chen Jie", SHARED)
    await seed_customer(pg_db_url, "Chen Min", SHARED)
    settings = fault_settings(tmp_path, pg_db_url)
    async with EmbeddedStack(settings, speed=10.0, bus=InProcessBus()) as stack:
        assert stack.simulator is not None and stack.service is not None
        service = stack.service
        # Before the outage: the IVR itself identifies the caller; nothing is marked.
        before = await stack.simulator.place_call(CallerScript(caller_id=SOLO))
        await before.wait_finished(timeout=CALL_TIMEOUT)

        await pg.stop_async("fast")
        calls = {}
        for number in (SOLO, SHARED):
            call = await stack.simulator.place_call(CallerScript(caller_id=number))
            await call.wait_finished(timeout=CALL_TIMEOUT)
            calls[number] = call.linkedid
        assert service.history.waiting > 0  # the calls' history waits on disk, not lost
        await pg.start_async()

        async def row(call_id: str) -> Interaction | None:
            async with service.sessions() as session:
                return await session.scalar(select(Interaction).where(Interaction.call_id == call_id))

        async def settled() -> bool:
            rows = [await row(call_id) for call_id in calls.values()]
            return all(r is not None and r.customer_link is not None and r.outcome for r in rows)

        await wait_until(settled, within=30, what="the outage calls' history written and settled")
        await service.history.emptied()

        linked = await row(calls[SOLO])
        assert linked is not None
        assert (linked.customer_id, linked.customer_link) == (solo, "caller_number")
        assert linked.caller_e164 == SOLO
        # The IVR's own record is untouched: it could not look the caller up, and says so.
        assert linked.ivr_path is not None
        assert [step["result"] for step in linked.ivr_path][:1] == ["lookup-failed"]

        shared = await row(calls[SHARED])
        assert shared is not None
        assert (shared.customer_id, shared.customer_link) == (None, "ambiguous")

        identified = await row(before.linkedid)
        assert identified is not None
        assert (identified.customer_id, identified.customer_link) == (solo, None)

        record = await service.interactions.get(calls[SOLO])
        assert record is not None and record.customer_link == "caller_number"
