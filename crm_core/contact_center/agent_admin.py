"""Setting up agent accounts: add, list, change, disable, enable, reset a password (admins only, audited).

:class:`AgentAdmin` is what ``bankcti agents …``, ``bankcti admin create`` and
``/api/admin/agents`` call.  Every change is one transaction with its audit row
(entity ``agent``, ``before`` and ``after`` without any password or hash), so an
account never changes unrecorded.  An account is never deleted: disabling it
keeps its history (calls, audit, ownership) and stops its logins; the caller
then applies the change to the running ACD and ends the account's sessions
(:attr:`AgentSaved.credentials_changed`).

Field rules are those of :mod:`crm_core.contact_center.agent_rules`; queues are
checked against ``known_queues``, the queues the ACD runs (the caller knows
them: the CLI from the queue file and table, the console from its ACD).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.contact_center import agent_rules as rules
from crm_core.contact_center.agents import hash_password
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import Agent, Team

__all__ = ["AgentAdmin", "AgentChange", "AgentSaved", "AgentSpec", "AgentView", "require_admin"]

log = logging.getLogger(__name__)


class AgentSpec(BaseModel):
    """A new account.  Without ``device`` the agent's phone is ``Local/<extension>@agents``;
    without ``password`` one is generated and returned once."""

    model_config = ConfigDict(extra="forbid")

    login: str = Field(max_length=64, description="1 to 64 letters, digits, '.', '_' or '-'")
    name: str = Field(max_length=200)
    extension: str = Field(max_length=32, description="dial-pad characters, e.g. 1001")
    device: str | None = Field(
        default=None,
        max_length=128,
        description="what the ACD dials: PJSIP/1001, SIP/1001, IAX2/1001, Local/1001@agents",
    )
    role: str = Field(default="agent", max_length=16, description="agent, supervisor or admin")
    team: str | None = Field(
        default=None, max_length=100, description="the team they belong to (created if new)"
    )
    supervises: list[str] = Field(
        default_factory=list, max_length=50, description="teams a supervisor supervises"
    )
    queues: list[str] = Field(default_factory=list, max_length=100, description="queues they answer")
    skills: dict[str, int] = Field(
        default_factory=dict, description="skill → proficiency 1 (can help) … 5 (expert)"
    )
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="at least 8 characters mixing letters and digits or symbols",
    )


class AgentChange(BaseModel):
    """What to change; omitted fields stay.  ``team`` ``""`` removes the team."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    extension: str | None = Field(default=None, max_length=32)
    device: str | None = Field(default=None, max_length=128)
    role: str | None = Field(default=None, max_length=16)
    team: str | None = Field(default=None, max_length=100)
    supervises: list[str] | None = Field(default=None, max_length=50)
    queues: list[str] | None = Field(default=None, max_length=100)
    skills: dict[str, int] | None = None


class AgentView(BaseModel):
    """An account as administrators see it (never its password hash)."""

    model_config = ConfigDict(frozen=True)

    login: str
    name: str
    role: str
    extension: str
    device: str
    team: str | None
    supervises: list[str]
    queues: list[str]
    skills: dict[str, int]
    active: bool


class AgentSaved(BaseModel):
    """An account after a change; ``password`` is a generated one, shown this once (else ``None``).

    ``credentials_changed``: the account was disabled or given a new password, so
    its open sessions must end.
    """

    model_config = ConfigDict(frozen=True)

    agent: AgentView
    password: str | None = None
    credentials_changed: bool = False


def require_admin(actor: Actor) -> None:
    """Only admins (and the system itself: the command line) manage accounts."""
    if not actor.is_admin:
        raise AccessDenied("only admins manage agent accounts")


def _record(view: AgentView) -> dict[str, Any]:
    return view.model_dump(exclude={"login"})


