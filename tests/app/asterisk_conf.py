"""Read Asterisk configuration files as Asterisk does, for tests of the samples in ``config/asterisk/``.

* :func:`read_conf` — the ini-like format of every ``.conf``: ``[section]`` (also
  ``[name](!)`` templates and ``[name](template,…)`` sections inheriting from them),
  ``key = value`` or ``key => value``, comments from an unescaped ``;`` to the end of
  the line and ``;-- … --;`` blocks.  Sections of one name may repeat (pjsip.conf gives
  an endpoint, its auth and its aor one name), so sections are kept in order, not in a
  dict, and a key may repeat too (``match =`` twice).
* :func:`dialplan` — the contexts of ``extensions.conf`` with their extensions (the
  ``exten =>`` lines; ``same =>`` lines add priorities, not extensions) and includes.
* :func:`matches` / :func:`find_extension` — Asterisk's extension matching: a name
  without a leading ``_`` matches itself only; a pattern matches character by
  character with ``X`` (0-9), ``Z`` (1-9), ``N`` (2-9) — upper or lower case —,
  ``[…]`` (a set of characters and ranges such as ``[1-3a]``), ``.`` (one or more
  characters, ending the pattern) and ``!`` (zero or more, ending it); ``-`` outside
  brackets is ignored (``_1-800-NXX`` reads ``_1800NXX``), other characters match
  themselves.  Includes are searched after the context's own extensions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Context", "Section", "dialplan", "find_extension", "matches", "read_conf"]


@dataclass
class Section:
    """One ``[name]`` of a configuration file."""

    name: str
    templates: tuple[str, ...] = ()
    is_template: bool = False
    items: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        """The last value of *key*, as Asterisk keeps for a single-valued option."""
        values = self.all(key)
        return values[-1] if values else None

    def all(self, key: str) -> list[str]:
        return [value for name, value in self.items if name == key]


_SECTION = re.compile(r"^\[([^\]]+)\]\s*(?:\(([^)]*)\))?\s*$")
_ITEM = re.compile(r"^([^=]+?)\s*=>?\s*(.*)$")


def _strip_comments(text: str) -> list[str]:
    lines: list[str] = []
    in_block = False
    for raw in text.splitlines():
        out: list[str] = []
        i = 0
        while i < len(raw):
            if in_block:
                end = raw.find("--;", i)
                if end < 0:
                    i = len(raw)
                    continue
                in_block, i = False, end + 3
                continue
            if raw.startswith(";--", i):
                in_block, i = True, i + 3
                continue
            char = raw[i]
            if char == "\\" and i + 1 < len(raw) and raw[i + 1] == ";":
                out.append(";")
                i += 2
                continue
            if char == ";":
                break
            out.append(char)
            i += 1
        lines.append("".join(out).strip())
    return lines


def read_conf(path: Path) -> list[Section]:
    """Every section of *path* in file order (a line before any section is an error, as in Asterisk)."""
    sections: list[Section] = []
    for number, line in enumerate(_strip_comments(path.read_text(encoding="utf-8")), 1):
        if not line:
            continue
        header = _SECTION.match(line)
        if header:
            options = [o.strip() for o in (header.group(2) or "").split(",") if o.strip()]
            sections.append(
                Section(
                    header.group(1).strip(),
                    templates=tuple(o for o in options if o != "!"),
                    is_template="!" in options,
                )
            )
            continue
        item = _ITEM.match(line)
        if item is None or not sections:
            raise ValueError(f"{path.name}:{number}: not a section or a key = value line: {line!r}")
        sections[-1].items.append((item.group(1).strip(), item.group(2).strip()))
    return sections


def resolved(sections: list[Section], section: Section) -> dict[str, list[str]]:
    """The options of *section* with those of its templates first (later values win for single keys)."""
    options: dict[str, list[str]] = {}
    for name in section.templates:
        template = next((s for s in sections if s.name == name and s.is_template), None)
        if template is None:
            raise ValueError(f"[{section.name}] inherits from [{name}], which is no template")
        for key, values in resolved(sections, template).items():
            options.setdefault(key, []).extend(values)
    for key, value in section.items:
        options.setdefault(key, []).append(value)
    return options


@dataclass
class Context:
    """A dialplan context: its extensions (names and patterns, in file order) and includes."""

    name: str
    extensions: list[str] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    # Every "exten =>"/"same =>" line as (extension, application with its data), for checks of what runs.
    steps: list[tuple[str, str]] = field(default_factory=list)


def dialplan(path: Path) -> dict[str, Context]:
    """The contexts of an ``extensions.conf`` (``[globals]`` and ``[general]`` are settings, left out)."""
    contexts: dict[str, Context] = {}
    for section in read_conf(path):
        if section.name in ("general", "globals"):
            continue
        context = contexts.setdefault(section.name, Context(section.name))
        current = ""
        for key, value in section.items:
            if key == "include":
                context.includes.append(value)
            elif key in ("exten", "same"):
                parts = value.split(",", 2)
                if key == "exten":
                    current = parts[0].strip()
                    if current not in context.extensions:
                        context.extensions.append(current)
                    parts = parts[1:]
                # What is left: priority (or label), then the application.
                context.steps.append((current, parts[-1].strip() if len(parts) > 1 else ""))
    return contexts


def _pattern_tokens(pattern: str) -> list[str | frozenset[str]]:
    """The pattern after ``_`` as tokens: a set of allowed characters, or ``"."`` / ``"!"``."""
    tokens: list[str | frozenset[str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        upper = char.upper()
        if char == "-":
            i += 1
            continue
        if upper == "X":
            tokens.append(frozenset("0123456789"))
        elif upper == "Z":
            tokens.append(frozenset("123456789"))
        elif upper == "N":
            tokens.append(frozenset("23456789"))
        elif char in ".!":
            tokens.append(char)
            break  # Asterisk ignores whatever follows a '.' or a '!'
        elif char == "[":
            end = pattern.find("]", i)
            if end < 0:
                raise ValueError(f"unclosed [ in pattern _{pattern}")
            body, allowed = pattern[i + 1 : end], set[str]()
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    allowed.update(chr(c) for c in range(ord(body[j]), ord(body[j + 2]) + 1))
                    j += 3
                else:
                    allowed.add(body[j])
                    j += 1
            tokens.append(frozenset(allowed))
            i = end
        else:
            tokens.append(frozenset(char))
        i += 1
    return tokens


def matches(extension: str, dialled: str) -> bool:
    """Whether the dialplan extension *extension* (a name or a ``_`` pattern) matches *dialled*."""
    if not extension.startswith("_"):
        return extension == dialled
    tokens = _pattern_tokens(extension[1:])
    for position, token in enumerate(tokens):
        if token == ".":
            return len(dialled) > position
        if token == "!":
            return True
        if position >= len(dialled) or dialled[position] not in token:
            return False
    return len(dialled) == len(tokens)


def find_extension(contexts: dict[str, Context], context: str, dialled: str) -> str | None:
    """An extension of *context*, or else of a context it includes, matching *dialled*; ``None`` if none does.

    The first match in file order: enough to know that *dialled* reaches something (Asterisk itself
    would run the most specific of several matches).
    """
    seen: set[str] = set()

    def search(name: str) -> str | None:
        if name in seen or name not in contexts:
            return None
        seen.add(name)
        found = next((e for e in contexts[name].extensions if matches(e, dialled)), None)
        if found is not None:
            return found
        for included in contexts[name].includes:
            found = search(included)
            if found is not None:
                return found
        return None

    return search(context)
