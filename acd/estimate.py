"""Wait estimates for callers in a queue: Erlang C on live figures and observed handling times.

The formulas are the textbook M/M/N ones (``/work/shared/notes/domain.md``)
with traffic ``A = λ·AHT`` in Erlangs and ``N`` agents:

* ``P_wait = erlang_c(A, N)`` — probability that a call has to wait,
* ``SL(t) = 1 − P_wait·e^(−(N−A)·t/AHT)`` — share answered within ``t``,
* ``ASA = P_wait·AHT/(N−A)`` — average speed of answer over all calls,
* occupancy ``A/N``.

When ``N ≤ A`` the queue grows without bound: every call waits
(``P_wait = 1``), the service level is 0, ASA is infinite and every agent is
busy.  Everything here is pure; :class:`HandlingTimes` is the only state.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MIN_OBSERVED_SAMPLES",
    "HandlingTimes",
    "WaitEstimate",
    "agents_for_service_level",
    "announce_minutes",
    "average_speed_of_answer",
    "erlang_c",
    "estimate_wait",
    "occupancy",
    "service_level",
]

#: Observed handling times needed before they are preferred over the model:
#: with exponential-like handling times the mean of 20 samples is within
#: about ±45 % (95 %), no worse than a configured AHT that may be stale.
MIN_OBSERVED_SAMPLES = 20


def _check_finite(name: str, value: float, *, positive: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


def _erlang_b_step(traffic: float, agents: int, blocking: float) -> float:
    """Erlang B for ``agents`` from Erlang B for ``agents − 1`` (B(0) = 1)."""
    return traffic * blocking / (agents + traffic * blocking)


def _erlang_c_from_b(traffic: float, agents: int, blocking: float) -> float:
    # C = N·B / (N − A·(1 − B)); the recursion keeps every term in [0, 1], so
    # no factorial or power overflows for hundreds of agents.
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Probability that a call waits (Erlang C) for ``traffic_erlangs`` offered to ``agents``.

    Computed through the Erlang B recursion, stable for any number of agents.
    Returns 1.0 when ``agents <= traffic_erlangs`` (including no agents) and
    0.0 when there is no traffic and at least one agent.  Raises
    :class:`ValueError` for negative or non-finite traffic or negative agents.
    """
    _check_finite("traffic_erlangs", traffic_erlangs)
    if agents < 0:
        raise ValueError(f"agents must be >= 0, got {agents}")
    if agents <= traffic_erlangs:
        return 1.0
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = _erlang_b_step(traffic_erlangs, k, blocking)
    return _erlang_c_from_b(traffic_erlangs, agents, blocking)


def service_level(traffic: float, agents: int, aht_seconds: float, target_seconds: float) -> float:
    """Share of calls answered within ``target_seconds``, in [0, 1].

    0.0 when ``agents <= traffic`` (an unbounded queue answers nobody in
    time in the long run).  ``aht_seconds`` must be > 0.
    """
    _check_finite("aht_seconds", aht_seconds, positive=True)
    _check_finite("target_seconds", target_seconds)
    p_wait = erlang_c(traffic, agents)
    if agents <= traffic:
        return 0.0
    level = 1.0 - p_wait * math.exp(-(agents - traffic) * target_seconds / aht_seconds)
    return min(1.0, max(0.0, level))


def average_speed_of_answer(traffic: float, agents: int, aht_seconds: float) -> float:
    """Average speed of answer in seconds over all calls, those answered at once counting 0.

    ``math.inf`` when ``agents <= traffic``; ``aht_seconds`` must be > 0.
    """
    _check_finite("aht_seconds", aht_seconds, positive=True)
    p_wait = erlang_c(traffic, agents)
    if agents <= traffic:
        return math.inf
    return p_wait * aht_seconds / (agents - traffic)


def occupancy(traffic: float, agents: int) -> float:
    """Share of agent time spent handling calls: ``traffic / agents`` capped at 1.0.

    With no agents it is 1.0 if there is traffic (nobody can take it) and
    0.0 otherwise.
    """
    _check_finite("traffic", traffic)
    if agents < 0:
        raise ValueError(f"agents must be >= 0, got {agents}")
    if agents == 0:
        return 1.0 if traffic > 0 else 0.0
    return min(1.0, traffic / agents)


def agents_for_service_level(
    arrival_rate_per_second: float,
    aht_seconds: float,
    target_seconds: float,
    target_level: float,
    max_agents: int = 1000,
) -> int:
    """The smallest number of agents (at least 1) whose service level reaches ``target_level``.

    ``target_level`` is a share in (0, 1], e.g. 0.8 for 80/20 with
    ``target_seconds=20``.  The service level grows with the number of
    agents above the traffic, so the search starts at the first count that
    can answer anybody and stops at the first that meets the target.
    Raises :class:`ValueError` when even ``max_agents`` do not.
    """
    _check_finite("arrival_rate_per_second", arrival_rate_per_second)
    _check_finite("aht_seconds", aht_seconds, positive=True)
    _check_finite("target_seconds", target_seconds)
    if not 0.0 < target_level <= 1.0:
        raise ValueError(f"target_level must be in (0, 1], got {target_level!r}")
    traffic = arrival_rate_per_second * aht_seconds
    blocking = 1.0
    for agents in range(1, max_agents + 1):
        # Erlang B carried forward: one step per agent instead of a full recursion each time.
        blocking = _erlang_b_step(traffic, agents, blocking)
        if agents <= traffic:
            continue
        p_wait = _erlang_c_from_b(traffic, agents, blocking)
        level = 1.0 - p_wait * math.exp(-(agents - traffic) * target_seconds / aht_seconds)
        if level >= target_level:
            return agents
    raise ValueError(
        f"{max_agents} agents do not reach a service level of {target_level} within {target_seconds} s "
        f"for {traffic:.2f} Erlangs"
    )


