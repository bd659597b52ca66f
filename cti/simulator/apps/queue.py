"""The ``Queue()`` application: app_queue's ``ringall`` strategy as seen on the wire.

A caller joins (``QueueCallerJoin``, music on hold), every available member
is rung at once (``AgentCalled`` + ``DialBegin`` per member) for the ring
timeout, unanswered rings end with ``AgentRingNoAnswer`` and a retry pause,
the first member to answer is connected (``QueueCallerLeave``,
``AgentConnect``, bridge) and ``AgentComplete`` closes the call.  A caller
hanging up while members ring produces ``DialEnd CANCEL`` twice and
``QueueCallerAbandon`` (trace c).  Without the ``c`` option the caller is
hung up once the bridged call ends, so the application returns -1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from cti.simulator.apps.dial import bridge_until_hangup, unbridge
from cti.simulator.apps.legs import DialAttempt, OutboundLeg, create_leg
from cti.simulator.channels import Channel, wait_any_hangup
from cti.simulator.core import Pbx
from cti.simulator.queue import (
    DEVICE_NOT_INUSE,
    CallQueue,
    QueueEntry,
    QueueMember,
    agent_event,
    caller_event,
    device_state,
    member_event,
)

__all__ = ["app_queue"]

log = logging.getLogger(__name__)


def _queue_vars(pbx: Pbx, queue: CallQueue, channel: Channel) -> None:
    perf, _ = queue.service_level_perf()
    for name, value in (
        ("QUEUENAME", queue.name),
        ("QUEUEMAX", str(queue.maxlen)),
        ("QUEUESTRATEGY", queue.strategy),
        ("QUEUECALLS", str(len(queue.entries))),
        ("QUEUEHOLDTIME", str(queue.holdtime)),
        ("QUEUETALKTIME", str(queue.talktime)),
        ("QUEUECOMPLETED", str(queue.completed)),
        ("QUEUEABANDONED", str(queue.abandoned)),
        ("QUEUESRVLEVEL", str(queue.servicelevel)),
        ("QUEUESRVLEVELPERF", f"{perf:.1f}"),
    ):
        pbx.set_var(channel, name, value)


def publish_member_changes(pbx: Pbx, queue: CallQueue) -> None:
    """``QueueMemberStatus`` for every member whose device state changed."""
    for member in queue.members:
        status = device_state(pbx, member.state_interface)
        if status != member.last_status:
            member.last_status = status
            pbx.emit(member_event("QueueMemberStatus", queue, member, status))


def _available(pbx: Pbx, queue: CallQueue) -> list[QueueMember]:
    return [
        member
        for member in queue.members
        if not member.paused
        and not member.in_call
        and device_state(pbx, member.state_interface) == DEVICE_NOT_INUSE
    ]


async def app_queue(pbx: Pbx, caller: Channel, data: str) -> int:
    """``Queue(name[,options[,URL[,announce[,timeout]]]])``."""
    args = data.split(",")
    queue = pbx.queues.get(args[0])
    if queue is None:
        log.warning("sim.queue_unknown", extra={"channel": caller.name, "queue": args[0]})
        pbx.set_var(caller, "QUEUESTATUS", "UNKNOWN")
        return 0
    try:
        timeout = float(args[4]) if len(args) > 4 and args[4] else None
    except ValueError:
        timeout = None
    for name in (
        "ANSWEREDTIME",
        "ANSWEREDTIME_MS",
        "DIALEDTIME",
        "DIALEDTIME_MS",
        "QUEUEWAIT",
        "QUEUEWAIT_MS",
    ):
        pbx.set_var(caller, name, "")
    if queue.maxlen and len(queue.entries) >= queue.maxlen:
        pbx.set_var(caller, "QUEUESTATUS", "FULL")
        return 0
    entry = QueueEntry(caller, len(queue.entries) + 1)
    queue.entries.append(entry)
    pbx.emit_for(
        caller,
        caller_event(
            pbx,
            "QueueCallerJoin",
            caller,
            queue,
            ("Position", str(queue.position(entry))),
            ("Count", str(len(queue.entries))),
        ),
    )
    pbx.start_moh(caller, queue.musicclass)
    run = _QueueCall(pbx, queue, entry, timeout)
    try:
        return await run.serve()
    finally:
        if entry in queue.entries:
            queue.entries.remove(entry)


class _QueueCall:
    """One caller's stay in a queue."""

    def __init__(self, pbx: Pbx, queue: CallQueue, entry: QueueEntry, timeout: float | None) -> None:
        self.pbx = pbx
        self.queue = queue
        self.entry = entry
        self.caller = entry.channel
        self.deadline = None if timeout is None else time.monotonic() + pbx.scaled(timeout)

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _hold(self) -> int:
        return int(self.pbx.sim_elapsed(self.entry.joined))

    def _leave(self) -> None:
        position = self.queue.position(self.entry)
        self.queue.entries.remove(self.entry)
        self.pbx.emit_for(
            self.caller,
            caller_event(
                self.pbx,
                "QueueCallerLeave",
                self.caller,
                self.queue,
                ("Position", str(position)),
                ("Count", str(len(self.queue.entries))),
            ),
        )

    async def serve(self) -> int:
        pbx, queue = self.pbx, self.queue
        while True:
            if self.caller.dead:
                return await self._abandon([])
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                return self._timeout()
            members = _available(pbx, queue)
            if not members or queue.position(self.entry) > len(members):
                pause = (
                    pbx.scaled(queue.retry) if remaining is None else min(pbx.scaled(queue.retry), remaining)
                )
                await self.caller.wait_hangup(pause)
                continue
            legs: list[OutboundLeg] = []
            try:
                result = await self._ring(members, remaining, legs)
            except asyncio.CancelledError:
                for leg in legs:
                    pbx.destroy(leg.channel, 0)
                raise
            if result is not None:
                return result
            if await self.caller.wait_hangup(pbx.scaled(queue.retry)):
                return await self._abandon([])

    async def _ring(
        self, members: list[QueueMember], remaining: float | None, created: list[OutboundLeg]
    ) -> int | None:
        pbx, queue, caller = self.pbx, self.queue, self.caller
        ring_started = time.monotonic()
        legs: dict[OutboundLeg, QueueMember] = {}
        for member in members:
            leg = create_leg(
                pbx,
                caller,
                member.interface,
                app_label="AppQueue",
                cid=(caller.caller_num, caller.caller_name),
            )
            if not isinstance(leg, OutboundLeg):
                continue
            leg.dialstring = member.interface
            legs[leg] = member
            created.append(leg)
            pbx.emit_for(caller, agent_event(pbx, "AgentCalled", caller, leg.channel, queue, member))
            pbx.emit_for(caller, pbx.events.dial_begin(caller, leg.channel, leg.dialstring))
        if not legs:
            return None

        def ringing(leg: OutboundLeg) -> None:
            publish_member_changes(pbx, queue)
            pbx.emit_for(caller, pbx.events.dial_state(caller, leg.channel, "RINGING"))

        def failed(leg: OutboundLeg) -> None:
            ring_ms = round(pbx.sim_elapsed(ring_started) * 1000)
            pbx.emit_for(
                caller,
                agent_event(
                    pbx,
                    "AgentRingNoAnswer",
                    caller,
                    leg.channel,
                    queue,
                    legs[leg],
                    ("RingTime", str(ring_ms)),
                ),
            )
            pbx.emit_for(caller, pbx.events.dial_end(caller, leg.channel, leg.failed_status or "NOANSWER"))
            pbx.destroy(leg.channel)

        attempt = DialAttempt(pbx, caller, list(legs), ringing, failed)
        for leg in legs:
            leg.start(pbx)
        ring_timeout = pbx.scaled(queue.timeout)
        if remaining is not None:
            ring_timeout = min(ring_timeout, remaining)
        outcome, winner = await attempt.wait(ring_timeout)
        if outcome == "answer" and winner is not None:
            return await self._connect(attempt, winner, legs[winner], ring_started)
        if outcome == "cancel":
            return await self._abandon(attempt.pending)
        if outcome == "timeout":
            ring_ms = round(pbx.sim_elapsed(ring_started) * 1000)
            for leg in attempt.pending:
                pbx.emit_for(
                    caller,
                    agent_event(
                        pbx,
                        "AgentRingNoAnswer",
                        caller,
                        leg.channel,
                        queue,
                        legs[leg],
                        ("RingTime", str(ring_ms)),
                    ),
                )
                pbx.emit_for(caller, pbx.events.dial_end(caller, leg.channel, "NOANSWER"))
                pbx.destroy(leg.channel, 0)
        return None

    async def _abandon(self, legs: list[OutboundLeg]) -> int:
        pbx, queue, caller = self.pbx, self.queue, self.caller
        pbx.stop_moh(caller)
        for leg in legs:
            # app_queue publishes the cancel from wait_for_answer and again
            # from hangupcalls (trace c shows DialEnd CANCEL twice).
            pbx.emit_for(caller, pbx.events.dial_end(caller, leg.channel, "CANCEL"))
            pbx.emit_for(caller, pbx.events.dial_end(caller, leg.channel, "CANCEL"))
        for leg in legs:
            pbx.destroy(leg.channel, 0)
        await asyncio.sleep(0)
        hold = self._hold()
        pbx.emit_for(
            caller,
            caller_event(
                pbx,
                "QueueCallerAbandon",
                caller,
                queue,
                ("Position", str(queue.position(self.entry))),
                ("OriginalPosition", str(self.entry.original_position)),
                ("HoldTime", str(hold)),
            ),
        )
        queue.abandoned += 1
        if hold <= queue.servicelevel:
            queue.abandoned_in_sl += 1
        await asyncio.sleep(0)
        self._leave()
        self._after_caller_hangup(lambda: publish_member_changes(pbx, queue))
        return -1

    def _timeout(self) -> int:
        self.pbx.stop_moh(self.caller)
        self._leave()
        self.pbx.set_var(self.caller, "QUEUESTATUS", "TIMEOUT")
        return 0

    def _after_caller_hangup(self, hook: Callable[[], None]) -> None:
        if self.caller.gone:
            hook()
        else:
            self.caller.after_hangup.append(hook)

    async def _connect(
        self, attempt: DialAttempt, winner: OutboundLeg, member: QueueMember, ring_started: float
    ) -> int:
        pbx, queue, caller = self.pbx, self.queue, self.caller
        for leg in attempt.pending:
            if leg is not winner:
                pbx.emit_for(caller, pbx.events.dial_end(caller, leg.channel, "CANCEL"))
                pbx.destroy(leg.channel, 26)
        agent = winner.channel
        pbx.emit_for(caller, pbx.events.dial_end(caller, agent, "ANSWER"))
        pbx.stop_moh(caller)
        hold, ring = self._hold(), int(pbx.sim_elapsed(ring_started))
        for channel in (caller, agent):
            for name, value in (
                ("MEMBERINTERFACE", member.interface),
                ("MEMBERNAME", member.name),
                ("MEMBERCALLS", str(member.calls_taken)),
                ("MEMBERLASTCALL", str(member.last_call)),
                ("MEMBERPENALTY", str(member.penalty)),
                ("MEMBERDYNAMIC", "1" if member.membership == "dynamic" else "0"),
                ("MEMBERREALTIME", "0"),
            ):
                pbx.set_var(channel, name, value)
        for channel in (caller, agent):
            pbx.set_var(channel, "QEHOLDTIME", str(hold))
            pbx.set_var(channel, "QEORIGINALPOS", str(self.entry.original_position))
        for channel in (caller, agent):
            _queue_vars(pbx, queue, channel)
        position = queue.position(self.entry)
        self._leave()
        pbx.set_var(caller, "QUEUEPOSITION", str(position))
        pbx.set_var(caller, "QUEUEWAIT", str(hold))
        pbx.set_var(caller, "QUEUEWAIT_MS", str(hold * 1000))
        pbx.emit_for(
            caller,
            agent_event(
                pbx,
                "AgentConnect",
                caller,
                agent,
                queue,
                member,
                ("HoldTime", str(hold)),
                ("RingTime", str(ring)),
            ),
        )
        queue.record_hold(hold)
        member.in_call = True
        observer = pbx.call_of(caller)
        if observer is not None:
            observer.on_agent_answer(winner.state_interface)
        bridge = bridge_until_hangup(pbx, caller, agent)
        connected = time.monotonic()
        first = await wait_any_hangup(caller, agent)
        talk = int(pbx.sim_elapsed(connected))
        member.in_call = False
        member.calls_taken += 1
        member.last_call = int(time.time())
        queue.completed += 1
        queue.record_talk(talk)
        if hold <= queue.servicelevel:
            queue.completed_in_sl += 1
        pbx.emit_for(
            caller,
            agent_event(
                pbx,
                "AgentComplete",
                caller,
                agent,
                queue,
                member,
                ("HoldTime", str(hold)),
                ("TalkTime", str(talk)),
                ("Reason", "caller" if first is caller else "agent"),
            ),
        )
        unbridge(pbx, bridge, caller, agent, first)
        _queue_vars(pbx, queue, caller)
        talk_ms = round(pbx.sim_elapsed(connected) * 1000)
        dialed_ms = round(pbx.sim_elapsed(ring_started) * 1000)
        for name, value in (
            ("ANSWEREDTIME", str(talk_ms // 1000)),
            ("ANSWEREDTIME_MS", str(talk_ms)),
            ("DIALEDTIME", str(dialed_ms // 1000)),
            ("DIALEDTIME_MS", str(dialed_ms)),
        ):
            pbx.set_var(caller, name, value)
        _queue_vars(pbx, queue, caller)
        loop = asyncio.get_running_loop()

        def finish() -> None:
            pbx.bridge_destroy(bridge)
            publish_member_changes(pbx, queue)
            # The member channel is hung up by app_queue's thread after the
            # caller's own hangup has been processed (trace b2 order).
            loop.call_soon(lambda: loop.call_soon(pbx.destroy, agent))

        self._after_caller_hangup(finish)
        return -1
