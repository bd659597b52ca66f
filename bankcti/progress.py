"""A progress bar for long commands: redrawn in place on stderr, plain text."""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """``[#####.....] customers 3/5`` redrawn in place on ``stream`` (stderr)."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self._stream = stream
        self._width = width

    def __call__(self, step: str, done: int, total: int) -> None:
        filled = self._width * done // max(total, 1)
        bar = "#" * filled + "." * (self._width - filled)
        end = "\n" if done >= total else ""
        self._stream.write(f"\r[{bar}] {step:<10} {done}/{total}{end}")
        self._stream.flush()
