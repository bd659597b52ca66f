"""Checks of a parsed menu that span several nodes: variables, calendars, prompts, queues.

:mod:`ivr.loader` runs the first three after every node parsed on its own;
:func:`check_routes` needs the ACD's queues and is run by ``bankcti ivr
check``.  Each failure is a :class:`~ivr.errors.MenuError` with the line to
edit.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

from ivr.errors import MenuError
from ivr.menus import Menu, MenuSet
from ivr.nodes import CollectNode, Node, QueueNode, SayNode
from ivr.nodes_bank import ActionNode, ConditionNode, VerifyNode
from ivr.speech import SPEECH_PROMPTS
from ivr.tomlpos import KeyLines, syntax_error_line

__all__ = ["check_prompts", "check_routes", "check_semantics", "load_prompt_catalogs", "prompt_known"]

_PROMPT_FIELDS = ("prompt", "prompts", "invalid_prompt", "timeout_prompt", "locked_prompt")
#: The folder of the bank's own sound files; catalogs may name prompts with or without it.
PROMPT_FOLDER = "bankcti/"


def check_semantics(menu: Menu, lines: KeyLines) -> None:
    """Refuse calendars, variables and secrets used inconsistently inside one menu."""
    collected: dict[str, bool] = {}  # variable -> secret
    for name, node in menu.nodes.items():
        if isinstance(node, CollectNode):
            if collected.get(node.variable, node.secret) != node.secret:
                raise MenuError(
                    menu.path,
                    lines.line_of("nodes", name, "secret"),
                    f"node {name!r}: variable {node.variable!r} is collected both as a secret and not",
                )
            collected[node.variable] = node.secret
    for name, node in menu.nodes.items():
        if (
            isinstance(node, ConditionNode)
            and node.calendar is not None
            and node.calendar not in menu.calendars
        ):
            raise MenuError(
                menu.path,
                lines.line_of("nodes", name, "calendar"),
                f"node {name!r}: calendar {node.calendar!r} does not exist (add [calendars.{node.calendar}])",
            )
        if isinstance(node, VerifyNode):
            _need(menu, lines, name, "account", node.account, collected)
            _need(menu, lines, name, "pin", node.pin, collected)
            if not collected[node.pin]:
                raise MenuError(
                    menu.path,
                    lines.line_of("nodes", name, "pin"),
                    f"node {name!r}: pin {node.pin!r} must be collected with secret = true",
                )
        if isinstance(node, SayNode) and node.variable is not None:
            _need(menu, lines, name, "variable", node.variable, collected)
            if collected[node.variable]:
                raise MenuError(
                    menu.path,
                    lines.line_of("nodes", name, "variable"),
                    f"node {name!r}: variable {node.variable!r} is a secret and may not be said",
                )


def _need(
    menu: Menu, lines: KeyLines, node: str, key: str, variable: str, collected: Mapping[str, bool]
) -> None:
    if variable not in collected:
        raise MenuError(
            menu.path,
            lines.line_of("nodes", node, key),
            f"node {node!r}: {key}: no collect node sets variable {variable!r}",
        )


def _prompts(node: Node) -> Iterator[tuple[str, str]]:
    """``(key, prompt)`` for every prompt ``node`` may play."""
    for key in _PROMPT_FIELDS:
        value = getattr(node, key, None)
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, list):
            for item in value:
                yield key, item
    if isinstance(node, SayNode | ActionNode):
        for prompt in SPEECH_PROMPTS:
            yield "type", prompt


def prompt_known(prompt: str, catalog: frozenset[str]) -> bool:
    """Whether ``catalog`` has ``prompt`` (``bankcti/welcome`` may be listed as ``welcome``)."""
    return prompt in catalog or prompt.removeprefix(PROMPT_FOLDER) in catalog


def check_prompts(menu: Menu, lines: KeyLines, catalogs: Mapping[str, frozenset[str]]) -> None:
    """Refuse a prompt missing from any catalog (no catalogs: nothing to check)."""
    for name, node in menu.nodes.items():
        for key, prompt in _prompts(node):
            for language, catalog in sorted(catalogs.items()):
                if not prompt_known(prompt, catalog):
                    raise MenuError(
                        menu.path,
                        lines.line_of("nodes", name, key),
                        f"node {name!r}: prompt {prompt!r} is missing from the {language!r} prompt catalog",
                    )


def check_routes(menus: MenuSet, queues: Collection[str], defined: str) -> None:
    """Refuse a queue node or an ``agent_queue`` that names a queue not in ``queues``.

    ``defined`` says where the queues come from, for the message (``"in
    config/queues.toml (queues: cards, general)"``).  Menus are checked in
    name order, nodes in file order; the first unknown queue is reported
    with the line of its ``queue`` (or ``agent_queue``) key.
    """
    for menu in sorted(menus, key=lambda m: m.name):
        try:
            lines = KeyLines(menu.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise MenuError(menu.path, None, f"cannot read menu file: {exc}") from None
        if menu.agent_queue not in queues:
            raise MenuError(
                menu.path,
                lines.exact("agent_queue"),
                f"agent_queue: queue {menu.agent_queue!r} is not defined {defined}",
            )
        for name, node in menu.nodes.items():
            if isinstance(node, QueueNode) and node.queue not in queues:
                raise MenuError(
                    menu.path,
                    lines.line_of("nodes", name, "queue"),
                    f"node {name!r}: queue {node.queue!r} is not defined {defined}",
                )


def _flatten(table: Mapping[str, object], prefix: str = "") -> Iterator[str]:
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}/")
        else:
            yield f"{prefix}{key}"


def load_prompt_catalogs(directory: Path) -> dict[str, frozenset[str]]:
    """Prompt names of each ``<language>.toml`` in ``directory`` (nothing when it does not exist)."""
    if not directory.is_dir():
        return {}
    catalogs: dict[str, frozenset[str]] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MenuError(path, None, f"cannot read prompt catalog: {exc}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line, reason = syntax_error_line(exc, text)
            raise MenuError(path, line, f"TOML syntax: {reason}") from None
        # The catalog format keeps its texts in a [prompts] table.
        table = data.get("prompts", data)
        catalogs[path.stem] = frozenset(_flatten(table if isinstance(table, dict) else data))
    return catalogs
