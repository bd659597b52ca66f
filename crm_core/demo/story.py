"""The life of a demo customer: who owned it and when, follow-ups, shares, the recycle bin.

The timings keep the demo stable under the protection rules' defaults: an
owned, unlocked customer was followed up within the last 27 days and got
its owner within the last 86 days, so the release job finds nothing to
release on the day of seeding, while a few customers sit in the
"about to be released" warning window.
"""

from __future__ import annotations

import random
from datetime import timedelta

from crm_core.demo.bank import SUPERVISOR, DemoCustomer, DemoFollowUp, DemoGrant, DemoOwnershipEvent
from crm_core.demo.ledger import DemoQuota

__all__ = [
    "DEMO_TEAMS",
    "TEAM_COUNT",
    "add_follow_ups",
    "add_grants",
    "assign_owner",
    "maybe_delete",
    "settle_deal_status",
    "team_of",
]

#: The demo teams, all supervised by the demo supervisor; agent ``n`` (0-based) is in team ``n % 2``.
DEMO_TEAMS = ("North Team", "South Team")
TEAM_COUNT = len(DEMO_TEAMS)
_SOURCES = ("branch", "walk-in", "referral", "web", "campaign", "import", "phone")
_SOURCE_WEIGHTS = (30, 15, 15, 10, 10, 10, 10)
_PUBLIC_SHARE = 0.15
_LOCKED_SHARE = 0.1
_RELEASE_REASONS = ("no follow-up for 30 days", "no deal for 90 days")
_FOLLOW_UPS = (
    ("visit", "outbound", "met", "Reviewed the wealth portfolio at the branch."),
    ("visit", "outbound", "met", "Explained the fixed-deposit renewal options in person."),
    ("phone", "outbound", "reached", "Called about the 12-month deposit rate."),
    ("phone", "outbound", "no-answer", "Called to confirm the loan repayment date; no answer."),
    ("phone", "outbound", "reached", "Discussed mortgage pre-approval documents."),
    ("email", "outbound", "sent", "Emailed the current rate sheet and product brochure."),
    ("email", "inbound", "replied", "Customer asked by email for the insurance policy terms."),
    ("sms", "outbound", "sent", "SMS reminder of the card repayment date."),
)
_DISPOSITIONS = ("resolved", "follow-up", "complaint", "sale", "wrong-number")
_DISPOSITION_WEIGHTS = (50, 25, 5, 15, 5)


def team_of(agent: int) -> int:
    """The demo team (index) agent ``agent`` belongs to."""
    return agent % TEAM_COUNT


