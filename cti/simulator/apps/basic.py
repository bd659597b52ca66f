"""Dialplan applications: Answer, Hangup, Wait, Playback, MusicOnHold, Dial, Queue...

Every application has the signature ``async (pbx, channel, data) -> int``
and returns what Asterisk's returns: 0 to go on with the dialplan, -1 when
the channel hung up (or, for ``Dial``/``Queue``, must be hung up).  They are
used by the Python-coded dialplan and by AGI ``EXEC``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cti.simulator.apps.control import app_chanspy, app_parked_call
from cti.simulator.apps.dial import app_dial
from cti.simulator.apps.queue import app_queue
from cti.simulator.channels import Channel
from cti.simulator.core import Pbx
from cti.simulator.media import play

__all__ = ["APPS", "AppFunc", "find_app"]

log = logging.getLogger(__name__)

AppFunc = Callable[[Pbx, Channel, str], Awaitable[int]]


def _seconds(text: str) -> float | None:
    try:
        return max(float(text), 0.0) if text.strip() else None
    except ValueError:
        return None


async def app_noop(pbx: Pbx, channel: Channel, data: str) -> int:
    return 0


async def app_answer(pbx: Pbx, channel: Channel, data: str) -> int:
    pbx.answer(channel)
    # The dialer reacts to the answer before this dialplan moves on (trace b).
    await asyncio.sleep(0)
    return -1 if channel.dead else 0


async def app_hangup(pbx: Pbx, channel: Channel, data: str) -> int:
    cause = int(data.strip()) if data.strip().isdigit() else 0
    if cause <= 0:
        cause = channel.hangup_cause or 16
    pbx.soft_hangup(channel, cause)
    return -1


async def app_wait(pbx: Pbx, channel: Channel, data: str) -> int:
    seconds = _seconds(data)
    if seconds is None:
        return -1 if channel.dead else 0
    return -1 if await channel.wait_hangup(pbx.scaled(seconds)) else 0


async def app_ringing(pbx: Pbx, channel: Channel, data: str) -> int:
    pbx.indicate_ringing(channel)
    return -1 if channel.dead else 0


async def app_set(pbx: Pbx, channel: Channel, data: str) -> int:
    name, sep, value = data.partition("=")
    if not sep or not name:
        log.warning("sim.set_bad_argument", extra={"channel": channel.name})
        return 0
    pbx.set_var(channel, name.strip(), value)
    return 0


async def app_playback(pbx: Pbx, channel: Channel, data: str) -> int:
    files, _, options = data.partition(",")
    if "noanswer" not in options and not channel.is_up:
        pbx.answer(channel)
    for _file in files.split("&"):
        result = await play(pbx, channel, pbx.config.prompt_ms)
        if result.digit is None:
            pbx.set_var(channel, "PLAYBACKSTATUS", "FAILED")
            return -1
    pbx.set_var(channel, "PLAYBACKSTATUS", "SUCCESS")
    return 0


async def app_music_on_hold(pbx: Pbx, channel: Channel, data: str) -> int:
    moh_class, _, duration = data.partition(",")
    pbx.start_moh(channel, moh_class or "default")
    seconds = _seconds(duration)
    hung_up = await channel.wait_hangup(None if seconds is None else pbx.scaled(seconds))
    pbx.stop_moh(channel)
    return -1 if hung_up else 0


async def app_send_dtmf(pbx: Pbx, channel: Channel, data: str) -> int:
    digits, _, rest = data.partition(",")
    between, _, duration = rest.partition(",")
    between_ms = int(between) if between.strip().isdigit() else 100
    duration_ms = int(duration) if duration.strip().isdigit() else 250
    for digit in digits:
        if digit not in "0123456789*#ABCDabcd":
            continue
        if await channel.wait_hangup(pbx.scaled(duration_ms / 1000)):
            return -1
        pbx.send_dtmf(channel, digit.upper(), duration_ms)
        if await channel.wait_hangup(pbx.scaled(between_ms / 1000)):
            return -1
    return 0


async def app_echo(pbx: Pbx, channel: Channel, data: str) -> int:
    await channel.wait_hangup()
    return -1


async def app_agi(pbx: Pbx, channel: Channel, data: str) -> int:
    from cti.simulator.agi.client import run_agi  # the AGI client itself runs applications (EXEC)

    status = await run_agi(pbx, channel, data)
    pbx.set_var(channel, "AGISTATUS", status)
    if status == "FAILURE":
        log.warning("sim.agi_failed", extra={"channel": channel.name, "request": data})
    return 0 if status == "SUCCESS" else -1


APPS: dict[str, AppFunc] = {
    "noop": app_noop,
    # The branch itself is taken by the Python-coded context.
    "gotoif": app_noop,
    "answer": app_answer,
    "hangup": app_hangup,
    "wait": app_wait,
    "ringing": app_ringing,
    "set": app_set,
    "playback": app_playback,
    "musiconhold": app_music_on_hold,
    "senddtmf": app_send_dtmf,
    "echo": app_echo,
    "agi": app_agi,
    "dial": app_dial,
    "queue": app_queue,
    "parkedcall": app_parked_call,
    "chanspy": app_chanspy,
}


def find_app(name: str) -> AppFunc | None:
    """The application called *name* (case-insensitive), like ``pbx_findapp``."""
    return APPS.get(name.lower())
