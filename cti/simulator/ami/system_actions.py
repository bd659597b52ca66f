"""AMI system actions: Ping, Events, Filter, Command, CoreSettings, CoreStatus, ListCommands."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from cti.simulator.ami.cli import run_cli
from cti.simulator.ami.context import ActionContext, ActionHandler
from cti.simulator.ami.filters import FilterError, parse_filter

__all__ = ["SYSTEM_ACTIONS"]

SYNOPSES = {
    "Challenge": "Generate Challenge for MD5 Auth.",
    "Command": "Execute Asterisk CLI Command.",
    "CoreSettings": "Show PBX core settings (version etc).",
    "CoreShowChannels": "List currently active channels.",
    "CoreStatus": "Show PBX core status variables.",
    "Events": "Control Event Flow.",
    "Filter": "Dynamically add filters for the current manager session.",
    "Getvar": "Gets a channel variable or function value.",
    "Hangup": "Hangup channel.",
    "ListCommands": "List available manager commands.",
    "Login": "Login Manager.",
    "Logoff": "Logoff Manager.",
    "Originate": "Originate a call.",
    "Ping": "Keepalive command.",
    "PlayDTMF": "Play DTMF signal on a specific channel.",
    "QueueAdd": "Add interface to queue.",
    "QueuePause": "Makes a queue member temporarily unavailable.",
    "QueuePenalty": "Set the penalty for a queue member.",
    "QueueRemove": "Remove interface from queue.",
    "QueueStatus": "Show queue status.",
    "QueueSummary": "Show queue summary.",
    "Redirect": "Redirect (transfer) a call.",
    "Setvar": "Sets a channel variable or function value.",
    "Status": "List channel status.",
}


async def action_ping(ctx: ActionContext) -> None:
    now = time.time()
    seconds = int(now)
    ctx.success(None, [("Ping", "Pong"), ("Timestamp", f"{seconds}.{int((now - seconds) * 1_000_000):06d}")])


async def action_events(ctx: ActionContext) -> None:
    mask = ctx.header("EventMask")
    if not mask:
        ctx.error("Invalid event mask")
        return
    on = ctx.session.set_events(mask)
    ctx.success(None, [("Events", "On" if on else "Off")])


async def action_filter(ctx: ActionContext) -> None:
    if ctx.header("Operation").lower() != "add":
        ctx.error("Unknown operation")
        return
    try:
        event_filter = parse_filter(ctx.header("MatchCriteria"), ctx.header_or_none("Filter") or "")
    except FilterError as exc:
        ctx.error(str(exc))
        return
    ctx.session.filters.add(event_filter)
    ctx.success("Success")


async def action_command(ctx: ActionContext) -> None:
    command = ctx.header("Command")
    if not command:
        ctx.error("No command provided")
        return
    ok, lines = run_cli(ctx.pbx, command)
    ctx.reply("Success" if ok else "Error", "Command output follows", [("Output", line) for line in lines])


async def action_coresettings(ctx: ActionContext) -> None:
    ctx.success(
        None,
        [
            ("AMIversion", "11.0.0"),
            ("AsteriskVersion", ctx.pbx.config.version),
            ("SystemName", ""),
            ("CoreMaxCalls", "0"),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", ""),
            ("CoreRunGroup", ""),
            ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No"),
        ],
    )


async def action_corestatus(ctx: ActionContext) -> None:
    started = datetime.fromtimestamp(ctx.pbx.started_at, UTC)
    date, clock = started.strftime("%Y-%m-%d"), started.strftime("%H:%M:%S")
    ctx.success(
        None,
        [
            ("CoreStartupDate", date),
            ("CoreStartupTime", clock),
            ("CoreReloadDate", date),
            ("CoreReloadTime", clock),
            ("CoreCurrentCalls", str(len(ctx.pbx.registry))),
            ("CoreProcessedCalls", str(ctx.pbx.registry.processed_calls)),
        ],
    )


async def action_listcommands(ctx: ActionContext) -> None:
    ctx.success(None, [(name, f"{text} (Priv: all)") for name, text in sorted(SYNOPSES.items())])


SYSTEM_ACTIONS: dict[str, ActionHandler] = {
    "ping": action_ping,
    "events": action_events,
    "filter": action_filter,
    "command": action_command,
    "coresettings": action_coresettings,
    "corestatus": action_corestatus,
    "listcommands": action_listcommands,
}
