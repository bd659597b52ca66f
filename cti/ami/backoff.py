"""Delays between reconnect attempts (float seconds).

Two policies, because two different things go wrong:

* :class:`Backoff` — the PBX cannot be reached (refused, timed out): retry
  soon and often, so the service is back within a second of the PBX; it
  restarts from its minimum after every successful login.
* :class:`FlapGuard` — the PBX takes the login but the link dies at once,
  or refuses the login: without a growing delay this is a tight loop of
  logins (each one a resynchronisation).  A few quick retries, then the
  delay doubles up to its maximum, until a link has held.
"""

from __future__ import annotations

__all__ = ["Backoff", "FlapGuard", "ReconnectPolicy", "worth_a_warning"]


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
        """Start again from the minimum (after a successful login)."""
        self._next = self.minimum


class FlapGuard:
    """Delays after links that died soon after their login, or logins refused.

    The first ``free`` quick failures in a row are retried after ``minimum``
    (one short-lived link must not slow the recovery down); each further one
    doubles the delay, up to ``maximum``.  :meth:`reset` once a link has held.
    """

    def __init__(self, minimum: float, maximum: float, *, free: int = 3) -> None:
        if minimum <= 0:
            raise ValueError(f"reconnect minimum must be > 0, got {minimum}")
        if maximum < minimum:
            raise ValueError(f"flap maximum {maximum} is below the minimum {minimum}")
        if free < 0:
            raise ValueError(f"free retries must be >= 0, got {free}")
        self.minimum = minimum
        self.maximum = maximum
        self.free = free
        self._streak = 0

    @property
    def streak(self) -> int:
        """Quick failures in a row so far."""
        return self._streak

    def next(self) -> float:
        """Count one more quick failure; the delay before the next attempt."""
        self._streak += 1
        excess = self._streak - self.free
        if excess <= 0:
            return self.minimum
        # The exponent is capped so that a very long streak cannot overflow the float.
        return min(self.minimum * 2.0 ** min(excess, 64), self.maximum)

    def reset(self) -> None:
        """A link held: the next quick failure is retried after the minimum again."""
        self._streak = 0


class ReconnectPolicy:
    """The delays of one AMI client's reconnect loop: :class:`Backoff` and :class:`FlapGuard` together.

    ``minimum`` is the first delay after any loss, ``maximum`` the longest
    between attempts on a PBX that cannot be reached, ``flap_max`` the
    longest after quick failures; a link counts as held after ``stable_after``
    seconds.
    """

    def __init__(self, minimum: float, maximum: float, flap_max: float, stable_after: float) -> None:
        if stable_after <= 0:
            raise ValueError(f"stable_after must be > 0, got {stable_after}")
        self._unreachable = Backoff(minimum, maximum)
        self._flaps = FlapGuard(minimum, max(flap_max, minimum))
        self._stable_after = stable_after

    def logged_in(self) -> None:
        """A login succeeded: the PBX is reachable, the next outage starts from the minimum."""
        self._unreachable.reset()

    def lost(self, uptime: float) -> float:
        """The delay before reconnecting after a link that lived ``uptime`` seconds."""
        if uptime >= self._stable_after:
            self._flaps.reset()
        return max(self._unreachable.next(), self._flaps.next())

    def failed(self, *, after_login: bool) -> float:
        """The delay after an attempt that failed before (unreachable) or after the login was accepted."""
        return self._flaps.next() if after_login else self._unreachable.next()

    def refused(self) -> float:
        """The delay after a refused login (bad credentials may be fixed, but not within a second)."""
        return self._flaps.next()


def worth_a_warning(attempt: int) -> bool:
    """Warn on failed attempts 1, 2, 4, 8…: a PBX down for an hour is retried
    every second, and each failure at warning level would flood the log."""
    return attempt & (attempt - 1) == 0
