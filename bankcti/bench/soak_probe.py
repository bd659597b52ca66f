"""``python -m bankcti.bench.soak_probe OUT``: ``bankcti serve`` tracing memory, for ``bench soak``.

It tells a leak from a warm-up: :mod:`tracemalloc` traces the service's
allocations from the start; ``SIGUSR1`` (sent by the benchmark when the
warm-up ends) takes the first snapshot, ``SIGUSR2`` (when the last call is
placed) the second, and the biggest growths between the two, by source
line, are written to ``OUT`` as JSON lines (then ``{"written": OUT}`` is
printed on stdout).  A structure keyed by call that
is never emptied shows as a line whose growth follows the number of calls.
Tracing slows the service: its CPU figures are not comparable with a run
without it.
"""

from __future__ import annotations

import json
import runpy
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

__all__ = ["MemoryProbe", "main"]

TOP = 40  # source lines written


class MemoryProbe:
    """Two snapshots on two signals; the growth between them written to ``out``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._first: tracemalloc.Snapshot | None = None

    def first(self, _signum: int, _frame: FrameType | None) -> None:
        self._first = tracemalloc.take_snapshot()

    def second(self, _signum: int, _frame: FrameType | None) -> None:
        if self._first is None:
            return
        growth = tracemalloc.take_snapshot().compare_to(self._first, "lineno")
        rows = [
            {
                "where": str(stat.traceback[0]),
                "growth_kib": round(stat.size_diff / 1024, 1),
                "size_kib": round(stat.size / 1024, 1),
                "blocks_growth": stat.count_diff,
            }
            for stat in growth[:TOP]
        ]
        self.out.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        print(json.dumps({"written": str(self.out)}), flush=True)


def main() -> int:
    probe = MemoryProbe(Path(sys.argv[1]))
    tracemalloc.start(1)
    signal.signal(signal.SIGUSR1, probe.first)
    signal.signal(signal.SIGUSR2, probe.second)
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
