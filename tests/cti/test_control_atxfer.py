"""The console's attended transfer on Asterisk's real ``Atxfer`` semantics (traces k2 and k4).

``Atxfer`` answers ``Atxfer successfully queued`` whatever happens: it only queues ``*2`` and
the digits on the agent's channel.  :meth:`CallControl.attended_transfer` therefore counts the
transfer as started only when the agent's channel reports ``Hold``; a ``Dial`` without ``t``
(k2: the digits just reach the customer) is refused and leaves no transfer pending.

The real :class:`~cti.ami.client.AmiClient` talks to the simulator over TCP; the lab's FastAGI
script dials the agent ``Local/1001@agents`` with or without ``t``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from cti.ami.client import AmiClient
from cti.ami.message import AmiMessage
from cti.control import CallControl
from cti.control_types import ControlRefused, ControlSettings, TransferKind, TransferTarget
from cti.simulator import PbxSimulator, SimulatorConfig
from cti.tracker import CallTracker

AGENT = "Local/1001@agents"


class Rig:
    def __init__(self, sim: PbxSimulator, ami: AmiClient, tracker: CallTracker, control: CallControl) -> None:
        self.sim, self.ami, self.tracker, self.control = sim, ami, tracker, control
        self.events: list[AmiMessage] = []

    async def until(self, check: Callable[[], bool]) -> None:
        for _ in range(500):
            if check():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("condition not reached within 5 s")


@pytest.fixture
async def rig_for() -> AsyncIterator[Callable[[str], Awaitable[Rig]]]:
    opened: list[tuple[PbxSimulator, AmiClient, asyncio.Server]] = []

    async def make(dial_options: str) -> Rig:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while (await reader.readline()) not in (b"\n", b""):
                pass
            for line in ("ANSWER", f"EXEC Dial {AGENT},60{dial_options}"):
                writer.write(line.encode() + b"\n")
                while (await reader.readline()).strip() == b"HANGUP":
                    pass
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        config = SimulatorConfig(
            ami_username="cti",
            ami_secret="cti-secret",
            agi_port=int(server.sockets[0].getsockname()[1]),
            speed=10,
        )
        sim = PbxSimulator(config)
        await sim.start()
        sim.set_global("AGENT_1001_TALK", "3600")
        ami = AmiClient(
            host="127.0.0.1", port=sim.ami_port, username="cti", secret="cti-secret", ping_interval=60.0
        )
        tracker = CallTracker()
        control = CallControl(ami, tracker, ControlSettings(atxfer_confirm_ms=1_000))
        rig = Rig(sim, ami, tracker, control)

        async def on_event(message: AmiMessage) -> None:
            rig.events.append(message)
            tracker.feed(message)
            control.on_event(message)

        ami.on_event(on_event)
        await ami.connect()
        opened.append((sim, ami, server))
        await ami.action(
            "Originate",
            Channel="Local/s@lab-agi",
            Context="driver-caller",
            Exten="s",
            Priority="1",
            CallerID='"Alice Customer" <+15551230001>',
            Async="true",
            Variable="LAB_SCRIPT=x",
        )
        await rig.until(lambda: sum(1 for m in rig.events if m.event == "BridgeEnter") >= 2)
        return rig

    yield make
    for sim, ami, server in opened:
        await ami.close()
        await sim.close()
        server.close()


def _consulted(rig: Rig) -> int:
    """Answers of consultation calls (the number rings in the simulator's ``pstn``)."""
    return sum(
        1
        for m in rig.events
        if m.event == "DialEnd"
        and m.get("DialStatus") == "ANSWER"
        and "@pstn" in (m.get("DestChannel") or "")
    )


def _call_id(rig: Rig) -> str:
    return next(m["Linkedid"] for m in rig.events if m.event == "BridgeEnter")


async def test_atxfer_on_a_dial_without_t_is_refused_and_leaves_no_transfer(rig_for) -> None:  # type: ignore[no-untyped-def]
    rig: Rig = await rig_for("")
    call_id = _call_id(rig)
    target = TransferTarget(TransferKind.NUMBER, "004930123456")
    with pytest.raises(ControlRefused, match="did not start the transfer"):
        await rig.control.attended_transfer(call_id, AGENT, target)
    # The digits went to the customer as tones (trace k2), and nothing is pending.
    assert any(m.event == "DTMFBegin" and m.get("Direction") == "Sent" for m in rig.events)
    with pytest.raises(ControlRefused, match="no transfer"):
        await rig.control.cancel_transfer(call_id, AGENT)


async def test_atxfer_with_t_consults_then_cancel_and_complete(rig_for) -> None:  # type: ignore[no-untyped-def]
    rig: Rig = await rig_for(",t")
    call_id = _call_id(rig)
    target = TransferTarget(TransferKind.NUMBER, "004930123456")
    await rig.control.attended_transfer(call_id, AGENT, target)
    await rig.until(lambda: _consulted(rig) >= 1)
    await rig.control.cancel_transfer(call_id, AGENT)
    await rig.until(lambda: any(m.event == "Unhold" for m in rig.events))
    assert not any(m.event == "AttendedTransfer" for m in rig.events)

    await rig.control.attended_transfer(call_id, AGENT, target)
    await rig.until(lambda: _consulted(rig) >= 2)  # the target answered the second consultation
    await rig.control.complete_transfer(call_id, AGENT)
    await rig.until(lambda: any(m.event == "AttendedTransfer" for m in rig.events))
    done = next(m for m in rig.events if m.event == "AttendedTransfer")
    assert done["OrigTransfererChannel"].startswith(AGENT + "-") and done["IsExternal"] == "No"


async def test_atxfer_to_a_plus_number_is_refused_before_anything_is_sent(rig_for) -> None:  # type: ignore[no-untyped-def]
    rig: Rig = await rig_for(",t")
    call_id = _call_id(rig)
    sent = len(rig.events)
    with pytest.raises(ControlRefused, match="keypad digits"):
        await rig.control.attended_transfer(
            call_id, AGENT, TransferTarget(TransferKind.NUMBER, "+4930123456")
        )
    await asyncio.sleep(0.2)
    assert not any(m.event in ("Hold", "DTMFBegin") for m in rig.events[sent:])
    with pytest.raises(ControlRefused, match="no transfer"):
        await rig.control.cancel_transfer(call_id, AGENT)


async def test_atxfer_to_an_agent_dials_the_keypad_alias(rig_for) -> None:  # type: ignore[no-untyped-def]
    rig: Rig = await rig_for(",t")
    call_id = _call_id(rig)
    await rig.control.attended_transfer(
        call_id, AGENT, TransferTarget(TransferKind.AGENT, "Local/1002@agents")
    )
    # The consultation runs *82 of the dial context (typed as DTMF), which dials the agent's device.
    await rig.until(
        lambda: any(
            m.event == "Newchannel" and "*82@bankcti-dial" in m.get("Channel", "") for m in rig.events
        )
    )
    await rig.until(
        lambda: any(
            m.event == "DialBegin" and "1002@agents" in (m.get("DestChannel") or "") for m in rig.events
        )
    )
    typed = [m.get("Digit") for m in rig.events if m.event == "DTMFEnd" and m.get("Direction") == "Received"]
    assert "".join(typed).endswith("*2*82")
