"""What one IVR run knows while it walks the menu graph, and what it returns.

Node handlers (:mod:`ivr.handlers`) receive an :class:`IvrContext`, talk to
the caller through ``ctx.channel``, record what happened with
:meth:`IvrContext.step` and return a transition: :class:`Goto` (next node),
:class:`Route` (leave the IVR for an ACD queue) or :class:`End` (hang up).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from crm_core.schemas import CustomerCard, IvrStep
from cti.fastagi import AgiChannel
from ivr.menus import Menu, MenuSet
from ivr.ports import CallbackHandOff, SelfServicePort

__all__ = [
    "AuthLevel",
    "CallerDirectory",
    "End",
    "Goto",
    "IvrContext",
    "IvrResult",
    "Route",
    "StepCallback",
    "Transition",
]

log = logging.getLogger(__name__)

StepCallback = Callable[[IvrStep], Awaitable[None] | None]
AuthLevel = Literal["none", "caller_id", "verified"]


class CallerDirectory(Protocol):
    """Finds customers by caller ID (``crm_core``'s ``CustomerDirectory`` has this shape)."""

    async def lookup_by_caller_id(self, raw: str | None, region: str) -> list[CustomerCard]: ...


@dataclass(frozen=True)
class Goto:
    """Continue at ``node`` of menu ``menu``."""

    menu: str
    node: str


@dataclass(frozen=True)
class Route:
    """Leave the IVR: the call goes to ACD queue ``queue``, to an agent with ``skills``."""

    queue: str
    skills: frozenset[str] = frozenset()
    priority: int = 0


@dataclass(frozen=True)
class End:
    """Leave the IVR: the IVR hung the call up."""


Transition = Goto | Route | End


class IvrResult(BaseModel):
    """The routing facts one IVR run produced.

    ``outcome`` is ``"routed"`` (``route_queue`` is set), ``"hangup"`` (a
    hangup node ended the call) or ``"abandoned"`` (the caller hung up;
    ``path`` ends with the step where it happened).  ``customer`` is set
    when the caller ID matched exactly one customer or a PIN verified one;
    ``candidates`` holds every caller-ID match.  ``authentication`` is
    ``"caller_id"`` when a single customer was matched by caller ID — a
    hint, never proof of identity — and ``"verified"`` after a correct PIN.
    ``customer_id`` and ``tier`` follow the strongest identification;
    ``route_skills`` and ``route_priority`` come from the queue node;
    ``language`` is the prompt set the caller chose.
    """

    model_config = ConfigDict(frozen=True)

    outcome: Literal["routed", "hangup", "abandoned"]
    route_queue: str | None = None
    route_skills: frozenset[str] = frozenset()
    route_priority: int = 0
    customer: CustomerCard | None = None
    candidates: list[CustomerCard] = Field(default_factory=list)
    caller_e164: str | None = None
    #: The caller-ID lookup failed (CRM unavailable): the call went on unidentified, and its
    #: history should be linked by the caller's number once the database is back.
    caller_lookup_failed: bool = False
    authentication: AuthLevel = "none"
    customer_id: int | None = None
    tier: str | None = None
    language: str | None = None
    path: list[IvrStep] = Field(default_factory=list)


@dataclass
class IvrContext:
    """State of one IVR run, shared by the engine and the node handlers."""

    channel: AgiChannel
    menus: MenuSet
    menu: Menu
    directory: CallerDirectory
    region: str
    clock: Callable[[], float]
    on_step: StepCallback | None = None
    selfservice: SelfServicePort | None = None
    callbacks: CallbackHandOff | None = None
    call_id: str | None = None
    ignore_business_hours: bool = False
    node_name: str = ""
    path: list[IvrStep] = field(default_factory=list)
    customer: CustomerCard | None = None
    candidates: list[CustomerCard] = field(default_factory=list)
    caller_e164: str | None = None
    caller_lookup_failed: bool = False
    authentication: AuthLevel = "none"
    customer_id: int | None = None
    account_id: int | None = None
    language: str | None = None
    #: Collected values that may be said or recorded.
    variables: dict[str, str] = field(default_factory=dict)
    #: Collected secrets (PINs): read by a verify node, then dropped; never recorded.
    secrets: dict[str, str] = field(default_factory=dict)
    #: Failed PIN checks of this call, by verify node.
    verify_failures: dict[str, int] = field(default_factory=dict)

    @property
    def tier(self) -> str | None:
        """Tier of the identified customer, if any."""
        return self.customer.tier if self.customer is not None else None

    def value(self, variable: str) -> str | None:
        """A collected value, secret or not (for verify nodes)."""
        return self.secrets.get(variable, self.variables.get(variable))

    def enter(self, goto: Goto) -> None:
        """Make ``goto`` the current node."""
        if goto.menu != self.menu.name:
            self.menu = self.menus.get(goto.menu)
        self.node_name = goto.node

    async def step(self, *, keys: str = "", result: str = "") -> IvrStep:
        """Append a step of the current node to the path and tell ``on_step``.

        ``keys`` must never carry the digits of a secret (a PIN): handlers of
        such nodes record a count or a result instead.  A failing ``on_step``
        observer is logged, not allowed to break the caller's call.
        """
        step = IvrStep(node=self.node_name, at=self.clock(), keys=keys, result=result)
        self.path.append(step)
        if self.on_step is not None:
            try:
                outcome = self.on_step(step)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("ivr.on_step_failed", extra={"node": step.node, "result": step.result})
        return step

    def result(
        self, outcome: Literal["routed", "hangup", "abandoned"], route: Route | None = None
    ) -> IvrResult:
        """Freeze what the run found into an :class:`IvrResult`."""
        return IvrResult(
            outcome=outcome,
            route_queue=route.queue if route else None,
            route_skills=route.skills if route else frozenset(),
            route_priority=route.priority if route else 0,
            customer=self.customer,
            candidates=list(self.candidates),
            caller_e164=self.caller_e164,
            caller_lookup_failed=self.caller_lookup_failed,
            authentication=self.authentication,
            customer_id=self.customer_id,
            tier=self.tier,
            language=self.language,
            path=list(self.path),
        )
