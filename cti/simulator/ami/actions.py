"""AMI call-control actions: Originate, Hangup, Redirect, PlayDTMF, Status and
CoreShowChannels, with Asterisk 22's responses and error texts; ``CALL_ACTIONS``
also holds Setvar, Getvar and the extension-state actions
(:mod:`cti.simulator.ami.state_actions`).
"""

from __future__ import annotations

import asyncio
import re
import time

from cti.simulator.ami.context import ActionContext, ActionHandler
from cti.simulator.ami.state_actions import STATE_ACTIONS
from cti.simulator.bridging import async_goto
from cti.simulator.channels import Channel
from cti.simulator.originate import OriginateRequest, originate, parse_callerid
from cti.simulator.variables import resolve_variable

__all__ = ["CALL_ACTIONS", "is_true"]

_TRUE = ("yes", "true", "y", "t", "1", "on")
DEFAULT_DTMF_MS = 100


def is_true(text: str) -> bool:
    """``ast_true``."""
    return text.strip().lower() in _TRUE


def _variables(ctx: ActionContext) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for header in ctx.headers("Variable"):
        for item in header.split(","):
            name, sep, value = item.partition("=")
            if sep and name.strip():
                pairs.append((name.strip(), value))
    return pairs


async def action_originate(ctx: ActionContext) -> None:
    channel = ctx.header("Channel")
    if not channel:
        ctx.error("Channel not specified")
        return
    priority_text, timeout_text = ctx.header("Priority"), ctx.header("Timeout")
    if priority_text and not priority_text.isdigit():
        ctx.error("Invalid priority")
        return
    if timeout_text and not timeout_text.lstrip("-").isdigit():
        ctx.error("Invalid timeout")
        return
    if "/" not in channel:
        ctx.error("Invalid channel")
        return
    application = ctx.header("Application")
    cid_num, cid_name = parse_callerid(ctx.header("CallerID"))
    request = OriginateRequest(
        channel=channel,
        context="" if application else (ctx.header("Context") or "default"),
        exten="" if application else (ctx.header("Exten") or "s"),
        priority=int(priority_text) if priority_text else 1,
        application=application,
        data=ctx.header("Data"),
        caller_num=cid_num,
        caller_name=cid_name,
        timeout_ms=int(timeout_text) if timeout_text else 30000,
        variables=_variables(ctx),
        action_id=ctx.action_id,
        channel_id=ctx.header("ChannelId") or None,
        other_channel_id=ctx.header("OtherChannelId") or None,
    )
    if is_true(ctx.header("Async")):
        ctx.success("Originate successfully queued")
        ctx.pbx.spawn(originate(ctx.pbx, request), f"originate-{channel}")
        return
    request.publish_response = False
    if await originate(ctx.pbx, request):
        ctx.success("Originate successfully queued")
    else:
        ctx.error("Originate failed")


def _cause(ctx: ActionContext) -> int:
    text = ctx.header("Cause")
    if text.isdigit() and 0 <= int(text) <= 127:
        return int(text)
    return 0


async def action_hangup(ctx: ActionContext) -> None:
    name = ctx.header("Channel")
    if not name:
        ctx.error("No channel specified")
        return
    cause = _cause(ctx)
    if len(name) > 1 and name.startswith("/") and name.endswith("/"):
        try:
            pattern = re.compile(name[1:-1])
        except re.error:
            ctx.error("Invalid regex")
            return
        matched = [candidate for candidate in ctx.pbx.registry if pattern.search(candidate.name)]
        ctx.list_start("Channels hung up will follow")
        for candidate in matched:
            ctx.list_item([("Event", "ChannelHungup"), ("Channel", candidate.name), *ctx.id_field()])
        ctx.list_complete("ChannelsHungupListComplete", len(matched))
        for candidate in matched:
            ctx.pbx.soft_hangup(candidate, cause or None)
        return
    chan = ctx.pbx.registry.get(name)
    if chan is None:
        ctx.error("No such channel")
        return
    ctx.success("Channel Hungup")
    ctx.pbx.soft_hangup(chan, cause or None)


def _redirect_one(ctx: ActionContext, chan: Channel, context: str, exten: str, priority: int) -> bool:
    """``ast_async_goto``: the running application ends as on a hang-up, then the dialplan goes on.

    An AGI sees the hang-up (a running command returns -1, then ``HANGUP``;
    idle, ``HANGUP`` comes with its next command) and the channel continues at
    the target only once the script closed the socket (trace m1).
    """
    if chan.dead:
        return False
    if chan.bridge is not None or chan.pbx_task is None:
        return False
    ctx.pbx.stop_moh(chan)
    async_goto(chan, context, exten, priority)
    return True


