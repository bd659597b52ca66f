"""The garbage collector's settings for a process that runs the service for days.

Two costs of CPython's cyclic collector showed in the profiles of the
running service and of ``bankcti bench history``:

* its full passes walk every tracked object, and paused the event loop
  ~100 ms at a time (the tail of the screen-pop latency) — most of those
  objects are the modules, settings and caches the service holds for its
  whole life;
* its young passes ran every 700 allocations: with 50 calls in flight, 3 500
  of them in a 2 000-call history run.

:func:`settle_heap` collects once, freezes what survives (never walked
again) and makes young passes rarer.  ``bankcti bench history``
(PostgreSQL, 8 000 calls, 200 in flight, 4 lanes, one run each): no
tuning 865 interactions/s and 2.3 s in the collector; frozen 967/s, 1.3 s;
frozen and young passes every 10 000 allocations 1 044/s, 0.3 s.

The process owns this decision, not :class:`bankcti.app.Service`: a process
that starts and stops services (the test suite, a benchmark harness) would
otherwise freeze each earlier service's leftovers for good — cycles the
collector never looks at again, which grew the test run to ~1.8 GB.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]

#: Allocations between young passes (CPython's default is 700); the older generations keep their ratios.
YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Collect, freeze what is left (it lives for ever), and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
