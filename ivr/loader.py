"""Read and check the menu files of ``config/ivr/``.

A menu file is TOML, one menu per file, named after the file::

    entry = "welcome"            # the node a caller starts at (required)
    agent_queue = "general"      # where a menu without ``fallback`` sends a lost caller

    [nodes.welcome]
    type = "play"
    prompts = ["bankcti/welcome"]
    next = "main-menu"

Optional ``[calendars.<name>]`` tables (:mod:`ivr.calendar`) give the
business hours ``condition`` nodes test.  When prompt catalogs exist
(``<menu dir>/prompts/<language>.toml``, prompt name → text), every prompt a
menu plays must be in each of them.

Any node may carry ``label`` and ``label_zh`` (both or neither): its description
in English and Chinese, shown to agents as the caller's IVR path.

Every problem is reported as a :class:`~ivr.errors.MenuError` naming the
file, the line to edit and the reason; the first problem in file order wins.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ivr.calendar import BusinessCalendar
from ivr.checks import check_prompts, check_semantics, load_prompt_catalogs
from ivr.errors import MenuError
from ivr.menus import Menu, MenuSet
from ivr.nodes import GotoNode, Node
from ivr.nodes_bank import NODE_TYPES
from ivr.tomlpos import KeyLines, syntax_error_line

__all__ = ["load_menu_file", "load_menus"]

log = logging.getLogger(__name__)

_MENU_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_TOP_KEYS = {"entry", "agent_queue", "description", "nodes", "calendars"}


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MenuError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MenuError(path, line, "not UTF-8 text") from exc


def _validation_reason(node: str, error: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    """Turn one pydantic error into (key path inside the node, reason)."""
    loc = tuple(str(part) for part in error["loc"] if part != "[key]")
    where = ".".join(loc)
    kind = error["type"]
    if kind == "missing":
        return (), f"node {node!r}: missing required key {where!r}"
    if kind == "extra_forbidden":
        return loc, f"node {node!r}: unknown key {where!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return loc, f"node {node!r}: {where}: {message}" if where else f"node {node!r}: {message}"


def _parse_node(path: Path, lines: KeyLines, name: str, body: object) -> Node:
    here = lines.line_of("nodes", name)
    if not isinstance(body, dict):
        raise MenuError(path, here, f"node {name!r}: must be a table ([nodes.{name}])")
    kind = body.get("type")
    if kind is None:
        raise MenuError(path, here, f"node {name!r}: missing required key 'type'")
    model = NODE_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise MenuError(
            path, lines.line_of("nodes", name, "type"), f"node {name!r}: unknown node type {kind!r}"
        )
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = [_validation_reason(name, e) for e in exc.errors()]
        located = sorted((lines.line_of("nodes", name, *loc), reason) for loc, reason in errors)
        line, reason = located[0]
        raise MenuError(path, line, reason) from None


def _parse_calendars(path: Path, lines: KeyLines, raw: object) -> dict[str, BusinessCalendar]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MenuError(path, lines.line_of("calendars"), "calendars must be tables ([calendars.<name>])")
    calendars: dict[str, BusinessCalendar] = {}
    for name, body in raw.items():
        if not _MENU_NAME.fullmatch(name):
            raise MenuError(
                path, lines.line_of("calendars", name), f"calendar name {name!r}: letters, digits, _ . -"
            )
        if not isinstance(body, dict):
            raise MenuError(path, lines.line_of("calendars", name), f"calendar {name!r}: must be a table")
        try:
            calendars[name] = BusinessCalendar.model_validate(body)
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = tuple(str(part) for part in error["loc"] if part != "[key]")
            where = ".".join(loc)
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown key {where!r}"
            elif where:
                message = f"{where}: {message}"
            raise MenuError(
                path, lines.line_of("calendars", name, *loc), f"calendar {name!r}: {message}"
            ) from None
    return calendars


def _reachable(entry: str, nodes: Mapping[str, Node]) -> set[str]:
    seen = {entry}
    todo = [entry]
    while todo:
        for _, target in nodes[todo.pop()].references():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def load_menu_file(path: Path, prompts: Mapping[str, frozenset[str]] | None = None) -> Menu:
    """Load and check one menu file (references to other menus are checked by :func:`load_menus`).

    ``prompts`` are the prompt catalogs (language → names) every prompt must
    be in; ``None`` reads them from ``prompts/`` next to the file.
    """
    catalogs = load_prompt_catalogs(path.parent / "prompts") if prompts is None else prompts
    menu, lines = _load_file(path)
    check_prompts(menu, lines, catalogs)
    return menu


def _load_file(path: Path) -> tuple[Menu, KeyLines]:
    text = _decode(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, reason = syntax_error_line(exc, text)
        raise MenuError(path, line, f"TOML syntax: {reason}") from None
    lines = KeyLines(text)
    if not _MENU_NAME.fullmatch(path.stem):
        raise MenuError(path, 1, f"menu name {path.stem!r} (the file name) must use letters, digits, _ . -")
    for key in data:
        if key not in _TOP_KEYS:
            raise MenuError(path, lines.line_of(key), f"unknown key {key!r}")
    for key in ("entry", "agent_queue", "description"):
        if key in data and not isinstance(data[key], str):
            raise MenuError(path, lines.line_of(key), f"{key!r} must be a string")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        raise MenuError(path, lines.line_of("nodes"), "no nodes: add at least one [nodes.<name>] table")
    calendars = _parse_calendars(path, lines, data.get("calendars"))
    nodes = {name: _parse_node(path, lines, name, body) for name, body in raw_nodes.items()}
    entry = data.get("entry")
    if entry is None:
        raise MenuError(path, 1, 'missing entry node: add entry = "<node>"')
    if entry not in nodes:
        raise MenuError(path, lines.line_of("entry"), f"entry node {entry!r} does not exist")
    agent_queue = data.get("agent_queue", "general")
    if not _MENU_NAME.fullmatch(agent_queue):
        raise MenuError(
            path, lines.line_of("agent_queue"), f"agent_queue {agent_queue!r} is not a queue name"
        )
    for name, node in nodes.items():
        for key_path, target in node.references():
            if target not in nodes:
                where = ".".join(key_path)
                raise MenuError(
                    path,
                    lines.line_of("nodes", name, *key_path),
                    f"node {name!r}: {where}: node {target!r} does not exist",
                )
    reachable = _reachable(entry, nodes)
    for name in nodes:
        if name not in reachable:
            raise MenuError(
                path,
                lines.line_of("nodes", name),
                f"node {name!r}: unreachable from the entry node {entry!r}",
            )
    menu = Menu(
        name=path.stem,
        path=path,
        entry=entry,
        agent_queue=agent_queue,
        nodes=nodes,
        description=data.get("description", ""),
        calendars=calendars,
    )
    check_semantics(menu, lines)
    return menu, lines


def _successors(menus: Mapping[str, Menu], menu: Menu, node: Node) -> list[tuple[str, str]]:
    if isinstance(node, GotoNode) and node.menu is not None:
        return [(node.menu, menus[node.menu].entry)]
    return [(menu.name, target) for _, target in node.references()]


def _check_loops(menus: Mapping[str, Menu], lines: Mapping[str, KeyLines]) -> None:
    """Refuse a cycle the caller could never leave: one with no node waiting for a key."""
    silent = {
        (menu.name, name): _successors(menus, menu, node)
        for menu in menus.values()
        for name, node in menu.nodes.items()
        if not node.waits_for_caller
    }
    state: dict[tuple[str, str], int] = {}  # 1: on the current path, 2: done
    for start in silent:
        if start in state:
            continue
        stack: list[tuple[tuple[str, str], int]] = [(start, 0)]
        trail: list[tuple[str, str]] = [start]
        state[start] = 1
        while stack:
            current, index = stack[-1]
            nexts = [n for n in silent[current] if n in silent]
            if index == len(nexts):
                stack.pop()
                trail.pop()
                state[current] = 2
                continue
            stack[-1] = (current, index + 1)
            target = nexts[index]
            if state.get(target) == 1:
                cycle = [*trail[trail.index(target) :], target]
                shown = " -> ".join(n if m == target[0] else f"{m}:{n}" for m, n in cycle)
                menu = menus[target[0]]
                raise MenuError(
                    menu.path,
                    lines[menu.name].line_of("nodes", target[1]),
                    f"node {target[1]!r}: loop without a menu: {shown}",
                )
            if target not in state:
                state[target] = 1
                trail.append(target)
                stack.append((target, 0))


def load_menus(
    directory: Path,
    *,
    files: list[Path] | None = None,
    prompts: Mapping[str, frozenset[str]] | None = None,
) -> MenuSet:
    """Load every ``*.toml`` menu of ``directory``; raise :class:`MenuError` on the first bad one.

    ``files`` replaces the directory listing (``bankcti ivr check FILE…``);
    ``prompts`` replaces the catalogs read from ``<directory>/prompts/``.
    """
    if files is None:
        if not directory.is_dir():
            raise MenuError(directory, None, "IVR menu directory does not exist")
        paths = sorted(directory.glob("*.toml"))
    else:
        paths = list(files)
    if not paths:
        raise MenuError(directory, None, "no IVR menu files (*.toml)")
    catalogs = load_prompt_catalogs(directory / "prompts") if prompts is None else prompts
    loaded = [_load_file(path) for path in paths]
    for menu, key_lines in loaded:
        check_prompts(menu, key_lines, catalogs)
    menus = {menu.name: menu for menu, _ in loaded}
    lines = {menu.name: key_lines for menu, key_lines in loaded}
    for menu in menus.values():
        for name, node in menu.nodes.items():
            if isinstance(node, GotoNode) and node.menu is not None and node.menu not in menus:
                raise MenuError(
                    menu.path,
                    lines[menu.name].line_of("nodes", name, "menu"),
                    f"node {name!r}: menu {node.menu!r} does not exist",
                )
    _check_loops(menus, lines)
    log.info("ivr.menus_loaded", extra={"directory": str(directory), "menus": sorted(menus)})
    return MenuSet(menus)
