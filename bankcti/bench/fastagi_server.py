"""The server side of ``bankcti bench fastagi``: one FastAGI server in a process of its own.

``python -m bankcti.bench.fastagi_server ours|panoramisk [--profile FILE]`` starts our
:class:`~cti.fastagi.FastAgiServer` or ``panoramisk.fast_agi.Application`` on ``127.0.0.1``, a free port,
backlog 2048, and prints ``port N`` on stdout.  Each line then read on stdin is answered with one JSON line
of counters (scripts finished and failed, CPU seconds the process used so far); end of stdin stops the
server.  Logging is configured as ``bankcti serve`` does it (INFO, library chatter at WARNING), so both
servers pay for the log lines they would write in production.

Both servers run the same script, written against each library's own API: ``agi_arg_1`` commands, cycling
``GET VARIABLE IVR_CHOICE`` (the reply's value must be ``support``), ``SET VARIABLE IVR_ACCOUNT 4711`` and
``STREAM FILE beep ""`` (no digit may be returned); a wrong reply fails the script, and the counters say so.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bankcti.logs import configure_logging
from cti.fastagi import AgiChannel, FastAgiServer

__all__ = ["GET_LINE", "ROUTE", "SERVERS", "SET_LINE", "STREAM_LINE", "main"]

ROUTE = "bench"
"""``agi_network_script`` of every benchmark session."""
GET_LINE = "GET VARIABLE IVR_CHOICE"
SET_LINE = "SET VARIABLE IVR_ACCOUNT 4711"
STREAM_LINE = 'STREAM FILE beep ""'
SERVERS = ("ours", "panoramisk")
BACKLOG = 2048

log = logging.getLogger(__name__)


class ScriptFailed(Exception):
    """A reply the script did not expect (the client answered wrongly or the library misread it)."""


@dataclass
class Counters:
    """What the server process reports on each stats request."""

    scripts_ok: int = 0
    scripts_failed: int = 0
    cpu_seconds: float = 0.0


def _count(arguments: Any) -> int:
    try:
        return int(arguments)
    except (TypeError, ValueError):
        raise ScriptFailed(f"agi_arg_1 is not a command count: {arguments!r}") from None


async def ours_script(channel: AgiChannel, counters: Counters) -> None:
    """The benchmark script on our server, through :class:`AgiChannel`'s typed commands."""
    try:
        for n in range(_count(channel.arguments[0] if channel.arguments else None)):
            step = n % 3
            if step == 0:
                value = await channel.get_variable("IVR_CHOICE")
                if value != "support":
                    raise ScriptFailed(f"GET VARIABLE gave {value!r}")
            elif step == 1:
                await channel.set_variable("IVR_ACCOUNT", "4711")
            else:
                digit = await channel.stream_file("beep")
                if digit:
                    raise ScriptFailed(f"STREAM FILE gave digit {digit!r}")
    except Exception:
        counters.scripts_failed += 1
        raise
    counters.scripts_ok += 1


async def panoramisk_script(request: Any, counters: Counters) -> None:
    """The same script on panoramisk, through ``Request.send_command`` and its parsed dicts."""
    try:
        for n in range(_count(request.headers.get("agi_arg_1"))):
            step = n % 3
            if step == 0:
                reply = await request.send_command(GET_LINE)
                if reply.get("result") != ("1", "support"):
                    raise ScriptFailed(f"GET VARIABLE gave {reply!r}")
            elif step == 1:
                reply = await request.send_command(SET_LINE)
                if reply.get("status_code") != 200 or "error" in reply:
                    raise ScriptFailed(f"SET VARIABLE gave {reply!r}")
            else:
                reply = await request.send_command(STREAM_LINE)
                if reply.get("result") != ("0", ""):
                    raise ScriptFailed(f"STREAM FILE gave {reply!r}")
    except Exception:
        counters.scripts_failed += 1
        raise
    counters.scripts_ok += 1


async def _start(kind: str, counters: Counters) -> tuple[int, Any]:
    """Start one server; its port and the object to close it with."""
    if kind == "ours":

        async def run(channel: AgiChannel) -> None:
            await ours_script(channel, counters)

        server = FastAgiServer(routes={ROUTE: run}, port=0, backlog=BACKLOG)
        await server.start()
        return server.port, server
    from panoramisk.fast_agi import Application

    app = Application()

    # A coroutine function: panoramisk wraps a plain one with asyncio.coroutine, gone in 3.11.
    async def endpoint(request: Any) -> None:
        await panoramisk_script(request, counters)

    app.add_route(ROUTE, endpoint)
    listener = await asyncio.start_server(app.handler, "127.0.0.1", 0, backlog=BACKLOG)
    return listener.sockets[0].getsockname()[1], listener


async def serve(kind: str) -> None:
    """Run one server until stdin ends, answering each stdin line with the counters as JSON."""
    counters = Counters()
    port, server = await _start(kind, counters)
    loop = asyncio.get_running_loop()
    control = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(control), sys.stdin)
    print(f"port {port}", flush=True)
    while await control.readline():
        counters.cpu_seconds = round(time.process_time(), 4)
        print(json.dumps(asdict(counters)), flush=True)
    if isinstance(server, FastAgiServer):
        await server.close()
    else:
        server.close()
        await server.wait_closed()
    log.info("bench.fastagi_server_stopped", extra={"server": kind, **asdict(counters)})


def main(argv: list[str] | None = None) -> int:
    """Entry point of the server process."""
    parser = argparse.ArgumentParser(prog="python -m bankcti.bench.fastagi_server")
    parser.add_argument("kind", choices=SERVERS, help="which FastAGI server to run")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="write cProfile statistics to FILE")
    args = parser.parse_args(argv)
    configure_logging("INFO")
    if args.profile is None:
        asyncio.run(serve(args.kind))
        return 0
    profiler = cProfile.Profile(
        time.process_time
    )  # CPU time: on a shared machine wall time is mostly waiting
    profiler.enable()
    try:
        asyncio.run(serve(args.kind))
    finally:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
