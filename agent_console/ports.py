"""What the console gateway needs from the rest of bankcti.

The gateway knows no database, no ACD and no password store: the
composition root hands :func:`agent_console.app.create_app` objects of these
shapes.  They are :class:`typing.Protocol` classes, so any object with the
right attributes fits — no inheritance needed.
"""

from __future__ import annotations

from typing import Protocol

from agent_console.schemas import AgentStatus

__all__ = [
    "AgentControl",
    "AgentIdentity",
    "Authenticator",
    "InvalidTransition",
    "NoteWriter",
    "WatchScopes",
]


class InvalidTransition(ValueError):
    """An agent asked for a state its current state does not allow.

    The message is shown to the agent as is, so it should say what is wrong
    ("cannot pause while on a call").  Any :class:`ValueError` raised by
    :meth:`AgentControl.set_state` is treated the same way.
    """


class AgentIdentity(Protocol):
    """Who logged in: the console shows ``name`` and decides by ``role``."""

    @property
    def login(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str:
        """``"agent"``, ``"supervisor"`` or ``"admin"``."""
        ...


class Authenticator(Protocol):
    async def authenticate(self, login: str, password: str) -> AgentIdentity | None:
        """Return the identity for valid credentials, ``None`` otherwise.

        Must not raise for unknown logins or wrong passwords.
        """
        ...


class AgentControl(Protocol):
    async def set_state(self, login: str, state: str, reason: str | None = None) -> AgentStatus:
        """Move an agent to ``available``, ``paused`` or ``logged_out``.

        Raise :class:`InvalidTransition` (or any :class:`ValueError`) with a
        human message when the current state forbids it, and
        :class:`LookupError` when the ACD does not know ``login``.
        """
        ...

    def status(self, login: str) -> AgentStatus:
        """Current state of ``login``; :class:`LookupError` if unknown."""
        ...


class NoteWriter(Protocol):
    async def save_note(
        self, call_id: str, *, agent_login: str, notes: str | None, disposition: str | None
    ) -> None:
        """Store the agent's note and disposition for a call.

        :class:`LookupError` means the call is unknown, :class:`ValueError`
        that the note was refused; both reach the agent as a message.
        """
        ...


class WatchScopes(Protocol):
    async def watched_logins(self, login: str) -> frozenset[str] | None:
        """The agents whose live events observer ``login`` may receive.

        ``None`` means every event (an admin); a supervisor gets the members
        of the teams they supervise plus themself.  Called when an observer's
        websocket opens and again periodically, so team changes take effect
        without a reconnection.  May raise when the directory is unreachable.
        """
        ...
