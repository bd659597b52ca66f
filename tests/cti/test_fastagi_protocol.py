"""AGI wire format: reply parsing, quoting, and res_agi-compatible splitting."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastagi_traces import FROM_ASTERISK, TRACES_DIR, load_trace

from cti.fastagi import (
    AgiProtocolError,
    AgiReply,
    format_arg,
    format_command,
    parse_reply,
    quote,
    split_command,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("200 result=0", AgiReply(200, "0", None, {}, "200 result=0")),
        (
            "200 result=0 endpos=11360",
            AgiReply(200, "0", None, {"endpos": "11360"}, "200 result=0 endpos=11360"),
        ),
        ("200 result=4711", AgiReply(200, "4711", None, {}, "200 result=4711")),
        ("200 result=1 (support)", AgiReply(200, "1", "support", {}, "200 result=1 (support)")),
        ("200 result=-1", AgiReply(200, "-1", None, {}, "200 result=-1")),
        ("200 result= (timeout)", AgiReply(200, "", "timeout", {}, "200 result= (timeout)")),
        ("200 result=12 (timeout)", AgiReply(200, "12", "timeout", {}, "200 result=12 (timeout)")),
        ("200 result=1 ()", AgiReply(200, "1", "", {}, "200 result=1 ()")),
        (
            "200 result=-1 (hangup) endpos=0",
            AgiReply(200, "-1", "hangup", {"endpos": "0"}, "200 result=-1 (hangup) endpos=0"),
        ),
        # A variable value may contain parentheses, blanks and '=': it is always last.
        ("200 result=1 (a (b) x=y)", AgiReply(200, "1", "a (b) x=y", {}, "200 result=1 (a (b) x=y)")),
        ("200 result=1 (a) endpos=5)", AgiReply(200, "1", "a) endpos=5", {}, "200 result=1 (a) endpos=5)")),
        ("200 result=0 (x) y", AgiReply(200, "0", None, {}, "200 result=0 (x) y")),
        ("510 Invalid or unknown command", AgiReply(510, raw="510 Invalid or unknown command")),
        (
            "511 Command Not Permitted on a dead channel or intercept routine",
            AgiReply(511, raw="511 Command Not Permitted on a dead channel or intercept routine"),
        ),
        ("520 End of proper usage.", AgiReply(520, raw="520 End of proper usage.")),
    ],
)
def test_parse_reply(raw: str, expected: AgiReply) -> None:
    assert parse_reply(raw) == expected


@pytest.mark.parametrize("raw", ["", "HELLO", "20 result=1", "2000 result=1", "200 foo=1", "200"])
def test_parse_reply_rejects_malformed_lines(raw: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(raw)


@pytest.mark.parametrize("path", sorted(TRACES_DIR.glob("fastagi-*.txt")), ids=lambda p: p.stem)
def test_every_recorded_reply_parses(path: Path) -> None:
    trace = load_trace(path.stem.removeprefix("fastagi-"))
    replies = [
        line
        for block in trace.blocks
        if block.direction == FROM_ASTERISK and not block.data.startswith(b"agi_") and block.data != b"\n"
        for line in block.data.decode().splitlines()
        if line != "HANGUP"
    ]
    assert replies, "trace has replies"
    for line in replies:
        reply = parse_reply(line)
        assert reply.code in (200, 511)
        assert reply.raw == line


@pytest.mark.parametrize(
    ("arg", "wire"),
    [
        ("support", "support"),
        ("hello-world", "hello-world"),
        ("0123456789*#", "0123456789*#"),
        ("CHANNEL(linkedid)", "CHANNEL(linkedid)"),
        ("", '""'),
        ("IVR done choice=support", '"IVR done choice=support"'),
        ("tab\there", '"tab\there"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\dir", '"C:\\\\dir"'),
        (5000, "5000"),
        (-1, "-1"),
    ],
)
def test_format_arg(arg: str | int, wire: str) -> None:
    assert format_arg(arg) == wire


def test_format_command_matches_recorded_lines() -> None:
    assert format_command("STREAM FILE", "hello-world", "") == 'STREAM FILE hello-world ""'
    assert format_command("GET DATA", "beep", 5000, 1) == "GET DATA beep 5000 1"
    assert format_command("VERBOSE", "IVR done choice=support account=4711", 1) == (
        'VERBOSE "IVR done choice=support account=4711" 1'
    )
    assert (
        f"{format_command('SET VARIABLE', 'IVR_ACCOUNT')} {quote('4711')}"
        == 'SET VARIABLE IVR_ACCOUNT "4711"'
    )


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b", "\n", "x\nHANGUP"])
def test_line_breaks_never_reach_the_wire(bad: str) -> None:
    with pytest.raises(ValueError):
        format_arg(bad)
    with pytest.raises(ValueError):
        quote(bad)
    with pytest.raises(ValueError):
        format_command("VERBOSE", bad, 1)
    with pytest.raises(ValueError):
        format_command(bad)


def test_bool_is_not_an_argument() -> None:
    with pytest.raises(TypeError):
        format_arg(True)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('STREAM FILE hello-world ""', ["STREAM", "FILE", "hello-world", ""]),
        ('SET VARIABLE IVR_ACCOUNT "4711"', ["SET", "VARIABLE", "IVR_ACCOUNT", "4711"]),
        ('VERBOSE "IVR done" 1', ["VERBOSE", "IVR done", "1"]),
        ("GET  DATA\tbeep", ["GET", "DATA", "beep"]),
        ('EXEC Dial "Local/1001@agents,15"', ["EXEC", "Dial", "Local/1001@agents,15"]),
        ('a\\ b "c\\"d" e\\\\f', ["a b", 'c"d', "e\\f"]),
        ('ab"c d"e', ["abc de"]),
        ("", []),
    ],
)
def test_split_command_like_res_agi(line: str, words: list[str]) -> None:
    assert split_command(line) == words


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "plain",
        "two words",
        'quote"inside',
        "back\\slash",
        '\\"',
        "ends with \\",
        "tab\t",
        "ünïcödé €",
        '"',
    ],
)
def test_format_then_split_round_trips(value: str) -> None:
    assert split_command(format_command("SET VARIABLE", "X", value)) == ["SET", "VARIABLE", "X", value]
    assert split_command("VERBOSE " + quote(value)) == ["VERBOSE", value]
