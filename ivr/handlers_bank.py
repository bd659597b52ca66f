"""Handlers of the nodes that reach the bank: verify (PIN) and action (self-service).

The PIN goes from ``ctx.secrets`` to the CRM and nowhere else: it is
dropped before the check, a failing check is logged by exception type only
(an exception's text could quote its arguments), and the step records the
verification result, never the digits.  CRM calls and speech are kept apart
so a caller hanging up while a result is said is still an ``AgiHangup`` —
the abandoned outcome — and never a CRM failure.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ivr.context import Goto, IvrContext, Transition
from ivr.handlers_io import give_up
from ivr.nodes_bank import ActionNode, VerifyNode
from ivr.ports import CustomerCards, SelfServicePort
from ivr.speech import say_amount, say_date

__all__ = ["action", "verify"]

log = logging.getLogger(__name__)

_LEVELS = ("none", "caller_id", "verified")


async def _adopt_customer(ctx: IvrContext, customer_id: int) -> None:
    """Make the verified customer the call's customer (its card, for the screen-pop)."""
    ctx.customer_id = customer_id
    if ctx.customer is not None and ctx.customer.id == customer_id:
        return
    ctx.customer = next((c for c in ctx.candidates if c.id == customer_id), None)
    if ctx.customer is None and isinstance(ctx.directory, CustomerCards):
        try:
            ctx.customer = await ctx.directory.card(customer_id)
        except Exception as exc:
            log.warning(
                "ivr.card_failed", extra={"uniqueid": ctx.channel.uniqueid, "error": type(exc).__name__}
            )


async def verify(ctx: IvrContext, node: VerifyNode) -> Transition:
    node_key = f"{ctx.menu.name}:{ctx.node_name}"
    account = ctx.value(node.account)
    # The PIN is used once; the account number stays for a retry of the PIN only.
    pin = ctx.secrets.pop(node.pin, None)
    if ctx.selfservice is None or account is None or pin is None:
        await ctx.step(result="verification unavailable")
        return await give_up(ctx, node.failed)
    try:
        outcome = await ctx.selfservice.verify(
            account_number=account, pin=pin, caller_customer_id=ctx.customer_id, call_id=ctx.call_id
        )
    except Exception as exc:
        log.error("ivr.verify_failed", extra={"uniqueid": ctx.channel.uniqueid, "error": type(exc).__name__})
        await ctx.step(result="verification failed: CRM error")
        return await give_up(ctx, node.failed)
    finally:
        del pin, account
    if outcome.status in ("wrong_pin", "no_pin") and ctx.verify_failures.get(node_key, 0) + 1 < node.retries:
        return await _retry(ctx, node, node_key, outcome.status, outcome.attempts_left)
    ctx.secrets.pop(node.account, None)
    if outcome.status == "verified" and outcome.customer_id is not None:
        ctx.authentication = "verified"
        ctx.account_id = outcome.account_id
        await _adopt_customer(ctx, outcome.customer_id)
        await ctx.step(result="verified")
        return Goto(ctx.menu.name, node.next)
    if outcome.status == "locked":
        await ctx.step(result="locked")
        if node.locked_prompt is not None:
            await ctx.channel.stream_file(node.locked_prompt)
        return await give_up(ctx, node.locked)
    return await _retry(ctx, node, node_key, outcome.status, outcome.attempts_left)


async def _retry(ctx: IvrContext, node: VerifyNode, key: str, status: str, left: int | None) -> Transition:
    """A failed check: another try at ``retry``, or ``failed`` after the last one."""
    failures = ctx.verify_failures.get(key, 0) + 1
    ctx.verify_failures[key] = failures
    await ctx.step(result=status if left is None else f"{status}, {left} attempts left")
    if failures >= node.retries:
        ctx.secrets.pop(node.account, None)
        return await give_up(ctx, node.failed)
    if node.invalid_prompt is not None:
        await ctx.channel.stream_file(node.invalid_prompt)
    return Goto(ctx.menu.name, node.retry)


