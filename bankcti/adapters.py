"""Adapters from the console's ports to the ACD and the CRM.

The console defines what it needs (:mod:`agent_console.ports`); these small
classes give it that shape over the real services, so neither side imports
the other's internals.
"""

from __future__ import annotations

import logging

from acd import Acd, AgentRecord, InvalidTransition
from acd.wrapups import WrapUpWindow
from agent_console.ports import InvalidTransition as ConsoleInvalidTransition
from agent_console.schemas import AgentStatus
from crm_core.contact_center.agents import AgentDirectory, AgentProfile

log = logging.getLogger(__name__)

__all__ = ["AcdAgentControl", "CrmAuthenticator"]


def _status(record: AgentRecord, window: WrapUpWindow | None) -> AgentStatus:
    return AgentStatus(
        login=record.login,
        state=record.state.value,  # type: ignore[arg-type]  # same literals on both sides
        reason=record.reason,
        since=record.since,
        call_id=record.call_id,
        wrapup_until=window.until if window is not None else None,
        wrapup_max_until=window.max_until if window is not None else None,
        wrapup_required=window.required if window is not None else False,
    )


class AcdAgentControl:
    """:class:`agent_console.ports.AgentControl` over the ACD."""

    def __init__(self, acd: Acd) -> None:
        self._acd = acd

    async def set_state(self, login: str, state: str, reason: str | None = None) -> AgentStatus:
        try:
            record = await self._acd.set_agent_state(login, state, reason)
        except InvalidTransition as exc:
            raise ConsoleInvalidTransition(str(exc)) from exc
        return _status(record, self._acd.wrapup_window(login))

    def status(self, login: str) -> AgentStatus:
        return _status(self._acd.status(login), self._acd.wrapup_window(login))

    async def extend_wrapup(self, login: str, seconds: int) -> AgentStatus:
        try:
            await self._acd.extend_wrapup(login, seconds)
        except InvalidTransition as exc:
            raise ConsoleInvalidTransition(str(exc)) from exc
        return self.status(login)

    async def wrapped_up(self, login: str, call_id: str, disposition: str | None) -> None:
        """A call's wrap-up was saved (``create_app(on_wrapped_up=...)``): its agent may go on.

        Only a wrap-up that carries a disposition counts: under a queue's
        ``disposition_required`` a save of notes alone is stored but keeps
        the agent held (and the call, if never disposed, is reported missed).
        ``disposition`` is the call's disposition after the save, so a later
        notes-only edit of a disposed call still counts.
        """
        if disposition is None:
            log.info("acd.wrapup_without_disposition", extra={"agent": login, "call_id": call_id})
            return
        await self._acd.wrapup_saved(login, call_id)


class CrmAuthenticator:
    """:class:`agent_console.ports.Authenticator` over the CRM's agent directory."""

    def __init__(self, agents: AgentDirectory) -> None:
        self._agents = agents

    async def authenticate(self, login: str, password: str) -> AgentProfile | None:
        return await self._agents.authenticate(login, password)
