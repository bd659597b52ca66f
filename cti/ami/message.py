"""AMI wire format: messages, an incremental parser and an encoder.

An AMI message is a block of ``Key: value`` lines ended by ``\\r\\n`` and closed
by an empty line.  Keys repeat (``ChanVariable``, ``Output``), values may be
empty (``AccountCode: ``) and the server greets with a single banner line that
is *not* followed by an empty line.  Bytes arrive in arbitrary TCP chunks, so a
UTF-8 character may be split between two reads: the parser decodes with an
incremental decoder and never drops such a character (a known panoramisk
defect, see ``shared/notes/libraries.md``).

The same code is used by our AMI adapter, the PBX simulator's AMI server and
the trace tests, so the three can never disagree on framing.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["AmiFramingError", "AmiMessage", "AmiParser", "encode"]

EOL = "\r\n"


@dataclass(slots=True)
class AmiMessage:
    """One AMI message: ordered ``(key, value)`` pairs, keys may repeat.

    ``msg["Event"]`` returns the first value of a key; ``msg.getall(key)``
    returns every value in order.  Key lookup is case-sensitive on purpose:
    Asterisk's casing is part of the shape the simulator must reproduce.
    """

    fields: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, *pairs: tuple[str, str], **kwargs: str) -> AmiMessage:
        items = list(pairs) + list(kwargs.items())
        return cls([(k, str(v)) for k, v in items])

    def __getitem__(self, key: str) -> str:
        for k, v in self.fields:
            if k == key:
                return v
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self.fields)

    def get(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.fields:
            if k == key:
                return v
        return default

    def getall(self, key: str) -> list[str]:
        return [v for k, v in self.fields if k == key]

    def add(self, key: str, value: object) -> AmiMessage:
        self.fields.append((key, str(value)))
        return self

    def keys(self) -> list[str]:
        return [k for k, _ in self.fields]

    def as_dict(self) -> dict[str, str]:
        """First value of every key (repeated keys collapse to the first)."""
        out: dict[str, str] = {}
        for k, v in self.fields:
            out.setdefault(k, v)
        return out

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def variables(self) -> dict[str, str]:
        """``ChanVariable`` values (also ``ChanVariable(<chan>)``) as a dict."""
        out: dict[str, str] = {}
        for k, v in self.fields:
            if k == "ChanVariable" or k.startswith("ChanVariable("):
                name, _, value = v.partition("=")
                out[name] = value
        return out

    def encode(self) -> bytes:
        return encode(self.fields)


def encode(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Serialise pairs as one AMI message (each line ``\\r\\n``, blank line after).

    Values containing CR or LF would break framing and let a caller inject
    headers, so line breaks are replaced by spaces.
    """
    out = []
    for k, v in pairs:
        v = str(v).replace("\r", " ").replace("\n", " ")
        out.append(f"{k}: {v}{EOL}")
    out.append(EOL)
    return "".join(out).encode("utf-8")


class AmiFramingError(ValueError):
    """The peer broke AMI framing beyond our limits; the connection cannot go on.

    Raised by :meth:`AmiParser.feed` when a message (the line still being
    received counted in) grows past ``max_message_bytes`` characters or
    ``max_fields`` lines: a peer that never ends a line or a message would
    otherwise make us hold all of it.  :attr:`what` is ``"line"`` (one line
    alone is over the limit) or ``"message"``; :attr:`size` is what it had
    reached and :attr:`limit` the cap, both in :attr:`unit` (``"characters"``
    or ``"lines"``).
    """

    def __init__(self, what: str, size: int, limit: int, unit: str) -> None:
        self.what = what
        self.size = size
        self.limit = limit
        self.unit = unit
        super().__init__(f"AMI {what} of at least {size} {unit} is over the limit of {limit}")


class AmiParser:
    """Incremental AMI parser: ``feed(bytes)`` yields complete messages.

    With ``expect_banner=True`` (client side) the first line is taken as the
    server banner and stored in :attr:`banner`.  Lines are accepted with
    ``\\r\\n`` or a bare ``\\n``; a line without ``": "`` is kept with an empty
    key-less value under the key ``""`` so nothing is silently lost.

    Memory is bounded: the message being assembled, *including* the line not
    yet ended, may hold at most ``max_message_bytes`` characters and
    ``max_fields`` lines.  Past either limit :class:`AmiFramingError` is
    raised and everything buffered is dropped — cutting the stream into
    invented messages would hand half-messages to the consumers, so the
    connection has to end instead (:class:`cti.ami.protocol.AmiLink` does).
    """

    def __init__(
        self,
        *,
        expect_banner: bool = False,
        max_message_bytes: int = 1 << 20,
        max_fields: int = 1 << 16,
    ) -> None:
        if max_message_bytes <= 0 or max_fields <= 0:
            raise ValueError("max_message_bytes and max_fields must be > 0")
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._current: list[tuple[str, str]] = []
        self._size = 0
        self._max = max_message_bytes
        self._max_fields = max_fields
        self.banner: str | None = None
        self._want_banner = expect_banner

    @property
    def buffered(self) -> int:
        """Characters held for the message not yet complete (its lines and the open line)."""
        return self._size + len(self._buffer)

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Every message completed by ``data``; :class:`AmiFramingError` past the limits."""
        return list(self.iter_feed(data))

    def iter_feed(self, data: bytes) -> Iterator[AmiMessage]:
        """Like :meth:`feed`, but the messages completed before a violation are yielded first.

        After :class:`AmiFramingError` the stream is out of step: the caller
        must drop the connection, not feed this parser again.
        """
        text = self._decoder.decode(data)
        if "\n" not in text:
            # A line that never ends is refused before the concatenation below
            # copies it: we never hold more than the limit plus one read.
            self._check(len(self._buffer) + len(text))
            self._buffer += text
            return
        # One split per chunk: slicing the buffer line by line would be
        # quadratic in the chunk size, and a busy Asterisk sends large chunks.
        lines = (self._buffer + text).split("\n")
        self._buffer = lines.pop()
        for line in lines:
            if line.endswith("\r"):
                line = line[:-1]
            if self._want_banner:
                self._want_banner = False
                self._check(len(line))
                self.banner = line
                continue
            if line == "":
                if self._current:
                    msg = AmiMessage(self._current)
                    self._current = []
                    self._size = 0
                    yield msg
                continue
            self._check(len(line))
            key, sep, value = line.partition(":")
            if sep:
                if value.startswith(" "):
                    value = value[1:]
                self._current.append((key, value))
            else:
                self._current.append(("", line))
            self._size += len(line)
            if len(self._current) > self._max_fields:
                self._violate("message", len(self._current), self._max_fields, "lines")
        self._check(len(self._buffer))

    def _check(self, line: int) -> None:
        """Refuse a line of ``line`` characters that would take the message past the limit."""
        if line > self._max:
            self._violate("line", line, self._max, "characters")
        if self._size + line > self._max:
            self._violate("message", self._size + line, self._max, "characters")

    def _violate(self, what: str, size: int, limit: int, unit: str) -> None:
        # Drop what we hold at once: the point is to free it.
        self._buffer = ""
        self._current = []
        self._size = 0
        raise AmiFramingError(what, size, limit, unit)


def parse_all(data: bytes, *, expect_banner: bool = False) -> tuple[str | None, list[AmiMessage]]:
    """Parse a whole byte string (a trace file) into banner and messages."""
    parser = AmiParser(expect_banner=expect_banner)
    messages = parser.feed(data)
    return parser.banner, messages
