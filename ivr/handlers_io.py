"""Handlers of the nodes that read, say and decide: collect, say, language, condition.

A ``collect`` of a secret keeps the digits in ``ctx.secrets`` only: its step
records ``x`` per key pressed and "entered N digits", and nothing here logs
or raises with the digits in it.
"""

from __future__ import annotations

import logging
import re

from ivr.context import Goto, IvrContext, Route, Transition
from ivr.nodes import CollectNode, LanguageNode, SayNode
from ivr.nodes_bank import ConditionNode
from ivr.speech import say_value

__all__ = ["collect", "condition", "give_up", "language", "say"]

log = logging.getLogger(__name__)

#: What a secret's keys look like in the path: one mark per key, never the key.
SECRET_MARK = "x"


async def give_up(ctx: IvrContext, fallback: str | None) -> Transition:
    """After the last retry: the node's ``fallback``, else an agent of the menu's ``agent_queue``."""
    if fallback is not None:
        return Goto(ctx.menu.name, fallback)
    await ctx.step(result=f"fallback={ctx.menu.agent_queue}")
    return Route(ctx.menu.agent_queue)


def _problem(node: CollectNode, digits: str) -> str | None:
    """Why ``digits`` are refused (a reason without the digits), or ``None``."""
    if len(digits) < node.min_digits:
        return f"too short ({len(digits)} of at least {node.min_digits} digits)"
    if node.pattern is not None and re.fullmatch(node.pattern, digits) is None:
        return "refused by the pattern"
    return None


async def collect(ctx: IvrContext, node: CollectNode) -> Transition:
    failures = 0
    while True:
        # GET DATA ends on '#' itself; one more key lets a '*' terminator end a full-length entry.
        extra = 1 if node.terminator == "*" else 0
        keys = await ctx.channel.get_data(node.prompt, node.timeout_ms, node.max_digits + extra)
        digits = keys.split("*", 1)[0] if node.terminator == "*" else keys
        shown = SECRET_MARK * len(keys) if node.secret else keys
        timed_out = keys == ""
        problem = "timeout" if timed_out else _problem(node, digits)
        if problem is None and len(digits) > node.max_digits:
            problem = f"too long (more than {node.max_digits} digits)"
        if problem is None:
            if node.secret:
                ctx.secrets[node.variable] = digits
                await ctx.step(keys=shown, result=f"entered {len(digits)} digits")
            else:
                ctx.variables[node.variable] = digits
                await ctx.step(keys=shown, result=f"{node.variable}={digits}")
            return Goto(ctx.menu.name, node.next)
        failures += 1
        await ctx.step(keys=shown, result="timeout" if timed_out else f"invalid: {problem}")
        if failures >= node.retries:
            return await give_up(ctx, node.fallback)
        prompt = node.timeout_prompt if timed_out else node.invalid_prompt
        if prompt is not None:
            await ctx.channel.stream_file(prompt)


async def say(ctx: IvrContext, node: SayNode) -> Transition:
    value = node.value if node.variable is None else ctx.variables.get(node.variable)
    if value is None:
        # The collect setting the variable was not on this caller's way.
        await ctx.step(result=f"nothing to say: {node.variable} not collected")
        return Goto(ctx.menu.name, node.next)
    try:
        await say_value(ctx.channel, node.say, value)
    except ValueError:
        await ctx.step(result=f"cannot say {node.variable} as {node.say}")
        return Goto(ctx.menu.name, node.next)
    await ctx.step(result=f"said {node.say}")
    return Goto(ctx.menu.name, node.next)


async def language(ctx: IvrContext, node: LanguageNode) -> Transition:
    # Asterisk looks prompts up under sounds/<language>/ from now on.
    await ctx.channel.set_variable("CHANNEL(language)", node.language)
    ctx.language = node.language
    await ctx.step(result=f"language={node.language}")
    return Goto(ctx.menu.name, node.next)


def _holds(ctx: IvrContext, node: ConditionNode) -> tuple[bool, str]:
    if node.test == "open":
        assert node.calendar is not None  # the model requires it for this test
        is_open = ctx.ignore_business_hours or ctx.menu.calendars[node.calendar].is_open(ctx.clock())
        return is_open, f"{node.calendar} {'open' if is_open else 'closed'}"
    if node.test == "vip":
        # The card's flag: the CRM applies analytics.vip_tiers (and segment A) when it looks the caller up.
        vip = ctx.customer is not None and ctx.customer.vip
        return vip, f"vip={'yes' if vip else 'no'} (tier={ctx.tier or 'unknown'})"
    if node.test == "tier":
        return ctx.tier in node.values, f"tier={ctx.tier or 'unknown'}"
    if node.test == "authentication":
        return ctx.authentication in node.values, f"authentication={ctx.authentication}"
    return ctx.language in node.values, f"language={ctx.language or 'default'}"


async def condition(ctx: IvrContext, node: ConditionNode) -> Transition:
    holds, fact = _holds(ctx, node)
    await ctx.step(result=f"{fact}: {'then' if holds else 'else'}")
    return Goto(ctx.menu.name, node.then if holds else node.otherwise)
