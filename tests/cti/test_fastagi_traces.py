"""Replay the real Asterisk 22 FastAGI recordings against our server.

The fake Asterisk sends the recorded bytes in the recorded interleaving; the
server runs the lab scripts through the AgiChannel API; the bytes it sends
must equal the recorded ``script-to-asterisk.raw`` exactly.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastagi_traces import FROM_ASTERISK, FROM_SCRIPT, load_trace, replay

from cti.fastagi import AgiChannel, AgiHangup, FastAgiServer, format_command, quote

TRACE_NAMES = [
    "b-inbound-call-1",
    "b2-inbound-call-filtered-1",
    "c-queue-abandon-1",
    "f-dtmf-methods-1",
    "f-dtmf-methods-2",
    "g-caller-hangup-during-ivr-1",
]


@pytest.mark.parametrize("name", TRACE_NAMES)
def test_transcript_blocks_rebuild_both_raw_files(name: str) -> None:
    trace = load_trace(name)
    assert trace.sent_by(FROM_ASTERISK) == trace.asterisk_raw
    assert trace.sent_by(FROM_SCRIPT) == trace.script_raw


async def lab_ivr(channel: AgiChannel, seen: dict[str, Any]) -> None:
    """The lab IVR script from the traces' README."""
    seen["env"] = (
        channel.script,
        channel.channel_name,
        channel.uniqueid,
        channel.caller_id,
        channel.caller_name,
    )
    await channel.answer()
    seen["prompt_digit"] = await channel.stream_file("hello-world")
    menu = seen["menu"] = await channel.get_data("beep", 5000, 1)
    account = seen["account"] = await channel.get_data("beep", 6000, 6)
    choice = "support" if menu == "1" else "other"
    await channel.set_variable("IVR_CHOICE", choice)
    # set_variable quotes only when needed; the lab script always quoted the
    # caller-entered account, and the replay must be byte-exact.
    await channel.command(f"{format_command('SET VARIABLE', 'IVR_ACCOUNT')} {quote(account)}")
    seen["choice"] = await channel.get_variable("IVR_CHOICE")
    seen["status"] = await channel.channel_status()
    await channel.verbose(f"IVR done choice={choice} account={account}", 1)
    seen["hung_up"] = channel.hung_up


@pytest.mark.parametrize(
    ("name", "account", "caller", "channel_name", "uniqueid"),
    [
        (
            "b2-inbound-call-filtered-1",
            "4711",
            ("+15551230001", "Alice Customer"),
            "Local/s@ivr-in-00000002;2",
            "1795907163.5",
        ),
        (
            "b-inbound-call-1",
            "4711",
            ("+15551230001", "Alice Customer"),
            "Local/s@ivr-in-00000000;2",
            "1795907148.1",
        ),
        (
            "c-queue-abandon-1",
            "815",
            ("+15551230002", "Bob Impatient"),
            "Local/s@ivr-in-00000004;2",
            "1795907177.9",
        ),
    ],
)
async def test_lab_ivr_replay_is_byte_exact(
    name: str, account: str, caller: tuple[str, str], channel_name: str, uniqueid: str
) -> None:
    trace = load_trace(name)
    seen: dict[str, Any] = {}

    async def handler(channel: AgiChannel) -> None:
        await lab_ivr(channel, seen)

    async with FastAgiServer(routes={"ivr": handler}, port=0) as server:
        sent = await replay(server.port, trace)
        await server.wait_idle()
    assert sent == trace.script_raw
    assert seen == {
        "env": ("ivr", channel_name, uniqueid, *caller),
        "prompt_digit": "",
        "menu": "1",
        "account": account,
        "choice": "support",
        "status": 6,
        "hung_up": False,
    }


async def test_caller_hangup_during_get_data_replay() -> None:
    """Trace g: GET DATA → result=-1, then HANGUP line + reply, then 511."""
    trace = load_trace("g-caller-hangup-during-ivr-1")
    seen: dict[str, Any] = {}

    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        await channel.stream_file("hello-world")
        try:
            await channel.get_data("beep", 5000, 1)
        except AgiHangup:
            seen["get_data"] = ("hangup", channel.hung_up)
        await channel.verbose("caller hung up in the IVR", 1)
        seen["after_verbose"] = channel.hung_up
        try:
            await channel.stream_file("beep")
        except AgiHangup as exc:
            seen["stream_file"] = str(exc)

    async with FastAgiServer(handler, port=0) as server:
        sent = await replay(server.port, trace)
    assert sent == trace.script_raw
    assert seen == {
        "get_data": ("hangup", True),
        "after_verbose": True,
        "stream_file": "511 Command Not Permitted on a dead channel or intercept routine",
    }


async def test_dtmf_methods_replay() -> None:
    """Trace f-1: GET DATA, WAIT FOR DIGIT and STREAM FILE with escape digits."""
    trace = load_trace("f-dtmf-methods-1")
    results: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        for _ in range(3):
            results.append(await channel.get_data("beep", 4000, 1))
        for _ in range(2):
            results.append(await channel.wait_for_digit(4000))
        for _ in range(2):
            results.append(await channel.get_data("beep", 6000, 5))
        results.append(await channel.stream_file("hello-world", "0123456789*#"))
        results.append(await channel.stream_file("hello-world", ""))
        for _ in range(3):
            results.append(await channel.get_data("beep", 2000, 1))

    async with FastAgiServer(routes={"dtmftest": handler}, port=0) as server:
        sent = await replay(server.port, trace)
    assert sent == trace.script_raw
    assert results == ["1", "2", "", "4", "5", "1234", "5678", "7", "", "", "", ""]


async def test_single_get_data_replay() -> None:
    """Trace f-2: the digit 0 comes back as result=0, i.e. the string "0"."""
    trace = load_trace("f-dtmf-methods-2")
    results: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        results.append(await channel.get_data("beep", 10000, 1))

    async with FastAgiServer(routes={"dtmfonce": handler}, port=0) as server:
        sent = await replay(server.port, trace)
    assert sent == trace.script_raw
    assert results == ["0"]