class AgentAdmin:
    """Agent accounts on one database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def list_agents(self, actor: Actor, *, include_disabled: bool = True) -> list[AgentView]:
        require_admin(actor)
        async with self._sessions() as session:
            query = select(Agent).order_by(Agent.login)
            if not include_disabled:
                query = query.where(Agent.active.is_(True))
            agents = (await session.scalars(query)).all()
            return [await _view(session, agent) for agent in agents]

    async def get(self, actor: Actor, login: str) -> AgentView:
        require_admin(actor)
        async with self._sessions() as session:
            return await _view(session, await _load(session, login))

    async def create(self, actor: Actor, spec: AgentSpec, known_queues: Collection[str] | None) -> AgentSaved:
        """Add an account; :class:`Conflict` if the login is taken (in any letter case)."""
        require_admin(actor)
        clean = clean_spec(spec, known_queues)
        generated = None if spec.password is not None else rules.generate_password()
        password_hash = await asyncio.to_thread(hash_password, spec.password or generated or "")
        try:
            async with self._sessions() as session, session.begin():
                agent = await add_agent(session, actor, clean, password_hash)
                view = await _view(session, agent)
        except IntegrityError:
            raise Conflict(f"login {clean['login']!r} is taken") from None
        log.info("agent_admin.created", extra={"login": view.login, "role": view.role, "by": actor.login})
        return AgentSaved(agent=view, password=generated)

    async def update(
        self, actor: Actor, login: str, change: AgentChange, known_queues: Collection[str] | None
    ) -> AgentSaved:
        """Change the given fields; the last active admin keeps the admin role."""
        require_admin(actor)
        fields = change.model_dump(exclude_unset=True)
        async with self._sessions() as session, session.begin():
            agent = await _load(session, login, for_update=True)
            before = await _view(session, agent)
            clean = clean_change(fields, known_queues)
            role = clean.get("role", agent.role)
            if agent.role == "admin" and role != "admin" and agent.active:
                await _keep_an_admin(session, agent)
            for key in ("name", "extension", "device", "role", "queues", "skills"):
                if key in clean:
                    setattr(agent, key, clean[key])
            if "team" in clean:
                agent.team_id = await _team_id(session, actor, clean["team"])
            if "supervises" in clean or role != "supervisor":
                await _set_supervised(
                    session, actor, agent, clean.get("supervises", []) if role == "supervisor" else []
                )
            await session.flush()
            after = await _view(session, agent)
            if after != before:
                await audit(
                    session,
                    actor,
                    "update",
                    "agent",
                    agent.login,
                    {"before": _record(before), "after": _record(after)},
                )
        log.info("agent_admin.updated", extra={"login": login, "fields": sorted(fields), "by": actor.login})
        return AgentSaved(agent=after)

    async def set_active(self, actor: Actor, login: str, active: bool) -> AgentSaved:
        """Disable (no login, out of the ACD; history kept) or enable an account again."""
        require_admin(actor)
        async with self._sessions() as session, session.begin():
            agent = await _load(session, login, for_update=True)
            if not active and actor.user_id is not None and agent.id == actor.user_id:
                raise Conflict("you cannot disable your own account")
            if not active and agent.role == "admin" and agent.active:
                await _keep_an_admin(session, agent)
            changed = agent.active != active
            before = await _view(session, agent)
            agent.active = active
            await session.flush()
            after = await _view(session, agent)
            if changed:
                await audit(
                    session,
                    actor,
                    "update",
                    "agent",
                    agent.login,
                    {"before": {"active": before.active}, "after": {"active": active}},
                )
        log.info(
            "agent_admin.active",
            extra={"login": login, "active": active, "changed": changed, "by": actor.login},
        )
        return AgentSaved(agent=after, credentials_changed=changed and not active)

    async def reset_password(self, actor: Actor, login: str, password: str | None) -> AgentSaved:
        """Set ``password``, or a generated one returned once (``None``); the account's sessions must end."""
        require_admin(actor)
        generated = rules.generate_password() if password is None else None
        chosen = password if password is not None else generated
        assert chosen is not None
        password_hash = await asyncio.to_thread(hash_password, rules.check_password(chosen, login))
        async with self._sessions() as session, session.begin():
            agent = await _load(session, login, for_update=True)
            agent.password_hash = password_hash
            view = await _view(session, agent)
            how = "generated" if generated is not None else "set by the admin"
            await audit(session, actor, "update", "agent", agent.login, {"credential": f"new password {how}"})
        log.info(
            "agent_admin.password_reset",
            extra={"login": login, "generated": generated is not None, "by": actor.login},
        )
        return AgentSaved(agent=view, password=generated, credentials_changed=True)


def clean_spec(spec: AgentSpec, known_queues: Collection[str] | None) -> dict[str, Any]:
    """Every field of a new account checked and normalised (:class:`InvalidInput` at the first bad one)."""
    login = rules.check_login(spec.login)
    extension = rules.check_extension(spec.extension)
    role = rules.check_role(spec.role)
    supervises = [t for t in (rules.check_team(name) for name in spec.supervises) if t]
    if supervises and role != "supervisor":
        raise InvalidInput("supervises", "only a supervisor supervises teams")
    if spec.password is not None:
        rules.check_password(spec.password, login)
    return {
        "login": login,
        "name": rules.check_name(spec.name),
        "extension": extension,
        "device": rules.check_device(spec.device) if spec.device else rules.default_device(extension),
        "role": role,
        "team": rules.check_team(spec.team),
        "supervises": supervises,
        "queues": rules.check_queues(spec.queues, known_queues),
        "skills": rules.check_skills(spec.skills),
    }


