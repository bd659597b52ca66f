"""Line numbers of tables and keys in a TOML document.

``tomllib`` reports line numbers for syntax errors only; a semantic error
found after parsing (a dangling node reference, a negative timeout) still has
to name the line the operator must edit.  :class:`KeyLines` scans the text
once and remembers where each table header and each key assignment sits.

The scan is deliberately small: it understands headers (``[a."b c".d]``,
``[[a]]``), dotted keys (``a.b = 1``), inline tables on one line (their inner
keys map to that line) and skips the bodies of multi-line strings and arrays
well enough that a line inside them is never taken for a key.  The document
has already been accepted by ``tomllib``, so the scanner never has to report
syntax errors itself.
"""

from __future__ import annotations

import re
import tomllib

__all__ = ["KeyLines", "syntax_error_line"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SYNTAX_LINE = re.compile(r"\(at line (\d+), column \d+\)")

Path_ = tuple[str, ...]


def syntax_error_line(error: tomllib.TOMLDecodeError, text: str) -> tuple[int, str]:
    """Return ``(line, reason)`` for a ``tomllib`` syntax error.

    The standard library of Python 3.11–3.13 only embeds the position in the
    message (``"Invalid value (at line 2, column 3)"``, or ``"(at end of
    document)"``); the position is moved to the line number and the reason
    keeps the column.
    """
    message = str(error)
    match = _SYNTAX_LINE.search(message)
    if match:
        return int(match.group(1)), message
    return max(1, text.count("\n") + (0 if text.endswith("\n") else 1)), message


def _parse_key(text: str, pos: int) -> tuple[list[str], int] | None:
    """Parse a (dotted) TOML key starting at ``pos``; return its parts and end."""
    parts: list[str] = []
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text):
            return None
        char = text[pos]
        if char in "\"'":
            end = pos + 1
            while end < len(text) and text[end] != char:
                end += 2 if (char == '"' and text[end] == "\\") else 1
            if end >= len(text):
                return None
            try:
                parts.append(tomllib.loads(f"k = {text[pos : end + 1]}")["k"])
            except tomllib.TOMLDecodeError:
                return None
            pos = end + 1
        else:
            match = _BARE.match(text, pos)
            if match is None:
                return None
            parts.append(match.group(0))
            pos = match.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return parts, pos


def _strip_strings(line: str) -> str:
    """Blank out one-line string literals so brackets inside them are ignored."""
    return re.sub(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'", '""', line)


class KeyLines:
    """Where each table and key of a TOML document is written (1-based lines)."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Path_, int] = {}
        table: Path_ = ()
        depth = 0  # open brackets of a multi-line array value
        in_string: str | None = None  # the delimiter of an open multi-line string
        for number, line in enumerate(text.splitlines(), start=1):
            if in_string is not None:
                if line.count(in_string) % 2 == 1:
                    in_string = None
                continue
            stripped = line.strip()
            if depth == 0 and stripped.startswith("["):
                double = stripped.startswith("[[")
                parsed = _parse_key(stripped, 2 if double else 1)
                if parsed is not None:
                    table = tuple(parsed[0])
                    self._lines.setdefault(table, number)
                continue
            if depth == 0 and stripped and not stripped.startswith("#"):
                parsed = _parse_key(stripped, 0)
                if parsed is not None and parsed[1] < len(stripped) and stripped[parsed[1]] == "=":
                    key = (*table, *parsed[0])
                    self._lines.setdefault(key, number)
                    value = stripped[parsed[1] + 1 :]
                    self._note_inline(key, value, number)
                    line = value
            for delimiter in ('"""', "'''"):
                if line.count(delimiter) % 2 == 1:
                    in_string = delimiter
                    break
            if in_string is None:
                bare = _strip_strings(line).split("#", 1)[0]
                depth = max(0, depth + bare.count("[") - bare.count("]"))

    def _note_inline(self, key: Path_, value: str, number: int) -> None:
        """Give the keys of a one-line inline table the line of its key."""
        value = value.strip()
        if not value.startswith("{"):
            return
        try:
            inner = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            return
        stack: list[tuple[Path_, object]] = [(key, inner)]
        while stack:
            prefix, node = stack.pop()
            if isinstance(node, dict):
                for name, child in node.items():
                    self._lines.setdefault((*prefix, name), number)
                    stack.append(((*prefix, name), child))

    def line_of(self, *path: str) -> int:
        """Line of the deepest written prefix of ``path`` (1 when none is)."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return 1

    def exact(self, *path: str) -> int | None:
        """Line where exactly ``path`` is written, or ``None``."""
        return self._lines.get(tuple(path))
