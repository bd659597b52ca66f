"""AMI queue actions: QueueStatus, QueueSummary, QueueAdd, QueueRemove, QueuePause, QueuePenalty.

Shapes follow traces a, d and e2 (an unknown queue in ``QueueStatus`` is
``Success`` with an empty list, not an error).
"""

from __future__ import annotations

import time

from cti.simulator.ami.actions import is_true
from cti.simulator.ami.context import ActionContext, ActionHandler
from cti.simulator.queue import DEVICE_NOT_INUSE, CallQueue, QueueMember, device_state, member_event

__all__ = ["QUEUE_ACTIONS"]


def _queues(ctx: ActionContext) -> list[CallQueue]:
    name = ctx.header("Queue")
    return [queue for queue in ctx.pbx.queues if not name or queue.name == name]


def _status(ctx: ActionContext, member: QueueMember) -> int:
    return device_state(ctx.pbx, member.state_interface)


async def action_queuestatus(ctx: ActionContext) -> None:
    wanted = ctx.header("Member")
    ctx.list_start("Queue status will follow")
    count = 0
    for queue in _queues(ctx):
        perf, perf2 = queue.service_level_perf()
        ctx.list_item(
            [
                ("Event", "QueueParams"),
                ("Queue", queue.name),
                ("Max", str(queue.maxlen)),
                ("Strategy", queue.strategy),
                ("Calls", str(len(queue.entries))),
                ("Holdtime", str(queue.holdtime)),
                ("TalkTime", str(queue.talktime)),
                ("Completed", str(queue.completed)),
                ("Abandoned", str(queue.abandoned)),
                ("ServiceLevel", str(queue.servicelevel)),
                ("ServicelevelPerf", f"{perf:.1f}"),
                ("ServicelevelPerf2", f"{perf2:.1f}"),
                ("Weight", str(queue.weight)),
                *ctx.id_field(),
            ]
        )
        count += 1
        for member in queue.members:
            if wanted and wanted not in (member.name, member.interface):
                continue
            ctx.list_item(
                [
                    ("Event", "QueueMember"),
                    ("Queue", queue.name),
                    ("Name", member.name),
                    ("Location", member.interface),
                    ("StateInterface", member.state_interface),
                    ("Membership", member.membership),
                    ("Penalty", str(member.penalty)),
                    ("CallsTaken", str(member.calls_taken)),
                    ("LastCall", str(member.last_call)),
                    ("LastPause", str(member.last_pause)),
                    ("LoginTime", str(member.login_time)),
                    ("InCall", "1" if member.in_call else "0"),
                    ("Status", str(_status(ctx, member))),
                    ("Paused", "1" if member.paused else "0"),
                    ("PausedReason", member.paused_reason),
                    ("Wrapuptime", str(member.wrapuptime)),
                    *ctx.id_field(),
                ]
            )
            count += 1
        for position, entry in enumerate(queue.entries, start=1):
            chan = entry.channel
            ctx.list_item(
                [
                    ("Event", "QueueEntry"),
                    ("Queue", queue.name),
                    ("Position", str(position)),
                    ("Channel", chan.name),
                    ("Uniqueid", chan.uniqueid),
                    ("CallerIDNum", chan.caller_num or "unknown"),
                    ("CallerIDName", chan.caller_name or "unknown"),
                    ("ConnectedLineNum", chan.connected_num or "unknown"),
                    ("ConnectedLineName", chan.connected_name or "unknown"),
                    ("Wait", str(int(ctx.pbx.sim_elapsed(entry.joined)))),
                    ("Priority", "0"),
                    *ctx.id_field(),
                ]
            )
            count += 1
    ctx.list_complete("QueueStatusComplete", count)


async def action_queuesummary(ctx: ActionContext) -> None:
    ctx.list_start("Queue summary will follow")
    queues = _queues(ctx)
    for queue in queues:
        available = [m for m in queue.members if not m.paused and _status(ctx, m) == DEVICE_NOT_INUSE]
        longest = max((int(ctx.pbx.sim_elapsed(e.joined)) for e in queue.entries), default=0)
        ctx.list_item(
            [
                ("Event", "QueueSummary"),
                ("Queue", queue.name),
                ("LoggedIn", str(len(queue.members))),
                ("Available", str(len(available))),
                ("Callers", str(len(queue.entries))),
                ("HoldTime", str(queue.holdtime)),
                ("TalkTime", str(queue.talktime)),
                ("LongestHoldTime", str(longest)),
                *ctx.id_field(),
            ]
        )
    ctx.list_complete("QueueSummaryComplete", len(queues))