class HandlingTimes:
    """The last ``window`` observed handling times (talk + wrap-up, seconds) per queue.

    Old observations fall out as new ones arrive, so the mean follows the
    current mix of calls and agents.
    """

    def __init__(self, window: int = 200) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self._samples: dict[str, deque[float]] = {}

    def observe(self, queue: str, seconds: float) -> None:
        """Record one handled call of ``queue``; :class:`ValueError` for a negative or non-finite time."""
        _check_finite("handling time", seconds)
        samples = self._samples.get(queue)
        if samples is None:
            samples = self._samples[queue] = deque(maxlen=self.window)
        samples.append(float(seconds))

    def mean(self, queue: str) -> float | None:
        """Mean handling time of ``queue`` over the window, ``None`` before the first observation."""
        samples = self._samples.get(queue)
        if not samples:
            return None
        return math.fsum(samples) / len(samples)

    def count(self, queue: str) -> int:
        """How many observations of ``queue`` the window holds (at most ``window``)."""
        samples = self._samples.get(queue)
        return 0 if samples is None else len(samples)


@dataclass(frozen=True)
class WaitEstimate:
    """Expected remaining wait of one caller.

    ``method`` says what it rests on: ``observed`` handling times, the
    ``erlang-c`` model with the configured AHT, or ``none`` (no estimate;
    ``seconds`` is 0 and must not be announced).  ``aht_seconds`` is the
    handling time used and ``samples`` the observations behind it (0 for
    the model) — the confidence the caller may show a supervisor.
    """

    seconds: float
    method: Literal["erlang-c", "observed", "none"]
    aht_seconds: float | None = None
    samples: int = 0


def estimate_wait(
    *,
    position: int,
    agents_serving: int,
    agents_available: int,
    arrivals_per_second: float,
    handling: HandlingTimes,
    queue: str,
    default_aht: float = 180.0,
) -> WaitEstimate:
    """Estimate how long the caller at ``position`` (1 = next) in ``queue`` still waits.

    ``agents_serving`` are the agents logged in to the queue and not paused
    (available, ringing, talking or wrapping up); ``agents_available`` is
    the idle part of them.  The caller's turn comes once
    ``position − agents_available`` calls ahead have been completed by the
    serving agents (an idle agent takes a call without a completion); with
    no call ahead the wait is 0.

    The choice rule, best first:

    1. ``observed`` when ``handling`` holds at least
       :data:`MIN_OBSERVED_SAMPLES` times for the queue: completions ×
       mean handling time / ``max(agents_serving, 1)`` — a queue whose
       agents all paused still gets a finite figure, as one agent would
       come back first.
    2. ``erlang-c`` when at least one agent serves and the live traffic
       ``arrivals_per_second × default_aht`` is below ``agents_serving``:
       the M/M/N wait of a caller with that many completions ahead,
       completions × AHT / N.  Averaged over the queue positions of a
       waiting arrival this is the Erlang C conditional wait
       ``ASA / P_wait = AHT / (N − A)``; ``ASA × position`` would understate
       it, because ASA also counts the calls answered at once.
    3. ``none`` otherwise: no agent, or traffic the agents cannot absorb,
       leaves no steady state to estimate from.

    Raises :class:`ValueError` for a negative position, agents count or
    arrival rate, more available than serving agents, or a non-positive
    ``default_aht``.
    """
    if position < 0 or agents_serving < 0 or agents_available < 0:
        raise ValueError("position and agent counts must be >= 0")
    if agents_available > agents_serving:
        raise ValueError(f"agents_available ({agents_available}) exceeds agents_serving ({agents_serving})")
    _check_finite("arrivals_per_second", arrivals_per_second)
    _check_finite("default_aht", default_aht, positive=True)
    completions = max(position - agents_available, 0)
    samples = handling.count(queue)
    observed_aht = handling.mean(queue)
    if observed_aht is not None and samples >= MIN_OBSERVED_SAMPLES:
        seconds = completions * observed_aht / max(agents_serving, 1)
        return WaitEstimate(seconds, "observed", observed_aht, samples)
    if agents_serving >= 1 and arrivals_per_second * default_aht < agents_serving:
        return WaitEstimate(completions * default_aht / agents_serving, "erlang-c", default_aht)
    return WaitEstimate(0.0, "none")


def announce_minutes(seconds: float) -> int:
    """Whole minutes to announce for a wait of ``seconds``: "about N minutes".

    Rounded half up, at least 1 when there is any wait, 0 for none.
    """
    if not math.isfinite(seconds):
        raise ValueError(f"cannot announce a wait of {seconds!r} seconds")
    if seconds <= 0:
        return 0
    return max(1, math.floor(seconds / 60.0 + 0.5))
