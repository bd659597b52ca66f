"""The channel model: names, unique ids, states, variables and bridges.

A :class:`Channel` holds exactly what Asterisk puts in a channel snapshot
(name, state, caller ID, connected line, dialplan location, ids) plus the
simulator's bookkeeping: the Local-channel partner, the bridge, the digit
reader of a running AGI command and the hangup flags.

Naming follows Asterisk 22: unique ids are ``"<epoch>.<n>"`` with one global
counter; Local channels are ``Local/<exten>@<context>-<8 hex>;1``/``;2`` and
PJSIP channels ``PJSIP/<endpoint>-<8 hex>``, each technology with its own
sequence.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum

__all__ = [
    "Bridge",
    "Channel",
    "ChannelRegistry",
    "ChannelState",
    "DigitReader",
    "cause_text",
    "wait_any_hangup",
]

_CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    26: "Answered elsewhere",
    27: "Destination out of order",
    34: "Circuit/channel congestion",
    127: "Interworking, unspecified",
}


def cause_text(cause: int) -> str:
    """Asterisk's ``ast_cause2str`` text for a Q.850 cause (``Unknown`` else)."""
    return _CAUSE_TEXT.get(cause, "Unknown")


class ChannelState(IntEnum):
    """Channel states used by the simulator, with Asterisk's numeric codes."""

    DOWN = 0
    RING = 4
    RINGING = 5
    UP = 6

    @property
    def desc(self) -> str:
        return {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}[int(self)]


