"""The README's screenshots come from the browser tests, copied only when asked.

A test run must leave the tree as it found it (a fresh clone's ``make test`` would otherwise modify
tracked PNGs on every run), so the copy to ``docs/screenshots/`` happens only with
``BANKCTI_TEST_UPDATE_SCREENSHOTS=1``; the screenshots themselves are always in ``tests/browser/artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["DOCS", "publish"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def publish(shot: Path, name: str | None = None) -> None:
    """Copy ``shot`` to ``docs/screenshots/`` (as ``name``) when screenshots are being refreshed."""
    if os.environ.get("BANKCTI_TEST_UPDATE_SCREENSHOTS") != "1":
        return
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, DOCS / (name or shot.name))
