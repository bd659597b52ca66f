"""AgiChannel against a fake Asterisk over TCP: replies, errors, hang-ups, quoting."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fastagi_harness import run_script
from fastagi_peer import AgiPeer, make_env

from cti.fastagi import AgiChannel, AgiCommandError, AgiHangup, AgiProtocolError, FastAgiServer

USAGE_BLOCK = (
    "520-Invalid command syntax.  Proper usage follows:\n"
    " Usage: GET DATA <file to be streamed> [timeout] [maxdigits]\n"
    "\tStream the given file, and receive DTMF data.\n"
    "520 End of proper usage."
)
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


async def test_usage_error_block_is_read_completely_and_sync_is_kept() -> None:
    async def script(channel: AgiChannel) -> tuple[int, str, str | None]:
        with pytest.raises(AgiCommandError) as caught:
            await channel.command("GET DATA")
        return caught.value.code, caught.value.reply.raw, await channel.get_variable("X")

    commands, (code, raw, value) = await run_script(
        script, {"GET DATA": USAGE_BLOCK, "GET VARIABLE X": "200 result=1 (after usage)"}.__getitem__
    )
    assert commands == ["GET DATA", "GET VARIABLE X"]
    assert (code, raw, value) == (520, USAGE_BLOCK, "after usage")


async def test_invalid_command_then_next_command() -> None:
    async def script(channel: AgiChannel) -> tuple[int, int]:
        with pytest.raises(AgiCommandError) as caught:
            await channel.command("FROB NICATE")
        return caught.value.code, await channel.channel_status()

    replies = {"FROB NICATE": "510 Invalid or unknown command", "CHANNEL STATUS": "200 result=6"}
    commands, result = await run_script(script, replies.__getitem__)
    assert commands == ["FROB NICATE", "CHANNEL STATUS"]
    assert result == (510, 6)


async def test_hangup_line_before_reply_marks_hung_up_and_returns_the_reply() -> None:
    async def script(channel: AgiChannel) -> list[object]:
        seen: list[object] = [channel.hung_up]
        await channel.set_variable("IVR_CHOICE", "support")
        seen.append(channel.hung_up)
        seen.append(await channel.get_variable("IVR_CHOICE"))  # allowed on a dead channel
        with pytest.raises(AgiHangup):
            await channel.stream_file("beep")
        return seen

    replies = {
        "SET VARIABLE IVR_CHOICE support": "HANGUP\n200 result=1",
        "GET VARIABLE IVR_CHOICE": "200 result=1 (support)",
        'STREAM FILE beep ""': DEAD,
    }
    commands, seen = await run_script(script, replies.__getitem__)
    assert seen == [False, True, "support"]
    assert commands == list(replies)


async def test_hangup_line_then_minus_one_on_a_reading_command() -> None:
    async def script(channel: AgiChannel) -> bool:
        with pytest.raises(AgiHangup):
            await channel.wait_for_digit(4000)
        return channel.hung_up

    commands, hung_up = await run_script(script, {"WAIT FOR DIGIT 4000": "HANGUP\n200 result=-1"}.__getitem__)
    assert commands == ["WAIT FOR DIGIT 4000"]
    assert hung_up


@pytest.mark.parametrize(
    ("call", "wire"),
    [
        (lambda ch: ch.answer(), "ANSWER"),
        (lambda ch: ch.get_data("beep", 5000, 1), "GET DATA beep 5000 1"),
        (lambda ch: ch.wait_for_digit(100), "WAIT FOR DIGIT 100"),
        (lambda ch: ch.say_digits("4711"), 'SAY DIGITS 4711 ""'),
        (lambda ch: ch.say_number(42, "#"), "SAY NUMBER 42 #"),
    ],
)
async def test_reading_commands_raise_on_minus_one(call: object, wire: str) -> None:
    async def script(channel: AgiChannel) -> bool:
        with pytest.raises(AgiHangup):
            await call(channel)  # type: ignore[operator]
        return channel.hung_up

    commands, hung_up = await run_script(script, {wire: "200 result=-1"}.__getitem__)
    assert commands == [wire]
    assert hung_up


async def test_eof_in_the_middle_of_a_command() -> None:
    async def script(channel: AgiChannel) -> tuple[bool, str]:
        with pytest.raises(AgiHangup) as first:
            await channel.get_data("beep", 5000, 1)
        assert type(first.value) is AgiHangup  # EOF is a hang-up, not a protocol error
        with pytest.raises(AgiHangup):
            await channel.verbose("after eof")
        await channel.hangup()  # idempotent on a gone channel
        return channel.hung_up, "done"

    commands, result = await run_script(script, lambda command: None)
    assert commands == ["GET DATA beep 5000 1"]
    assert result == (True, "done")


async def test_eof_inside_a_usage_block() -> None:
    outcome: list[BaseException] = []

    async def handler(channel: AgiChannel) -> None:
        try:
            await channel.command("GET DATA")
        except AgiHangup as exc:
            outcome.append(exc)

    async with FastAgiServer(handler, port=0) as server:
        async with await AgiPeer.connect(server.port) as peer:
            await peer.send_env(make_env())
            assert await peer.read_command() == "GET DATA"
            await peer.send(USAGE_BLOCK.split("\n", 1)[0] + "\n Usage: GET DATA <file>\n")
        async with asyncio.timeout(5):
            await server.wait_idle()
    assert len(outcome) == 1
    assert type(outcome[0]) is AgiHangup
    assert "closed" in str(outcome[0])


@pytest.mark.parametrize(
    "bad_reply",
    ["x" * (70 * 1024), "this is not an AGI reply", "200 no result here"],
    ids=["line-over-64KiB", "garbage", "200-without-result"],
)
async def test_broken_reply_is_a_protocol_error_that_ends_the_session(bad_reply: str) -> None:
    async def script(channel: AgiChannel) -> bool:
        with pytest.raises(AgiProtocolError):
            await channel.get_variable("X")
        with pytest.raises(AgiHangup):
            await channel.get_variable("Y")
        return channel.hung_up

    commands, hung_up = await run_script(script, {"GET VARIABLE X": bad_reply}.__getitem__)
    assert commands == ["GET VARIABLE X"]
    assert hung_up


async def test_newline_in_an_argument_is_rejected_and_nothing_is_sent() -> None:
    async def script(channel: AgiChannel) -> int:
        injections = [
            lambda: channel.set_variable("X", "1\nHANGUP"),
            lambda: channel.set_variable("X\nHANGUP", "1"),
            lambda: channel.verbose("hello\r\nHANGUP"),
            lambda: channel.stream_file("beep\nHANGUP"),
            lambda: channel.get_data("beep\n", 1000, 1),
            lambda: channel.get_variable("X\nY"),
            lambda: channel.exec("Dial", "Local/1001@agents\nHANGUP"),
            lambda: channel.command("ANSWER\nHANGUP"),
            lambda: channel.command("ANSWER\0"),
            lambda: channel.command(""),
        ]
        for inject in injections:
            with pytest.raises(ValueError):
                await inject()
        with pytest.raises(ValueError):
            await channel.stream_file("beep", "1x")  # not DTMF escape digits
        return await channel.channel_status()

    commands, status = await run_script(script, {"CHANNEL STATUS": "200 result=6"}.__getitem__)
    assert commands == ["CHANNEL STATUS"]
    assert status == 6


async def test_quoting_of_values_with_blanks_quotes_and_backslashes() -> None:
    async def script(channel: AgiChannel) -> None:
        await channel.set_variable("NOTE", 'said "hi" \\o/')
        await channel.set_variable("EMPTY", "")
        await channel.verbose("one-word", 3)

    replies = {
        'SET VARIABLE NOTE "said \\"hi\\" \\\\o/"': "200 result=1",
        'SET VARIABLE EMPTY ""': "200 result=1",
        "VERBOSE one-word 3": "200 result=1",
    }
    commands, _ = await run_script(script, replies.__getitem__)
    assert commands == list(replies)


async def test_stream_file_of_a_missing_file_on_a_live_channel(caplog: pytest.LogCaptureFixture) -> None:
    async def script(channel: AgiChannel) -> tuple[str, bool]:
        return await channel.stream_file("no-such-prompt", "#"), channel.hung_up

    replies = {"STREAM FILE no-such-prompt #": "200 result=-1 endpos=0", "CHANNEL STATUS": "200 result=6"}
    with caplog.at_level(logging.WARNING, logger="cti.fastagi"):
        commands, result = await run_script(script, replies.__getitem__)
    assert commands == list(replies)
    assert result == ("", False)
    [record] = [r for r in caplog.records if r.getMessage() == "fastagi.prompt_missing"]
    assert record.__dict__["prompt"] == "no-such-prompt"


@pytest.mark.parametrize(
    "replies",
    [
        # hang-up while playing: the probe meets the HANGUP line and 511
        {'STREAM FILE hello-world ""': "200 result=-1 endpos=4160", "CHANNEL STATUS": f"HANGUP\n{DEAD}"},
        # the HANGUP line already came with the reply: no probe needed
        {'STREAM FILE hello-world ""': "HANGUP\n200 result=-1 endpos=0"},
    ],
    ids=["probed", "hangup-line-seen"],
)
async def test_stream_file_minus_one_on_a_dead_channel(replies: dict[str, str]) -> None:
    async def script(channel: AgiChannel) -> bool:
        with pytest.raises(AgiHangup):
            await channel.stream_file("hello-world")
        return channel.hung_up

    commands, hung_up = await run_script(script, replies.__getitem__)
    assert commands == list(replies)
    assert hung_up


async def test_typed_commands_wire_format_and_results() -> None:
    async def script(channel: AgiChannel) -> list[object]:
        return [
            await channel.get_data("beep", 6000, 6),
            await channel.get_data("beep", 2000, 1),
            await channel.wait_for_digit(4000),
            await channel.wait_for_digit(100),
            await channel.stream_file("hello-world", "0123456789*#"),
            await channel.say_digits("4711", "#"),
            await channel.say_number(42),
            await channel.get_variable("UNSET"),
            await channel.get_variable("CHANNEL(linkedid)"),
            await channel.get_variable("EMPTY"),
            await channel.get_full_variable("${CALLERID(num)} x"),
            await channel.exec("Dial", "Local/1001@agents", "15"),
            await channel.exec("Answer"),
            await channel.get_variable("DIALSTATUS"),
            await _music_then_hangup(channel),
        ]

    replies = {
        "GET DATA beep 6000 6": "200 result=12 (timeout)",
        "GET DATA beep 2000 1": "200 result= (timeout)",
        "WAIT FOR DIGIT 4000": "200 result=52",
        "WAIT FOR DIGIT 100": "200 result=0",
        "STREAM FILE hello-world 0123456789*#": "200 result=55 endpos=4160",
        "SAY DIGITS 4711 #": "200 result=35",
        'SAY NUMBER 42 ""': "200 result=0",
        "GET VARIABLE UNSET": "200 result=0",
        "GET VARIABLE CHANNEL(linkedid)": "200 result=1 (1795907163.4)",
        "GET VARIABLE EMPTY": "200 result=1 ()",
        'GET FULL VARIABLE "${CALLERID(num)} x"': "200 result=1 (+15551230001 x)",
        'EXEC Dial "Local/1001@agents,15"': "200 result=0",
        "EXEC Answer": "200 result=-2",
        "GET VARIABLE DIALSTATUS": "200 result=1 (NOANSWER)",
        "SET MUSIC ON": "200 result=0",
        "SET MUSIC ON bank": "200 result=0",
        "SET MUSIC OFF": "200 result=0",
        "HANGUP": "200 result=1",
    }
    commands, results = await run_script(script, replies.__getitem__)
    assert commands == list(replies)
    assert results == [
        "12",
        "",
        "4",
        "",
        "7",
        "#",
        "",
        None,
        "1795907163.4",
        "",
        "+15551230001 x",
        0,
        -2,
        "NOANSWER",
        True,
    ]


async def _music_then_hangup(channel: AgiChannel) -> bool:
    await channel.set_music(True)
    await channel.set_music(True, "bank")
    await channel.set_music(False)
    await channel.hangup()
    return channel.hung_up


@pytest.mark.parametrize(
    ("callerid", "name", "expected"),
    [
        ("+15551230001", "Alice Customer", ("+15551230001", "Alice Customer")),
        ("unknown", "unknown", (None, None)),
        ("anonymous", "Anonymous", (None, None)),
        ("", "", (None, None)),
    ],
)
async def test_caller_identity(callerid: str, name: str, expected: tuple[str | None, str | None]) -> None:
    async def script(channel: AgiChannel) -> tuple[str | None, str | None]:
        return channel.caller_id, channel.caller_name

    env = make_env(callerid=callerid, calleridname=name)
    _, identity = await run_script(script, lambda command: "200 result=0", env=env)
    assert identity == expected


async def test_env_script_params_and_arguments() -> None:
    async def script(channel: AgiChannel) -> list[object]:
        return [
            channel.script,
            dict(channel.script_params),
            channel.arguments,
            channel.request,
            channel.env["network_script"],
            channel.env["accountcode"],
            "agi_channel" in channel.env,
        ]

    env = make_env("ivr?lang=de&tier=gold", arg_1="support", arg_2="with space")
    _, seen = await run_script(script, lambda command: "200 result=0", env=env)
    assert seen == [
        "ivr",
        {"lang": "de", "tier": "gold"},
        ("support", "with space"),
        "agi://127.0.0.1:4573/ivr?lang=de&tier=gold",
        "ivr?lang=de&tier=gold",
        "",
        False,
    ]


async def test_cancelled_command_reply_is_discarded_before_the_next_command() -> None:
    timed_out = asyncio.Event()

    async def handler(channel: AgiChannel) -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await channel.get_data("beep", 6000, 6)
        timed_out.set()
        results.append(await channel.get_variable("X"))

    results: list[str | None] = []
    async with FastAgiServer(handler, port=0) as server, await AgiPeer.connect(server.port) as peer:
        await peer.send_env(make_env())
        assert await peer.read_command() == "GET DATA beep 6000 6"
        async with asyncio.timeout(5):
            await timed_out.wait()
        await peer.reply("200 result=4711")  # the late reply of the cancelled GET DATA
        assert await peer.read_command() == "GET VARIABLE X"
        await peer.reply("200 result=1 (x-value)")
        assert await peer.read_command() is None
    assert results == ["x-value"]


async def test_concurrent_commands_on_one_channel_are_serialised() -> None:
    async def script(channel: AgiChannel) -> list[str | None]:
        return list(await asyncio.gather(*(channel.get_variable(f"V{i}") for i in range(20))))

    def replies(command: str) -> str:
        return f"200 result=1 (value of {command.split()[-1]})"

    commands, values = await run_script(script, replies)
    assert sorted(commands) == sorted(f"GET VARIABLE V{i}" for i in range(20))
    assert values == [f"value of V{i}" for i in range(20)]