class DigitReader:
    """A digit-reading command in progress (GET DATA, WAIT FOR DIGIT...).

    DTMF reaching the channel is handed to the reader only while it is the
    channel's current reader, and only if ``accept`` allows the digit
    (``None`` accepts any); everything else is lost, as on real Asterisk.
    """

    def __init__(self, accept: str | None) -> None:
        self.accept = accept
        self._digits: deque[str] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, digit: str) -> bool:
        if self.accept is not None and digit not in self.accept:
            return False
        self._digits.append(digit)
        self.wake()
        return True

    def wake(self) -> None:
        """Wake :meth:`next` (a digit arrived or the channel hung up)."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self, channel: Channel, limit: float | None) -> str | None:
        """The next digit; ``""`` once *limit* (real seconds) ran out,
        ``None`` if the channel hung up first.  ``limit=None`` waits forever.
        """
        loop = asyncio.get_running_loop()
        deadline = None if limit is None else loop.time() + limit
        while True:
            if self._digits:
                return self._digits.popleft()
            if channel.dead:
                return None
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return ""
            waiter = loop.create_future()
            self._waiter = waiter
            timer = None if remaining is None else loop.call_later(remaining, _resolve, waiter)
            try:
                await waiter
            finally:
                if timer is not None:
                    timer.cancel()
                self._waiter = None


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@dataclass(eq=False)
class Channel:
    """One simulated Asterisk channel (see the module docstring)."""

    name: str
    uniqueid: str
    linkedid: str
    tech: str
    context: str
    exten: str
    priority: int = 1
    state: ChannelState = ChannelState.DOWN
    caller_num: str | None = None
    caller_name: str | None = None
    caller_pres: int = 0
    connected_num: str | None = None
    connected_name: str | None = None
    language: str = "en"
    accountcode: str = ""
    dnid: str | None = None
    device: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    inheritable: dict[str, int] = field(default_factory=dict)
    peer: Channel | None = None
    local_half: int = 0
    bridge: Bridge | None = None
    moh_class: str | None = None
    hangup_cause: int | None = None
    soft_hangup: bool = False
    hangup_requested: bool = False
    gone: bool = False
    app: str = ""
    app_data: str = ""
    reader: DigitReader | None = None
    reader_listeners: list[Callable[[Channel, DigitReader], None]] = field(default_factory=list)
    after_hangup: list[Callable[[], None]] = field(default_factory=list)
    on_ringing: Callable[[Channel], None] | None = None
    on_answer: Callable[[Channel], None] | None = None
    hangup_listeners: list[Callable[[Channel], None]] = field(default_factory=list)
    answer_hook: Callable[[Channel], None] | None = None
    created: float = field(default_factory=time.monotonic)
    answered_at: float | None = None
    pbx_task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self._hangup_event = asyncio.Event()
        self._gone_event = asyncio.Event()
        self._answer_event = asyncio.Event()

    # -- variables ---------------------------------------------------------
    def set_var(self, name: str, value: str) -> str:
        """Set a channel variable; ``_X``/``__X`` mark it inheritable.

        Returns the bare name (without the inheritance underscores).
        """
        bare = name.lstrip("_")
        level = min(len(name) - len(bare), 2)
        if level:
            self.inheritable[bare] = level
        self.variables[bare] = value
        return bare

    def get_var(self, name: str) -> str | None:
        return self.variables.get(name)

    def inherit_from(self, parent: Channel) -> list[tuple[str, str]]:
        """Copy ``_X`` (one level) and ``__X`` (all levels) variables.

        Returns the ``(name as announced, value)`` pairs Asterisk reports in
        ``VarSet`` events (``__X`` keeps its underscores, ``_X`` loses one).
        """
        copied: list[tuple[str, str]] = []
        for bare, level in parent.inheritable.items():
            value = parent.variables.get(bare, "")
            self.variables[bare] = value
            if level == 2:
                self.inheritable[bare] = 2
                copied.append(("__" + bare, value))
            else:
                copied.append((bare, value))
        return copied

    # -- state ---------------------------------------------------------------
    @property
    def is_up(self) -> bool:
        return self.state == ChannelState.UP

    @property
    def dead(self) -> bool:
        """True once a hangup was requested (``ast_check_hangup``)."""
        return self.hangup_requested or self.gone

    def mark_hangup_requested(self) -> None:
        self.hangup_requested = True
        self._hangup_event.set()
        self._answer_event.set()

    def mark_answered(self) -> None:
        self._answer_event.set()

    def clear_hangup(self) -> None:
        """Undo a soft hangup once an async goto was honoured (the channel lives on)."""
        if self.gone:
            return
        self.soft_hangup = False
        self.hangup_requested = False
        self.hangup_cause = None
        self._hangup_event.clear()

    def mark_gone(self) -> None:
        self.gone = True
        self.mark_hangup_requested()
        self._gone_event.set()

    async def wait_hangup(self, limit: float | None = None) -> bool:
        """Wait until a hangup is requested; False if *limit* (real seconds) ran out."""
        if self.dead:
            return True
        if limit is None:
            await self._hangup_event.wait()
            return True
        try:
            async with asyncio.timeout(limit):
                await self._hangup_event.wait()
        except TimeoutError:
            return self.dead
        return True

    async def wait_answered(self) -> None:
        """Return once the channel is up or a hangup was requested."""
        if not self.is_up and not self.dead:
            await self._answer_event.wait()

    async def wait_gone(self) -> None:
        await self._gone_event.wait()

    def set_reader(self, reader: DigitReader | None) -> None:
        self.reader = reader
        if reader is not None:
            for listener in list(self.reader_listeners):
                listener(self, reader)


@dataclass(eq=False)
class Bridge:
    """A basic two-party bridge (``simple_bridge`` technology)."""

    linkedid: str
    uniqueid: str = field(default_factory=lambda: str(uuid.uuid4()))
    members: list[Channel] = field(default_factory=list)
    destroyed: bool = False


class ChannelRegistry:
    """Allocates names and unique ids and indexes live channels by name."""

    def __init__(self, *, epoch_floor: int = 0) -> None:
        # Unique ids are "<epoch>.<counter>" and the counter starts again at 0 in a new process:
        # a restarted simulator dates its ids no earlier than ``epoch_floor`` so that a restart
        # faster than a second (a real one takes longer) cannot hand out an id of the old process.
        self._epoch_floor = epoch_floor
        self._by_name: dict[str, Channel] = {}
        self._by_uniqueid: dict[str, Channel] = {}
        self._by_device: dict[str, list[Channel]] = {}
        self._uid_counter = 0
        self._sequences: dict[str, int] = {}
        self.processed_calls = 0

    def next_uniqueid(self) -> str:
        uid = f"{max(int(time.time()), self._epoch_floor)}.{self._uid_counter}"
        self._uid_counter += 1
        return uid

    def next_sequence(self, tech: str) -> str:
        seq = self._sequences.get(tech, 0)
        self._sequences[tech] = seq + 1
        return f"{seq & 0xFFFFFFFF:08x}"

    def add(self, channel: Channel) -> None:
        self._by_name[channel.name] = channel
        self._by_uniqueid[channel.uniqueid] = channel
        self._by_device.setdefault(channel.device.lower(), []).append(channel)
        self.processed_calls += 1

    def remove(self, channel: Channel) -> None:
        if self._by_name.get(channel.name) is channel:
            del self._by_name[channel.name]
        if self._by_uniqueid.get(channel.uniqueid) is channel:
            del self._by_uniqueid[channel.uniqueid]
        on_device = self._by_device.get(channel.device.lower())
        if on_device is not None and channel in on_device:
            on_device.remove(channel)
            if not on_device:
                del self._by_device[channel.device.lower()]

    def get(self, name: str) -> Channel | None:
        """Find a live channel by name (case-insensitive, like Asterisk)."""
        channel = self._by_name.get(name)
        if channel is not None:
            return channel
        lowered = name.lower()
        for candidate in self._by_name.values():
            if candidate.name.lower() == lowered:
                return candidate
        return None

    def on_device(self, device: str) -> list[Channel]:
        """Live channels of *device* (``Local/1001@agents``, ``PJSIP/1001``)."""
        return list(self._by_device.get(device.lower(), ()))

    def by_uniqueid(self, uniqueid: str) -> Channel | None:
        return self._by_uniqueid.get(uniqueid)

    def __iter__(self) -> Iterator[Channel]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)


async def wait_any_hangup(*channels: Channel, limit: float | None = None) -> Channel | None:
    """Wait until one of *channels* has a hangup requested; return it.

    ``None`` when *limit* (real seconds) runs out first.
    """
    for channel in channels:
        if channel.dead:
            return channel
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Channel] = loop.create_future()

    def listener(channel: Channel) -> None:
        if not done.done():
            done.set_result(channel)

    for channel in channels:
        channel.hangup_listeners.append(listener)
    try:
        if limit is None:
            return await done
        try:
            async with asyncio.timeout(limit):
                return await done
        except TimeoutError:
            return None
    finally:
        for channel in channels:
            if listener in channel.hangup_listeners:
                channel.hangup_listeners.remove(listener)