def _pause_device(ctx: ActionContext, queue: CallQueue, member: QueueMember) -> None:
    ctx.pbx.emit(
        ctx.pbx.events.device_state_change(
            f"Queue:{queue.name}_pause_{member.interface}", "INUSE" if member.paused else "NOT_INUSE"
        )
    )


def _queue_and_interface(ctx: ActionContext, no_queue: str) -> tuple[CallQueue, str] | None:
    """The ``Queue`` and ``Interface`` headers, checked as app_queue does (errors answered)."""
    name, interface = ctx.header("Queue"), ctx.header("Interface")
    if not name:
        ctx.error("'Queue' not specified.")
        return None
    if not interface:
        ctx.error("'Interface' not specified.")
        return None
    queue = ctx.pbx.queues.get(name)
    if queue is None:
        ctx.error(no_queue)
        return None
    return queue, interface


async def action_queueadd(ctx: ActionContext) -> None:
    found = _queue_and_interface(ctx, "Unable to add interface to queue: No such queue")
    if found is None:
        return
    queue, interface = found
    if queue.member(interface) is not None:
        ctx.error("Unable to add interface: Already there")
        return
    penalty = ctx.header("Penalty")
    member = QueueMember(
        interface,
        ctx.header("MemberName") or interface,
        ctx.header("StateInterface") or interface,
        membership="dynamic",
        penalty=int(penalty) if penalty.isdigit() else 0,
        paused=is_true(ctx.header("Paused")),
        paused_reason=ctx.header("Reason"),
    )
    if member.paused:
        member.last_pause = int(time.time())
    member.last_status = _status(ctx, member)
    queue.members.append(member)
    ctx.success("Added interface to queue")
    _pause_device(ctx, queue, member)
    ctx.pbx.emit(member_event("QueueMemberAdded", queue, member, member.last_status))


async def action_queueremove(ctx: ActionContext) -> None:
    found = _queue_and_interface(ctx, "Unable to remove interface from queue: No such queue")
    if found is None:
        return
    queue, interface = found
    member = queue.member(interface)
    if member is None:
        ctx.error("Unable to remove interface: Not there")
        return
    if member.membership != "dynamic":
        ctx.error("Member not dynamic")
        return
    queue.members.remove(member)
    ctx.success("Removed interface from queue")
    ctx.pbx.emit(member_event("QueueMemberRemoved", queue, member, _status(ctx, member)))


async def action_queuepause(ctx: ActionContext) -> None:
    interface, paused_text = ctx.header("Interface"), ctx.header("Paused")
    if not interface or not paused_text:
        ctx.error("Need 'Interface' and 'Paused' fields")
        return
    paused = is_true(paused_text)
    found = [(queue, queue.member(interface)) for queue in _queues(ctx)]
    targets = [(queue, member) for queue, member in found if member is not None]
    if not targets:
        ctx.error("Interface not found")
        return
    ctx.success("Interface paused successfully" if paused else "Interface unpaused successfully")
    for queue, member in targets:
        member.paused = paused
        member.paused_reason = ctx.header("Reason") if paused else ""
        if paused:
            member.last_pause = int(time.time())
        _pause_device(ctx, queue, member)
        ctx.pbx.emit(member_event("QueueMemberPause", queue, member, _status(ctx, member)))


async def action_queuepenalty(ctx: ActionContext) -> None:
    interface, penalty = ctx.header("Interface"), ctx.header("Penalty")
    if not interface:
        ctx.error("'Interface' not specified.")
        return
    if not penalty:
        ctx.error("'Penalty' not specified.")
        return
    targets = [(q, m) for q in _queues(ctx) if (m := q.member(interface)) is not None]
    if not targets or not penalty.lstrip("-").isdigit() or int(penalty) < 0:
        ctx.error("Invalid interface, queuename or penalty")
        return
    ctx.success("Interface penalty set successfully")
    for queue, member in targets:
        member.penalty = int(penalty)
        ctx.pbx.emit(member_event("QueueMemberPenalty", queue, member, _status(ctx, member)))


QUEUE_ACTIONS: dict[str, ActionHandler] = {
    "queuestatus": action_queuestatus,
    "queuesummary": action_queuesummary,
    "queueadd": action_queueadd,
    "queueremove": action_queueremove,
    "queuepause": action_queuepause,
    "queuepenalty": action_queuepenalty,
}
