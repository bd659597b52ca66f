"""One coroutine per node type: talk to the caller, record the step, choose what comes next.

A handler may raise :class:`cti.fastagi.AgiHangup` at any await; the engine
turns it into the ``"abandoned"`` outcome, so handlers never catch it unless
the caller's hang-up does not change their meaning (the goodbye of a hangup
node).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from cti.fastagi import AgiHangup
from ivr.callerid import to_e164
from ivr.context import End, Goto, IvrContext, Route, Transition
from ivr.handlers_bank import action, verify
from ivr.handlers_io import collect, condition, give_up, language, say
from ivr.nodes import (
    CollectNode,
    GotoNode,
    HangupNode,
    IdentifyNode,
    LanguageNode,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    SayNode,
)
from ivr.nodes_bank import ActionNode, ConditionNode, VerifyNode

__all__ = ["DEFAULT_HANDLERS", "Handler"]

log = logging.getLogger(__name__)

Handler = Callable[[IvrContext, Any], Awaitable[Transition]]


async def play(ctx: IvrContext, node: PlayNode) -> Transition:
    for prompt in node.prompts:
        pressed = await ctx.channel.stream_file(prompt, node.barge_in)
        if pressed:
            await ctx.step(keys=pressed, result="barged-in")
            return Goto(ctx.menu.name, node.next)
    await ctx.step(result="played")
    return Goto(ctx.menu.name, node.next)


def _branch(ctx: IvrContext, node: IdentifyNode, count: int) -> Goto:
    target = node.branches()["none" if count == 0 else "one" if count == 1 else "many"]
    return Goto(ctx.menu.name, target or node.next)


async def identify(ctx: IvrContext, node: IdentifyNode) -> Transition:
    raw = ctx.channel.caller_id
    ctx.caller_e164 = to_e164(raw, ctx.region)
    if ctx.caller_e164 is None:
        await ctx.step(result="withheld" if raw is None else "unparsable")
        return _branch(ctx, node, 0)
    try:
        matches = await ctx.directory.lookup_by_caller_id(raw, ctx.region)
    except Exception:
        # The caller must still reach an agent when the CRM is down: continue unidentified.
        log.exception("ivr.identify_failed", extra={"uniqueid": ctx.channel.uniqueid})
        ctx.caller_lookup_failed = True
        await ctx.step(result="lookup-failed")
        return _branch(ctx, node, 0)
    ctx.caller_lookup_failed = False
    ctx.candidates = list(matches)
    if len(matches) == 1 and ctx.authentication == "none":
        ctx.customer = matches[0]
        ctx.customer_id = matches[0].id
        ctx.authentication = "caller_id"
    await ctx.step(result=f"matched={len(matches)}")
    return _branch(ctx, node, len(matches))


async def menu(ctx: IvrContext, node: MenuNode) -> Transition:
    failures = 0
    while True:
        keys = await ctx.channel.get_data(node.prompt, node.timeout_ms, 1)
        if keys in node.choices:
            await ctx.step(keys=keys, result=f"choice={keys}")
            return Goto(ctx.menu.name, node.choices[keys])
        failures += 1
        timed_out = keys == ""
        await ctx.step(keys=keys, result="timeout" if timed_out else "invalid")
        if failures >= node.retries:
            return await give_up(ctx, node.fallback)
        prompt = node.timeout_prompt if timed_out else node.invalid_prompt
        if prompt is not None:
            await ctx.channel.stream_file(prompt)


async def queue(ctx: IvrContext, node: QueueNode) -> Transition:
    await ctx.step(result=f"queue={node.queue}")
    return Route(node.queue, frozenset(node.skills), node.priority)


async def hangup(ctx: IvrContext, node: HangupNode) -> Transition:
    await ctx.step(result="hangup")
    try:
        if node.prompt is not None:
            await ctx.channel.stream_file(node.prompt)
        await ctx.channel.hangup()
    except AgiHangup:
        pass  # the caller left during the goodbye: the call ends either way
    return End()


async def goto(ctx: IvrContext, node: GotoNode) -> Transition:
    if node.menu is not None:
        target = Goto(node.menu, ctx.menus.get(node.menu).entry)
        await ctx.step(result=f"goto={node.menu}:{target.node}")
        return target
    assert node.next is not None  # the model requires exactly one of next/menu
    await ctx.step(result=f"goto={node.next}")
    return Goto(ctx.menu.name, node.next)


#: Node model → handler; :class:`ivr.engine.IvrEngine` accepts extra or replacement handlers.
DEFAULT_HANDLERS: Mapping[type[Node], Handler] = {
    PlayNode: play,
    IdentifyNode: identify,
    MenuNode: menu,
    QueueNode: queue,
    HangupNode: hangup,
    GotoNode: goto,
    CollectNode: collect,
    SayNode: say,
    LanguageNode: language,
    ConditionNode: condition,
    VerifyNode: verify,
    ActionNode: action,
}
