"""AGI wire format: reply parsing, argument quoting, command splitting.

Pure functions shared by the FastAGI server and the PBX simulator (which
plays Asterisk and must split commands exactly like ``res_agi`` does).

Replies (one line each, ``\\n``-terminated) look like::

    200 result=0
    200 result=0 endpos=11360
    200 result=1 (support)
    200 result= (timeout)
    200 result=-1 (hangup) endpos=0
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel or intercept routine

plus the multi-line ``520-`` usage block, which :mod:`cti.fastagi.wire`
assembles before calling :func:`parse_reply`.

Arguments are quoted the way ``res_agi``'s ``parse_args`` unquotes them:
double quotes group words, a backslash escapes the next character.  A line
break can never be quoted — Asterisk reads one command per line — so any
``\\n``, ``\\r`` or NUL in an argument raises :exc:`ValueError` instead of
silently injecting a second command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cti.fastagi.errors import AgiProtocolError

__all__ = [
    "MAX_LINE_BYTES",
    "AgiReply",
    "check_line",
    "format_arg",
    "format_command",
    "parse_reply",
    "quote",
    "split_command",
]

MAX_LINE_BYTES = 64 * 1024
"""Longest accepted line (env line or reply line), terminator included."""

# Characters that make res_agi split or unescape a bare word.
_NEEDS_QUOTES = re.compile(r'[ \t"\\]')
_FORBIDDEN = {"\n": "a line feed", "\r": "a carriage return", "\0": "a NUL byte"}
_RESULT = "result="
_OK_RESULT = "200 result="
_DATA_THEN_EXTRAS = re.compile(r"\((?P<data>.*)\)(?P<extras>(?: +[^\s=]+=\S*)*) *")


@dataclass(slots=True)
class AgiReply:
    """One parsed AGI reply; read-only by convention.

    Not a frozen dataclass: building a frozen one cost more than parsing the line (every command
    builds one), see ``bankcti bench fastagi``.

    ``result`` is the text after ``result=`` (``""`` for ``result= (timeout)``),
    ``data`` the text inside the parentheses (``None`` when absent), ``extras``
    the trailing ``key=value`` pairs (``{"endpos": "11360"}``), ``raw`` the
    line(s) as received without the final line feed.
    """

    code: int
    result: str = ""
    data: str | None = None
    extras: dict[str, str] = field(default_factory=dict)
    raw: str = ""


def check_line(text: str) -> None:
    """Raise :exc:`ValueError` if *text* holds a line break or a NUL byte.

    Such a character would end the command early and let the rest be read by
    Asterisk as a second, unintended command.
    """
    # Three substring tests: this runs for every command and argument, and is almost always clean.
    if "\n" in text or "\r" in text or "\0" in text:
        label = next(label for char, label in _FORBIDDEN.items() if char in text)
        raise ValueError(f"AGI command text must not contain {label}: {text!r}")


def quote(arg: str) -> str:
    """Always wrap *arg* in double quotes, escaping ``"`` and ``\\``.

    >>> quote('say "hi"')
    '"say \\\\"hi\\\\""'
    """
    check_line(arg)
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_arg(arg: str | int) -> str:
    """Render one argument: bare when safe, else :func:`quote`-d.

    Integers are written in decimal.  A string is written bare when it is
    non-empty and holds no blank, tab, quote or backslash; otherwise it is
    quoted, so ``""`` stands for an empty argument (``STREAM FILE x ""``).
    """
    if type(arg) is not str:  # one exact test first: nearly every argument is a plain str
        if isinstance(arg, bool):
            raise TypeError("AGI arguments are str or int, not bool")
        if isinstance(arg, int):
            return str(arg)
    if not arg:
        return '""'  # STREAM FILE's usual "no escape digits"
    check_line(arg)
    if _NEEDS_QUOTES.search(arg) is None:
        return arg
    return quote(arg)


def format_command(verb: str, *args: str | int) -> str:
    """Build a command line (without the line feed): ``verb`` then each
    argument through :func:`format_arg`.

    >>> format_command("STREAM FILE", "hello-world", "")
    'STREAM FILE hello-world ""'
    """
    check_line(verb)
    if not args:
        return verb
    if len(args) == 1:
        return verb + " " + format_arg(args[0])
    return verb + " " + " ".join([format_arg(arg) for arg in args])


def split_command(line: str) -> list[str]:
    """Split a command line into words exactly like ``res_agi``'s
    ``parse_args``.

    Blanks and tabs separate words outside quotes; ``"`` toggles quoting (an
    opening quote after a blank starts a word, so ``""`` is an empty word);
    ``\\`` makes the next character literal.  Unlike Asterisk, words past the
    127th are not dropped.

    >>> split_command('SET VARIABLE X "a \\\\"b\\\\" c"')
    ['SET', 'VARIABLE', 'X', 'a "b" c']
    """
    words: list[list[str]] = []
    in_word = quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and not in_word:
                words.append([])
                in_word = True
            continue
        if char in " \t" and not quoted and not escaped:
            in_word = False
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if not in_word:
            words.append([])
            in_word = True
        words[-1].append(char)
        escaped = False
    return ["".join(word) for word in words]


def parse_reply(raw: str) -> AgiReply:
    """Parse one reply line (or an assembled ``520`` block) into an
    :class:`AgiReply`.

    Raises :exc:`~cti.fastagi.errors.AgiProtocolError` when the text does not
    start with a three-digit code, or a ``2xx`` reply carries no ``result=``.
    Unknown trailing words without ``=`` are tolerated (kept only in ``raw``).
    """
    if raw.startswith(_OK_RESULT):  # nearly every reply: skip the general code check
        result, _, tail = raw[len(_OK_RESULT) :].partition(" ")
        if not tail:
            return AgiReply(200, result, None, {}, raw)
        return _with_tail(200, result, tail, raw)
    # Three decimal digits (any Unicode Nd digit, as ``\d`` would take), then a blank, a dash or the end.
    digits = raw[:3]
    if len(digits) != 3 or not digits.isdecimal() or raw[3:4] not in ("", " ", "-"):
        raise AgiProtocolError(f"malformed AGI reply: {raw[:80]!r}")
    code = int(digits)
    if not 200 <= code < 300:
        return AgiReply(code=code, raw=raw)
    if not raw.startswith(_RESULT, 4):
        raise AgiProtocolError(f"AGI reply without result=: {raw[:80]!r}")
    result, _, tail = raw[4 + len(_RESULT) :].partition(" ")
    return _with_tail(code, result, tail, raw)


def _with_tail(code: int, result: str, tail: str, raw: str) -> AgiReply:
    """The reply of a ``2xx`` line whose text after ``result=<result> `` is *tail*."""
    data, extras_text = _split_tail(tail)
    extras: dict[str, str] = {}
    for word in extras_text.split():
        key, sep, value = word.partition("=")
        if sep:
            extras[key] = value
    return AgiReply(code=code, result=result, data=data, extras=extras, raw=raw)


def _split_tail(tail: str) -> tuple[str | None, str]:
    """Separate ``(data)`` from trailing ``key=value`` words.

    The data group is greedy: a tail ending in ``)`` is all data, because a
    ``GET VARIABLE`` value may itself contain parentheses, blanks or ``=`` and
    is always last.  Otherwise ``(data) key=value...`` (``RECORD FILE``) or
    bare ``key=value...`` (``STREAM FILE``).
    """
    if tail.startswith("("):
        if tail.endswith(")"):
            return tail[1:-1], ""  # what the greedy pattern below gives, without running it
        match = _DATA_THEN_EXTRAS.fullmatch(tail)
        if match is not None:
            return match.group("data"), match.group("extras")
    return None, tail
