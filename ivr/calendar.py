"""Business-hours calendars of a menu file (``[calendars.<name>]``).

::

    [calendars.office]
    timezone = "Asia/Shanghai"
    hours = { mon = "09:00-18:00", tue = "09:00-18:00", sat = "09:00-12:00" }
    holidays = [2025-10-01, 2025-10-02]     # TOML dates: closed all day

    [calendars.always]
    always_open = true                      # a 7x24 queue

A day missing from ``hours`` is closed.  The clock is the engine's (epoch
seconds), so tests choose the instant; the zone makes "Monday 09:00" mean
Monday 09:00 in Shanghai whatever the server's own timezone.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from datetime import time as daytime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = ["WEEKDAYS", "BusinessCalendar"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (use an IANA name such as 'Asia/Shanghai')") from None
    return value


def _span(value: str) -> str:
    match = _SPAN.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a span of hours like '09:00-18:00'")
    start = (int(match.group(1)), int(match.group(2)))
    end = (int(match.group(3)), int(match.group(4)))
    if end > (24, 0) or start >= end:
        raise ValueError(f"{value!r}: the span must end after it starts, at 24:00 at the latest")
    return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Span = Annotated[str, AfterValidator(_span)]


class BusinessCalendar(BaseModel):
    """When a team answers calls: weekly ``hours`` minus ``holidays``, in ``timezone``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    timezone: Annotated[str, AfterValidator(_zone)] = "Asia/Shanghai"
    always_open: bool = False
    hours: dict[Weekday, Span] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_hours(self) -> BusinessCalendar:
        if not self.always_open and not self.hours:
            raise ValueError("a calendar needs 'hours' (or always_open = true)")
        return self

    def is_open(self, epoch: float) -> bool:
        """Whether the instant ``epoch`` (seconds) falls inside opening hours."""
        if self.always_open:
            return True
        local = datetime.fromtimestamp(epoch, tz=ZoneInfo(self.timezone))
        if local.date() in self.holidays:
            return False
        span = self.hours.get(WEEKDAYS[local.weekday()])  # type: ignore[call-overload]
        if span is None:
            return False
        start, end = span.split("-")
        now = local.time()
        opens = daytime.fromisoformat(start)
        if end == "24:00":
            return now >= opens
        return opens <= now < daytime.fromisoformat(end)
