"""Server-side login sessions with expiry.

A token is 256 random bits (:func:`secrets.token_urlsafe`).  The store keeps
only its SHA-256 digest, so the tokens themselves live in the browsers alone
and a lookup never compares secrets character by character.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from agent_console.schemas import AgentInfo

__all__ = ["Session", "SessionStore", "token_key"]

log = logging.getLogger(__name__)


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
    """Sessions by token; each lives ``ttl`` seconds from login or renewal.

    With ``path`` the sessions (token digests, agent, end time; never a
    token) are written to that file on every login, renewal and logout and
    read back at start, so a restarted server still knows the browsers that
    were logged in: their pages reconnect without a new login.
    """

    def __init__(
        self,
        ttl: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        path: Path | None = None,
    ) -> None:
        if ttl <= 0:
            raise ValueError("session ttl must be positive")
        self._ttl = ttl
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._sessions: dict[str, Session] = {}
        self._path = path
        if path is not None:
            self._load(path)

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, agent: AgentInfo) -> tuple[str, Session]:
        """Open a session for ``agent``; return the new token and the session."""
        self._sweep()
        token = secrets.token_urlsafe(32)
        session = Session(key=token_key(token), agent=agent, deadline=self._monotonic() + self._ttl)
        self._sessions[session.key] = session
        self._save()
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
            self._save()
        return session

    def revoke(self, token: str) -> Session | None:
        """End a session (logout); return it if it was live."""
        session = self.get(token)
        if session is not None:
            del self._sessions[session.key]
            self._save()
        return session

    def revoke_agent(self, login: str) -> list[Session]:
        """End every session of ``login`` (account disabled or given a new password); return them."""
        ended = [s for s in self._sessions.values() if s.agent.login == login]
        for session in ended:
            del self._sessions[session.key]
        if ended:
            self._save()
        return ended

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

    def _load(self, path: Path) -> None:
        """Read the sessions a previous run saved; a missing or bad file starts empty."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["sessions"]
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("console.sessions_unreadable", extra={"path": str(path), "error": repr(exc)})
            return
        now_wall, now_mono = self._wall_clock(), self._monotonic()
        for entry in entries if isinstance(entries, list) else ():
            try:
                key = str(entry["key"])
                agent = AgentInfo.model_validate(entry["agent"])
                remaining = float(entry["expires_at"]) - now_wall
            except (KeyError, TypeError, ValueError, ValidationError):
                continue
            if remaining > 0 and len(key) == 64:
                # Never longer than a fresh login: a clock jump must not extend a session.
                self._sessions[key] = Session(key, agent, now_mono + min(remaining, self._ttl))

    def _save(self) -> None:
        if self._path is None:
            return
        entries = [
            {"key": s.key, "agent": s.agent.model_dump(mode="json"), "expires_at": self.expires_at(s)}
            for s in self._sessions.values()
        ]
        temporary = self._path.with_name(self._path.name + ".tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with open(temporary, "w", encoding="utf-8", opener=_private) as handle:
                json.dump({"sessions": entries}, handle)
            os.replace(temporary, self._path)
        except OSError as exc:
            # Sessions still work in memory; only a restart would ask for a new login.
            log.warning("console.sessions_not_saved", extra={"path": str(self._path), "error": repr(exc)})
            with contextlib.suppress(OSError):
                temporary.unlink()


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