def clean_change(fields: dict[str, Any], known_queues: Collection[str] | None) -> dict[str, Any]:
    """The given fields of a change checked and normalised (``None`` for a field means: leave it)."""
    checks: dict[str, Any] = {
        "name": rules.check_name,
        "extension": rules.check_extension,
        "device": rules.check_device,
        "role": rules.check_role,
        "team": rules.check_team,
        "supervises": lambda names: [t for t in (rules.check_team(n) for n in names) if t],
        "queues": lambda names: rules.check_queues(names, known_queues),
        "skills": rules.check_skills,
    }
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None and key != "team":
            continue
        clean[key] = checks[key](value) if value is not None else None
    if clean.get("supervises") and clean.get("role", "supervisor") != "supervisor":
        raise InvalidInput("supervises", "only a supervisor supervises teams")
    return clean


async def add_agent(session: AsyncSession, actor: Actor, clean: dict[str, Any], password_hash: str) -> Agent:
    """Insert a checked account and its audit row in ``session`` (the caller commits).

    :class:`Conflict` when the login is taken in any letter case.
    """
    login = clean["login"]
    taken = await session.scalar(select(Agent.login).where(func.lower(Agent.login) == login.lower()))
    if taken is not None:
        raise Conflict(f"login {login!r} is taken" + (f" (as {taken!r})" if taken != login else ""))
    agent = Agent(
        login=login,
        name=clean["name"],
        password_hash=password_hash,
        extension=clean["extension"],
        device=clean["device"],
        role=clean["role"],
        queues=clean["queues"],
        skills=clean["skills"],
        active=True,
        team_id=await _team_id(session, actor, clean["team"]),
    )
    session.add(agent)
    await session.flush()
    await _set_supervised(session, actor, agent, clean["supervises"])
    view = await _view(session, agent)
    await audit(session, actor, "create", "agent", login, {"after": _record(view)})
    return agent


async def _load(session: AsyncSession, login: str, *, for_update: bool = False) -> Agent:
    query = select(Agent).where(Agent.login == login[:64])
    if for_update:
        query = query.with_for_update()
    agent = await session.scalar(query)
    if agent is None:
        raise NotFound(f"no agent {login!r}")
    return agent


async def _view(session: AsyncSession, agent: Agent) -> AgentView:
    team = None
    if agent.team_id is not None:
        team = await session.scalar(select(Team.name).where(Team.id == agent.team_id))
    supervised = (
        await session.scalars(select(Team.name).where(Team.supervisor_id == agent.id).order_by(Team.name))
    ).all()
    return AgentView(
        login=agent.login,
        name=agent.name,
        role=agent.role,
        extension=agent.extension,
        device=agent.device,
        team=team,
        supervises=list(supervised),
        queues=list(agent.queues or []),
        skills={str(k): int(v) for k, v in (agent.skills or {}).items()},
        active=agent.active,
    )


async def _team_id(session: AsyncSession, actor: Actor, name: str | None) -> int | None:
    """The id of team ``name``, created (and audited) if new; ``None`` for no team."""
    if name is None:
        return None
    team_id = await session.scalar(select(Team.id).where(Team.name == name))
    if team_id is None:
        team = Team(name=name)
        session.add(team)
        await session.flush()
        await audit(session, actor, "create", "team", team.id, {"name": name})
        team_id = team.id
    return team_id


async def _set_supervised(session: AsyncSession, actor: Actor, agent: Agent, names: list[str]) -> None:
    """Make ``agent`` the supervisor of exactly the teams ``names`` (created if new)."""
    wanted = set()
    for name in names:
        team_id = await _team_id(session, actor, name)
        if team_id is not None:
            wanted.add(team_id)
    await session.execute(
        update(Team)
        .where(Team.supervisor_id == agent.id, Team.id.not_in(wanted or {-1}))
        .values(supervisor_id=None)
    )
    if wanted:
        await session.execute(update(Team).where(Team.id.in_(wanted)).values(supervisor_id=agent.id))


async def _keep_an_admin(session: AsyncSession, agent: Agent) -> None:
    others = await session.scalar(
        select(func.count())
        .select_from(Agent)
        .where(Agent.role == "admin", Agent.active.is_(True), Agent.id != agent.id)
    )
    if not others:
        raise Conflict(f"{agent.login} is the last active admin: create another admin first")
