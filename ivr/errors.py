"""Errors raised while loading IVR menu files."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MenuError", "UnknownMenu"]


class MenuError(Exception):
    """A menu file (or the menu directory) was refused.

    ``str(error)`` is ``"<path>:<line>: <reason>"`` — for instance
    ``config/ivr/main.toml:12: node 'x': unknown node type 'foo'`` — or
    ``"<path>: <reason>"`` when the problem has no line (a missing directory).
    """

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.reason}"
        return f"{self.path}:{self.line}: {self.reason}"


class UnknownMenu(LookupError):
    """:meth:`MenuSet.get` was asked for a menu that was not loaded."""
