"""A scripted stand-in for Asterisk's side of one FastAGI session (test helper).

It connects to a FastAGI server, sends an ``agi_*`` block like Asterisk 22
(see ``tests/fixtures/asterisk/fastagi-*.txt``), then answers each command:
``GET DATA`` from a script of key presses, everything else like a live
channel.  A hang-up is what the real trace shows: ``200 result=-1`` for the
pending command, an unsolicited ``HANGUP`` line, then ``511`` for any later
command.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

HANGUP = "<hangup>"
"""Script entry: the caller hangs up during this command."""

DEAD = "511 Command Not Permitted on a dead channel or intercept routine\n"


@dataclass
class FakeAsterisk:
    """One call: ``keys`` answers successive GET DATA (``""`` = timeout, :data:`HANGUP`).

    ``hangup_on_stream`` hangs up during the n-th STREAM FILE (1-based).
    """

    port: int
    caller_id: str = "13800138000"
    keys: list[str] = field(default_factory=list)
    hangup_on_stream: int | None = None
    commands: list[str] = field(default_factory=list)
    uniqueid: str = "1795907148.1"
    _dead: bool = False
    _streams: int = 0

    def _env(self) -> bytes:
        env = {
            "network": "yes",
            "network_script": "ivr",
            "request": f"agi://127.0.0.1:{self.port}/ivr",
            "channel": "PJSIP/trunk-00000001",
            "language": "en",
            "type": "PJSIP",
            "uniqueid": self.uniqueid,
            "version": "22.10.1",
            "callerid": self.caller_id,
            "calleridname": "Test Caller",
            "callingpres": "0",
            "dnid": "unknown",
            "rdnis": "unknown",
            "context": "ivr-in",
            "extension": "s",
            "priority": "2",
            "enhanced": "0.0",
            "accountcode": "",
            "threadid": "140020782573248",
        }
        return "".join(f"agi_{k}: {v}\n" for k, v in env.items()).encode() + b"\n"

    def _hang_up(self) -> str:
        self._dead = True
        return "200 result=-1\nHANGUP\n"

    def _reply(self, command: str) -> str:
        if self._dead:
            return DEAD
        if command.startswith("GET DATA "):
            key = self.keys.pop(0) if self.keys else ""
            if key == HANGUP:
                return self._hang_up()
            return f"200 result={key}\n" if key else "200 result= (timeout)\n"
        if command.startswith("STREAM FILE "):
            self._streams += 1
            if self._streams == self.hangup_on_stream:
                return self._hang_up()
            return "200 result=0 endpos=8000\n"
        if command.startswith("SAY "):
            return "200 result=0\n"
        if command == "CHANNEL STATUS":
            return "200 result=6\n"
        if command == "HANGUP":
            self._dead = True
            return "200 result=1\n"
        if command in {"ANSWER", "SET MUSIC OFF"} or command.startswith(("VERBOSE ", "SET VARIABLE ")):
            return "200 result=0\n" if command == "ANSWER" else "200 result=1\n"
        return "510 Invalid or unknown command\n"

    async def call(self) -> list[str]:
        """Run the session until the server closes it; return the commands received."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(self._env())
            await writer.drain()
            while line := await reader.readline():
                command = line.decode().rstrip("\n")
                self.commands.append(command)
                writer.write(self._reply(command).encode())
                await writer.drain()
        except ConnectionError:
            pass  # the server closed the session while we answered
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass
        return self.commands
