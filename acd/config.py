"""Queue definitions: what a queue requires, how it chooses agents, and when it gives up.

A queue comes from the settings file (``config/queues.toml``) and may be
overridden or added in the database (table ``acd_queues``); both produce a
:class:`QueueConfig`.  Validation happens here, once, so the routing code can
trust every field.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from acd.priority import PriorityWeights

__all__ = [
    "BullseyeStep",
    "NoAgents",
    "OverflowRule",
    "QueueConfig",
    "QueueConfigError",
    "QueueFile",
    "Strategy",
    "check_references",
    "load_queue_file",
    "queue_from_mapping",
]


class QueueConfigError(ValueError):
    """A queue definition that cannot work; the message names the queue and the field."""


class Strategy(StrEnum):
    """How a queue orders equally skilled available agents."""

    LONGEST_IDLE = "longest-idle"
    FEWEST_CALLS = "fewest-calls"
    ROUND_ROBIN = "round-robin"
    RING_ALL = "ring-all"
    SKILLS_BEST_MATCH = "skills-best-match"


class NoAgents(StrEnum):
    """What a caller gets when no agent who could serve the queue is logged in."""

    CALLBACK = "callback"  # offered a callback (keeping their place when agents return)
    CLOSED = "closed"  # a closed message, then the call ends
    OVERFLOW = "overflow"  # moved to ``no_agents_queue``


@dataclass(frozen=True)
class OverflowRule:
    """After ``after_seconds`` of waiting: ``widen`` to ``queue``'s agents too, or ``move`` there."""

    after_seconds: float
    action: str  # "widen" | "move"
    queue: str


@dataclass(frozen=True)
class BullseyeStep:
    """From ``after_seconds`` of waiting on, agents with proficiency ≥ ``min_proficiency`` qualify."""

    after_seconds: float
    min_proficiency: int


@dataclass(frozen=True)
class QueueConfig:
    """One queue.  Times are seconds; ``skills`` are required of every answering agent."""

    name: str
    display_name: str = ""
    skills: frozenset[str] = frozenset()
    priority: int = 0
    strategy: Strategy = Strategy.LONGEST_IDLE
    ring_timeout: int = 15
    wrapup_seconds: float = 60.0
    # The agent may extend their wrap-up up to this long after the call's end; with
    # ``disposition_required`` an unsaved wrap-up holds them (no offer) until then.
    wrapup_max_seconds: float = 300.0
    disposition_required: bool = False
    max_wait_seconds: float = 600.0
    max_wait_queue: str | None = None
    service_level_seconds: float = 20.0
    overflow: tuple[OverflowRule, ...] = ()
    bullseye: tuple[BullseyeStep, ...] = (BullseyeStep(0.0, 1),)
    open_hours: str | None = None
    no_agents: NoAgents = NoAgents.CALLBACK
    no_agents_queue: str | None = None
    announce_seconds: float = 60.0
    rm_grace_seconds: float = 15.0
    auto_pause: bool = True
    callback_key: str = "1"
    callback_retries: int = 3
    callback_retry_seconds: float = 300.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def wrapup_limit(self) -> float:
        """Seconds after a call's end its wrap-up may last at most (never below ``wrapup_seconds``)."""
        return max(self.wrapup_max_seconds, self.wrapup_seconds)

    def min_proficiency(self, waited_seconds: float) -> int:
        """Proficiency an agent needs for a call that has waited ``waited_seconds``."""
        level = self.bullseye[0].min_proficiency
        for step in self.bullseye:
            if waited_seconds >= step.after_seconds:
                level = step.min_proficiency
        return level

    def next_step_after(self, waited_seconds: float) -> float | None:
        """Waiting time at which the next bullseye or overflow step starts, ``None`` if none is left."""
        times = [s.after_seconds for s in self.bullseye] + [r.after_seconds for r in self.overflow]
        later = [t for t in times if t > waited_seconds]
        return min(later) if later else None


_INT_FIELDS = ("priority", "ring_timeout", "callback_retries")
_FLOAT_FIELDS = (
    "wrapup_seconds",
    "wrapup_max_seconds",
    "max_wait_seconds",
    "service_level_seconds",
    "announce_seconds",
    "rm_grace_seconds",
    "callback_retry_seconds",
)
_KNOWN = {
    "display_name", "skills", "strategy", "max_wait_queue", "overflow", "bullseye", "open_hours", "no_agents",
    "no_agents_queue", "auto_pause", "disposition_required", "callback_key", *_INT_FIELDS, *_FLOAT_FIELDS,
}  # fmt: skip


