"""The node types a menu file may use, validated with pydantic.

Each node is one ``[nodes.<name>]`` table of a menu file with a ``type`` key.
Adding a node type means: a model here (with :meth:`Node.references` naming
the nodes it can lead to), an entry in :data:`NODE_TYPES` and a handler in
:mod:`ivr.handlers`.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ivr.speech import parse_sayable

__all__ = [
    "BASIC_NODE_TYPES",
    "CollectNode",
    "GotoNode",
    "HangupNode",
    "IdentifyNode",
    "LanguageNode",
    "MenuNode",
    "Node",
    "PlayNode",
    "QueueNode",
    "SayNode",
]

DTMF_KEYS = "0123456789*#"
_PROMPT = re.compile(r"[A-Za-z0-9_./-]+")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def _prompt(value: str) -> str:
    # A prompt becomes an argument of STREAM FILE / GET DATA: a space or quote
    # would split or break the AGI command line.
    if not _PROMPT.fullmatch(value) or ".." in value or value.startswith("/"):
        raise ValueError(f"{value!r} is not a sound file name (letters, digits, _ . / -, relative)")
    return value


def _dtmf(value: str) -> str:
    if len(value) != 1 or value not in DTMF_KEYS:
        raise ValueError(f"key {value!r} is not one DTMF key (0-9, *, #)")
    return value


def _menu_key(value: str) -> str:
    _dtmf(value)
    if value == "#":
        # GET DATA treats '#' as the end of input and returns no digit: such a choice could never be taken.
        raise ValueError("key '#' ends input in GET DATA and cannot be a menu choice")
    return value


def _barge_in(value: str) -> str:
    for key in value:
        _dtmf(key)
    return value


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
    return value


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a name (letters, digits, _ . -)")
    return value


_LABEL_MAX = 80


def _label(value: str) -> str:
    # Shown to agents as the description of a caller's step (the console's IVR path).
    if not value.strip():
        raise ValueError("must not be blank")
    if len(value) > _LABEL_MAX:
        raise ValueError(f"at most {_LABEL_MAX} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("must not contain control characters")
    return value


Reference = tuple[tuple[str, ...], str]
"""A node a node can lead to: ``(key path inside the node, target node name)``."""

Prompt = Annotated[str, AfterValidator(_prompt)]
MenuKey = Annotated[str, AfterValidator(_menu_key)]
Name = Annotated[str, AfterValidator(_name)]
BargeIn = Annotated[str, AfterValidator(_barge_in)]
Pattern = Annotated[str, AfterValidator(_pattern)]
Label = Annotated[str, AfterValidator(_label)]


class Node(BaseModel):
    """Base of every node: strict types, unknown keys refused.

    ``label`` and ``label_zh`` (optional, both or neither) describe the node in
    English and Chinese for the agent's screen, which shows a caller's path as
    these descriptions (e.g. "VIP check" / "VIP 识别") rather than node names.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: True for nodes that wait for the caller; a loop must contain one.
    waits_for_caller: ClassVar[bool] = False

    label: Label | None = None
    label_zh: Label | None = None

    @model_validator(mode="after")
    def _labels_paired(self) -> Node:
        if (self.label is None) != (self.label_zh is None):
            missing = "label_zh" if self.label_zh is None else "label"
            raise ValueError(f"{missing} missing: label and label_zh describe the node together")
        return self

    def references(self) -> list[Reference]:
        """Nodes of the same menu this node can lead to, as ``(key path, node)``."""
        return []


class PlayNode(Node):
    """Play ``prompts`` in order, then continue at ``next``.

    ``barge_in`` lists the DTMF keys that skip the rest of the prompts (none
    by default: the caller hears everything).
    """

    type: Literal["play"] = "play"
    prompts: list[Prompt] = Field(min_length=1)
    barge_in: BargeIn = ""
    next: str

    def references(self) -> list[Reference]:
        return [(("next",), self.next)]


class IdentifyNode(Node):
    """Look the caller ID up in the customer directory, then continue at ``next``.

    ``none``, ``one`` and ``many`` (optional) branch on the number of
    customers matched; a withheld caller ID or a failed lookup counts as
    ``none``.  A branch left out continues at ``next``.
    """

    type: Literal["identify"] = "identify"
    next: str
    none: str | None = None
    one: str | None = None
    many: str | None = None

    def references(self) -> list[Reference]:
        refs: list[Reference] = [(("next",), self.next)]
        refs += [((key,), target) for key, target in self.branches().items() if target is not None]
        return refs

    def branches(self) -> dict[str, str | None]:
        """The optional branches by match count name."""
        return {"none": self.none, "one": self.one, "many": self.many}


