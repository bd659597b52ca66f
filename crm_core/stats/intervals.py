"""Report intervals: the range a report covers and the 15-minute / hour / day buckets inside it.

Buckets are cut in the report's time zone (a supervisor's "09:00–09:15" or
"Monday" is local wall time), while every stored time is UTC.  A bucket is
named by its local start; its UTC bounds come from converting local wall
times back, so a day that has 23 or 25 hours under daylight saving still
gets one "day" bucket.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_core.errors import InvalidInput

__all__ = [
    "MAX_RANGE_DAYS",
    "Granularity",
    "ReportRange",
    "bucket_start",
    "check_day",
    "overlap_seconds",
    "parse_zone",
    "split_by_bucket",
]

#: The longest range one report covers: a quarter, so one request stays a bounded read.
MAX_RANGE_DAYS = 92


class Granularity(StrEnum):
    """How rows of a report are cut in time (``total``: one row per key for the whole range)."""

    QUARTER_HOUR = "15min"
    HOUR = "hour"
    DAY = "day"
    TOTAL = "total"


#: Days a report may name: calendar arithmetic near ``date.min``/``date.max`` would overflow.
_FIRST_DAY = date(1970, 1, 1)
_LAST_DAY = date(9000, 12, 31)


def check_day(value: date, field: str) -> date:
    """``value`` if a report may cover it; :class:`InvalidInput` naming ``field`` otherwise."""
    if not _FIRST_DAY <= value <= _LAST_DAY:
        raise InvalidInput(field, f"must be between {_FIRST_DAY} and {_LAST_DAY}")
    return value


def parse_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Asia/Shanghai``); :class:`InvalidInput` on ``tz`` otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("tz", f"unknown time zone {name[:64]!r}") from None


def bucket_start(at: datetime, granularity: Granularity, zone: tzinfo, range_start: datetime) -> datetime:
    """The local start of the bucket holding ``at`` (aware, in ``zone``).

    ``TOTAL`` has one bucket, named by ``range_start``.
    """
    local = at.astimezone(zone)
    if granularity is Granularity.TOTAL:
        return range_start.astimezone(zone)
    if granularity is Granularity.DAY:
        return datetime.combine(local.date(), time(0), tzinfo=zone)
    if granularity is Granularity.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)


def _next_bucket(start: datetime, granularity: Granularity) -> datetime:
    # Wall-clock arithmetic (aware datetimes in one zone add in wall time), then
    # normalised: the next local midnight, hour or quarter.
    zone = start.tzinfo
    assert zone is not None
    if granularity is Granularity.DAY:
        return datetime.combine(start.date() + timedelta(days=1), time(0), tzinfo=zone)
    step = timedelta(hours=1) if granularity is Granularity.HOUR else timedelta(minutes=15)
    # Step in UTC so that the repeated hour of a DST fall-back is not skipped.
    return (start.astimezone(UTC) + step).astimezone(zone)


@dataclass(frozen=True)
class ReportRange:
    """The half-open UTC range ``[start, end)`` a report covers, with its zone and granularity."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    granularity: Granularity

    @classmethod
    def of_days(
        cls, first: date, last: date, zone: ZoneInfo, granularity: Granularity = Granularity.TOTAL
    ) -> ReportRange:
        """Local days ``first`` to ``last`` inclusive; :class:`InvalidInput` when reversed or too long."""
        check_day(first, "from")
        check_day(last, "to")
        if last < first:
            raise InvalidInput("to", "must not be before from")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise InvalidInput("to", f"a report covers at most {MAX_RANGE_DAYS} days")
        start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        return cls(start, end, zone, granularity)

    def bucket(self, at: datetime) -> datetime:
        """The local start of the bucket holding ``at``."""
        return bucket_start(at, self.granularity, self.zone, self.start)

    def buckets(self) -> Iterator[tuple[datetime, datetime]]:
        """Every bucket as ``(local start, UTC end)``, in order, clipped to the range."""
        if self.granularity is Granularity.TOTAL:
            yield self.start.astimezone(self.zone), self.end
            return
        current = self.bucket(self.start)
        while current.astimezone(UTC) < self.end:
            following = _next_bucket(current, self.granularity)
            yield current, min(following.astimezone(UTC), self.end)
            current = following

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


def overlap_seconds(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    """Seconds of ``[start, end)`` inside ``[lo, hi)`` (0 when they do not meet)."""
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds())


def split_by_bucket(start: datetime, end: datetime, report: ReportRange) -> Iterator[tuple[datetime, float]]:
    """``(bucket, seconds)`` for each bucket the span ``[start, end)`` overlaps, clipped to the range.

    Agent state time is cut this way: an hour of "available" from 09:50 to
    10:50 gives 10 min to the 09:00 bucket and 50 min to 10:00.
    """
    lo, hi = max(start, report.start), min(end, report.end)
    if hi <= lo:
        return
    if report.granularity is Granularity.TOTAL:
        yield report.start.astimezone(report.zone), (hi - lo).total_seconds()
        return
    current = report.bucket(lo)
    while current.astimezone(UTC) < hi:
        following = _next_bucket(current, report.granularity)
        seconds = overlap_seconds(lo, hi, current.astimezone(UTC), following.astimezone(UTC))
        if seconds > 0:
            yield current, seconds
        current = following
