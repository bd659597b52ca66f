"""What the console gateway needs from the rest of bankcti.

The gateway knows no database, no ACD and no password store: the
composition root hands :func:`agent_console.app.create_app` objects of these
shapes.  They are :class:`typing.Protocol` classes, so any object with the
right attributes fits — no inheritance needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from acd.config import QueueConfig
from acd.views import AcdSnapshot
from agent_console.schemas import AgentStatus

__all__ = [
    "AgentControl",
    "AgentIdentity",
    "Authenticator",
    "CallControl",
    "InvalidTransition",
    "LiveAcd",
    "LoginAttempt",
    "LoginGuard",
    "QueueAdmin",
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


class LoginAttempt(Protocol):
    """One login attempt as the :class:`LoginGuard` judged it."""

    @property
    def refused(self) -> bool:
        """The attempt must not be checked: answer 429 (the guard has recorded it)."""
        ...

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds the client must wait, for ``Retry-After`` (0 when not refused)."""
        ...

    async def failed(self) -> None:
        """The password was wrong."""
        ...

    async def succeeded(self) -> None:
        """The password was right."""
        ...


class LoginGuard(Protocol):
    """Brute-force protection of ``POST /api/login`` (:mod:`crm_core.contact_center.throttle`)."""

    async def begin(self, login: str, address: str) -> LoginAttempt:
        """Judge an attempt to log in as ``login`` from the client ``address``, before any password check."""
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

    async def extend_wrapup(self, login: str, seconds: int) -> AgentStatus:
        """Lengthen ``login``'s wrap-up by ``seconds`` (up to their queue's maximum).

        Raise :class:`InvalidTransition` (or any :class:`ValueError`) with a
        human message when refused (not in wrap-up, beyond the maximum), and
        :class:`LookupError` when the ACD does not know ``login``.
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


class LiveAcd(Protocol):
    """The live picture of the ACD the supervisor wallboard shows (the process's own ACD)."""

    def snapshot(self) -> AcdSnapshot:
        """Queues with their waiting calls in service order, and every agent, now.

        Called on every wallboard push (at most once a second) and on every
        ``GET /api/wallboard``: it must be cheap and must not block.
        """
        ...


class CallControl(Protocol):
    """Acting on live calls from the console: the agent's own call, and supervision.

    ``login`` is the acting user; the implementation finds their device.
    The console has already checked *who* may act (an agent on their own
    call, a supervisor on the agents of their teams); these methods check
    whether the action fits the call.  Errors, shown to the user as is:
    :class:`LookupError` (unknown call or agent, or the user has no leg on
    the call), :class:`PermissionError`, :class:`ValueError` (a bad target
    or an action the call's state does not allow) and
    :class:`ConnectionError` (the PBX cannot be reached).
    """

    async def hold(self, login: str, call_id: str) -> None:
        """Put the other party on hold (music); the agent becomes ``on_hold``."""
        ...

    async def resume(self, login: str, call_id: str) -> None:
        """Take the held party back (the agent's device may ring to reconnect)."""
        ...

    async def hangup(self, login: str, call_id: str) -> None:
        """End the agent's part of the call (a held call: the held party)."""
        ...

    async def transfer(self, login: str, call_id: str, *, kind: str, target_type: str, target: str) -> None:
        """``kind`` ``blind``/``attended``; to a ``queue`` (blind only), an ``agent`` (login) or a ``number``.

        The agent leaves at once (blind) or after :meth:`complete_transfer`.
        """
        ...

    async def complete_transfer(self, login: str, call_id: str) -> None:
        """Leave an attended transfer: the customer and the target talk on."""
        ...

    async def cancel_transfer(self, login: str, call_id: str) -> None:
        """Drop the consultation; the agent is back with the customer."""
        ...

    def dialled_by(self, call_id: str) -> str | None:
        """The login who placed ``call_id`` with :meth:`dial`, while it lasts (else ``None``).

        Outbound calls are not routed by the ACD: this is how the console
        knows they are the agent's own.
        """
        ...

    async def dial(self, login: str, customer_id: int, number: str) -> str:
        """Click-to-dial: ring the agent's device, then ``number``; return the new call's id.

        The call is recorded as an outbound interaction of ``customer_id``.
        """
        ...

    async def spy(self, supervisor: str, agent: str, mode: str) -> None:
        """Ring the supervisor's device into the agent's call: ``listen``, ``whisper`` or ``barge``."""
        ...

    async def force_state(self, login: str, state: str, reason: str | None, *, by: str) -> AgentStatus:
        """A supervisor sets ``login`` ``paused``/``logged_out``/``available`` (after the call if busy)."""
        ...

    async def move_call(self, call_id: str, queue: str, *, by: str) -> None:
        """Move a call still waiting for an agent to another queue."""
        ...


class QueueAdmin(Protocol):
    """The ACD's queue definitions, read by supervisors and changed by admins."""

    def queues(self) -> list[QueueConfig]:
        """Every queue as the ACD runs it now."""
        ...

    async def save_queue(self, name: str, settings: Mapping[str, Any]) -> QueueConfig:
        """Store ``settings`` as the database definition of queue ``name`` and apply it at once.

        Raises :class:`ValueError` naming the setting at fault (nothing is stored then).
        """
        ...
