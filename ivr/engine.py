"""The IVR engine: walks a caller through the loaded menus over an AGI channel."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from cti.fastagi import AgiChannel, AgiHangup
from ivr.context import CallerDirectory, Goto, IvrContext, IvrResult, Route, StepCallback
from ivr.handlers import DEFAULT_HANDLERS, Handler
from ivr.menus import MenuSet
from ivr.nodes import Node
from ivr.ports import CallbackHandOff, SelfServicePort

__all__ = ["IvrEngine"]

log = logging.getLogger(__name__)


class IvrEngine:
    """Runs the IVR of one call at a time per :meth:`run` call (share one engine across calls).

    ``menus`` are the loaded menus, ``directory`` finds customers by caller
    ID, ``region`` is the default phone region (``"CN"``) for caller IDs
    without a country code.  ``selfservice`` runs ``verify`` and ``action``
    nodes (without it they fall back to an agent); ``callbacks`` receives
    callback requests for the ACD.  ``handlers`` adds or replaces node
    handlers (node model class → coroutine); ``clock`` stamps the steps and
    is the "now" of business-hours conditions.
    """

    def __init__(
        self,
        menus: MenuSet,
        directory: CallerDirectory,
        *,
        region: str,
        selfservice: SelfServicePort | None = None,
        callbacks: CallbackHandOff | None = None,
        handlers: Mapping[type[Node], Handler] | None = None,
        clock: Callable[[], float] = time.time,
        ignore_business_hours: bool = False,
    ) -> None:
        self._directory = directory
        # Demos and load tests run at any hour: every calendar then reads as open.
        self._ignore_business_hours = ignore_business_hours
        self._region = region
        self._selfservice = selfservice
        self._callbacks = callbacks
        self._handlers: dict[type[Node], Handler] = {**DEFAULT_HANDLERS, **(handlers or {})}
        self._clock = clock
        self._check_handlers(menus)
        self._menus = menus

    @property
    def menus(self) -> MenuSet:
        """The menus new calls start on."""
        return self._menus

    def replace_menus(self, menus: MenuSet) -> None:
        """Start new calls on ``menus``; calls in progress finish on the menus they started with.

        Raises ``ValueError`` (and keeps the current menus) when a node has no handler.
        """
        self._check_handlers(menus)
        self._menus = menus
        log.info("ivr.menus_replaced", extra={"menus": sorted(menu.name for menu in menus)})

    def _check_handlers(self, menus: MenuSet) -> None:
        for menu in menus:
            for name, node in menu.nodes.items():
                if type(node) not in self._handlers:
                    raise ValueError(f"{menu.path}: node {name!r}: no handler for {type(node).__name__}")

    async def run(
        self,
        channel: AgiChannel,
        *,
        entry: str = "main",
        on_step: StepCallback | None = None,
        call_id: str | None = None,
    ) -> IvrResult:
        """Walk the caller from menu ``entry`` until a queue, a hang-up node or the caller's hang-up.

        The channel should already be answered.  Every step is appended to
        the result's path and passed to ``on_step`` (a function or a
        coroutine function) as it happens.  The caller hanging up is the
        ``"abandoned"`` outcome, never an exception; an unknown ``entry``
        raises :class:`~ivr.errors.UnknownMenu`.  ``call_id`` (the Linkedid)
        is written with self-service actions to the customer's history.
        """
        menus = self._menus  # this call keeps this version through a reload
        menu = menus.get(entry)
        ctx = IvrContext(
            channel=channel,
            menus=menus,
            menu=menu,
            directory=self._directory,
            region=self._region,
            clock=self._clock,
            on_step=on_step,
            selfservice=self._selfservice,
            callbacks=self._callbacks,
            call_id=call_id,
            ignore_business_hours=self._ignore_business_hours,
        )
        goto = Goto(menu.name, menu.entry)
        try:
            while True:
                ctx.enter(goto)
                node = ctx.menu.node(goto.node)
                transition = await self._handlers[type(node)](ctx, node)
                if isinstance(transition, Goto):
                    goto = transition
                elif isinstance(transition, Route):
                    result = ctx.result("routed", transition)
                    break
                else:
                    result = ctx.result("hangup")
                    break
        except AgiHangup:
            await ctx.step(result="abandoned")
            result = ctx.result("abandoned")
        finally:
            ctx.secrets.clear()
        log.info(
            "ivr.finished",
            extra={
                "uniqueid": channel.uniqueid,
                "outcome": result.outcome,
                "queue": result.route_queue,
                "steps": len(result.path),
                "matches": len(result.candidates),
                "authentication": result.authentication,
            },
        )
        return result
