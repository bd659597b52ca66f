"""Run one FastAGI script against one fake-Asterisk session, over real TCP.

    commands, value = await run_script(script, replies)

starts a :class:`~cti.fastagi.FastAgiServer` on port 0 whose handler runs
``script(channel)``, plays Asterisk with :func:`fastagi_peer.agi_session`,
waits for the session to end and returns the commands the script sent plus
the script's return value.  An exception raised by the script (including
``AgiHangup``) is re-raised in the test, so ``pytest.raises`` works.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar, cast

from fastagi_peer import DEFAULT_TIMEOUT, Replies, agi_session, make_env

from cti.fastagi import AgiChannel, FastAgiServer

__all__ = ["run_script"]

T = TypeVar("T")


async def run_script(
    script: Callable[[AgiChannel], Awaitable[T]],
    replies: Replies,
    env: Mapping[str, str] | None = None,
    io_timeout: float = DEFAULT_TIMEOUT,
) -> tuple[list[str], T]:
    outcome: dict[str, object] = {}

    async def handler(channel: AgiChannel) -> None:
        try:
            outcome["value"] = await script(channel)
        except Exception as exc:
            outcome["error"] = exc
            raise

    async with FastAgiServer(handler, port=0) as server:
        commands = await agi_session(server.port, env or make_env(), replies, io_timeout=io_timeout)
        async with asyncio.timeout(io_timeout):
            await server.wait_idle()
    error = outcome.get("error")
    if isinstance(error, Exception):
        raise error
    return commands, cast(T, outcome["value"])
