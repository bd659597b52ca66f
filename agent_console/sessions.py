"""Server-side login sessions with expiry.

A token is 256 random bits (:func:`secrets.token_urlsafe`).  The store keeps
only its SHA-256 digest, so the tokens themselves live in the browsers alone
and a lookup never compares secrets character by character.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent_console.schemas import AgentInfo

__all__ = ["Session", "SessionStore", "token_key"]


def token_key(token: str) -> str:
    """The digest a token is stored under."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class Session:
    key: str  # token_key(token)
    agent: AgentInfo
    deadline: float  # monotonic seconds

    @property
    def is_observer(self) -> bool:
        """Supervisors and admins watch other agents' events and may annotate any call.

        Which events an observer sees is narrowed by the gateway's
        :class:`~agent_console.ports.WatchScopes`, when it has one.
        """
        return self.agent.role in ("supervisor", "admin")


class SessionStore:
    """Sessions by token; each lives ``ttl`` seconds from login or renewal."""

    def __init__(
        self,
        ttl: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl <= 0:
            raise ValueError("session ttl must be positive")
        self._ttl = ttl
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, agent: AgentInfo) -> tuple[str, Session]:
        """Open a session for ``agent``; return the new token and the session."""
        self._sweep()
        token = secrets.token_urlsafe(32)
        session = Session(key=token_key(token), agent=agent, deadline=self._monotonic() + self._ttl)
        self._sessions[session.key] = session
        return token, session

    def get(self, token: str) -> Session | None:
        """The live session for ``token``, or ``None`` if unknown or expired."""
        return self.get_by_key(token_key(token))

    def get_by_key(self, key: str) -> Session | None:
        session = self._sessions.get(key)
        if session is None:
            return None
        if session.deadline <= self._monotonic():
            del self._sessions[key]
            return None
        return session

    def renew(self, token: str) -> Session | None:
        """Restart the ``ttl`` of a live session; ``None`` if it already ended."""
        session = self.get(token)
        if session is not None:
            session.deadline = self._monotonic() + self._ttl
        return session

    def revoke(self, token: str) -> Session | None:
        """End a session (logout); return it if it was live."""
        session = self.get(token)
        if session is not None:
            del self._sessions[session.key]
        return session

    def remaining(self, key: str) -> float:
        """Seconds the session under ``key`` still lives (0 if it ended)."""
        session = self.get_by_key(key)
        return 0.0 if session is None else max(0.0, session.deadline - self._monotonic())

    def expires_at(self, session: Session) -> float:
        """The session's end as epoch seconds, for the browser."""
        return self._wall_clock() + (session.deadline - self._monotonic())

    def _sweep(self) -> None:
        now = self._monotonic()
        for key in [k for k, s in self._sessions.items() if s.deadline <= now]:
            del self._sessions[key]
