"""Exponential back-off between reconnect attempts (float seconds)."""

from __future__ import annotations

__all__ = ["Backoff"]


class Backoff:
    """Delays ``minimum, 2·minimum, 4·minimum, …`` capped at ``maximum``.

    Fractions of a second are kept (panoramisk truncates its reconnect delay
    to whole seconds, so 0.5 s became 0 s: a reconnect storm).
    """

    def __init__(self, minimum: float, maximum: float, factor: float = 2.0) -> None:
        if minimum <= 0:
            raise ValueError(f"reconnect minimum must be > 0, got {minimum}")
        if maximum < minimum:
            raise ValueError(f"reconnect maximum {maximum} is below the minimum {minimum}")
        if factor < 1:
            raise ValueError(f"back-off factor must be >= 1, got {factor}")
        self.minimum = minimum
        self.maximum = maximum
        self.factor = factor
        self._next = minimum

    def next(self) -> float:
        """The delay before the next attempt; each call grows the following one."""
        delay = self._next
        self._next = min(self._next * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        """Start again from the minimum (after a connection that held)."""
        self._next = self.minimum
