"""Priority of a waiting call: queue priority + customer value + aging.

A call's priority is the base priority of its queue, plus the weight of the
customer's tier and value segment from the CRM (private banking and VIP
first), plus an aging bonus that grows with the time waited up to a cap.
Aging is what keeps a standard caller from waiting forever behind a stream
of valuable ones: :class:`PriorityWeights` refuses weights whose cap could
not make up the largest customer-value gap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

__all__ = ["DEFAULT_WEIGHTS", "PriorityWeights", "effective_priority", "order_key"]


def _frozen(weights: Mapping[str, int]) -> Mapping[str, int]:
    # Keys are matched case-insensitively: the CRM says "vip", a settings file may say "VIP".
    return MappingProxyType({key.casefold(): value for key, value in weights.items()})


@dataclass(frozen=True)
class PriorityWeights:
    """Weights of customer value and aging, from the settings.

    ``tier`` and ``segment`` map the CRM's tier (``private``, ``vip``,
    ``gold``, ``standard``) and ABC segment to priority points; a tier or
    segment not listed counts 0.  ``aging_per_minute`` points are added per
    minute waited, at most ``aging_cap`` in total.

    Raises :class:`ValueError` unless ``aging_per_minute > 0`` and
    ``aging_cap`` is at least the spread of customer value (highest minus
    lowest tier weight plus the same for segments, unknown counting 0) —
    otherwise a low-value caller could starve behind high-value ones of the
    same queue.
    """

    tier: Mapping[str, int] = field(
        default_factory=lambda: _frozen({"private": 40, "vip": 30, "gold": 15, "standard": 0})
    )
    segment: Mapping[str, int] = field(default_factory=lambda: _frozen({"A": 10, "B": 5, "C": 0}))
    aging_per_minute: float = 2.0
    aging_cap: int = 60

    def __post_init__(self) -> None:
        object.__setattr__(self, "tier", _frozen(self.tier))
        object.__setattr__(self, "segment", _frozen(self.segment))
        if not (math.isfinite(self.aging_per_minute) and self.aging_per_minute > 0):
            raise ValueError(f"aging_per_minute must be a finite number > 0, got {self.aging_per_minute!r}")
        spread = _spread(self.tier) + _spread(self.segment)
        if self.aging_cap < spread:
            raise ValueError(
                f"aging_cap {self.aging_cap} is below the customer-value spread {spread}: "
                "low-value callers could wait forever"
            )

    def value(self, tier: str | None, segment: str | None) -> int:
        """Customer-value points of ``tier`` and ``segment`` (unknown or ``None`` count 0)."""
        tier_points = self.tier.get(tier.casefold(), 0) if tier else 0
        segment_points = self.segment.get(segment.casefold(), 0) if segment else 0
        return tier_points + segment_points

    def aging(self, waited_seconds: float) -> float:
        """Aging points for ``waited_seconds`` (a negative wait, from clock skew, counts 0)."""
        if math.isnan(waited_seconds):
            raise ValueError("waited_seconds is not a number")
        return min(float(self.aging_cap), self.aging_per_minute * max(waited_seconds, 0.0) / 60.0)


def _spread(weights: Mapping[str, int]) -> int:
    points = [*weights.values(), 0]  # 0: what an unknown tier or segment counts
    return max(points) - min(points)


DEFAULT_WEIGHTS = PriorityWeights()
"""private 40, vip 30, gold 15, standard 0; segments A 10, B 5, C 0; 2 points a minute up to 60."""


def effective_priority(
    base: int,
    tier: str | None,
    segment: str | None,
    waited_seconds: float,
    weights: PriorityWeights = DEFAULT_WEIGHTS,
) -> float:
    """Priority of a call now: queue ``base`` + customer value + aging for ``waited_seconds``."""
    return base + weights.value(tier, segment) + weights.aging(waited_seconds)


def order_key(
    *,
    base: int,
    tier: str | None,
    segment: str | None,
    enqueued_at: float,
    now: float,
    weights: PriorityWeights = DEFAULT_WEIGHTS,
) -> tuple[Fraction, float]:
    """Sort key for waiting calls at time ``now``: higher priority first, then earlier ``enqueued_at``.

    Keys are only comparable when computed with the same ``now`` and
    ``weights``; recompute them whenever the order is needed, as aging moves
    calls up over time.
    """
    # Exact, like the ACD's own order: two calls whose priorities tie must tie, and go by arrival.
    waited = max(Fraction(0), Fraction(now) - Fraction(enqueued_at))
    aging = min(Fraction(weights.aging_cap), Fraction(weights.aging_per_minute) / 60 * waited)
    return (-(base + weights.value(tier, segment) + aging), enqueued_at)
