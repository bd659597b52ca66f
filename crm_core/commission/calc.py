"""Pricing a period's commission events: pure functions, exact :class:`~decimal.Decimal` arithmetic.

The rules, as implemented here and relied on by the statements:

* An **event** is a contract's signing (dated ``signed_on``) or a payment
  (dated ``received_on``; a refund is a negative payment).  The rule version
  in force on the event's date for the contract's product type prices it
  (a product's own rule first, else the ``*`` rule); the event counts only
  if that rule's ``date_basis`` is the event's kind (``signed``/``paid``).
* **Base**: the contract amount (signing) or the payment amount (payment);
  with the ``margin`` basis, that amount × ``margin_ratio`` %.
* **Split**: each shared owner is credited ``base × percent / 100``
  (the contract's split, else 100 % to its owner).
* **Renewals**: a renewal contract priced by a rule with a ``renewal_rate``
  earns that flat rate and does not count towards tiers.
* **Tiers** apply to the agent's *volume*: the sum of their credited
  amounts in the period under one product key (across rule versions, so a
  mid-period change does not reset it).  ``whole`` (全额累进): every event at
  the rate of the tier the period volume reaches, taken from the event's
  own rule version; a volume exactly at a breakpoint reaches that tier.
  ``slice`` (超额累进): events fill the volume in date order and each part
  of an event is priced at the rate of the slice it falls in
  (``[from, next from)``), with its own rule version's slices.
* **Rounding**: splits never lose or invent a cent.  An event's credited
  amounts are its base rounded half-up to 0.01 (:data:`ROUNDING`) once, then
  allotted to the shares by :func:`allocate_cents`; its commission likewise
  (the sum of the shares' unrounded commissions rounded once, then
  allotted), so an event's lines add up exactly to the event's whole and a
  refund takes back exactly what its payment paid.  Tiers and slices read
  the allotted credited amounts.  A statement's total is the sum of its
  lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

__all__ = [
    "ROUNDING",
    "Credit",
    "Event",
    "RuleTerms",
    "Tier",
    "allocate_cents",
    "cents",
    "price_events",
    "rule_in_force",
    "slice_amount",
    "tier_rate",
]

ROUNDING = ROUND_HALF_UP
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    """``value`` rounded half-up to the cent (the per-line rounding rule)."""
    return value.quantize(_CENT, rounding=ROUNDING)


def allocate_cents(exact: Sequence[Decimal]) -> list[Decimal]:
    """Cent amounts, one per ``exact`` share, that add up to their sum rounded half-up to the cent.

    Largest remainder: each share gets its amount rounded down to the cent,
    then the cents still missing go one each to the shares with the largest
    remainders, the earlier share first on a tie.  Each result is within a
    cent of its exact share.  A negative whole (a refund) is allotted as
    the mirror image of the positive one, so a refund takes back from each
    share exactly what the payment gave it.
    """
    total = sum(exact, Decimal(0))
    if total < 0:
        # ``+ 0`` turns the negated zero shares (-0.00) back into 0.00.
        return [-amount + 0 for amount in allocate_cents([-share for share in exact])]
    floors = [share.quantize(_CENT, rounding=ROUND_FLOOR) for share in exact]
    missing = int((cents(total) - sum(floors, Decimal(0))) / _CENT)
    by_remainder = sorted(range(len(exact)), key=lambda index: (floors[index] - exact[index], index))
    for index in by_remainder[:missing]:
        floors[index] += _CENT
    return [amount.quantize(_CENT) for amount in floors]


@dataclass(frozen=True)
class Tier:
    """From ``start`` (inclusive) of the volume on, ``rate`` percent."""

    start: Decimal
    rate: Decimal


@dataclass(frozen=True)
class RuleTerms:
    """One rule version, as the pricing needs it (rates in percent)."""

    id: int
    product_key: str
    version: int
    effective_from: date
    active: bool
    basis: str
    date_basis: str
    tier_method: str
    tiers: tuple[Tier, ...]
    renewal_rate: Decimal | None = None
    margin_ratio: Decimal | None = None


@dataclass(frozen=True)
class Event:
    """A signing (``kind="signed"``) or a payment (``kind="paid"``) of one contract."""

    kind: str
    on: date
    contract_id: int
    contract_number: str
    product_type: str
    amount: Decimal
    is_renewal: bool
    shares: tuple[tuple[int, Decimal], ...]
    payment_id: int | None = None

    @property
    def key(self) -> tuple[int, int | None, str]:
        """What identifies the event across recalculations."""
        return (self.contract_id, self.payment_id, self.kind)


@dataclass(frozen=True)
class Credit:
    """One event priced for one agent: the future statement line."""

    agent_id: int
    event: Event
    rule_id: int
    base: Decimal
    share_percent: Decimal
    credited: Decimal
    commission: Decimal
    rate: str


def rule_in_force(rules: Iterable[RuleTerms], product_type: str, on: date) -> RuleTerms | None:
    """The version pricing an event of ``product_type`` on ``on`` (``None``: no commission).

    The product's own rule wins over ``*`` once its first version is in
    force; the latest ``effective_from`` (then the highest version) wins
    among versions; an inactive latest version means no commission.
    """
    candidates = [r for r in rules if r.effective_from <= on]
    for key in (product_type, "*"):
        versions = [r for r in candidates if r.product_key == key]
        if versions:
            latest = max(versions, key=lambda r: (r.effective_from, r.version))
            return latest if latest.active else None
    return None


def tier_rate(tiers: Sequence[Tier], volume: Decimal) -> tuple[Tier, Decimal]:
    """The tier ``volume`` reaches (a volume at a breakpoint reaches it) and its rate."""
    reached = tiers[0]
    for tier in tiers:
        if volume >= tier.start:
            reached = tier
    return reached, reached.rate


def slice_amount(tiers: Sequence[Tier], volume: Decimal) -> Decimal:
    """Commission (unrounded) on the first ``volume`` of the period, each slice at its rate.

    Below zero (refunds beyond the period's volume) the first tier's rate
    carries on, so that a refund exactly undoes the payment it refunds.
    """
    if volume <= 0:
        return volume * tiers[0].rate / _HUNDRED
    total = Decimal(0)
    for index, tier in enumerate(tiers):
        end = tiers[index + 1].start if index + 1 < len(tiers) else None
        top = volume if end is None else min(volume, end)
        if top > tier.start:
            total += (top - tier.start) * tier.rate / _HUNDRED
    return total


def _slice_text(tiers: Sequence[Tier], low: Decimal, high: Decimal) -> str:
    parts = []
    for index, tier in enumerate(tiers):
        end = tiers[index + 1].start if index + 1 < len(tiers) else None
        start = tier.start if index else min(tier.start, low)
        a, b = max(low, start), high if end is None else min(high, end)
        if b > a:
            parts.append(f"{tier.rate}% on {cents(a)}-{cents(b)}")
    return "slices: " + "; ".join(parts) if parts else "slices: nothing"


def _base(rule: RuleTerms, event: Event) -> Decimal:
    if rule.basis == "margin":
        return event.amount * (rule.margin_ratio or Decimal(0)) / _HUNDRED
    return event.amount


@dataclass
class _Line:
    """A credit being priced: its exact commission, before the event's cents are allotted."""

    agent_id: int
    event: Event
    share: int  # the share's place in the event's split (ties of the allotment go to the first)
    rule: RuleTerms
    base: Decimal
    percent: Decimal
    credited: Decimal
    exact: Decimal = Decimal(0)
    rate: str = ""


def _order(line: _Line) -> tuple[date, int, int, str]:
    event = line.event
    return (event.on, event.contract_id, event.payment_id or 0, event.kind)


def price_events(events: Iterable[Event], rules: Sequence[RuleTerms]) -> list[Credit]:
    """Every agent's credits for the events of one period (see the module's rules)."""
    lines: list[_Line] = []
    volumes: dict[tuple[int, str], list[_Line]] = defaultdict(list)
    for event in events:
        rule = rule_in_force(rules, event.product_type, event.on)
        if rule is None or rule.date_basis != event.kind:
            continue
        base = _base(rule, event)
        shares = allocate_cents([base * percent / _HUNDRED for _, percent in event.shares])
        for share, ((agent_id, percent), credited) in enumerate(zip(event.shares, shares, strict=True)):
            line = _Line(agent_id, event, share, rule, base, percent, credited)
            if event.is_renewal and rule.renewal_rate is not None:
                line.exact = credited * rule.renewal_rate / _HUNDRED
                line.rate = f"renewal {rule.renewal_rate}%"
                lines.append(line)
            else:
                volumes[(agent_id, rule.product_key)].append(line)
    for items in volumes.values():
        items.sort(key=_order)
        volume = sum((line.credited for line in items), Decimal(0))
        running = Decimal(0)
        for line in items:
            tiers = line.rule.tiers
            if line.rule.tier_method == "whole":
                tier, rate = tier_rate(tiers, volume)
                line.exact = line.credited * rate / _HUNDRED
                line.rate = f"{rate}% (tier from {cents(tier.start)}; volume {cents(volume)})"
            else:
                after = running + line.credited
                line.exact = slice_amount(tiers, after) - slice_amount(tiers, running)
                line.rate = _slice_text(tiers, min(running, after), max(running, after))
                running = after
            lines.append(line)
    return [
        Credit(
            line.agent_id, line.event, line.rule.id, line.base, line.percent, line.credited, amount, line.rate
        )
        for line, amount in zip(lines, _allot(lines), strict=True)
    ]


def _allot(lines: Sequence[_Line]) -> list[Decimal]:
    """Each line's commission: its event's exact whole rounded once, allotted in the order of the split."""
    by_event: dict[tuple[int, int | None, str], list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        by_event[line.event.key].append(index)
    amounts = [Decimal(0)] * len(lines)
    for indexes in by_event.values():
        indexes.sort(key=lambda index: lines[index].share)
        for index, amount in zip(indexes, allocate_cents([lines[i].exact for i in indexes]), strict=True):
            amounts[index] = amount
    return amounts
