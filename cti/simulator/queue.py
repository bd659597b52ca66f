"""The ACD queue model of the lab (``queues.conf``) and its AMI event shapes.

Queue ``support``: ``ringall``, ring timeout 15 s, retry 2 s, service level
30 s, static member ``Local/1001@agents/n`` ("Agent 1001").  Members added
with AMI ``QueueAdd`` are dynamic.  Member status is the device state of the
member's state interface, computed from the live channels.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cti.ami.message import AmiMessage
from cti.simulator.channels import Channel, ChannelState

if TYPE_CHECKING:
    from cti.simulator.core import Pbx

__all__ = [
    "DEVICE_INUSE",
    "DEVICE_NOT_INUSE",
    "CallQueue",
    "QueueEntry",
    "QueueMember",
    "QueueRegistry",
    "channels_device_state",
    "device_state",
    "device_state_name",
    "member_event",
]

DEVICE_NOT_INUSE = 1
DEVICE_INUSE = 2
DEVICE_UNAVAILABLE = 5
DEVICE_RINGING = 6
_DEVICE_NAMES = {1: "NOT_INUSE", 2: "INUSE", 5: "UNAVAILABLE", 6: "RINGING"}


@dataclass(eq=False)
class QueueMember:
    """A queue member (``QueueMember`` / ``QueueMemberStatus`` fields)."""

    interface: str
    name: str
    state_interface: str
    membership: str = "static"
    penalty: int = 0
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = field(default_factory=lambda: int(time.time()))
    in_call: bool = False
    paused: bool = False
    paused_reason: str = ""
    ringinuse: bool = False
    wrapuptime: int = 0
    last_status: int = DEVICE_NOT_INUSE


@dataclass(eq=False)
class QueueEntry:
    """A caller waiting in a queue."""

    channel: Channel
    original_position: int
    joined: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class CallQueue:
    """One queue with its settings, members, waiting callers and statistics."""

    name: str
    strategy: str = "ringall"
    timeout: float = 15.0
    retry: float = 2.0
    maxlen: int = 0
    servicelevel: int = 30
    weight: int = 0
    musicclass: str = "default"
    members: list[QueueMember] = field(default_factory=list)
    entries: list[QueueEntry] = field(default_factory=list)
    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0

    def member(self, interface: str) -> QueueMember | None:
        for member in self.members:
            if member.interface.lower() == interface.lower():
                return member
        return None

    def position(self, entry: QueueEntry) -> int:
        return self.entries.index(entry) + 1

    def record_hold(self, hold: int) -> None:
        self.holdtime = hold if not self.holdtime else (self.holdtime * 3 + hold) // 4

    def record_talk(self, talk: int) -> None:
        self.talktime = talk if not self.talktime else (self.talktime * 3 + talk) // 4

    def service_level_perf(self) -> tuple[float, float]:
        perf = 100.0 * self.completed_in_sl / self.completed if self.completed else 0.0
        total = self.completed + self.abandoned
        perf2 = 100.0 * (self.completed_in_sl + self.abandoned_in_sl) / total if total else 0.0
        return perf, perf2


class QueueRegistry:
    """The queues of the simulated PBX (``support`` from the lab config)."""

    def __init__(self) -> None:
        support = CallQueue("support")
        support.members.append(QueueMember("Local/1001@agents/n", "Agent 1001", "Local/1001@agents"))
        self.queues: dict[str, CallQueue] = {"support": support}

    def get(self, name: str) -> CallQueue | None:
        return self.queues.get(name)

    def __iter__(self) -> Iterator[CallQueue]:
        return iter(list(self.queues.values()))


def device_state(pbx: Pbx, state_interface: str) -> int:
    """Device state of a member's interface from the live channels."""
    tech = state_interface.partition("/")[0].lower()
    if tech == "pjsip" and pbx.phone_for(state_interface) is None:
        return DEVICE_UNAVAILABLE
    return channels_device_state(pbx.registry.on_device(state_interface))


def channels_device_state(channels: list[Channel]) -> int:
    """``ast_devstate`` of a device from its channels: a Local device is in use
    while any of its channels lives; a SIP device rings until one is up."""
    live = [chan for chan in channels if not chan.dead]
    if not live:
        return DEVICE_NOT_INUSE
    if live[0].tech == "PJSIP" and all(chan.state == ChannelState.RINGING for chan in live):
        return DEVICE_RINGING
    return DEVICE_INUSE


def device_state_name(state: int) -> str:
    return _DEVICE_NAMES.get(state, "UNKNOWN")


def member_event(name: str, queue: CallQueue, member: QueueMember, status: int) -> AmiMessage:
    """``QueueMemberStatus``/``Added``/``Removed``/``Pause``/``Penalty``."""
    return AmiMessage(
        [
            ("Event", name),
            ("Privilege", "agent,all"),
            ("Queue", queue.name),
            ("MemberName", member.name),
            ("Interface", member.interface),
            ("StateInterface", member.state_interface),
            ("Membership", member.membership),
            ("Penalty", str(member.penalty)),
            ("CallsTaken", str(member.calls_taken)),
            ("LastCall", str(member.last_call)),
            ("LastPause", str(member.last_pause)),
            ("LoginTime", str(member.login_time)),
            ("InCall", "1" if member.in_call else "0"),
            ("Status", str(status)),
            ("Paused", "1" if member.paused else "0"),
            ("PausedReason", member.paused_reason),
            ("Ringinuse", "1" if member.ringinuse else "0"),
            ("Wrapuptime", str(member.wrapuptime)),
        ]
    )


def caller_event(
    pbx: Pbx, name: str, channel: Channel, queue: CallQueue, *extra: tuple[str, str]
) -> AmiMessage:
    """``QueueCallerJoin``/``Leave``/``Abandon``: snapshot, Queue, then *extra*."""
    return AmiMessage(
        [
            ("Event", name),
            ("Privilege", "agent,all"),
            *pbx.events.snapshot(channel),
            ("Queue", queue.name),
            *extra,
        ]
    )


def agent_event(
    pbx: Pbx,
    name: str,
    caller: Channel,
    agent: Channel,
    queue: CallQueue,
    member: QueueMember,
    *extra: tuple[str, str],
) -> AmiMessage:
    """``AgentCalled``/``Connect``/``Complete``/``RingNoAnswer``."""
    return AmiMessage(
        [
            ("Event", name),
            ("Privilege", "agent,all"),
            *pbx.events.snapshot(caller),
            *pbx.events.snapshot(agent, "Dest"),
            ("Queue", queue.name),
            ("Interface", member.interface),
            ("MemberName", member.name),
            *extra,
        ]
    )
