"""Waiting calls in service order, with aging, in O(log n) per change.

A call's priority at time ``t`` is ``V + min(cap, rate·(t − enqueued_at))``
where ``V`` is its queue priority plus customer value (:mod:`acd.priority`).
Every call ages at the same rate, so while below the cap the order of two
calls never changes: it is the order of ``V − rate·enqueued_at`` (a call's
"virtual arrival").  Once capped, a call's priority is the constant
``V + cap``.  The order is therefore kept as two sorted lists — calls still
aging, calls capped — and a heap of the moments calls reach the cap; the
service order at any time is a merge of the two lists.

A call re-inserted with the same ``V`` and ``enqueued_at`` (the agent did
not answer; a callback keeping the caller's place) lands exactly where it
was: position is a function of those two numbers, not of insertion order.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Entry", "WaitingOrder"]


@dataclass(frozen=True)
class Entry:
    """A waiting call as the order sees it: value points ``value`` and arrival ``enqueued_at``."""

    call_id: str
    value: float
    enqueued_at: float


class WaitingOrder:
    """Calls ordered by priority-with-aging, then earliest arrival, then id.

    ``rate`` is aging points per second (> 0) and ``cap`` the most aging can
    add.  Methods taking ``now`` first move calls that reached the cap.
    """

    def __init__(self, rate: float, cap: float) -> None:
        if rate <= 0 or cap < 0:
            raise ValueError("rate must be > 0 and cap >= 0")
        self.rate = rate
        self.cap = cap
        self._entries: dict[str, Entry] = {}
        self._aging: list[tuple[float, float, str]] = []  # (-(V - rate·enq), enq, id)
        self._capped: list[tuple[float, float, str]] = []  # (-(V + cap), enq, id)
        self._cap_times: list[tuple[float, str]] = []  # heap of (enq + cap/rate, id), lazily pruned
        self._where: dict[str, bool] = {}  # id -> capped?

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._entries

    def entry(self, call_id: str) -> Entry | None:
        return self._entries.get(call_id)

    def priority(self, call_id: str, now: float) -> float:
        """Priority of a waiting call at ``now``."""
        e = self._entries[call_id]
        return e.value + min(self.cap, self.rate * max(0.0, now - e.enqueued_at))

    def push(self, entry: Entry, now: float) -> None:
        if entry.call_id in self._entries:
            raise ValueError(f"call {entry.call_id} is already waiting")
        self._entries[entry.call_id] = entry
        if self.rate * (now - entry.enqueued_at) >= self.cap:
            self._insert(entry, capped=True)
        else:
            self._insert(entry, capped=False)
            heapq.heappush(self._cap_times, (entry.enqueued_at + self.cap / self.rate, entry.call_id))

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
        offset = self.rate * now
        aging, capped = self._aging, self._capped
        i = j = 0
        while i < len(aging) or j < len(capped):
            if j >= len(capped):
                yield aging[i][2]
                i += 1
            elif i >= len(aging):
                yield capped[j][2]
                j += 1
            else:
                a, c = aging[i], capped[j]
                # Compare (-priority, enq, id) at ``now``: aging keys hold -(V - rate·enq).
                if (a[0] - offset, a[1], a[2]) <= c:
                    yield a[2]
                    i += 1
                else:
                    yield c[2]
                    j += 1

    def position(self, call_id: str, now: float) -> int | None:
        """1-based place of ``call_id`` at ``now``; ``None`` when not waiting."""
        entry = self._entries.get(call_id)
        if entry is None:
            return None
        self._promote(now)
        offset = self.rate * now
        capped = self._where[call_id]
        own = self._key(entry, capped)
        if capped:
            ahead_capped = bisect.bisect_left(self._capped, own)
            as_aging = (own[0] + offset, own[1], own[2])
            ahead_aging = bisect.bisect_left(self._aging, as_aging)
        else:
            ahead_aging = bisect.bisect_left(self._aging, own)
            as_capped = (own[0] - offset, own[1], own[2])
            ahead_capped = bisect.bisect_left(self._capped, as_capped)
        return ahead_aging + ahead_capped + 1

    def _key(self, entry: Entry, capped: bool) -> tuple[float, float, str]:
        if capped:
            return (-(entry.value + self.cap), entry.enqueued_at, entry.call_id)
        return (-(entry.value - self.rate * entry.enqueued_at), entry.enqueued_at, entry.call_id)

    def _insert(self, entry: Entry, *, capped: bool) -> None:
        bisect.insort(self._capped if capped else self._aging, self._key(entry, capped))
        self._where[entry.call_id] = capped

    def _promote(self, now: float) -> None:
        heap = self._cap_times
        while heap and heap[0][0] <= now:
            _, call_id = heapq.heappop(heap)
            if self._where.get(call_id) is False:
                entry = self._entries[call_id]
                key = self._key(entry, False)
                del self._aging[bisect.bisect_left(self._aging, key)]
                self._insert(entry, capped=True)
