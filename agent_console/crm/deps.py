"""What the CRM routes depend on: the services, the acting user, and shared parameter types.

The composition root builds a :class:`CrmServices` (usually with
:meth:`CrmServices.build`) and hands it to
:func:`agent_console.app.create_app`; each request then turns its bearer
token into a :class:`~crm_core.actor.Actor` through the
:class:`ActorResolver` port, with the customers currently on offer to that
user (from the hub) and the client's address.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Protocol

from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.auth import SessionDep
from agent_console.crm.actors import DbActorResolver, DbPopAuditor, PopView
from agent_console.hub import Hub
from crm_core.access.audit import AuditLog
from crm_core.actor import Actor
from crm_core.analytics.services import AnalyticsServices
from crm_core.commission.service import CommissionService
from crm_core.contact_center.throttle import LoginThrottle, ThrottlePolicy
from crm_core.contracts.service import ContractService
from crm_core.customers.recent import RecentCalls
from crm_core.customers.recycle import RecycleBin
from crm_core.customers.service import CustomerService
from crm_core.errors import InvalidInput
from crm_core.followups.reminders import ReminderService
from crm_core.followups.service import FollowUpService
from crm_core.followups.wrapup import WrapUpService
from crm_core.models.coltypes import utcnow
from crm_core.parameters.store import ParameterStore
from crm_core.protection.service import ProtectionService
from crm_core.sharing.service import SharingService

__all__ = [
    "MAX_ID",
    "ActorResolver",
    "ContactId",
    "ContractId",
    "Crm",
    "CrmServices",
    "CurrentActor",
    "CustomerId",
    "GrantId",
    "PageNumber",
    "PageSize",
    "PhoneId",
    "PopAuditor",
    "as_utc",
    "current_actor",
    "visible_customer",
]

#: The largest id a path or query accepts: PostgreSQL's ``integer``.
MAX_ID = 2**31 - 1


class ActorResolver(Protocol):
    """Turns a logged-in user into the :class:`Actor` the CRM services judge."""

    async def actor(self, login: str, remote_addr: str | None, offered_customer_ids: frozenset[int]) -> Actor:
        """The actor for ``login``: its user id, role and teams from the directory.

        Raises :class:`~crm_core.errors.AccessDenied` when ``login`` is no
        active CRM user.
        """
        ...

    async def watched_logins(self, login: str) -> frozenset[str] | None:
        """See :class:`agent_console.ports.WatchScopes`."""
        ...


class PopAuditor(Protocol):
    async def audit_pops(self, pops: Sequence[PopView]) -> None:
        """Record each screen-pop as a ``view`` of its customer, once per ``key``, in one transaction."""
        ...


@dataclass(frozen=True, slots=True)
class CrmServices:
    """The CRM services the REST API calls, and the ports it needs around them."""

    customers: CustomerService
    recycle: RecycleBin
    sharing: SharingService
    protection: ProtectionService
    followups: FollowUpService
    wrapups: WrapUpService
    reminders: ReminderService
    contracts: ContractService
    commission: CommissionService
    parameters: ParameterStore
    audit: AuditLog
    actors: ActorResolver
    pops: PopAuditor
    analytics: AnalyticsServices | None = None
    #: The database the services share, for read-only views that combine several of them.
    sessions: async_sessionmaker[AsyncSession] | None = None
    #: Failed-login counts and locks, shared by every gateway on the database.
    logins: LoginThrottle | None = None
    #: The calls each agent answered (``GET /api/me/recent-calls``).
    recent_calls: RecentCalls | None = None

    @classmethod
    def build(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        *,
        pepper: bytes,
        region: str,
        clock: Callable[[], datetime] = utcnow,
        actor_cache_ttl: float = 30.0,
        parameters: ParameterStore | None = None,
        login_policy: ThrottlePolicy | None = None,
        recent_customer_minutes: int | None = 60,
        site_zone: tzinfo = UTC,
    ) -> "CrmServices":
        """Every service on one database, sharing one parameter store and one protection service.

        ``pepper`` is the install's secret for ID-number hashes, ``region``
        the default phone region, ``clock`` aware UTC time (tests pin it).
        Pass the process's ``parameters`` store if the periodic jobs have one
        already, so that a change made through the API is seen by them at once.
        ``actor_cache_ttl`` is how long a user's role and teams are trusted;
        ``login_policy`` the login throttle's thresholds and delays.
        ``recent_customer_minutes`` is how long after a call its agent may still
        read the caller's record (:mod:`crm_core.access.handled`; ``None``: never).
        ``site_zone`` is the site's time zone: its date is "today" for a
        wrap-up's next contact.
        """
        parameters = parameters if parameters is not None else ParameterStore(sessions)
        protection = ProtectionService(sessions, parameters, clock=clock)
        return cls(
            customers=CustomerService(sessions, pepper, region, protection=protection),
            recycle=RecycleBin(sessions, parameters),
            sharing=SharingService(sessions),
            protection=protection,
            followups=FollowUpService(sessions, parameters, clock=clock),
            wrapups=WrapUpService(
                sessions, parameters, clock=clock, today=lambda: clock().astimezone(site_zone).date()
            ),
            reminders=ReminderService(sessions, parameters, clock=clock),
            contracts=ContractService(sessions, parameters, clock=clock),
            commission=CommissionService(sessions, clock=clock),
            parameters=parameters,
            audit=AuditLog(sessions),
            actors=DbActorResolver(
                sessions, ttl=actor_cache_ttl, recent_call_minutes=recent_customer_minutes
            ),
            pops=DbPopAuditor(sessions),
            analytics=AnalyticsServices.build(sessions, parameters, clock=clock),
            sessions=sessions,
            logins=LoginThrottle(sessions, login_policy),
            recent_calls=RecentCalls(sessions),
        )


def crm_services(request: Request) -> CrmServices:
    services: CrmServices = request.app.state.crm
    return services


async def current_actor(request: Request, session: SessionDep) -> Actor:
    """The acting user of a request with a live bearer token (401 otherwise)."""
    hub: Hub = request.app.state.hub
    login = session.agent.login
    remote_addr = request.client.host if request.client else None
    return await crm_services(request).actors.actor(login, remote_addr, hub.offered_customers(login))


CurrentActor = Annotated[Actor, Depends(current_actor)]
Crm = Annotated[CrmServices, Depends(crm_services)]


async def visible_customer(
    customer_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The customer's id")],
    actor: CurrentActor,
    crm: Crm,
) -> int:
    """Route dependency: 404 when customer ``customer_id`` does not exist, 403 when the user may not see it.

    For routers whose services answer any customer the user may not see with
    "not found": this check runs first, so the user learns the record exists
    but is not theirs to see (:data:`crm_core.access.rules.NOT_VISIBLE`).
    """
    await crm.customers.require_visible(actor, customer_id)
    return customer_id


CustomerId = Annotated[int, Path(ge=1, le=MAX_ID, description="The customer's id")]
ContractId = Annotated[int, Path(ge=1, le=MAX_ID, description="The contract's id")]
GrantId = Annotated[int, Path(ge=1, le=MAX_ID, description="The sharing grant's id")]
PhoneId = Annotated[int, Path(ge=1, le=MAX_ID, description="The phone's id")]
ContactId = Annotated[int, Path(ge=1, le=MAX_ID, description="The contact person's id")]


PageNumber = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=200, description="Items per page (at most 200)")]


def as_utc(value: datetime | None, field: str) -> datetime | None:
    """``value`` as aware UTC (naive means UTC); :class:`InvalidInput` naming ``field`` if out of range."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(field, "is out of range") from None
