"""Agents' devices as the PBX reports them: a device in use is never offered a call.

:class:`DeviceWatch` is a part of :class:`acd.core.Acd` (kept in its own
module for size).  The wiring feeds it the state of the devices agents
answer on (``DeviceStateChange`` events, and the channel list after each
PBX (re)connection); the ACD knows nothing of the PBX beyond "this device
is in use" or "is free".

A device in use sets :attr:`~acd.model.AgentRecord.device_busy` on its
agents and takes nothing else from them: their state is theirs (an
available agent stays available, a paused one paused), they are just not
offerable until the device is free again — then an available agent is
offered the waiting call they should take at once.  The agent's own ringing
or connected ACD call shows the device in use too, which changes nothing
while they are busy with it, and holds the next offer back until the phone
has really hung up.

A flag rather than a state on purpose: device events travel on the AMI link,
which may lag behind the call flow; an ``INUSE`` of a call that the call
flow has already ended must not cut the agent's wrap-up short or record a
call they never had.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import TYPE_CHECKING

from acd.events import BusEvent
from acd.model import AgentRecord
from acd.router import Router

__all__ = ["DeviceWatch"]

log = logging.getLogger(__name__)


class DeviceWatch:
    """Device states of the agents."""

    _agents: dict[str, AgentRecord]
    _router: Router
    _clock: Callable[[], float]
    _outbox: list[BusEvent]
    # Device -> logins, built on first use; agents are only ever added and keep their
    # device, so it is rebuilt when the number of agents changed.
    _device_index: dict[str, list[str]] | None = None
    _device_indexed: int = -1

    if TYPE_CHECKING:  # provided by acd.core.Acd and acd.offers.OfferOutcomes

        def _offer_agent(self, login: str, now: float) -> None: ...
        async def device_idle(self, login: str) -> AgentRecord: ...
        async def _flush(self) -> None: ...

    async def device_in_use(self, device: str, in_use: bool) -> list[str]:
        """The PBX reports ``device`` in use (``True``) or free; returns the agents whose flag changed.

        ``device`` is compared exactly with the agents' devices.  When it is
        free, an agent whose ring had found it busy or unreachable is
        released too (:meth:`~acd.offers.OfferOutcomes.device_idle`), and
        every available agent on it is offered their waiting call.
        """
        logins = self._agents_on(device)
        changed = [login for login in logins if self._agents[login].device_busy is not in_use]
        for login in changed:
            self._set_device_busy(login, in_use)
        if changed:
            log.info("acd.device_state", extra={"device": device, "in_use": in_use, "agents": changed})
        if not in_use:
            for login in logins:
                await self.device_idle(login)
                self._offer_agent(login, self._clock())
        await self._flush()
        return changed

    async def reconcile_devices(self, in_use: Collection[str]) -> list[str]:
        """After a PBX (re)connection: exactly the devices in ``in_use`` have a call now.

        Flags are set from that list alone (events lost while the link was
        down are made good); agents freed by it are offered their waiting
        call.  Returns the logins whose flag changed.
        """
        busy = frozenset(in_use)
        changed = []
        for login, record in list(self._agents.items()):
            now_busy = record.device in busy
            if record.device_busy is not now_busy:
                self._set_device_busy(login, now_busy)
                changed.append(login)
        for login in changed:
            self._offer_agent(login, self._clock())
        log.info("acd.devices_reconciled", extra={"changed": changed, "in_use": len(busy)})
        await self._flush()
        return changed

    def _set_device_busy(self, login: str, busy: bool) -> None:
        record = replace(self._agents[login], device_busy=busy)
        self._agents[login] = record
        self._router.update_agent(record)

    def _agents_on(self, device: str) -> list[str]:
        index = self._device_index
        if index is None or self._device_indexed != len(self._agents):
            index = {}
            for login, record in self._agents.items():
                index.setdefault(record.device, []).append(login)
            self._device_index, self._device_indexed = index, len(self._agents)
        return index.get(device, [])