def _fail(name: str, key: str, problem: str) -> QueueConfigError:
    return QueueConfigError(f"queue {name!r}: {key}: {problem}")


def _number(name: str, key: str, value: object, *, integer: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, key, f"must be a number, got {value!r}")
    if value < 0:
        raise _fail(name, key, f"must not be negative, got {value!r}")
    if integer and int(value) != value:
        raise _fail(name, key, f"must be a whole number, got {value!r}")
    return value


def _overflow(name: str, raw: object) -> tuple[OverflowRule, ...]:
    if not isinstance(raw, list):
        raise _fail(name, "overflow", "must be a list of {after, action, queue} tables")
    rules = []
    for index, item in enumerate(raw):
        key = f"overflow[{index}]"
        if not isinstance(item, Mapping):
            raise _fail(name, key, "must be a table with after, action and queue")
        action = item.get("action", "widen")
        if action not in ("widen", "move"):
            raise _fail(name, key, f"action must be 'widen' or 'move', got {action!r}")
        target = item.get("queue")
        if not isinstance(target, str) or not target or target == name:
            raise _fail(name, key, "queue must name another queue")
        after = _number(name, f"{key}.after", item.get("after"), integer=False)
        rules.append(OverflowRule(after, action, target))
    return tuple(sorted(rules, key=lambda r: r.after_seconds))