async def action_redirect(ctx: ActionContext) -> None:
    name, context, exten, priority = (ctx.header(h) for h in ("Channel", "Context", "Exten", "Priority"))
    for value, what in ((name, "Channel"), (context, "Context"), (exten, "Exten"), (priority, "Priority")):
        if not value:
            ctx.error(f"{what} not specified")
            return
    if not priority.isdigit() or int(priority) < 1:
        ctx.error("Priority is invalid")
        return
    chan = ctx.pbx.registry.get(name)
    if chan is None:
        ctx.error(f"Channel does not exist: {name}")
        return
    extra_name = ctx.header("ExtraChannel")
    extra = ctx.pbx.registry.get(extra_name) if extra_name else None
    if extra_name and extra is None:
        ctx.error(f"ExtraChannel does not exist: {extra_name}")
        return
    if not _redirect_one(ctx, chan, context, exten, int(priority)):
        ctx.error("Redirect failed")
        return
    if extra is not None:
        extra_priority = ctx.header("ExtraPriority") or priority
        _redirect_one(
            ctx,
            extra,
            ctx.header("ExtraContext") or context,
            ctx.header("ExtraExten") or exten,
            int(extra_priority) if extra_priority.isdigit() else int(priority),
        )
        ctx.success("Dual Redirect successful")
        return
    ctx.success("Redirect successful")


async def action_playdtmf(ctx: ActionContext) -> None:
    name, digit = ctx.header("Channel"), ctx.header("Digit")
    if not name:
        ctx.error("Channel not specified")
        return
    if not digit:
        ctx.error("No digit specified")
        return
    chan = ctx.pbx.registry.get(name)
    if chan is None:
        ctx.error("Channel not found")
        return
    duration_text = ctx.header("Duration")
    if duration_text and not duration_text.isdigit():
        ctx.error("Could not convert Duration to integer")
        return
    duration = int(duration_text) if duration_text else DEFAULT_DTMF_MS
    if is_true(ctx.header("Receive")):
        ctx.success("DTMF successfully queued")
        ctx.pbx.receive_dtmf(chan, digit[0], duration, begin=False)
        return
    # ast_senddigit_external plays the digit for its whole duration first.
    await asyncio.sleep(ctx.pbx.scaled(duration / 1000))
    ctx.success("DTMF successfully queued")
    ctx.pbx.send_dtmf(chan, digit[0], duration)


def _hms(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


async def action_status(ctx: ActionContext) -> None:
    name = ctx.header("Channel")
    if name:
        chan = ctx.pbx.registry.get(name)
        if chan is None:
            ctx.error("No such channel")
            return
        channels = [chan]
    else:
        channels = list(ctx.pbx.registry)
    wanted = [v.strip() for v in ctx.header("Variables").split(",") if v.strip()]
    everything = is_true(ctx.header("AllVariables"))
    ctx.list_start("Channel status will follow")
    now = time.monotonic()
    for chan in channels:
        # Asterisk's variable list holds the newest first (trace h: the Originate's variable last).
        variables = (
            list(reversed(chan.variables.items()))
            if everything
            else [(v, resolve_variable(ctx.pbx, chan, v) or "") for v in wanted]
        )
        # Local channels carry signed linear (trace h); a SIP phone's channel its codec.
        media = "slin" if chan.tech == "Local" else "ulaw"
        ctx.list_item(
            [
                ("Event", "Status"),
                ("Privilege", "Call"),
                *ctx.pbx.events.snapshot(chan),
                ("Type", chan.tech),
                ("DNID", chan.dnid or ""),
                ("EffectiveConnectedLineNum", chan.connected_num or "<unknown>"),
                ("EffectiveConnectedLineName", chan.connected_name or "<unknown>"),
                ("TimeToHangup", "0"),
                ("BridgeID", chan.bridge.uniqueid if chan.bridge else ""),
                ("Application", chan.app),
                ("Data", chan.app_data),
                ("Nativeformats", f"({media})"),
                ("Readformat", media),
                ("Readtrans", ""),
                ("Writeformat", media),
                ("Writetrans", ""),
                ("Callgroup", "0"),
                ("Pickupgroup", "0"),
                ("Seconds", str(int((now - chan.created) * ctx.pbx.config.speed))),
                *[("Variable", f"{key}={value}") for key, value in variables],
                *ctx.id_field(),
            ]
        )
    ctx.list_complete("StatusComplete", len(channels), [("Items", str(len(channels)))])


async def action_coreshowchannels(ctx: ActionContext) -> None:
    channels = list(ctx.pbx.registry)
    ctx.list_start("Channels will follow")
    now = time.monotonic()
    for chan in channels:
        ctx.list_item(
            [
                ("Event", "CoreShowChannel"),
                *ctx.id_field(),
                *ctx.pbx.events.snapshot(chan),
                ("Application", chan.app),
                ("ApplicationData", chan.app_data),
                ("Duration", _hms((now - chan.created) * ctx.pbx.config.speed)),
                ("BridgeId", chan.bridge.uniqueid if chan.bridge else ""),
            ]
        )
    ctx.list_complete("CoreShowChannelsComplete", len(channels))


CALL_ACTIONS: dict[str, ActionHandler] = {
    "originate": action_originate,
    "hangup": action_hangup,
    "redirect": action_redirect,
    "playdtmf": action_playdtmf,
    "status": action_status,
    "coreshowchannels": action_coreshowchannels,
    **STATE_ACTIONS,
}
