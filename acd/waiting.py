"""The calls waiting in one queue, in service order."""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from acd.model import QueuedCall

__all__ = ["WaitingQueue"]


class WaitingQueue:
    """Calls of one queue ordered by priority (highest first), then arrival.

    A call pushed back with ``head=True`` (its agent did not answer) goes
    before every waiting call of the same priority; a call of higher
    priority still goes before it, as it would have if it had arrived while
    the call was waiting.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._order: list[tuple[int, int, str]] = []  # (-priority, sequence, call_id)
        self._keys: dict[str, tuple[int, int, str]] = {}
        self._tail = 0
        self._head = 0

    def push(self, call: QueuedCall, *, head: bool = False) -> None:
        """Add ``call``; at the back of its priority, or the front with ``head``."""
        if call.call_id in self._keys:
            raise ValueError(f"call {call.call_id} is already waiting in queue {self.name}")
        if head:
            self._head -= 1
            sequence = self._head
        else:
            self._tail += 1
            sequence = self._tail
        key = (-call.priority, sequence, call.call_id)
        bisect.insort(self._order, key)
        self._keys[call.call_id] = key

    def remove(self, call_id: str) -> bool:
        """Take ``call_id`` out; ``False`` when it was not waiting here."""
        key = self._keys.pop(call_id, None)
        if key is None:
            return False
        del self._order[bisect.bisect_left(self._order, key)]
        return True

    def head(self) -> str | None:
        """The call to serve next, or ``None`` when empty."""
        return self._order[0][2] if self._order else None

    def position(self, call_id: str) -> int | None:
        """1-based place of ``call_id``, or ``None`` when not waiting here."""
        key = self._keys.get(call_id)
        return None if key is None else bisect.bisect_left(self._order, key) + 1

    def __iter__(self) -> Iterator[str]:
        return (call_id for _, _, call_id in self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._keys
