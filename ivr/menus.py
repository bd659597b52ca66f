"""Loaded, validated menus."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ivr.calendar import BusinessCalendar
from ivr.errors import UnknownMenu
from ivr.nodes import Node, QueueNode

__all__ = ["Menu", "MenuSet"]


@dataclass(frozen=True)
class Menu:
    """One menu file: its nodes, where the caller starts, the default queue.

    ``name`` is the file name without ``.toml``; ``agent_queue`` is where a
    menu without its own ``fallback`` sends a caller who ran out of retries;
    ``calendars`` are the business hours its ``condition`` nodes test.
    """

    name: str
    path: Path
    entry: str
    agent_queue: str
    nodes: Mapping[str, Node]
    description: str = ""
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)

    def node(self, name: str) -> Node:
        """The node called ``name`` (validated to exist at load time)."""
        return self.nodes[name]


@dataclass(frozen=True)
class MenuSet:
    """Every menu of the menu directory, by name."""

    menus: Mapping[str, Menu] = field(default_factory=dict)

    def get(self, name: str) -> Menu:
        """Return the menu ``name``; raise :class:`UnknownMenu` when not loaded."""
        try:
            return self.menus[name]
        except KeyError:
            known = ", ".join(sorted(self.menus)) or "none"
            raise UnknownMenu(f"no IVR menu {name!r} (loaded: {known})") from None

    def queue_names(self) -> set[str]:
        """Every ACD queue a caller can be routed to: queue nodes and ``agent_queue`` fallbacks."""
        names = {menu.agent_queue for menu in self.menus.values()}
        for menu in self.menus.values():
            names.update(node.queue for node in menu.nodes.values() if isinstance(node, QueueNode))
        return names

    def node_labels(self, first: str | None = None) -> dict[str, tuple[str, str]]:
        """Node name → (label, label_zh) of every described node; menu ``first``'s win a name clash."""
        order = sorted(self.menus.values(), key=lambda menu: (menu.name != first, menu.name))
        labels: dict[str, tuple[str, str]] = {}
        for menu in order:
            for name, node in menu.nodes.items():
                if name not in labels and node.label is not None and node.label_zh is not None:
                    labels[name] = (node.label, node.label_zh)
        return labels

    def __contains__(self, name: object) -> bool:
        return name in self.menus

    def __iter__(self) -> Iterator[Menu]:
        return iter(self.menus.values())

    def __len__(self) -> int:
        return len(self.menus)
