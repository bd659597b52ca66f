"""AGI commands that play prompts or read digits: ANSWER, STREAM FILE, GET OPTION,
GET DATA, WAIT FOR DIGIT, SAY DIGITS, SAY NUMBER.

Digit-reading commands install a :class:`~cti.simulator.channels.DigitReader`
for exactly the time they run; a hangup during them answers ``result=-1``.

``STREAM FILE`` also watches the FastAGI socket, as res_agi does
(``ast_waitstream_full`` with the socket as control fd): a command line
arriving while the prompt plays stops it at once, ``STREAM FILE`` sends *no*
reply, and that command runs next.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from cti.simulator.agi.codes import RESULT_FAILURE, RESULT_SHOWUSAGE, RESULT_SUCCESS, int_arg
from cti.simulator.channels import DigitReader
from cti.simulator.media import SAMPLES_PER_MS, collect_digits, play, wait_digit

if TYPE_CHECKING:
    from cti.simulator.agi.client import AgiSession

__all__ = ["answer", "get_data", "get_option", "say_digits", "say_number", "stream_file", "wait_for_digit"]

SAY_MS_PER_WORD = 400


async def answer(s: AgiSession, argv: list[str]) -> int:
    chan = s.channel
    if not chan.is_up:
        s.pbx.answer(chan)
        if await chan.wait_hangup(s.pbx.scaled(s.pbx.config.answer_ms / 1000)):
            s.send("200 result=-1")
            return RESULT_FAILURE
    s.send("200 result=0")
    return RESULT_SUCCESS


async def stream_file(s: AgiSession, argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        return RESULT_SHOWUSAGE
    playing = asyncio.ensure_future(play(s.pbx, s.channel, s.pbx.config.prompt_ms, argv[3]))
    command = asyncio.ensure_future(s.reader.readline())
    await asyncio.wait({playing, command}, return_when=asyncio.FIRST_COMPLETED)
    if not playing.done():
        # res_agi: "Stop this command, don't print a result line, as there is a new command".
        playing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await playing
        s.next_line = command
        return RESULT_SUCCESS
    command.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await command
    result = playing.result()
    if result.digit is None:
        s.send(f"200 result=-1 endpos={result.endpos}")
        return RESULT_FAILURE
    s.pbx.set_var(s.channel, "PLAYBACKSTATUS", "SUCCESS")
    code = ord(result.digit) if result.digit else 0
    s.send(f"200 result={code} endpos={result.endpos}")
    return RESULT_SUCCESS


async def get_option(s: AgiSession, argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        return RESULT_SHOWUSAGE
    timeout_ms = int_arg(argv[4], 5000) if len(argv) == 5 else 5000
    chan, escape = s.channel, argv[3]
    reader = DigitReader(escape or None)
    chan.set_reader(reader)
    started = time.monotonic()
    try:
        digit = await reader.next(chan, s.pbx.scaled(s.pbx.config.prompt_ms / 1000))
        played = (
            s.pbx.config.prompt_ms
            if digit == ""
            else min(s.pbx.sim_elapsed(started) * 1000, s.pbx.config.prompt_ms)
        )
        if digit == "":
            digit = await reader.next(chan, None if timeout_ms < 0 else s.pbx.scaled(timeout_ms / 1000))
    finally:
        if chan.reader is reader:
            chan.set_reader(None)
    endpos = int(played * SAMPLES_PER_MS)
    if digit is None:
        s.send(f"200 result=-1 endpos={endpos}")
        return RESULT_FAILURE
    s.send(f"200 result={ord(digit) if digit else 0} endpos={endpos}")
    return RESULT_SUCCESS


async def get_data(s: AgiSession, argv: list[str]) -> int:
    if len(argv) < 3:
        return RESULT_SHOWUSAGE
    timeout_ms = int_arg(argv[3], 0) if len(argv) >= 4 else 0
    max_digits = int_arg(argv[4], 1024) if len(argv) >= 5 else 1024
    first_ms, next_ms = (10000, 5000) if timeout_ms == 0 else (timeout_ms, timeout_ms)
    if timeout_ms < 0:
        first_ms = next_ms = 1_000_000_000
    digits, outcome = await collect_digits(
        s.pbx, s.channel, s.pbx.config.prompt_ms, max_digits, first_ms, next_ms
    )
    if outcome is None:
        s.send("200 result=-1")
    elif outcome == "timeout":
        s.send(f"200 result={digits} (timeout)")
    else:
        s.send(f"200 result={digits}")
    return RESULT_SUCCESS


async def wait_for_digit(s: AgiSession, argv: list[str]) -> int:
    if len(argv) != 4:
        return RESULT_SHOWUSAGE
    try:
        timeout_ms = int(argv[3])
    except ValueError:
        return RESULT_SHOWUSAGE
    digit = await wait_digit(s.pbx, s.channel, timeout_ms)
    if digit is None:
        s.send("200 result=-1")
        return RESULT_FAILURE
    s.send(f"200 result={ord(digit) if digit else 0}")
    return RESULT_SUCCESS


async def _say(s: AgiSession, words: int, escape: str) -> int:
    result = await play(s.pbx, s.channel, SAY_MS_PER_WORD * max(words, 1), escape)
    if result.digit is None:
        s.send("200 result=-1")
        return RESULT_FAILURE
    s.send(f"200 result={ord(result.digit) if result.digit else 0}")
    return RESULT_SUCCESS


async def say_digits(s: AgiSession, argv: list[str]) -> int:
    if len(argv) != 4:
        return RESULT_SHOWUSAGE
    return await _say(s, len(argv[2]), argv[3])


async def say_alpha(s: AgiSession, argv: list[str]) -> int:
    # res_agi: SAY ALPHA <string> <escape digits>, one sound per character.
    if len(argv) != 4:
        return RESULT_SHOWUSAGE
    return await _say(s, len(argv[2]), argv[3])


async def say_date(s: AgiSession, argv: list[str]) -> int:
    # res_agi: SAY DATE <seconds since the epoch> <escape digits>; Asterisk says
    # weekday, month, day of month (and year) -- four sounds.
    if len(argv) != 4:
        return RESULT_SHOWUSAGE
    try:
        int(argv[2])
    except ValueError:
        return RESULT_SHOWUSAGE
    return await _say(s, 4, argv[3])


async def say_number(s: AgiSession, argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        return RESULT_SHOWUSAGE
    try:
        number = int(argv[2])
    except ValueError:
        return RESULT_SHOWUSAGE
    return await _say(s, len(str(abs(number))), argv[3])