def _days(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(days=rng.uniform(low, high))


def _event(
    action: str, src: int | None, dst: int | None, actor: int | None, reason: str, ago: timedelta
) -> DemoOwnershipEvent:
    return DemoOwnershipEvent(action, src, dst, actor, reason, ago)


def assign_owner(rng: random.Random, person: DemoCustomer, agents: int) -> None:
    """Owner, status, ownership dates and the ownership history that led there."""
    person.source = rng.choices(_SOURCES, weights=_SOURCE_WEIGHTS)[0]
    first = "import" if person.source == "import" else "create"
    creator = None if first == "import" else SUPERVISOR
    if rng.random() < _PUBLIC_SHARE:
        person.owner_index, person.status = None, "public"
        person.created_ago = _days(rng, 100, 900)
        if rng.random() < 0.6:
            previous = rng.randrange(agents)
            person.previous_owner_index = previous
            person.released_ago = _days(rng, 1, 60)
            person.history = [
                _event(first, None, previous, creator, "new customer", person.created_ago),
                _event("release", previous, None, None, rng.choice(_RELEASE_REASONS), person.released_ago),
            ]
        else:
            person.history = [_event(first, None, None, creator, "new customer", person.created_ago)]
        return
    owner = rng.randrange(agents)
    locked = rng.random() < _LOCKED_SHARE
    person.owner_index, person.status = owner, "locked" if locked else "owned"
    owned = _days(rng, 30, 700) if locked else _days(rng, 5, 86)
    person.owned_ago = owned
    person.created_ago = owned + _days(rng, 30, 800)
    path = rng.random()
    if path < 0.2:
        person.created_ago = owned
        person.history = [
            _event(first, None, owner, owner if first == "create" else None, "new customer", owned)
        ]
    elif path < 0.55:
        person.history = [
            _event(first, None, None, creator, "new customer", person.created_ago),
            _event("assign", None, owner, SUPERVISOR, "portfolio allocation", owned),
        ]
    elif path < 0.85 or agents < 2:
        person.history = [
            _event(first, None, None, creator, "new customer", person.created_ago),
            _event("claim", None, owner, owner, "claimed from the public pool", owned),
        ]
    else:
        other = (owner + rng.randrange(1, agents)) % agents
        person.previous_owner_index = other
        person.history = [
            _event(first, None, other, creator, "new customer", person.created_ago),
            _event("transfer", other, owner, SUPERVISOR, "portfolio rebalancing", owned),
        ]
    if locked:
        lock_ago = max(owned - _days(rng, 1, 20), timedelta(hours=12))
        person.history.append(_event("lock", owner, owner, owner, "key relationship", lock_ago))


def _follow_up(rng: random.Random, agent: int, ago: timedelta, next_in: int | None) -> DemoFollowUp:
    channel, direction, outcome, content = rng.choice(_FOLLOW_UPS)
    disposition = "follow-up" if next_in is not None else rng.choices(_DISPOSITIONS, _DISPOSITION_WEIGHTS)[0]
    urgent = next_in is not None and rng.random() < 0.2
    return DemoFollowUp(agent, channel, direction, ago, content, outcome, disposition, next_in, urgent)


def _next_contact(rng: random.Random, agent: int, quota: DemoQuota) -> int | None:
    # Every agent gets a customer to contact today and an overdue one.
    if agent not in quota.due_today:
        quota.due_today.add(agent)
        return 0
    if agent not in quota.overdue:
        quota.overdue.add(agent)
        return -rng.randint(1, 5)
    return rng.randint(-7, 14) if rng.random() < 0.35 else None


def add_follow_ups(rng: random.Random, person: DemoCustomer, quota: DemoQuota) -> None:
    """Follow-ups by the owner (the latest within 27 days), or by the previous owner before release."""
    if person.owner_index is not None and person.owned_ago is not None:
        owner = person.owner_index
        span = min(person.owned_ago.total_seconds() / 86_400, 27.0)
        latest = _days(rng, 0.1, span)
        if person.status == "owned" and rng.random() < 0.15:
            latest = _days(rng, 23.5, max(23.6, span))  # in the 7-day warning window
        since = person.owned_ago.total_seconds() / 86_400
        older = [_days(rng, latest.total_seconds() / 86_400, since) for _ in range(rng.randint(0, 2))]
        person.follow_ups = [_follow_up(rng, owner, ago, None) for ago in sorted(older, reverse=True)]
        person.follow_ups.append(_follow_up(rng, owner, latest, _next_contact(rng, owner, quota)))
    elif person.previous_owner_index is not None and person.released_ago is not None:
        prev = person.previous_owner_index
        person.follow_ups = [
            _follow_up(rng, prev, person.released_ago + _days(rng, 31, 90), None)
            for _ in range(rng.randint(0, 2))
        ]


def add_grants(rng: random.Random, person: DemoCustomer, agents: int, quota: DemoQuota) -> None:
    """Shares of an owned customer: the first ones cover read, write, team and expired grants."""
    owner = person.owner_index
    if owner is None or person.deleted_ago is not None:
        return
    others = [a for a in range(agents) if a != owner]
    step = quota.grants
    grant: DemoGrant | None = None
    ago = _days(rng, 1, 20)
    if step in {0, 3} and owner != 0:
        grant = DemoGrant(0, None, "read" if step == 0 else "write", owner, ago, None)
    elif step == 1:
        grant = DemoGrant(None, (team_of(owner) + 1) % TEAM_COUNT, "write", owner, ago, 30)
    elif step == 2 and others:
        grant = DemoGrant(rng.choice(others), None, "read", owner, ago + timedelta(days=30), -3)
    elif step > 3 and others and rng.random() < 0.08:
        grant = DemoGrant(rng.choice(others), None, rng.choice(("read", "write")), owner, ago, None)
    if grant is not None:
        person.grants.append(grant)
        quota.grants += 1


def maybe_delete(rng: random.Random, index: int, person: DemoCustomer) -> None:
    """Every twentieth customer (from the fourteenth on) sits in the recycle bin."""
    if index % 20 != 13:
        return
    person.deleted_ago = _days(rng, 1, 12)
    person.deleted_by = person.owner_index if person.owner_index is not None else SUPERVISOR


def settle_deal_status(rng: random.Random, person: DemoCustomer) -> None:
    """The deal status that the customer's contracts imply."""
    statuses = {c.status for c in person.contracts}
    if statuses & {"active", "expired", "terminated"}:
        person.deal_status = "won"
    elif statuses & {"draft", "pending", "approved"}:
        person.deal_status = "negotiating"
    elif statuses:
        person.deal_status = "lost"
    else:
        person.deal_status = "prospect" if rng.random() < 0.25 else "none"
