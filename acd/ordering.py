"""Waiting calls in service order, with aging, in O(log n) per change.

A call's priority at time ``t`` is ``V + min(cap, rate·(t − enqueued_at))``
where ``V`` is its queue priority plus customer value (:mod:`acd.priority`).
Every call ages at the same rate, so while below the cap the order of two
calls never changes: it is the order of ``V − rate·enqueued_at`` (a call's
"virtual arrival").  Once capped, a call's priority is the constant
``V + cap``.  The order is therefore kept as two sorted lists — calls still
aging, calls capped — and a heap of the moments calls reach the cap; the
service order at any time is a merge of the two lists.

Keys are exact rationals (:class:`fractions.Fraction`): when two calls reach
the same priority — a VIP who arrived 90 s after a standard caller with one
point per 30 s of aging — the earlier arrival must go first, and a float's
rounding of ``V − rate·enq`` would pick either one.

A call re-inserted with the same ``V`` and ``enqueued_at`` (the agent did
not answer; a callback keeping the caller's place) lands exactly where it
was: position is a function of those two numbers, not of insertion order.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Entry", "WaitingOrder"]

_Key = tuple[Fraction, float, str, str]  # (-priority term, arrival, place, call id)


@dataclass(frozen=True)
class Entry:
    """A waiting call as the order sees it: value points ``value`` and arrival ``enqueued_at``."""

    call_id: str
    value: float
    enqueued_at: float
    place: str | None = None  # orders equal priority and arrival; a callback keeps its call's (None: call_id)


class WaitingOrder:
    """Calls ordered by priority-with-aging, then earliest arrival, then id.

    ``rate`` is aging points per second (> 0) and ``cap`` the most aging can
    add.  Methods taking ``now`` first move calls that reached the cap.
    """

    def __init__(self, rate: float | Fraction, cap: float | Fraction) -> None:
        if rate <= 0 or cap < 0:
            raise ValueError("rate must be > 0 and cap >= 0")
        self.rate = Fraction(rate)
        self.cap = Fraction(cap)
        self._entries: dict[str, Entry] = {}
        self._aging: list[_Key] = []  # (-(V - rate·enq), enq, place, id)
        self._capped: list[_Key] = []  # (-(V + cap), enq, place, id)
        self._cap_times: list[tuple[Fraction, str]] = []  # heap of (enq + cap/rate, id), lazily pruned
        self._where: dict[str, bool] = {}  # id -> capped?

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._entries

    def entry(self, call_id: str) -> Entry | None:
        return self._entries.get(call_id)

    def priority(self, call_id: str, now: float) -> Fraction:
        """Priority of a waiting call at ``now``, exactly."""
        e = self._entries[call_id]
        waited = max(Fraction(0), Fraction(now) - Fraction(e.enqueued_at))
        return Fraction(e.value) + min(self.cap, self.rate * waited)

    def push(self, entry: Entry, now: float) -> None:
        if entry.call_id in self._entries:
            raise ValueError(f"call {entry.call_id} is already waiting")
        self._entries[entry.call_id] = entry
        if self.rate * (Fraction(now) - Fraction(entry.enqueued_at)) >= self.cap:
            self._insert(entry, capped=True)
        else:
            self._insert(entry, capped=False)
            capped_at = Fraction(entry.enqueued_at) + self.cap / self.rate
            heapq.heappush(self._cap_times, (capped_at, entry.call_id))

    def remove(self, call_id: str) -> bool:
        entry = self._entries.pop(call_id, None)
        if entry is None:
            return False
        capped = self._where.pop(call_id)
        keys = self._capped if capped else self._aging
        key = self._key(entry, capped)
        del keys[bisect.bisect_left(keys, key)]
        return True

    def head(self, now: float) -> str | None:
        for call_id in self.iter(now):
            return call_id
        return None

    def iter(self, now: float) -> Iterator[str]:
        """Call ids in service order at ``now`` (do not change the order while iterating)."""
        self._promote(now)
        offset = self.rate * Fraction(now)
        aging, capped = self._aging, self._capped
        i = j = 0
        while i < len(aging) or j < len(capped):
            if j >= len(capped):
                yield aging[i][3]
                i += 1
            elif i >= len(aging):
                yield capped[j][3]
                j += 1
            else:
                a, c = aging[i], capped[j]
                # Compare (-priority, enq, place, id) at ``now``: aging keys hold -(V - rate·enq).
                if (a[0] - offset, a[1], a[2], a[3]) <= c:
                    yield a[3]
                    i += 1
                else:
                    yield c[3]
                    j += 1

    def position(self, call_id: str, now: float) -> int | None:
        """1-based place of ``call_id`` at ``now``; ``None`` when not waiting."""
        entry = self._entries.get(call_id)
        if entry is None:
            return None
        self._promote(now)
        offset = self.rate * Fraction(now)
        capped = self._where[call_id]
        own = self._key(entry, capped)
        if capped:
            ahead_capped = bisect.bisect_left(self._capped, own)
            as_aging = (own[0] + offset, own[1], own[2], own[3])
            ahead_aging = bisect.bisect_left(self._aging, as_aging)
        else:
            ahead_aging = bisect.bisect_left(self._aging, own)
            as_capped = (own[0] - offset, own[1], own[2], own[3])
            ahead_capped = bisect.bisect_left(self._capped, as_capped)
        return ahead_aging + ahead_capped + 1

    def _key(self, entry: Entry, capped: bool) -> _Key:
        value = Fraction(entry.value)
        place = entry.place or entry.call_id
        if capped:
            return (-(value + self.cap), entry.enqueued_at, place, entry.call_id)
        return (-(value - self.rate * Fraction(entry.enqueued_at)), entry.enqueued_at, place, entry.call_id)

    def _insert(self, entry: Entry, *, capped: bool) -> None:
        bisect.insort(self._capped if capped else self._aging, self._key(entry, capped))
        self._where[entry.call_id] = capped

    def _promote(self, now: float) -> None:
        heap = self._cap_times
        while heap and heap[0][0] <= Fraction(now):
            _, call_id = heapq.heappop(heap)
            if self._where.get(call_id) is False:
                entry = self._entries[call_id]
                key = self._key(entry, False)
                del self._aging[bisect.bisect_left(self._aging, key)]
                self._insert(entry, capped=True)
