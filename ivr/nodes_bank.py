"""Node types that reach into the bank: PIN verification, self-service actions, conditions.

See :mod:`ivr.nodes` for the conventions (``references``, strict models).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from ivr.nodes import BASIC_NODE_TYPES, Name, Node, Prompt, Reference

__all__ = ["NODE_TYPES", "ActionNode", "ConditionNode", "VerifyNode"]

AuthLevel = Literal["none", "caller_id", "verified"]


class VerifyNode(Node):
    """Check the account (or card) number in ``account`` and the PIN in ``pin`` (both call variables).

    ``pin`` must be collected by a ``collect`` node with ``secret = true``.
    Verified: continue at ``next`` with authentication ``verified``.  A wrong
    PIN or an unknown account plays ``invalid_prompt`` and continues at
    ``retry`` (typically the PIN collect) until the caller has failed
    ``retries`` times in this call, then ``failed``.  A PIN entry locked by
    too many failures (the CRM counts them across calls) goes to ``locked``.
    Both variables are forgotten after each check.  ``failed`` and
    ``locked`` default to the menu's ``agent_queue``.
    """

    type: Literal["verify"] = "verify"
    account: Name
    pin: Name
    next: str
    retry: str
    retries: int = Field(3, ge=1, le=10)
    invalid_prompt: Prompt | None = None
    locked_prompt: Prompt | None = None
    failed: str | None = None
    locked: str | None = None

    def references(self) -> list[Reference]:
        refs: list[Reference] = [(("next",), self.next), (("retry",), self.retry)]
        refs += [
            ((key,), target)
            for key, target in (("failed", self.failed), ("locked", self.locked))
            if target is not None
        ]
        return refs


class ActionNode(Node):
    """Run a self-service ``action`` for the caller, then continue at ``next``.

    ``balance``, ``recent_transactions`` and ``report_card_lost`` need a
    verified caller; ``request_callback`` needs a caller number (an
    unidentified caller's request is stored without a customer).  A caller below ``requires`` goes to
    ``denied``; a failing CRM goes to ``failed`` (both default to the menu's
    ``agent_queue``).  A callback is asked for ``window_minutes`` starting
    ``window_start_minutes`` from now, with ``reason``.  ``prompt`` is
    played before the values are said (``"your balance is"``).
    """

    type: Literal["action"] = "action"
    action: Literal["balance", "recent_transactions", "report_card_lost", "request_callback"]
    next: str
    prompt: Prompt | None = None
    requires: AuthLevel | None = None
    denied: str | None = None
    failed: str | None = None
    reason: str = Field("ivr", min_length=1, max_length=200)
    window_start_minutes: int = Field(0, ge=0, le=14 * 24 * 60)
    window_minutes: int = Field(120, ge=15, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _requirement(self) -> ActionNode:
        needed = self.minimum_level()
        if self.requires is not None and _LEVELS.index(self.requires) < _LEVELS.index(needed):
            raise ValueError(f"action {self.action!r} needs requires = {needed!r} at least")
        return self

    def minimum_level(self) -> AuthLevel:
        """The weakest authentication the action itself allows."""
        return "none" if self.action == "request_callback" else "verified"

    def required_level(self) -> AuthLevel:
        """The authentication this node asks for: ``requires``, else the action's minimum."""
        return self.requires if self.requires is not None else self.minimum_level()

    def references(self) -> list[Reference]:
        refs: list[Reference] = [(("next",), self.next)]
        refs += [
            ((key,), target)
            for key, target in (("denied", self.denied), ("failed", self.failed))
            if target is not None
        ]
        return refs


_LEVELS: tuple[AuthLevel, ...] = ("none", "caller_id", "verified")


class ConditionNode(Node):
    """Branch: continue at ``then`` when ``test`` holds, else at ``else``.

    ``test`` is ``open`` (the menu's calendar ``calendar`` is open now),
    ``vip`` (the identified customer gets VIP treatment: their tier is one
    of the bank's parameter ``analytics.vip_tiers``, or they are in segment
    A — the CRM decides, the menu names no tier), ``tier`` (the identified
    customer's tier is one of ``values``), ``authentication`` (the level is
    one of ``values``: none, caller_id, verified) or ``language`` (the
    selected language is one of ``values``).
    """

    model_config = ConfigDict(populate_by_name=True)

    type: Literal["condition"] = "condition"
    test: Literal["open", "vip", "tier", "authentication", "language"]
    calendar: Name | None = None
    values: list[Name] = Field(default_factory=list)
    then: str
    otherwise: str = Field(alias="else")

    @model_validator(mode="after")
    def _arguments(self) -> ConditionNode:
        if self.test == "open":
            if self.calendar is None or self.values:
                raise ValueError("test 'open' needs 'calendar' (and no 'values')")
        elif self.test == "vip":
            if self.calendar is not None or self.values:
                raise ValueError(
                    "test 'vip' takes no 'values' and no 'calendar' (the VIP tiers are the CRM parameter "
                    "analytics.vip_tiers)"
                )
        elif self.calendar is not None or not self.values:
            raise ValueError(f"test {self.test!r} needs 'values' (and no 'calendar')")
        if self.test == "authentication":
            unknown = sorted(set(self.values) - set(_LEVELS))
            if unknown:
                raise ValueError(f"unknown authentication level {unknown[0]!r} (none, caller_id, verified)")
        return self

    def references(self) -> list[Reference]:
        return [(("then",), self.then), (("else",), self.otherwise)]


#: ``type`` value → model; the loader refuses any other type.
NODE_TYPES: dict[str, type[Node]] = {
    **BASIC_NODE_TYPES,
    "verify": VerifyNode,
    "action": ActionNode,
    "condition": ConditionNode,
}
