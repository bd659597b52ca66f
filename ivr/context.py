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

__all__ = [
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
    """Leave the IVR: the call goes to ACD queue ``queue``."""

    queue: str


@dataclass(frozen=True)
class End:
    """Leave the IVR: the IVR hung the call up."""


Transition = Goto | Route | End


class IvrResult(BaseModel):
    """The routing facts one IVR run produced.

    ``outcome`` is ``"routed"`` (``route_queue`` is set), ``"hangup"`` (a
    hangup node ended the call) or ``"abandoned"`` (the caller hung up;
    ``path`` ends with the step where it happened).  ``customer`` is set only
    when the caller ID matched exactly one customer; ``candidates`` holds every
    match.  ``authentication`` is ``"caller_id"`` when a single customer was
    matched by caller ID — a hint, never proof of identity.
    """

    model_config = ConfigDict(frozen=True)

    outcome: Literal["routed", "hangup", "abandoned"]
    route_queue: str | None = None
    customer: CustomerCard | None = None
    candidates: list[CustomerCard] = Field(default_factory=list)
    caller_e164: str | None = None
    authentication: Literal["none", "caller_id"] = "none"
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
    node_name: str = ""
    path: list[IvrStep] = field(default_factory=list)
    customer: CustomerCard | None = None
    candidates: list[CustomerCard] = field(default_factory=list)
    caller_e164: str | None = None
    authentication: Literal["none", "caller_id"] = "none"

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
        self, outcome: Literal["routed", "hangup", "abandoned"], queue: str | None = None
    ) -> IvrResult:
        """Freeze what the run found into an :class:`IvrResult`."""
        return IvrResult(
            outcome=outcome,
            route_queue=queue,
            customer=self.customer,
            candidates=list(self.candidates),
            caller_e164=self.caller_e164,
            authentication=self.authentication,
            path=list(self.path),
        )
