"""The FastAGI client: Asterisk's ``res_agi`` side of ``AGI(agi://host:port/script)``.

For each ``AGI()`` application the simulator connects to the service, sends
the ``agi_*`` environment block (same keys and order as Asterisk 22), then
executes one command per line until the service closes the socket:

* every command gets ``AGIExecStart`` before and ``AGIExecEnd`` after its
  reply, like ``agi_handle_command``: ``200 Success``, ``520 Usage``, ``510``,
  ``511`` (dead channel), ``-1 Failure`` (the channel hung up during the
  command) or ``200 Unknown Result`` (``EXEC`` of an application returning -1);
* once the channel hangs up, an unsolicited ``HANGUP`` line is sent (right
  away when idle, after the reply when a command was running) and every
  command that needs a live channel gets ``511``;
* a service that is not listening yields ``AGISTATUS=FAILURE``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from typing import Any
from urllib.parse import urlsplit

from cti.simulator.agi.codes import RESULT_FAILURE, RESULT_SHOWUSAGE, RESULT_SUCCESS
from cti.simulator.agi.commands import find_command
from cti.simulator.bridging import has_goto
from cti.simulator.channels import Channel
from cti.simulator.core import Pbx

__all__ = ["AgiSession", "parse_args", "run_agi"]

log = logging.getLogger(__name__)

_MAX_LINE = 64 * 1024
CONNECT_TIMEOUT = 2.0
"""Seconds res_agi waits for the FastAGI server to accept (``MAX_AGI_CONNECT``)."""
DEAD_TEXT = "Command Not Permitted on a dead channel or intercept routine"


def parse_args(line: str) -> list[str]:
    """Split a command line like ``res_agi``'s ``parse_args``.

    Blanks separate words outside double quotes, ``"`` toggles quoting (an
    opening quote after a blank starts a word, so ``""`` is an empty word) and
    a backslash makes the next character literal.
    """
    words: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and current is None:
                current = []
            continue
        if char in " \t" and not quoted and not escaped:
            if current is not None:
                words.append("".join(current))
                current = None
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if current is None:
            current = []
        current.append(char)
        escaped = False
    if current is not None:
        words.append("".join(current))
    return words


class AgiSession:
    """One FastAGI conversation for one channel."""

    def __init__(
        self,
        pbx: Pbx,
        channel: Channel,
        request: str,
        args: list[str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.pbx = pbx
        self.channel = channel
        self.request = request
        self.args = args
        self.reader = reader
        self.writer = writer
        self.hangup_sent = False
        # A command line that arrived while STREAM FILE played (it stopped the prompt): run it next.
        self.next_line: asyncio.Future[bytes] | None = None

    # -- output --------------------------------------------------------------------
    def send(self, text: str) -> None:
        """Write one reply line (``\\n`` appended)."""
        if not self.writer.is_closing():
            self.writer.write(text.encode("utf-8") + b"\n")

    def env_block(self) -> bytes:
        chan = self.channel
        # res_agi sends everything after the host part, query string included.
        script = self.request.split("://", 1)[-1].partition("/")[2]
        env = [
            ("agi_network", "yes"),
            ("agi_network_script", script),
            ("agi_request", self.request),
            ("agi_channel", chan.name),
            ("agi_language", chan.language),
            ("agi_type", chan.tech),
            ("agi_uniqueid", chan.uniqueid),
            ("agi_version", self.pbx.config.version),
            ("agi_callerid", chan.caller_num or "unknown"),
            ("agi_calleridname", chan.caller_name or "unknown"),
            ("agi_callingpres", str(chan.caller_pres)),
            ("agi_callingani2", "0"),
            ("agi_callington", "0"),
            ("agi_callingtns", "0"),
            ("agi_dnid", chan.dnid or "unknown"),
            ("agi_rdnis", "unknown"),
            ("agi_context", chan.context),
            ("agi_extension", chan.exten),
            ("agi_priority", str(chan.priority)),
            ("agi_enhanced", "0.0"),
            ("agi_accountcode", chan.accountcode),
            ("agi_threadid", str(threading.get_ident() + random.randrange(1 << 20))),
        ]
        env += [(f"agi_arg_{n}", value) for n, value in enumerate(self.args, start=1)]
        lines = "".join(f"{key}: {value}\n" for key, value in env)
        return (lines + "\n").encode("utf-8")

    # -- main loop -------------------------------------------------------------------
    async def run(self) -> str:
        """Serve commands until the service closes; return the AGISTATUS."""
        self.writer.write(self.env_block())
        line_task: asyncio.Future[bytes] | None = None
        try:
            while True:
                if line_task is None:
                    # Right after a reply (or at the start): a hang-up during the command is told now.
                    self._notify_hangup()
                    line_task = self.next_line or asyncio.ensure_future(self.reader.readline())
                    self.next_line = None
                if not self.hangup_sent and not (self.channel.dead and has_goto(self.channel)):
                    await self._wait_line_or_hangup(line_task)
                    if not line_task.done():
                        self._notify_hangup()  # hung up while idle: HANGUP at once (trace g)
                        continue
                else:
                    await asyncio.wait({line_task})
                raw = line_task.result()
                line_task = None
                if not raw:
                    break
                # After an async goto while idle, HANGUP comes right before the next reply (m1).
                self._notify_hangup()
                await self.execute(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
                await self.writer.drain()
        except (ConnectionError, ValueError, asyncio.LimitOverrunError) as exc:
            log.info("sim.agi_connection_lost", extra={"channel": self.channel.name, "error": str(exc)})
        finally:
            if line_task is not None and not line_task.done():
                line_task.cancel()
            self.writer.close()
        return "HANGUP" if self.channel.dead else "SUCCESS"

    async def _wait_line_or_hangup(self, line_task: asyncio.Future[bytes]) -> None:
        loop = asyncio.get_running_loop()
        died: asyncio.Future[None] = loop.create_future()

        def listener(channel: Channel) -> None:
            # An async goto (Redirect) raises no hang-up frame: an idle session hears nothing (m1).
            if not died.done() and not has_goto(channel):
                died.set_result(None)

        if self.channel.dead and not has_goto(self.channel):
            return
        self.channel.hangup_listeners.append(listener)
        try:
            waiters: set[asyncio.Future[Any]] = {line_task, died}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if listener in self.channel.hangup_listeners:
                self.channel.hangup_listeners.remove(listener)
            died.cancel()

    def _notify_hangup(self) -> None:
        if self.channel.dead and not self.hangup_sent:
            self.hangup_sent = True
            self.send("HANGUP")

    # -- one command --------------------------------------------------------------------
    async def execute(self, line: str) -> None:
        """Run one command like ``agi_handle_command``, events included."""
        pbx, chan = self.pbx, self.channel
        observer = pbx.call_of(chan)
        if observer is not None:
            observer.on_agi_command(line)
        command_id = random.randrange(2**31)
        pbx.emit_for(chan, pbx.events.agi_exec_start(chan, command_id, line))
        argv = parse_args(line)
        command = find_command(argv)
        if command is None:
            self.send("510 Invalid or unknown command")
            pbx.emit_for(
                chan, pbx.events.agi_exec_end(chan, command_id, line, 510, "Invalid or unknown command")
            )
            return
        if chan.dead and not command.dead:
            self.send(f"511 {DEAD_TEXT}")
            pbx.emit_for(chan, pbx.events.agi_exec_end(chan, command_id, line, 511, DEAD_TEXT))
            return
        result = await command.handler(self, argv)
        if result == RESULT_SHOWUSAGE:
            pbx.emit_for(chan, pbx.events.agi_exec_end(chan, command_id, line, 520, "Usage"))
            self.send("520-Invalid command syntax.  Proper usage follows:")
            for usage_line in command.usage.splitlines():
                self.send(usage_line)
            self.send("520 End of proper usage.")
        elif result == RESULT_SUCCESS:
            pbx.emit_for(chan, pbx.events.agi_exec_end(chan, command_id, line, 200, "Success"))
        elif result == RESULT_FAILURE:
            # The command failed because the channel hung up (WAIT FOR DIGIT -1, traces i1, m1).
            pbx.emit_for(chan, pbx.events.agi_exec_end(chan, command_id, line, -1, "Failure"))
        else:
            # EXEC passes the application's own result on: Dial's -1 is "Unknown Result" (i1, i3).
            pbx.emit_for(chan, pbx.events.agi_exec_end(chan, command_id, line, 200, "Unknown Result"))


async def run_agi(pbx: Pbx, channel: Channel, data: str) -> str:
    """The ``AGI(agi://host:port/script[,arg...])`` application; returns AGISTATUS."""
    request, *args = data.split(",")
    parts = urlsplit(request)
    try:
        port = parts.port or 4573
    except ValueError:
        port = 0
    if parts.scheme != "agi" or not parts.hostname or not port:
        log.warning("sim.agi_bad_request", extra={"channel": channel.name, "request": request})
        return "NOTFOUND"
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(parts.hostname, port, limit=_MAX_LINE)
    except (OSError, TimeoutError) as exc:
        log.warning(
            "sim.agi_connect_failed",
            extra={"channel": channel.name, "request": request, "error": str(exc)},
        )
        return "FAILURE"
    session = AgiSession(pbx, channel, request, args, reader, writer)
    return await session.run()
