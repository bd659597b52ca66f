"""``python -m bankcti.bench.soak_probe OUT``: ``bankcti serve`` tracing memory, for ``bench soak``.

It tells a leak from a warm-up: :mod:`tracemalloc` traces the service's
allocations from the start; a first ``SIGUSR2`` (sent by the benchmark when
the warm-up ends) takes the first snapshot and counts the live objects by
type, a second one (when the last call is placed) does it again, and the
biggest growths between the two, by source line and by type, are written
to ``OUT`` as JSON lines (then ``{"written": OUT}`` is printed on stdout).
A structure keyed by call that is never emptied shows as a line, and a
type, whose growth follows the number of calls.  (``SIGUSR1`` is the
service's own: it reloads the agents.)
Tracing slows the service: its CPU figures are not comparable with a run
without it.
"""

from __future__ import annotations

import gc
import json
import runpy
import signal
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType

__all__ = ["MemoryProbe", "main"]

TOP = 40  # source lines written


class MemoryProbe:
    """Two snapshots on two signals; the growth between them written to ``out``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._first: tracemalloc.Snapshot | None = None
        self._types: Counter[str] = Counter()

    def mark(self, _signum: int, _frame: FrameType | None) -> None:
        """The first signal: the first snapshot; the second: the growths, written."""
        if self._first is None:
            self._first = tracemalloc.take_snapshot()
            self._types = _live_types()
            return
        growth = tracemalloc.take_snapshot().compare_to(self._first, "lineno")
        types = _live_types()
        types.subtract(self._types)
        rows = [
            {
                "where": str(stat.traceback[0]),
                "growth_kib": round(stat.size_diff / 1024, 1),
                "size_kib": round(stat.size / 1024, 1),
                "blocks_growth": stat.count_diff,
            }
            for stat in growth[:TOP]
        ]
        rows += [{"type": name, "objects_growth": n} for name, n in types.most_common(TOP) if n > 0]
        self.out.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        print(json.dumps({"written": str(self.out)}), flush=True)


def _live_types() -> Counter[str]:
    """The objects the collector tracks, counted by type, after a full collection."""
    gc.collect()
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


def main() -> int:
    probe = MemoryProbe(Path(sys.argv[1]))
    tracemalloc.start(1)
    signal.signal(signal.SIGUSR2, probe.mark)
    # Exactly what ``python -m bankcti serve`` runs (the benchmarks do not import the CLI).
    sys.argv = ["bankcti", "serve"]
    try:
        runpy.run_module("bankcti", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
