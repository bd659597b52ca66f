"""Per-session AMI event filters (``Action: Filter``), Asterisk 22 semantics.

Two syntaxes add a filter:

* legacy ``Filter: <regex>`` (``!<regex>`` excludes), matched against the
  whole event text;
* advanced ``MatchCriteria: action(include|exclude),name(<Event>),
  header(<Header>),method(regex|exact|starts_with|ends_with|contains|none)``
  with an optional ``Filter:`` pattern.

With no filter every event passes; with only include filters an event must
match one; with only exclude filters it must match none; with both, it must
match an include and no exclude (``match_filter`` in ``manager.c``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cti.ami.message import AmiMessage

__all__ = ["EventFilter", "FilterError", "FilterSet", "parse_filter"]

FORMAT_ERROR = "Filter was formatted incorrectly.  Check the syntax of the filter given."
COMPILE_ERROR = "Filter did not compile.  Check the syntax of the filter given."
_METHODS = ("regex", "exact", "starts_with", "ends_with", "contains", "none")
_CRITERION = re.compile(r"\s*(action|name|header|method)\(([^()]*)\)\s*")


class FilterError(ValueError):
    """The filter is malformed; ``str(err)`` is Asterisk's response message."""


@dataclass(frozen=True)
class EventFilter:
    """One filter: include or exclude events matching name/header/pattern."""

    include: bool
    name: str | None = None
    header: str | None = None
    method: str = "none"
    pattern: str = ""
    regex: re.Pattern[str] | None = None

    def matches(self, message: AmiMessage, text: Callable[[], str]) -> bool:
        if self.name is not None and (message.event or "").lower() != self.name.lower():
            return False
        if self.method == "none":
            return self.header is None or any(k.lower() == self.header.lower() for k in message.keys())
        if self.header is not None:
            values = [v for k, v in message.fields if k.lower() == self.header.lower()]
            return any(self._match(value) for value in values)
        return self._match(text())

    def _match(self, subject: str) -> bool:
        if self.method == "regex":
            assert self.regex is not None
            return self.regex.search(subject) is not None
        if self.method == "exact":
            return subject == self.pattern
        if self.method == "starts_with":
            return subject.startswith(self.pattern)
        if self.method == "ends_with":
            return subject.endswith(self.pattern)
        return self.pattern in subject


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise FilterError(COMPILE_ERROR) from exc


def parse_filter(match_criteria: str, filter_text: str) -> EventFilter:
    """Build a filter from the ``MatchCriteria`` and ``Filter`` headers."""
    if not match_criteria.strip():
        if not filter_text:
            raise FilterError(FORMAT_ERROR)
        include = not filter_text.startswith("!")
        pattern = filter_text if include else filter_text[1:]
        return EventFilter(include, method="regex", pattern=pattern, regex=_compile(pattern))
    criteria: dict[str, str] = {}
    for part in match_criteria.split(","):
        found = _CRITERION.fullmatch(part)
        if found is None or found.group(1) in criteria:
            raise FilterError(FORMAT_ERROR)
        criteria[found.group(1)] = found.group(2).strip()
    action = criteria.get("action", "include").lower()
    if action not in ("include", "exclude"):
        raise FilterError(FORMAT_ERROR)
    method = criteria.get("method", "regex" if filter_text else "none").lower()
    if method not in _METHODS or (method != "none" and not filter_text):
        raise FilterError(FORMAT_ERROR)
    header = criteria.get("header") or None
    if header is not None:
        header = header.rstrip(": ")
    return EventFilter(
        include=action == "include",
        name=criteria.get("name") or None,
        header=header,
        method=method,
        pattern=filter_text,
        regex=_compile(filter_text) if method == "regex" else None,
    )


@dataclass
class FilterSet:
    """The include and exclude filters of one AMI session."""

    include: list[EventFilter] = field(default_factory=list)
    exclude: list[EventFilter] = field(default_factory=list)

    def add(self, event_filter: EventFilter) -> None:
        (self.include if event_filter.include else self.exclude).append(event_filter)

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def allows(self, message: AmiMessage, text: Callable[[], str]) -> bool:
        if self.include and not any(f.matches(message, text) for f in self.include):
            return False
        return not any(f.matches(message, text) for f in self.exclude)
