"""Replaying the real traces h–o against the simulator (lab contexts of ``conf-live-h-o``).

A "call" of those traces is ``Originate Channel=Local/s@lab-agi Context=driver-caller
Exten=s Variable=LAB_SCRIPT=<script>``: ``;1`` is the customer's phone, ``;2`` runs the
FastAGI script ``<script>`` served here by :class:`LabAgi`, one coroutine per script
name.  :class:`LabRun` replays the trace's own AMI requests (by ``ActionID``, with the
channel names of this run) and compares what came back with the trace.

The simulator has no dialplan hints, so the trace's ``ExtensionStatus`` events are
left out of every comparison, like the noisy VarSet/Newexten/DeviceStateChange; the lab's
AMI user ``cti`` had no ``security`` read class (``conf-live-h-o/manager.conf``), so the
trace has no ``SuccessfulAuth`` while the simulator (read all) sends one.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sim_harness import NOISE, AgiScriptConn, AmiTestClient, ScriptedAgi, normalise, trace_bytes
from sim_harness import trace_messages as trace_messages

from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

SKIP = NOISE | {"ExtensionStatus", "SuccessfulAuth"}
SPEED = 20
ScriptHandler = Callable[[AgiScriptConn], Awaitable[None]]


class LabAgi:
    """A FastAGI server dispatching each connection to the handler named by its script."""

    def __init__(self) -> None:
        self.handlers: dict[str, ScriptHandler] = {}
        self.by_script: dict[str, list[AgiScriptConn]] = {}
        self.closed: dict[str, asyncio.Event] = {}
        self.server = ScriptedAgi(self._dispatch)

    def script(self, name: str, handler: ScriptHandler) -> None:
        self.handlers[name] = handler
        self.closed[name] = asyncio.Event()

    async def _dispatch(self, conn: AgiScriptConn) -> None:
        name = conn.env.get("agi_network_script", "")
        self.by_script.setdefault(name, []).append(conn)
        try:
            await self.handlers[name](conn)
        finally:
            self.closed[name].set()

    async def wait_closed(self, name: str, within: float = 20.0) -> None:
        """Until the script *name* closed its socket (bounded: a broken simulator fails, not hangs)."""
        async with asyncio.timeout(within):
            await self.closed[name].wait()

    def conn(self, name: str) -> AgiScriptConn:
        return self.by_script[name][-1]


class LabRun:
    """One simulator, its AMI client and the trace being replayed."""

    def __init__(self, sim: PbxSimulator, agi: LabAgi, ami: AmiTestClient, trace: str) -> None:
        self.sim, self.agi, self.ami, self.trace = sim, agi, ami, trace
        self.requests = {m["ActionID"]: m for m in trace_messages(trace, "client-to-server")}

    def send(self, action_id: str, **channels: str) -> None:
        """Send the trace's request *action_id*, with header values replaced by *channels*."""
        message = self.requests[action_id]
        self.ami.send_message(AmiMessage([(k, channels.get(k, v)) for k, v in message.fields]))

    async def reply(self, action_id: str, **channels: str) -> AmiMessage:
        self.send(action_id, **channels)
        return await self.ami.wait_for(lambda m: m.get("ActionID") == action_id and m.response is not None)

    async def event(self, name: str, within: float = 10.0, **fields: str) -> AmiMessage:
        def match(m: AmiMessage) -> bool:
            return m.event == name and all(m.get(k) == v for k, v in fields.items())

        return await self.ami.wait_for(match, within)

    async def count(self, name: str, n: int, **fields: str) -> None:
        def match(m: AmiMessage) -> bool:
            return m.event == name and all(m.get(k) == v for k, v in fields.items())

        await self.ami.wait_count(match, n)

    def channel(self, prefix: str) -> str:
        """The live channel whose name starts with *prefix* (the newest one)."""
        names = [c.name for c in self.sim.channels() if c.name.startswith(prefix) and not c.gone]
        assert names, f"no live channel {prefix}…"
        return names[-1]

    async def finish(self, logoff: str) -> list[AmiMessage]:
        self.send(logoff)
        await self.ami.wait_closed()
        return self.ami.messages


@pytest.fixture
async def lab_run() -> AsyncIterator[Callable[[str, LabAgi], Awaitable[LabRun]]]:
    started: list[tuple[PbxSimulator, LabAgi, AmiTestClient]] = []

    async def make(trace: str, agi: LabAgi) -> LabRun:
        port = await agi.server.start()
        sim = PbxSimulator(
            SimulatorConfig(ami_username="cti", ami_secret="cti-secret", agi_port=port, speed=SPEED)
        )
        await sim.start()
        for ext in ("1001", "1002", "1003"):  # the lab phones answer and echo until hung up
            sim.set_global(f"AGENT_{ext}_TALK", "3600")
        ami = await AmiTestClient.connect(sim.ami_port)
        started.append((sim, agi, ami))
        run = LabRun(sim, agi, ami, trace)
        await run.reply("login-1")
        return run

    yield make
    for sim, agi, ami in started:
        await ami.close()
        await sim.close()
        await agi.server.close()


