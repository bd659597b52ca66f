"""An account change made on one service reaches another over the bus (in-process, and over MQTT).

Two :class:`AgentRoster` objects stand for two bankcti processes on one
database: the first commits a change through the admin API
(:meth:`AgentRoster.agents_changed`), the second must apply the agents table
at once on the ``agents.changed`` event, not at its next poll; neither
applies its own notice twice.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from test_pop_gate_bus import two_processes, until

from bankcti.acd_runtime import AcdRuntime
from bankcti.roster import AgentRoster
from crm_core.contact_center.agents import AgentDirectory


class CountingRuntime:
    """The part of the ACD runtime a roster drives: how many times it re-read the agents table."""

    def __init__(self) -> None:
        self.syncs = 0

    async def sync_agents(self) -> Any:
        self.syncs += 1
        return None


class Stamps:
    """Credential stamps as the agents table gives them (one shared table for both services)."""

    def __init__(self) -> None:
        self.table = {"ann": "1"}

    async def credential_stamps(self) -> dict[str, str]:
        return dict(self.table)


@pytest.mark.parametrize("kind", ["inprocess", pytest.param("mqtt", marks=pytest.mark.mqtt)])
async def test_a_change_committed_on_one_service_is_applied_by_the_other_at_once(kind: str) -> None:
    table = Stamps()
    async with two_processes(kind) as (bus_a, bus_b):
        runtime_a, runtime_b = CountingRuntime(), CountingRuntime()
        # A poll of an hour: only the bus can make the second service apply the change in time.
        roster_a = AgentRoster(
            cast(AcdRuntime, runtime_a), cast(AgentDirectory, table), bus_a, poll_seconds=3600
        )
        roster_b = AgentRoster(
            cast(AcdRuntime, runtime_b), cast(AgentDirectory, table), bus_b, poll_seconds=3600
        )
        revoked: list[list[str]] = []
        roster_b.on_credentials_changed(lambda logins: revoked.append(logins) or len(logins))
        await roster_a.start()
        await roster_b.start()
        try:
            await asyncio.sleep(0.3)  # both subscribed
            table.table["ann"] = "2"  # ann's password was reset on service A
            await roster_a.agents_changed(["ann"])
            assert runtime_a.syncs == 1
            await until(lambda: runtime_b.syncs == 1)
            assert revoked == [["ann"]]  # B ended ann's console sessions too
            await asyncio.sleep(0.3)
            assert (runtime_a.syncs, runtime_b.syncs) == (1, 1)  # nobody applied its own notice again
        finally:
            await roster_a.close()
            await roster_b.close()
