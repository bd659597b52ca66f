"""The call as a FastAGI script sees it: :class:`AgiChannel`.

Every method sends one command and reads its reply; commands are serialised
by a lock, so concurrent callers on one channel cannot interleave replies.
Cancelling a command (``asyncio.timeout`` around ``get_data``) is safe: the
reply still owed by Asterisk is read and discarded before the next command
is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from cti.fastagi.errors import AgiCommandError, AgiHangup, AgiProtocolError
from cti.fastagi.protocol import AgiReply, check_line, format_command, quote
from cti.fastagi.wire import AgiConnection

__all__ = ["AgiChannel"]

log = logging.getLogger(__name__)

_NO_CALLER = frozenset({"", "unknown", "anonymous"})
#: Least time between a STREAM FILE and the NOOP that stops it (see AgiChannel._exchange_until).
_STOP_GUARD = 0.02
_DTMF = frozenset("0123456789*#ABCD")


class AgiChannel:
    """One FastAGI session, i.e. one call leg running ``AGI(agi://...)``.

    ``env`` holds the ``agi_*`` block with the prefix removed (``"channel"``,
    ``"uniqueid"``, ``"callerid"``, ``"network_script"``...).  ``script`` is
    the path of the AGI URL without its query: ``agi://host/ivr?lang=de``
    gives ``script == "ivr"`` and ``script_params == {"lang": "de"}``;
    ``env["network_script"]`` keeps the full text.
    """

    def __init__(self, env: Mapping[str, str], connection: AgiConnection) -> None:
        self._env: Mapping[str, str] = MappingProxyType(dict(env))
        self._conn = connection
        self._lock = asyncio.Lock()
        self._unread_replies = 0
        self._hung_up = False
        path, _, query = self._env.get("network_script", "").partition("?")
        self._script = path
        self._script_params: Mapping[str, str] = MappingProxyType(dict(parse_qsl(query)))

    # -- identity ---------------------------------------------------------

    @property
    def env(self) -> Mapping[str, str]:
        """The ``agi_*`` variables, keys without the ``agi_`` prefix."""
        return self._env

    @property
    def channel_name(self) -> str:
        """Asterisk channel name, e.g. ``Local/s@ivr-in-00000000;2``."""
        return self._env.get("channel", "")

    @property
    def uniqueid(self) -> str:
        """``agi_uniqueid`` of the AGI leg."""
        return self._env.get("uniqueid", "")

    @property
    def script(self) -> str:
        """Route key: ``agi_network_script`` without its ``?query``."""
        return self._script

    @property
    def script_params(self) -> Mapping[str, str]:
        """Query parameters of the AGI URL (``ivr?lang=de`` → ``{"lang": "de"}``)."""
        return self._script_params

    @property
    def arguments(self) -> tuple[str, ...]:
        """``AGI(url,arg1,arg2)`` arguments (``agi_arg_1``, ``agi_arg_2``...)."""
        args: list[str] = []
        while (value := self._env.get(f"arg_{len(args) + 1}")) is not None:
            args.append(value)
        return tuple(args)

    @property
    def request(self) -> str:
        """``agi_request``, the full ``agi://`` URL."""
        return self._env.get("request", "")

    @property
    def caller_id(self) -> str | None:
        """Caller number, ``None`` when withheld or unknown."""
        return _known(self._env.get("callerid"))

    @property
    def caller_name(self) -> str | None:
        """Caller name, ``None`` when withheld or unknown."""
        return _known(self._env.get("calleridname"))

    @property
    def hung_up(self) -> bool:
        """True once Asterisk reported the channel gone (``HANGUP`` line,
        ``511``, ``result=-1`` on a reading command, or EOF)."""
        return self._hung_up

    # -- raw command --------------------------------------------------------

    async def command(self, line: str) -> AgiReply:
        """Send one command line and return its ``200`` reply.

        Raises :exc:`ValueError` if *line* is empty or holds a line break,
        :exc:`AgiHangup` on ``511``, EOF or a broken connection, and
        :exc:`AgiCommandError` on ``510``/``520`` or any other non-2xx code.
        A ``200`` reply is returned even when its result is ``-1``; the typed
        methods below interpret that.
        """
        check_line(line)
        if not line.strip():
            raise ValueError("empty AGI command")
        return await self._command(line)

    async def _command(self, line: str) -> AgiReply:
        """:meth:`command` for a non-empty line already checked (the typed methods build theirs with
        :func:`format_command`, which checks every part)."""
        # acquire/release rather than ``async with``: two coroutine frames less per command.
        await self._lock.acquire()
        try:
            try:
                # Replies owed to cancelled commands come first on the wire.
                while self._unread_replies:
                    await self._conn.read_reply()
                    self._unread_replies -= 1
                # Counted before the write: a cancel inside drain() leaves the line sent.
                self._unread_replies += 1
                self._conn.write_checked(line)
                if self._conn.write_paused:
                    await self._conn.drain()
                reply = await self._conn.read_reply()
                self._unread_replies -= 1
            except AgiHangup:
                self._hung_up = True
                raise
            finally:
                if self._conn.hangup_seen:
                    self._hung_up = True
        finally:
            self._lock.release()
        if 200 <= reply.code < 300:
            return reply
        if reply.code == 511:
            self._hung_up = True
            raise AgiHangup(reply.raw)
        raise AgiCommandError(reply)

    async def _command_until(self, line: str, until: asyncio.Future[Any]) -> AgiReply | None:
        """Like :meth:`command` for ``STREAM FILE``, stopped by ``NOOP`` once ``until`` is done (``None``)."""
        check_line(line)
        async with self._lock:
            try:
                reply = await self._exchange_until(line, until)
            except AgiHangup:
                self._hung_up = True
                raise
            finally:
                if self._conn.hangup_seen:
                    self._hung_up = True
        if reply is None or 200 <= reply.code < 300:
            return reply
        if reply.code == 511:
            self._hung_up = True
            raise AgiHangup(reply.raw)
        raise AgiCommandError(reply)

    async def _exchange_until(self, line: str, until: asyncio.Future[Any]) -> AgiReply | None:
        if until.done():
            return None  # nothing to play any more
        while self._unread_replies:
            await self._conn.read_reply()
            self._unread_replies -= 1
        self._unread_replies += 1
        self._conn.write_checked(line)
        await self._conn.drain()
        loop = asyncio.get_running_loop()
        sent = loop.time()
        reading = asyncio.ensure_future(self._conn.read_reply())
        try:
            await asyncio.wait({reading, until}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                # res_agi reads commands through a stdio buffer: a NOOP landing in the same read as
                # the STREAM FILE would sit there unseen while the prompt plays. Let it take the
                # command line alone first (it does within microseconds of its arrival).
                await asyncio.wait({reading}, timeout=_STOP_GUARD - (loop.time() - sent))
        except asyncio.CancelledError:
            reading.cancel()  # the reply stays owed (_unread_replies), read before the next command
            raise
        if reading.done():
            self._unread_replies -= 1
            return reading.result()
        try:
            self._conn.write_checked("NOOP")
            await self._conn.drain()
            first = await reading
            own = first.code == 511 or "endpos" in first.extras
            if own:
                # The prompt had ended by itself (or the channel was gone): NOOP's reply follows.
                await self._conn.read_reply()
        except asyncio.CancelledError:
            # One or two replies owed, and which is unknown: this session cannot stay in sync.
            self._conn.close()
            self._hung_up = True
            raise
        self._unread_replies -= 1
        return first if own else None

    # -- typed commands ---------------------------------------------------

    async def answer(self) -> None:
        """``ANSWER``; :exc:`AgiHangup` if the channel could not be answered."""
        reply = await self._command("ANSWER")
        self._raise_if_hangup(reply, "ANSWER")

    async def stream_file(
        self, filename: str, escape_digits: str = "", *, until: asyncio.Future[Any] | None = None
    ) -> str:
        """``STREAM FILE``: play *filename*; return the escape digit pressed or ``""``.

        With ``until``, the playback is stopped as soon as that future is done
        (``""`` is returned): res_agi watches the FastAGI socket while it
        plays (``ast_waitstream_full`` with the socket as control fd), and a
        command arriving meanwhile ends ``STREAM FILE`` at once *without a
        reply* to it; that command (``NOOP``) then runs and answers.  The
        prompt may have ended by itself just before: its own reply (always
        with ``endpos=``) then comes first and is read too.  ``SAY NUMBER``
        and the other say commands cannot be stopped so over FastAGI (res_agi
        gives them no control fd without EAGI audio).

        ``result=-1`` means either "the caller hung up" or "no such sound
        file" (Asterisk answers ``200 result=-1 endpos=0`` on a live channel
        then).  Unless a ``HANGUP`` line already told us, the channel is
        probed with ``CHANNEL STATUS``: on a dead channel Asterisk answers
        ``HANGUP``/``511`` (→ :exc:`AgiHangup`); on a live one the prompt is
        missing, which is logged and returns ``""`` so the call goes on.
        """
        _check_dtmf(escape_digits)
        line = format_command("STREAM FILE", filename, escape_digits)
        if until is None:
            reply = await self._command(line)
        else:
            stopped = await self._command_until(line, until)
            if stopped is None:
                return ""
            reply = stopped
        code = self._int_result(reply)
        if code != -1:
            return self._digit(code)
        if not self._hung_up:
            await self.channel_status()
        if self._hung_up:
            raise AgiHangup(f"STREAM FILE: {reply.raw}")
        log.warning("fastagi.prompt_missing", extra={"prompt": filename, "uniqueid": self.uniqueid})
        return ""

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        """``GET DATA``: play *prompt*, collect up to *max_digits* digits.

        Returns the digits (``#`` ends input and is not included), the
        partial digits on timeout, ``""`` on timeout without input.
        """
        reply = await self._command(format_command("GET DATA", prompt, timeout_ms, max_digits))
        self._raise_if_hangup(reply, "GET DATA")
        return reply.result

    async def wait_for_digit(self, timeout_ms: int) -> str:
        """``WAIT FOR DIGIT``: one digit, or ``""`` on timeout (``-1`` waits forever)."""
        reply = await self._command(format_command("WAIT FOR DIGIT", timeout_ms))
        self._raise_if_hangup(reply, "WAIT FOR DIGIT")
        return self._digit(self._int_result(reply))

    async def say_digits(self, digits: str, escape_digits: str = "") -> str:
        """``SAY DIGITS``; returns the escape digit pressed or ``""``."""
        _check_dtmf(escape_digits)
        reply = await self._command(format_command("SAY DIGITS", digits, escape_digits))
        self._raise_if_hangup(reply, "SAY DIGITS")
        return self._digit(self._int_result(reply))

    async def say_number(self, number: int, escape_digits: str = "") -> str:
        """``SAY NUMBER``; returns the escape digit pressed or ``""``."""
        _check_dtmf(escape_digits)
        reply = await self._command(format_command("SAY NUMBER", int(number), escape_digits))
        self._raise_if_hangup(reply, "SAY NUMBER")
        return self._digit(self._int_result(reply))

    async def set_variable(self, name: str, value: str) -> None:
        """``SET VARIABLE name value`` (value quoted only when it must be)."""
        _check_name(name, "variable name")
        await self._command(format_command("SET VARIABLE", name, value))

    async def get_variable(self, name: str) -> str | None:
        """``GET VARIABLE``; ``None`` when unset.  Accepts functions
        (``CHANNEL(linkedid)``)."""
        _check_name(name, "variable name")
        return _variable(await self._command(format_command("GET VARIABLE", name)))

    async def get_full_variable(self, expression: str) -> str | None:
        """``GET FULL VARIABLE``: evaluate an expression such as
        ``${CALLERID(num)}``; ``None`` when Asterisk reports it unset."""
        if not expression:
            raise ValueError("empty expression")
        return _variable(await self._command(format_command("GET FULL VARIABLE", expression)))

    async def exec(self, application: str, *args: str) -> int:
        """``EXEC <app> "<args joined by ,>"``; returns the application's result.

        ``Dial`` gives ``0`` when it returned normally and ``-1`` when the
        caller hung up; ``-2`` means the application does not exist.  The
        outcome details are in variables (``DIALSTATUS``...).
        """
        _check_name(application, "application")
        line = format_command("EXEC", application)
        if args:
            line += " " + quote(",".join(args))
        return self._int_result(await self._command(line))

    async def set_music(self, on: bool, moh_class: str = "") -> None:
        """``SET MUSIC ON [class]`` / ``SET MUSIC OFF``."""
        if not on:
            await self._command("SET MUSIC OFF")
        elif moh_class:
            await self._command(format_command("SET MUSIC ON", moh_class))
        else:
            await self._command("SET MUSIC ON")

    async def channel_status(self) -> int:
        """``CHANNEL STATUS``: Asterisk channel state (6 = up)."""
        return self._int_result(await self._command("CHANNEL STATUS"))

    async def verbose(self, message: str, level: int = 1) -> None:
        """``VERBOSE``: write *message* to the Asterisk console at *level*."""
        await self._command(format_command("VERBOSE", message, level))

    async def hangup(self) -> None:
        """``HANGUP`` the channel.  Idempotent: no error if it is already gone."""
        try:
            if not self._conn.closed:
                await self._command("HANGUP")
        except AgiHangup:
            pass
        finally:
            self._hung_up = True

    # -- helpers --------------------------------------------------------------

    def _raise_if_hangup(self, reply: AgiReply, verb: str) -> None:
        if reply.result == "-1":
            self._hung_up = True
            raise AgiHangup(f"{verb}: {reply.raw}")

    def _int_result(self, reply: AgiReply) -> int:
        try:
            return int(reply.result)
        except ValueError:
            raise self._broken(f"non-numeric AGI result: {reply.raw[:80]!r}") from None

    def _digit(self, code: int) -> str:
        """ASCII code of a DTMF digit → the digit; ``0`` → ``""``."""
        if code == 0:
            return ""
        if 0 < code < 128:
            return chr(code)
        raise self._broken(f"AGI digit result out of range: {code}")

    def _broken(self, message: str) -> AgiProtocolError:
        # A peer that answers nonsense cannot be trusted to stay in sync.
        self._conn.close()
        self._hung_up = True
        return AgiProtocolError(message)


def _known(value: str | None) -> str | None:
    if value is None or value.strip().lower() in _NO_CALLER:
        return None
    return value


def _check_dtmf(digits: str) -> None:
    if not set(digits) <= _DTMF:
        raise ValueError(f"escape digits must be DTMF characters (0-9 * # A-D): {digits!r}")


def _check_name(name: str, what: str) -> None:
    if not name:
        raise ValueError(f"empty {what}")


def _variable(reply: AgiReply) -> str | None:
    if reply.result != "1":
        return None
    return reply.data if reply.data is not None else ""
