"""Agents: profiles, creation, and password authentication.

Passwords are stored as ``scrypt$n$r$p$salt$hash`` (hex salt and hash, a
random 16-byte salt each) and compared in constant time.  Hashing costs
tens of milliseconds, so it runs in a worker thread: a login must not stall
the event loop that carries the calls.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import re
import secrets

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import AGENT_ROLES, Agent

__all__ = ["AgentDirectory", "AgentExistsError", "AgentProfile", "hash_password", "verify_password"]

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES, _KEY_BYTES = 16, 32
_MAX_N = 2**20  # refuse stored parameters that would take seconds or gigabytes
_MAX_PASSWORD = 1024
_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_EXTENSION = re.compile(r"[0-9*#]{1,32}")


class AgentProfile(BaseModel):
    """What the rest of bankcti knows of an agent (never the password hash)."""

    model_config = ConfigDict(frozen=True)

    id: int
    login: str
    name: str
    role: str
    extension: str
    device: str
    queues: list[str]


class AgentExistsError(ValueError):
    """An agent with this login already exists."""


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=_KEY_BYTES
    )


def hash_password(password: str) -> str:
    """Encode ``password`` as ``scrypt$n$r$p$salt_hex$hash_hex`` with a fresh random salt."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches ``encoded``; False for any malformed encoding."""
    try:
        scheme, n_text, r_text, p_text, salt_hex, hash_hex = encoded.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(hash_hex)
    except ValueError:
        return False
    if scheme != "scrypt" or not (1 < n <= _MAX_N and n & (n - 1) == 0) or not (0 < r <= 32 and 0 < p <= 16):
        return False
    if len(expected) != _KEY_BYTES:
        return False
    try:
        actual = _scrypt(password, salt, n, r, p)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def _check_password(password: str, encoded: str | None) -> bool:
    if encoded is None:
        # Unknown login: spend the same work as a wrong password, then refuse.
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, encoded)


def _profile(agent: Agent) -> AgentProfile:
    return AgentProfile(
        id=agent.id,
        login=agent.login,
        name=agent.name,
        role=agent.role,
        extension=agent.extension,
        device=agent.device,
        queues=list(agent.queues or []),
    )


class AgentDirectory:
    """Agents of the contact center: authenticate, list, look up, create."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def authenticate(self, login: str, password: str) -> AgentProfile | None:
        """The profile of the active agent ``login`` if ``password`` is right, else ``None``.

        Unknown login, inactive agent and wrong password are indistinguishable
        to the caller and take about the same time.
        """
        if len(password) > _MAX_PASSWORD or len(login) > 64:
            return None
        async with self._sessions() as session:
            agent = await session.scalar(select(Agent).where(Agent.login == login))
        stored = agent.password_hash if agent is not None else None
        ok = await asyncio.to_thread(_check_password, password, stored)
        if agent is None or not ok or not agent.active:
            log.info("agent.login_failed", extra={"login": login[:64]})
            return None
        log.info("agent.login", extra={"login": login})
        return _profile(agent)

    async def get(self, login: str) -> AgentProfile | None:
        """The profile of agent ``login`` (active or not), or ``None``."""
        async with self._sessions() as session:
            agent = await session.scalar(select(Agent).where(Agent.login == login))
        return None if agent is None else _profile(agent)

    async def list_agents(self, *, include_inactive: bool = False) -> list[AgentProfile]:
        """All (active, unless asked) agents ordered by login."""
        query = select(Agent).order_by(Agent.login)
        if not include_inactive:
            query = query.where(Agent.active.is_(True))
        async with self._sessions() as session:
            agents = (await session.scalars(query)).all()
        return [_profile(a) for a in agents]

    async def create_agent(
        self,
        login: str,
        name: str,
        password: str,
        *,
        extension: str,
        device: str | None = None,
        role: str = "agent",
        queues: list[str] | tuple[str, ...] = (),
        active: bool = True,
        skills: dict[str, int] | None = None,
    ) -> AgentProfile:
        """Add an agent; ``device`` defaults to ``Local/<extension>@agents``.

        ``skills`` maps a skill name to a proficiency from 1 to 5 (the ACD routes on it).

        Raises :class:`AgentExistsError` if the login is taken and
        :class:`ValueError` for a malformed login, extension, role, name,
        queue name or an empty password.
        """
        if not _LOGIN.fullmatch(login):
            raise ValueError("login must be 1 to 64 letters, digits, '.', '_' or '-'")
        if not _EXTENSION.fullmatch(extension):
            raise ValueError("extension must be 1 to 32 dial-pad characters")
        if role not in AGENT_ROLES:
            raise ValueError(f"role must be one of {', '.join(AGENT_ROLES)}")
        name = name.strip()
        if not name or len(name) > 200:
            raise ValueError("agent name must be 1 to 200 characters")
        if not password or len(password) > _MAX_PASSWORD:
            raise ValueError(f"password must be 1 to {_MAX_PASSWORD} characters")
        queue_names = [q.strip() for q in queues]
        if any(not q or len(q) > 64 or "," in q for q in queue_names):
            raise ValueError("queue names must be 1 to 64 characters without commas")
        skill_levels = dict(skills or {})
        for skill, level in skill_levels.items():
            if not skill or len(skill) > 64 or not isinstance(level, int) or not 1 <= level <= 5:
                raise ValueError(f"skill {skill!r}: proficiency must be a whole number 1 to 5")
        device = device or f"Local/{extension}@agents"
        if len(device) > 128:
            raise ValueError("device must be at most 128 characters")
        password_hash = await asyncio.to_thread(hash_password, password)
        agent = Agent(
            login=login,
            name=name,
            password_hash=password_hash,
            extension=extension,
            device=device,
            role=role,
            queues=queue_names,
            active=active,
            skills=skill_levels,
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(agent)
        except IntegrityError:
            raise AgentExistsError(f"agent {login!r} already exists") from None
        log.info("agent.created", extra={"login": login, "role": role})
        return _profile(agent)

    async def credential_stamps(self) -> dict[str, str]:
        """Login → a digest of its password hash and active flag: it changes when either does.

        A service compares two readings to find the accounts whose sessions
        must end (disabled, or given a new password by another process); the
        digest reveals nothing of the hash.
        """
        async with self._sessions() as session:
            rows = (await session.execute(select(Agent.login, Agent.password_hash, Agent.active))).all()
        return {
            login: hashlib.sha256(f"{active}:{password_hash}".encode()).hexdigest()[:32]
            for login, password_hash, active in rows
        }