# -- comparisons ----------------------------------------------------------------------------
def keyed(messages: list[AmiMessage], skip: set[str] = SKIP) -> list[tuple[str, tuple[str, ...]]]:
    """Each message as (event or response, its keys in order): names, order, key sets and spelling."""
    return [(m.event or f"Response:{m.response}", tuple(m.keys())) for m in messages if m.event not in skip]


def outline(messages: list[AmiMessage], skip: set[str] = SKIP) -> list[str]:
    """One line per message: its kind and its normalised channel fields (readable diffs)."""
    lines = []
    for fields in normalise(messages, skip):
        values = dict(fields)
        kind = values.get("Event") or f"Response:{values.get('Response')}"
        chans = [f"{k}={v}" for k, v in fields if k in ("Channel", "DestChannel", "Command", "DialStatus")]
        lines.append(" ".join([kind, *chans]))
    return lines


#: Adjacent events whose order is a race between two channel threads in Asterisk itself: the
#: AGI thread's ``AGIExecEnd`` after a hangup comes before the far half's ``Hangup`` in i1 and
#: after it in g.  Both lists are put in one order before comparing.
RACES = {("AGIExecEnd", "Hangup")}


def settle_races(messages: list[AmiMessage], skip: set[str] = SKIP) -> list[AmiMessage]:
    out = [m for m in messages if m.event not in skip]
    for i in range(len(out) - 1):
        if (out[i].event, out[i + 1].event) in RACES:
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def after_answer(messages: list[AmiMessage]) -> list[AmiMessage]:
    """The messages from the AGI's ``ANSWER`` reply on (its ``AGIExecEnd`` included).

    Before it, the Originate's ``Newstate``/``DialEnd``/``OriginateResponse`` order is a race in
    Asterisk itself (i1 and i2 differ); the originate phase is held to traces b, c and g.
    """
    start = next(i for i, m in enumerate(messages) if m.event == "AGIExecEnd" and m["Command"] == "ANSWER")
    return messages[start:]


def by_channel(messages: list[AmiMessage], skip: set[str] = SKIP) -> dict[str, list[str]]:
    """Each channel's own events in order (normalised lines), keyed by normalised channel name."""
    out: dict[str, list[str]] = {}
    for line in outline(messages, skip):
        for part in line.split(" ")[1:]:
            if part.startswith("Channel="):
                out.setdefault(part, []).append(line)
    return out


def assert_same_events(
    ours: list[AmiMessage], real: list[AmiMessage], skip: set[str] = SKIP, *, strict: bool = True
) -> None:
    """Same event names in the same order, same keys, same values once ids are normalised.

    ``strict=False`` is for runs where two channel threads race in Asterisk itself: every
    channel's own events must come in the trace's order and the whole must hold the same
    messages, but events of different channels may interleave differently.
    """
    ours, real = settle_races(ours, skip), settle_races(real, skip)
    if not strict:
        assert by_channel(ours, skip) == by_channel(real, skip)
        assert sorted(outline(ours, skip)) == sorted(outline(real, skip))
        assert sorted(map(str, normalise(ours, skip))) == sorted(map(str, normalise(real, skip)))
        return
    mine, theirs = outline(ours, skip), outline(real, skip)
    assert mine == theirs, "\n".join(difflib.unified_diff(theirs, mine, "real", "simulator", lineterm=""))
    assert keyed(ours, skip) == keyed(real, skip)
    for a, b in zip(normalise(ours, skip), normalise(real, skip), strict=True):
        differ = [(k, v, dict(b).get(k)) for k, v in a if dict(b).get(k) != v]
        assert a == b, f"{dict(b).get('Event') or dict(b).get('Response')}: (key, simulator, real) {differ}"


def of_channel(messages: list[AmiMessage], *prefixes: str) -> list[AmiMessage]:
    """Events whose ``Channel`` (or ``DestChannel``) starts with one of *prefixes*."""
    return [
        m
        for m in messages
        if any((m.get("Channel") or m.get("DestChannel") or "").startswith(p) for p in prefixes)
    ]


_ENDPOS = re.compile(rb"endpos=\d+")


def agi_bytes_after_env(raw: bytes) -> bytes:
    """What Asterisk wrote after the environment block, ``endpos`` values blanked (they time a playback)."""
    return _ENDPOS.sub(b"endpos=*", raw.split(b"\n\n", 1)[1])


def real_agi_bytes(name: str) -> bytes:
    return agi_bytes_after_env(trace_bytes(f"{name}.asterisk-to-script.raw"))


def script_commands(name: str) -> list[str]:
    """The commands the trace's script sent, in order."""
    raw = trace_bytes(f"{name}.script-to-asterisk.raw").decode()
    return [line for line in raw.split("\n") if line]
