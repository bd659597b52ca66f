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

__all__ = ["IvrEngine"]

log = logging.getLogger(__name__)


class IvrEngine:
    """Runs the IVR of one call at a time per :meth:`run` call (share one engine across calls).

    ``menus`` are the loaded menus, ``directory`` finds customers by caller
    ID, ``region`` is the default phone region (``"CN"``) for caller IDs
    without a country code.  ``handlers`` adds or replaces node handlers
    (node model class → coroutine); ``clock`` stamps the steps.
    """

    def __init__(
        self,
        menus: MenuSet,
        directory: CallerDirectory,
        *,
        region: str,
        handlers: Mapping[type[Node], Handler] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._menus = menus
        self._directory = directory
        self._region = region
        self._handlers: dict[type[Node], Handler] = {**DEFAULT_HANDLERS, **(handlers or {})}
        self._clock = clock
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
    ) -> IvrResult:
        """Walk the caller from menu ``entry`` until a queue, a hang-up node or the caller's hang-up.

        The channel should already be answered.  Every step is appended to
        the result's path and passed to ``on_step`` (a function or a
        coroutine function) as it happens.  The caller hanging up is the
        ``"abandoned"`` outcome, never an exception; an unknown ``entry``
        raises :class:`~ivr.errors.UnknownMenu`.
        """
        menu = self._menus.get(entry)
        ctx = IvrContext(
            channel=channel,
            menus=self._menus,
            menu=menu,
            directory=self._directory,
            region=self._region,
            clock=self._clock,
            on_step=on_step,
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
                    result = ctx.result("routed", transition.queue)
                    break
                else:
                    result = ctx.result("hangup")
                    break
        except AgiHangup:
            await ctx.step(result="abandoned")
            result = ctx.result("abandoned")
        log.info(
            "ivr.finished",
            extra={
                "uniqueid": channel.uniqueid,
                "outcome": result.outcome,
                "queue": result.route_queue,
                "steps": len(result.path),
                "matches": len(result.candidates),
            },
        )
        return result