class MenuNode(Node):
    """Ask for one key; ``choices`` maps a key to the node it leads to.

    An invalid key plays ``invalid_prompt``, silence for ``timeout_ms`` plays
    ``timeout_prompt``, and the menu is asked again.  ``retries`` is how many
    failed attempts (invalid or timeout, counted together) the caller gets:
    after the ``retries``-th failure the call goes to ``fallback`` — or, when
    the menu names none, straight to the menu file's ``agent_queue``.
    """

    waits_for_caller: ClassVar[bool] = True

    type: Literal["menu"] = "menu"
    prompt: Prompt
    choices: dict[MenuKey, str] = Field(min_length=1)
    timeout_ms: int = Field(5000, gt=0, le=120_000)
    retries: int = Field(3, ge=1, le=10)
    invalid_prompt: Prompt | None = None
    timeout_prompt: Prompt | None = None
    fallback: str | None = None

    def references(self) -> list[Reference]:
        refs: list[Reference] = [(("choices", key), target) for key, target in self.choices.items()]
        if self.fallback is not None:
            refs.append((("fallback",), self.fallback))
        return refs


class CollectNode(Node):
    """Read ``min_digits``..``max_digits`` keys into the call variable ``variable``.

    Input ends with ``terminator`` (``#`` — GET DATA's own end key — or
    ``*``), with ``max_digits`` keys, or after ``timeout_ms`` of silence.  A
    too short input, or one that ``pattern`` (a regular expression matched
    against the whole input) refuses, is invalid.  ``retries``,
    ``invalid_prompt``, ``timeout_prompt`` and ``fallback`` work as in a
    :class:`MenuNode`.  With ``secret = true`` (a PIN) the digits are kept
    apart from every record: the path says only how many were entered.
    """

    waits_for_caller: ClassVar[bool] = True

    type: Literal["collect"] = "collect"
    prompt: Prompt
    variable: Name
    next: str
    min_digits: int = Field(1, ge=1, le=32)
    max_digits: int = Field(32, ge=1, le=32)
    terminator: Literal["#", "*"] = "#"
    timeout_ms: int = Field(5000, gt=0, le=120_000)
    pattern: Pattern | None = None
    secret: bool = False
    retries: int = Field(3, ge=1, le=10)
    invalid_prompt: Prompt | None = None
    timeout_prompt: Prompt | None = None
    fallback: str | None = None

    @model_validator(mode="after")
    def _digits(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits must not exceed max_digits")
        return self

    def references(self) -> list[Reference]:
        refs: list[Reference] = [(("next",), self.next)]
        if self.fallback is not None:
            refs.append((("fallback",), self.fallback))
        return refs


class SayNode(Node):
    """Say a value with Asterisk's own number, digit and date sounds, then continue at ``next``.

    ``say`` is ``number``, ``digits``, ``amount`` (yuan then fen) or
    ``date`` (``YYYY-MM-DD``); the value is the literal ``value`` or the
    call variable ``variable`` (a value collected earlier, never a secret).
    """

    type: Literal["say"] = "say"
    say: Literal["number", "digits", "amount", "date"]
    value: str | None = None
    variable: Name | None = None
    next: str

    @model_validator(mode="after")
    def _one_source(self) -> SayNode:
        if (self.value is None) == (self.variable is None):
            raise ValueError("a say needs exactly one of 'value' or 'variable'")
        if self.value is not None:
            parse_sayable(self.say, self.value)
        return self

    def references(self) -> list[Reference]:
        return [(("next",), self.next)]


class LanguageNode(Node):
    """Select the prompt set ``language`` (``CHANNEL(language)``, e.g. ``zh`` or ``en``)."""

    type: Literal["language"] = "language"
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
    next: str

    def references(self) -> list[Reference]:
        return [(("next",), self.next)]


class QueueNode(Node):
    """End the IVR: the call is routed to ACD queue ``queue``.

    ``skills`` are what the answering agent must have; ``priority`` (higher
    first) is a hint for the ACD's ordering of waiting calls.
    """

    type: Literal["queue"] = "queue"
    queue: Name
    skills: list[Name] = Field(default_factory=list)
    priority: int = Field(0, ge=0, le=100)


class HangupNode(Node):
    """End the IVR and the call, after an optional goodbye ``prompt``."""

    type: Literal["hangup"] = "hangup"
    prompt: Prompt | None = None


class GotoNode(Node):
    """Jump to node ``next`` of this menu, or to the entry node of ``menu``."""

    type: Literal["goto"] = "goto"
    next: str | None = None
    menu: Name | None = None

    @model_validator(mode="after")
    def _one_target(self) -> GotoNode:
        if (self.next is None) == (self.menu is None):
            raise ValueError("a goto needs exactly one of 'next' (a node) or 'menu' (another menu)")
        return self

    def references(self) -> list[Reference]:
        return [] if self.next is None else [(("next",), self.next)]


#: The node types of this module by ``type`` value (:data:`ivr.registry.NODE_TYPES` holds all).
BASIC_NODE_TYPES: dict[str, type[Node]] = {
    "play": PlayNode,
    "identify": IdentifyNode,
    "menu": MenuNode,
    "collect": CollectNode,
    "say": SayNode,
    "language": LanguageNode,
    "queue": QueueNode,
    "hangup": HangupNode,
    "goto": GotoNode,
}
