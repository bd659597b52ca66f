"""The AGI commands the simulator executes, with ``res_agi``'s replies.

Each handler writes its own reply line(s) and returns a ``RESULT_*`` code as
``res_agi`` handlers do: ``RESULT_SUCCESS`` (``AGIExecEnd`` 200),
``RESULT_SHOWUSAGE`` (the ``520`` usage block), ``RESULT_FAILURE`` (``AGIExecEnd``
-1 ``Failure``: the command failed because the channel hung up).  ``EXEC``
returns the application's own result, so a ``-1`` from ``Dial`` publishes
``AGIExecEnd`` 200 ``Unknown Result`` ("users are depending upon this result").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cti.simulator.agi.codes import RESULT_FAILURE, RESULT_SHOWUSAGE, RESULT_SUCCESS
from cti.simulator.agi.media_commands import (
    answer,
    get_data,
    get_option,
    say_alpha,
    say_date,
    say_digits,
    say_number,
    stream_file,
    wait_for_digit,
)
from cti.simulator.variables import resolve_variable, substitute

if TYPE_CHECKING:
    from cti.simulator.agi.client import AgiSession

__all__ = ["RESULT_FAILURE", "RESULT_SHOWUSAGE", "RESULT_SUCCESS", "AgiCommand", "find_command"]

log = logging.getLogger(__name__)

Handler = Callable[["AgiSession", list[str]], Awaitable[int]]


@dataclass(frozen=True)
class AgiCommand:
    """A command: its words, handler, whether it runs on a dead channel, usage."""

    words: tuple[str, ...]
    handler: Handler
    dead: bool
    usage: str


async def _set_variable(s: AgiSession, argv: list[str]) -> int:
    if len(argv) != 4:
        return RESULT_SHOWUSAGE
    s.pbx.set_var(s.channel, argv[2], argv[3])
    s.send("200 result=1")
    return RESULT_SUCCESS


async def _get_variable(s: AgiSession, argv: list[str]) -> int:
    if len(argv) != 3:
        return RESULT_SHOWUSAGE
    value = resolve_variable(s.pbx, s.channel, argv[2])
    s.send("200 result=0" if value is None else f"200 result=1 ({value})")
    return RESULT_SUCCESS


async def _get_full_variable(s: AgiSession, argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        return RESULT_SHOWUSAGE
    chan = s.channel
    if len(argv) == 5:
        other = s.pbx.registry.get(argv[4])
        if other is None:
            s.send("200 result=0")
            return RESULT_SUCCESS
        chan = other
    s.send(f"200 result=1 ({substitute(s.pbx, chan, argv[3])})")
    return RESULT_SUCCESS


async def _set_music(s: AgiSession, argv: list[str]) -> int:
    if len(argv) < 3:
        return RESULT_SHOWUSAGE
    if argv[2].lower() == "on":
        s.pbx.start_moh(s.channel, argv[3] if len(argv) > 3 else "default")
    elif argv[2].lower() == "off":
        s.pbx.stop_moh(s.channel)
    s.send("200 result=0")
    return RESULT_SUCCESS


async def _exec(s: AgiSession, argv: list[str]) -> int:
    from cti.simulator.apps.basic import find_app  # apps run dialplan code that needs this module

    if len(argv) < 2:
        return RESULT_SHOWUSAGE
    app = find_app(argv[1])
    if app is None:
        log.warning("sim.agi_unknown_app", extra={"channel": s.channel.name, "app": argv[1]})
        result = -2
    elif s.channel.dead and argv[1].lower() != "dial":
        result = -1
    else:
        # EXEC runs on a dead channel too (res_agi marks it dead-safe); Dial then answers CANCEL at once.
        # pbx_exec: while it runs, the channel shows the application (CoreShowChannel, Status: trace h).
        saved = s.channel.app, s.channel.app_data
        s.channel.app, s.channel.app_data = argv[1], argv[2] if len(argv) > 2 else ""
        try:
            result = await app(s.pbx, s.channel, s.channel.app_data)
        finally:
            s.channel.app, s.channel.app_data = saved
    s.send(f"200 result={result}")
    return result


async def _channel_status(s: AgiSession, argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        return RESULT_SHOWUSAGE
    chan = s.channel if len(argv) == 2 else s.pbx.registry.get(argv[2])
    s.send("200 result=-1" if chan is None else f"200 result={int(chan.state)}")
    return RESULT_SUCCESS


async def _verbose(s: AgiSession, argv: list[str]) -> int:
    if len(argv) < 2:
        return RESULT_SHOWUSAGE
    # The text is the service's, and may hold customer data: only its size is logged.
    log.debug("sim.agi_verbose", extra={"channel": s.channel.name, "chars": len(argv[1])})
    s.send("200 result=1")
    return RESULT_SUCCESS


async def _noop(s: AgiSession, argv: list[str]) -> int:
    s.send("200 result=0")
    return RESULT_SUCCESS


async def _hangup(s: AgiSession, argv: list[str]) -> int:
    if len(argv) > 2:
        return RESULT_SHOWUSAGE
    target = s.channel if len(argv) == 1 else s.pbx.registry.get(argv[1])
    if target is None:
        s.send("200 result=-1")
        return RESULT_SUCCESS
    s.pbx.soft_hangup(target)
    s.send("200 result=1")
    return RESULT_SUCCESS


async def _set_callerid(s: AgiSession, argv: list[str]) -> int:
    if len(argv) != 3:
        return RESULT_SHOWUSAGE
    text = argv[2]
    name, num = "", text
    if "<" in text and text.endswith(">"):
        name, _, rest = text.partition("<")
        name, num = name.strip().strip('"'), rest[:-1]
    s.pbx.set_callerid(s.channel, num or None, name or None, s.channel.caller_pres)
    s.send("200 result=1")
    return RESULT_SUCCESS


async def _database(s: AgiSession, argv: list[str]) -> int:
    if len(argv) < 3:
        return RESULT_SHOWUSAGE
    verb = argv[1].upper()
    db = s.pbx.database
    if verb == "GET" and len(argv) == 4:
        value = db.get((argv[2], argv[3]))
        s.send("200 result=0" if value is None else f"200 result=1 ({value})")
    elif verb == "PUT" and len(argv) == 5:
        db[(argv[2], argv[3])] = argv[4]
        s.send("200 result=1")
    elif verb == "DEL" and len(argv) == 4:
        s.send("200 result=1" if db.pop((argv[2], argv[3]), None) is not None else "200 result=0")
    elif verb == "DELTREE" and len(argv) in (3, 4):
        doomed = [k for k in db if k[0] == argv[2] and (len(argv) == 3 or k[1].startswith(argv[3]))]
        for key in doomed:
            del db[key]
        s.send("200 result=1" if doomed else "200 result=0")
    else:
        return RESULT_SHOWUSAGE
    return RESULT_SUCCESS


def _cmd(words: str, handler: Handler, dead: bool, syntax: str, description: str) -> AgiCommand:
    usage = f" Usage: {syntax}\n\t{description}"
    return AgiCommand(tuple(words.split()), handler, dead, usage)


COMMANDS: list[AgiCommand] = [
    _cmd("ANSWER", answer, False, "ANSWER", "Answers channel if not already in answer state."),
    _cmd(
        "STREAM FILE",
        stream_file,
        False,
        "STREAM FILE <filename> <escape digits> [sample offset]",
        "Sends audio file on channel and allows the listener to terminate the stream\n"
        "\tby pressing one of the escape digits.",
    ),
    _cmd(
        "GET OPTION",
        get_option,
        False,
        "GET OPTION <filename> <escape_digits> [timeout]",
        "Behaves similar to STREAM FILE but used with a timeout option.",
    ),
    _cmd(
        "GET DATA",
        get_data,
        False,
        "GET DATA <file to be streamed> [timeout] [maxdigits]",
        "Stream the given file, and receive DTMF data.",
    ),
    _cmd(
        "WAIT FOR DIGIT",
        wait_for_digit,
        False,
        "WAIT FOR DIGIT <timeout>",
        "Waits up to timeout milliseconds for channel to receive a DTMF digit.",
    ),
    _cmd(
        "SAY DIGITS",
        say_digits,
        False,
        "SAY DIGITS <number> <escape digits>",
        "Say a given digit string, returning early if any of the given DTMF digits\n"
        "\tare received on the channel.",
    ),
    _cmd(
        "SAY ALPHA",
        say_alpha,
        False,
        "SAY ALPHA <number> <escape digits>",
        "Say a given character string, returning early if any of the given DTMF digits\n"
        "\tare received on the channel.",
    ),
    _cmd(
        "SAY DATE",
        say_date,
        False,
        "SAY DATE <date> <escape digits>",
        "Say a given date, returning early if any of the given DTMF digits are\n\treceived on the channel.",
    ),
    _cmd(
        "SAY NUMBER",
        say_number,
        False,
        "SAY NUMBER <number> <escape digits> [gender]",
        "Say a given number, returning early if any of the given DTMF digits\n\tare received on the channel.",
    ),
    _cmd(
        "SET VARIABLE",
        _set_variable,
        True,
        "SET VARIABLE <variablename> <value>",
        "Sets a variable to the current channel.",
    ),
    _cmd(
        "GET VARIABLE",
        _get_variable,
        True,
        "GET VARIABLE <variablename>",
        "Returns 0 if variablename is not set. Returns 1 if variablename is set\n"
        "\tand returns the variable in parenthesis.",
    ),
    _cmd(
        "GET FULL VARIABLE",
        _get_full_variable,
        True,
        "GET FULL VARIABLE <expression> [channelname]",
        "Evaluates the given expression against the channel specified by channelname,\n"
        "\tor the current channel.",
    ),
    _cmd(
        "SET MUSIC",
        _set_music,
        False,
        "SET MUSIC <on|off> [class]",
        "Enables/Disables the music on hold generator.",
    ),
    _cmd("EXEC", _exec, True, "EXEC <application> <options>", "Executes application with given options."),
    _cmd(
        "CHANNEL STATUS",
        _channel_status,
        False,  # refused with 511 once the channel hung up or was redirected (traces m1, i1)
        "CHANNEL STATUS [channelname]",
        "Returns the status of the specified channelname. If no channel name is given\n"
        "\tthen returns the status of the current channel.",
    ),
    _cmd(
        "VERBOSE",
        _verbose,
        True,
        "VERBOSE <message> <level>",
        "Sends message to the console via verbose message system.",
    ),
    _cmd("NOOP", _noop, True, "NOOP", "Does nothing."),
    _cmd(
        "HANGUP",
        _hangup,
        True,
        "HANGUP [channelname]",
        "Hangs up the specified channel. If no channel name is given, hangs up the current channel",
    ),
    _cmd(
        "SET CALLERID",
        _set_callerid,
        True,
        "SET CALLERID <number>",
        "Changes the callerid of the current channel.",
    ),
    _cmd(
        "DATABASE",
        _database,
        True,
        "DATABASE <GET|PUT|DEL|DELTREE> <family> [key] [value]",
        "Reads, writes or deletes entries of the Asterisk database.",
    ),
]


def find_command(argv: list[str]) -> AgiCommand | None:
    """The registered command whose words start *argv* (longest match, any case)."""
    upper = [word.upper() for word in argv]
    best: AgiCommand | None = None
    for command in COMMANDS:
        size = len(command.words)
        if len(upper) >= size and tuple(upper[:size]) == command.words:
            if best is None or size > len(best.words):
                best = command
    return best
