"""The ``bankcti bench fastagi`` sub-command: its options and how it runs (:mod:`bankcti.bench.fastagi`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_fastagi_parser", "bench_fastagi"]


def add_fastagi_parser(bench_sub: Any) -> None:
    """Register ``fastagi`` under ``bankcti bench``."""
    parser = bench_sub.add_parser(
        "fastagi",
        help="FastAGI commands/s and turnaround p50/p99: our server against panoramisk's, same client",
    )
    parser.add_argument(
        "--sessions",
        default="50,1000",
        help="concurrent sessions of each closed-loop phase (default 50,1000)",
    )
    parser.add_argument("--commands", type=int, default=30, help="commands per session (default 30)")
    parser.add_argument(
        "--min-commands",
        type=int,
        default=20_000,
        help="commands each closed-loop phase runs at least, by starting new sessions (default 20000)",
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=2000.0,
        help="commands/s offered by the paced phase's sessions together (default 2000)",
    )
    parser.add_argument(
        "--paced-commands",
        type=int,
        default=10,
        help="commands per session of the paced phase, at the largest --sessions (default 10; 0: none)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds, each with a fresh process per server (default 3)"
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="seed of the paced phase's hold times (default 7)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds allowed per phase (default 120)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="also profile our server (cProfile) under the largest load",
    )
    parser.add_argument(
        "--json", type=Path, dest="json_path", metavar="FILE", help="also write the result as JSON"
    )


def bench_fastagi(args: argparse.Namespace) -> int:
    """``bankcti bench fastagi`` from its parsed options."""
    from bankcti.bench.fastagi import FastAgiBenchError, run_fastagi_benchmark

    try:
        sessions = [int(word) for word in args.sessions.split(",") if word.strip()]
    except ValueError:
        raise FastAgiBenchError(
            f"--sessions must be counts separated by commas, got {args.sessions!r}"
        ) from None
    return run_fastagi_benchmark(
        sessions=sessions,
        commands=args.commands,
        min_commands=args.min_commands,
        paced_commands=args.paced_commands,
        paced_rate=args.paced_rate,
        rounds=args.rounds,
        seed=args.seed,
        timeout=args.timeout,
        json_path=args.json_path,
        profile=args.profile,
    )
