"""The few Asterisk CLI commands answered through AMI ``Command``.

``queue show [name]``, ``core show version``, ``core show uptime`` and
``core show channels``; anything else gets Asterisk's ``No such command``.
"""

from __future__ import annotations

import time

from cti.simulator.core import Pbx
from cti.simulator.queue import CallQueue, QueueMember, device_state

__all__ = ["run_cli"]

_STATE_TEXT = {1: "Not in use", 2: "In use", 5: "Unavailable", 6: "Ringing"}


def _ago(seconds: float) -> str:
    return f"{int(seconds)} secs ago"


def _member_line(pbx: Pbx, member: QueueMember, now: float) -> str:
    state = _STATE_TEXT.get(device_state(pbx, member.state_interface), "Unknown")
    source = f" from {member.state_interface}" if member.state_interface != member.interface else ""
    paused = (
        f" (paused:{member.paused_reason})"
        if member.paused and member.paused_reason
        else (" (paused)" if member.paused else "")
    )
    kind = " (dynamic)" if member.membership == "dynamic" else ""
    if member.calls_taken:
        taken = f"has taken {member.calls_taken} calls (last was {_ago(now - member.last_call)})"
    else:
        taken = "has taken no calls yet"
    return (
        f"      {member.name} ({member.interface}{source}){kind} (ringinuse disabled){paused} ({state}) "
        f"{taken} (login was {_ago(now - member.login_time)})"
    )


def _queue_show(pbx: Pbx, queue: CallQueue) -> list[str]:
    now = time.time()
    perf, perf2 = queue.service_level_perf()
    lines = [
        f"{queue.name} has {len(queue.entries)} calls (max {queue.maxlen or 'unlimited'}) "
        f"in '{queue.strategy}' strategy ({queue.holdtime}s holdtime, {queue.talktime}s talktime), "
        f"W:{queue.weight}, C:{queue.completed}, A:{queue.abandoned}, SL:{perf:.1f}%, SL2:{perf2:.1f}% "
        f"within {queue.servicelevel}s"
    ]
    if queue.members:
        lines.append("   Members: ")
        lines += [_member_line(pbx, member, now) for member in queue.members]
    else:
        lines.append("   No Members")
    if queue.entries:
        lines.append("   Callers: ")
        for position, entry in enumerate(queue.entries, start=1):
            wait = int(pbx.sim_elapsed(entry.joined))
            lines.append(
                f"      {position}. {entry.channel.name} (wait: {wait // 60}:{wait % 60:02d}, prio: 0)"
            )
    else:
        lines.append("   No Callers")
    return [*lines, ""]


def run_cli(pbx: Pbx, command: str) -> tuple[bool, list[str]]:
    """Run a CLI command; ``(ok, output lines)``."""
    words = command.split()
    lowered = [word.lower() for word in words]
    if lowered[:2] == ["queue", "show"]:
        names = words[2:3]
        queues = [q for q in pbx.queues if not names or q.name == names[0]]
        if names and not queues:
            return True, [f"No such queue: {names[0]}.", ""]
        lines: list[str] = []
        for queue in queues:
            lines += _queue_show(pbx, queue)
        return True, [*lines, ""]
    if lowered == ["core", "show", "version"]:
        return True, [
            f"Asterisk {pbx.config.version} built by bankcti @ simulator on a x86_64 running Linux",
            "",
        ]
    if lowered == ["core", "show", "uptime"]:
        uptime = pbx.uptime()
        return True, [f"System uptime: {uptime} seconds", f"Last reload: {uptime} seconds", ""]
    if lowered == ["core", "show", "channels"]:
        lines = [f"{'Channel':<28} {'Location':<24} {'State':<8} Application(Data)"]
        for chan in pbx.registry:
            location = f"{chan.exten}@{chan.context}:{chan.priority}"
            lines.append(f"{chan.name:<28} {location:<24} {chan.state.desc:<8} {chan.app}({chan.app_data})")
        count = len(pbx.registry)
        lines += [
            f"{count} active channels",
            f"{count} active calls",
            f"{pbx.registry.processed_calls} calls processed",
            "",
        ]
        return True, lines
    return False, [
        f"No such command '{command}' (type 'core show help {command}' for other possible commands)",
        "",
    ]