def _bullseye(name: str, raw: object) -> tuple[BullseyeStep, ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail(name, "bullseye", "must be a non-empty list of [after_seconds, min_proficiency]")
    steps = []
    for index, item in enumerate(raw):
        key = f"bullseye[{index}]"
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise _fail(name, key, "must be [after_seconds, min_proficiency]")
        after = _number(name, key, item[0], integer=False)
        level = int(_number(name, key, item[1], integer=True))
        if not 1 <= level <= 5:
            raise _fail(name, key, f"min_proficiency must be 1..5, got {level}")
        steps.append(BullseyeStep(after, level))
    steps.sort(key=lambda s: s.after_seconds)
    if steps[0].after_seconds != 0:
        raise _fail(name, "bullseye", "the first step must start at 0 seconds")
    if any(b.min_proficiency > a.min_proficiency for a, b in itertools.pairwise(steps)):
        raise _fail(name, "bullseye", "steps may only lower the proficiency required (widen), never raise it")
    return tuple(steps)


def queue_from_mapping(name: str, raw: Mapping[str, Any]) -> QueueConfig:
    """Build and check one queue from a settings table or a database row."""
    if not name or len(name) > 64:
        raise QueueConfigError(f"queue name must be 1-64 characters, got {name!r}")
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise _fail(name, unknown[0], f"unknown setting (known: {', '.join(sorted(_KNOWN))})")
    values: dict[str, Any] = {"name": name}
    for key in _INT_FIELDS:
        if key in raw:
            values[key] = int(_number(name, key, raw[key], integer=True))
    for key in _FLOAT_FIELDS:
        if key in raw:
            values[key] = float(_number(name, key, raw[key], integer=False))
    if values.get("ring_timeout", 15) < 1:
        raise _fail(name, "ring_timeout", "must be at least 1 second")
    for key in ("display_name", "max_wait_queue", "open_hours", "no_agents_queue", "callback_key"):
        if raw.get(key) is not None:
            if not isinstance(raw[key], str):
                raise _fail(name, key, f"must be text, got {raw[key]!r}")
            values[key] = raw[key]
    if "callback_key" in values and values["callback_key"] not in tuple("0123456789*#"):
        raise _fail(name, "callback_key", "must be one DTMF key")
    if "skills" in raw:
        skills = raw["skills"]
        if not isinstance(skills, list) or not all(isinstance(s, str) and s for s in skills):
            raise _fail(name, "skills", "must be a list of skill names")
        values["skills"] = frozenset(skills)
    if "strategy" in raw:
        try:
            values["strategy"] = Strategy(raw["strategy"])
        except ValueError:
            choices = ", ".join(s.value for s in Strategy)
            raise _fail(name, "strategy", f"{raw['strategy']!r} is not one of {choices}") from None
    if "no_agents" in raw:
        try:
            values["no_agents"] = NoAgents(raw["no_agents"])
        except ValueError:
            raise _fail(name, "no_agents", "must be callback, closed or overflow") from None
    if values.get("no_agents") is NoAgents.OVERFLOW and not values.get("no_agents_queue"):
        raise _fail(name, "no_agents_queue", "is required when no_agents = 'overflow'")
    for key in ("auto_pause", "disposition_required"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise _fail(name, key, "must be true or false")
            values[key] = raw[key]
    _wrapup_limits(name, raw, values)
    if "overflow" in raw:
        values["overflow"] = _overflow(name, raw["overflow"])
    if "bullseye" in raw:
        values["bullseye"] = _bullseye(name, raw["bullseye"])
    return QueueConfig(**values)


def _wrapup_limits(name: str, raw: Mapping[str, Any], values: dict[str, Any]) -> None:
    """``wrapup_max_seconds`` ≥ ``wrapup_seconds``; unset, it is 300 s or the wrap-up time if longer."""
    wrapup = values.get("wrapup_seconds", QueueConfig.wrapup_seconds)
    if "wrapup_max_seconds" not in raw:
        values["wrapup_max_seconds"] = max(QueueConfig.wrapup_max_seconds, wrapup)
    elif values["wrapup_max_seconds"] < wrapup:
        raise _fail(
            name,
            "wrapup_max_seconds",
            f"must be at least wrapup_seconds ({wrapup:g}), got {values['wrapup_max_seconds']:g}",
        )


def check_references(queues: Iterable[QueueConfig]) -> None:
    """Every queue named by an overflow, max-wait or no-agents rule exists."""
    names = {q.name for q in queues}
    for queue in queues:
        targets: list[tuple[str, str | None]] = [
            (f"overflow[{i}].queue", r.queue) for i, r in enumerate(queue.overflow)
        ]
        targets += [("max_wait_queue", queue.max_wait_queue), ("no_agents_queue", queue.no_agents_queue)]
        for key, target in targets:
            if target is not None and target not in names:
                raise _fail(queue.name, key, f"names queue {target!r}, which is not defined")


@dataclass(frozen=True)
class QueueFile:
    """What a queue settings file holds: the queues and the priority weights."""

    queues: list[QueueConfig]
    weights: PriorityWeights


def _weights(path: Path, raw: object) -> PriorityWeights:
    if raw is None:
        return PriorityWeights()
    if not isinstance(raw, dict):
        raise QueueConfigError(f"{path}: [priority] must be a table")
    unknown = sorted(set(raw) - {"tier", "segment", "aging_per_minute", "aging_cap"})
    if unknown:
        raise QueueConfigError(f"{path}: priority.{unknown[0]}: unknown setting")
    values: dict[str, Any] = {}
    for key in ("tier", "segment"):
        if key in raw:
            table = raw[key]
            if not isinstance(table, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in table.values()
            ):
                raise QueueConfigError(f"{path}: priority.{key} must map names to whole numbers of points")
            values[key] = table
    for key in ("aging_per_minute", "aging_cap"):
        if key in raw:
            values[key] = _number("priority", key, raw[key], integer=key == "aging_cap")
    if "aging_cap" in values:
        values["aging_cap"] = int(values["aging_cap"])
    try:
        return PriorityWeights(**values)
    except ValueError as exc:
        raise QueueConfigError(f"{path}: priority: {exc}") from None


def load_queue_file(path: Path, defaults: Mapping[str, Any] | None = None) -> QueueFile:
    """Queues (``[queues.<name>]``) and weights (``[priority]``) of a TOML file.

    ``defaults`` (e.g. the service-wide ring timeout) apply to every queue
    that does not set the key itself.

    :class:`QueueConfigError` names the file, the queue and the setting.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise QueueConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise QueueConfigError(f"{path}: {exc}") from None
    tables = data.get("queues", {})
    if not isinstance(tables, dict):
        raise QueueConfigError(f"{path}: [queues] must be a table of queue tables")
    queues = []
    for name, raw in tables.items():
        if not isinstance(raw, dict):
            raise QueueConfigError(f"{path}: queues.{name} must be a table")
        try:
            queues.append(queue_from_mapping(name, {**(defaults or {}), **raw}))
        except QueueConfigError as exc:
            raise QueueConfigError(f"{path}: {exc}") from None
    try:
        check_references(queues)
    except QueueConfigError as exc:
        raise QueueConfigError(f"{path}: {exc}") from None
    return QueueFile(queues, _weights(path, data.get("priority")))
