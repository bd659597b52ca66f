"""Adapters from the console's ports to the ACD and the CRM.

The console defines what it needs (:mod:`agent_console.ports`); these small
classes give it that shape over the real services, so neither side imports
the other's internals.
"""

from __future__ import annotations

from acd import Acd, AgentRecord, InvalidTransition
from agent_console.ports import InvalidTransition as ConsoleInvalidTransition
from agent_console.schemas import AgentStatus
from bankcti.history import ResilientHistory
from crm_core.contact_center.agents import AgentDirectory, AgentProfile

__all__ = ["AcdAgentControl", "CrmAuthenticator", "CrmNoteWriter"]


def _status(record: AgentRecord) -> AgentStatus:
    return AgentStatus(
        login=record.login,
        state=record.state.value,  # type: ignore[arg-type]  # same literals on both sides
        reason=record.reason,
        since=record.since,
        call_id=record.call_id,
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
        return _status(record)

    def status(self, login: str) -> AgentStatus:
        return _status(self._acd.status(login))


class CrmAuthenticator:
    """:class:`agent_console.ports.Authenticator` over the CRM's agent directory."""

    def __init__(self, agents: AgentDirectory) -> None:
        self._agents = agents

    async def authenticate(self, login: str, password: str) -> AgentProfile | None:
        return await self._agents.authenticate(login, password)


class CrmNoteWriter:
    """:class:`agent_console.ports.NoteWriter` over the follow-up history."""

    def __init__(self, writer: ResilientHistory) -> None:
        self._writer = writer

    async def save_note(
        self, call_id: str, *, agent_login: str, notes: str | None, disposition: str | None
    ) -> None:
        await self._writer.save_note(call_id, agent_login=agent_login, notes=notes, disposition=disposition)
