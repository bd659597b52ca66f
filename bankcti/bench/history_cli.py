"""The ``bankcti bench history`` sub-command: its options and how it runs (:mod:`bankcti.bench.history`)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bankcti.settings import Settings

__all__ = ["add_history_parser", "bench_history"]


def add_history_parser(bench_sub: Any) -> None:
    """Register ``history`` under ``bankcti bench``."""
    history = bench_sub.add_parser(
        "history",
        help="interactions/s through the follow-up history write path (SQLite, PostgreSQL) "
        "against a plain-driver executemany of the same rows",
    )
    history.add_argument(
        "--calls", type=int, default=2000, help="calls of the throughput phase (default 2000)"
    )
    history.add_argument("--concurrency", type=int, default=50, help="calls in flight (default 50)")
    history.add_argument("--rate", type=float, default=50.0, help="calls/s of the steady phase (default 50)")
    history.add_argument(
        "--duration", type=float, default=10.0, help="seconds of the steady phase (default 10; 0: none)"
    )
    history.add_argument(
        "--backends", default="sqlite,postgresql", help="sqlite, postgresql or both (default both)"
    )
    history.add_argument(
        "--postgres",
        metavar="URL",
        help="PostgreSQL server for a scratch database, created and dropped (default: database_url)",
    )
    history.add_argument(
        "--max-batch", type=int, default=500, help="writes per group commit (1: one transaction per step)"
    )
    history.add_argument(
        "--json", type=Path, dest="json_path", metavar="FILE", help="also write the result as JSON"
    )


def bench_history(args: argparse.Namespace, settings: Settings) -> int:
    from bankcti.bench.history import run_history_benchmark
    from bankcti.heap import settle_heap

    configured = settings.database_url if (settings.database_url or "").startswith("postgresql") else None
    postgres = args.postgres or configured
    settle_heap()  # as `bankcti serve` does once started: measured in the same kind of process
    return asyncio.run(
        run_history_benchmark(
            postgres_url=postgres,
            backends=[name.strip() for name in args.backends.split(",") if name.strip()],
            calls=args.calls,
            concurrency=args.concurrency,
            rate=args.rate,
            duration=args.duration,
            json_path=args.json_path,
            max_batch=args.max_batch,
        )
    )