def _digits(reference: str) -> str:
    return "".join(char for char in reference if char.isascii() and char.isdigit())


Said = tuple[str, str | Decimal | date]
"""One thing to say: ``("digits", "1234")``, ``("amount", Decimal)`` or ``("date", date)``."""


async def _run(
    ctx: IvrContext, node: ActionNode, service: SelfServicePort, customer_id: int | None
) -> tuple[str, list[Said]] | None:
    """Run the CRM side of the action: ``(what to record, what to say)``, ``None`` without a caller number."""
    if node.action == "request_callback":
        if ctx.caller_e164 is None:
            return None
        return await _request_callback(ctx, node, service, customer_id, ctx.caller_e164)
    if customer_id is None:
        return None
    if node.action == "balance":
        accounts = list(await service.balances(customer_id, call_id=ctx.call_id))
        said: list[Said] = []
        for account in accounts:
            said += [("digits", account.last4), ("amount", account.balance)]
        return f"balance: {len(accounts)} accounts", said
    if node.action == "recent_transactions":
        lines = list(await service.recent_transactions(customer_id, limit=3, call_id=ctx.call_id))
        said = []
        for line in lines:
            day = line.occurred_on.date() if isinstance(line.occurred_on, datetime) else line.occurred_on
            said += [("amount", line.amount), ("date", day)]
        return f"recent transactions: {len(lines)}", said
    lost = await service.report_card_lost(customer_id, account_id=ctx.account_id, call_id=ctx.call_id)
    return f"card reported lost: {lost.reference}", [("digits", _digits(lost.reference))]


async def _request_callback(
    ctx: IvrContext, node: ActionNode, service: SelfServicePort, customer_id: int | None, number: str
) -> tuple[str, list[Said]]:
    start = datetime.fromtimestamp(ctx.clock(), tz=UTC) + timedelta(minutes=node.window_start_minutes)
    end = start + timedelta(minutes=node.window_minutes)
    ref = await service.request_callback(
        customer_id,
        number_e164=number,
        window_start=start,
        window_end=end,
        reason=node.reason,
        call_id=ctx.call_id,
    )
    if ctx.callbacks is not None:
        ctx.callbacks.hand_off(
            callback_id=ref.id,
            reference=ref.reference,
            customer_id=customer_id,
            number_e164=number,
            window_start=start,
            window_end=end,
            reason=node.reason,
            call_id=ctx.call_id,
        )
    return f"callback requested: {ref.reference}", [("digits", _digits(ref.reference))]


async def _say(ctx: IvrContext, said: list[Said]) -> None:
    for _, value in said:
        if isinstance(value, Decimal):
            await say_amount(ctx.channel, value)
        elif isinstance(value, date):
            await say_date(ctx.channel, value)
        elif value:
            await ctx.channel.say_digits(value)


async def action(ctx: IvrContext, node: ActionNode) -> Transition:
    needed = node.required_level()
    if _LEVELS.index(ctx.authentication) < _LEVELS.index(needed) or (
        needed != "none" and ctx.customer_id is None
    ):
        await ctx.step(result=f"denied: needs {needed}")
        return await give_up(ctx, node.denied)
    if ctx.selfservice is None:
        await ctx.step(result=f"{node.action} unavailable")
        return await give_up(ctx, node.failed)
    try:
        done = await _run(ctx, node, ctx.selfservice, ctx.customer_id)
    except Exception:
        log.exception("ivr.action_failed", extra={"uniqueid": ctx.channel.uniqueid, "action": node.action})
        await ctx.step(result=f"{node.action} failed")
        return await give_up(ctx, node.failed)
    if done is None:
        missing = "caller number" if node.action == "request_callback" else "customer"
        await ctx.step(result=f"denied: no {missing}")
        return await give_up(ctx, node.denied)
    record, said = done
    await ctx.step(result=record)
    if node.prompt is not None:
        await ctx.channel.stream_file(node.prompt)
    await _say(ctx, said)
    return Goto(ctx.menu.name, node.next)
