"""``bankcti bench fastagi``: our FastAGI server against panoramisk's, on the same Asterisk-playing client.

Processes, as in production, where Asterisk is another machine: the client
(:mod:`bankcti.bench.fastagi_client`) runs in the ``bankcti`` process itself, and every server runs in a
fresh child process of its own (:mod:`bankcti.bench.fastagi_server`), so the client's work never
competes inside the server's event loop.  Each round starts both servers one after the other — ours first
in even rounds, panoramisk first in odd ones, so neither always runs on a warmer or busier machine — and
runs the same phases against each:

* ``closed-N`` for each ``--sessions`` N: N sessions open at all times (one ending is replaced by a new
  one, until at least ``--min-commands`` commands have run), each command answered at once (closed
  loop, no think time): what the server sustains.  Here a command's turnaround is mostly waiting behind
  the other N − 1 sessions (Little's law: mean turnaround ≈ N / commands per second), so it is the
  throughput that compares the servers.
* ``paced-N`` (N the largest ``--sessions``): N sessions open at once, each reply held back as if Asterisk
  were playing a prompt, so that together they offer ``--paced-rate`` commands/s: the turnaround a call
  sees from a loaded server that keeps up.

Reported per phase and server: commands/s (median of the rounds), turnaround p50/p99/max (all rounds'
commands), the server process's CPU time per command (median of the rounds; the figure least disturbed by
other load on the machine), and the ratio ours / panoramisk of commands/s (median of the rounds' ratios).
Every session must get all its commands and every script must see the replies it expects, else the
command exits with 1.  ``--profile FILE`` adds one more run of our server under cProfile (not counted).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bankcti.bench.report import host_facts

__all__ = ["FastAgiBenchError", "run_fastagi_benchmark"]

GOAL_RATIO = 1.0
GOAL_P99_MS = 5.0
START_TIMEOUT = 30.0


class FastAgiBenchError(ValueError):
    """A size option the benchmark cannot use, or a server process that would not start."""


@dataclass(frozen=True)
class Phase:
    """One load shape run against every server: *sessions* at once, *total* in all."""

    name: str
    sessions: int
    commands: int
    think_ms: float
    total: int


class _ServerProcess:
    """A FastAGI server in a child process, driven over its stdin and stdout."""

    def __init__(self, kind: str, profile: Path | None = None) -> None:
        command = [sys.executable, "-m", "bankcti.bench.fastagi_server", kind]
        if profile is not None:
            command += ["--profile", str(profile)]
        self.kind = kind
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self._line().removeprefix("port "))

    def _line(self) -> str:
        stdout: IO[str] | None = self._process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            self._process.wait(START_TIMEOUT)
            raise FastAgiBenchError(f"the {self.kind} server process ended (exit {self._process.returncode})")
        return line.strip()

    def counters(self) -> dict[str, Any]:
        """Scripts finished/failed and CPU seconds used so far."""
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write("stats\n")
        stdin.flush()
        counters: dict[str, Any] = json.loads(self._line())
        return counters

    def stop(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _one_server(
    kind: str, phases: list[Phase], seed: int, timeout: float, profile: Path | None
) -> list[dict[str, Any]]:
    """Every phase against one fresh server process: the client's and the server's figures per phase."""
    from bankcti.bench.fastagi_client import run_phase

    server = _ServerProcess(kind, profile)
    runs = []
    try:
        before = server.counters()
        for phase in phases:
            seen = asyncio.run(
                run_phase(
                    server.port,
                    sessions=phase.sessions,
                    commands=phase.commands,
                    think_ms=phase.think_ms,
                    seed=seed,
                    time_limit=timeout,
                    total_sessions=phase.total,
                )
            )
            after = server.counters()
            runs.append(
                {
                    "client": seen,
                    "scripts_ok": after["scripts_ok"] - before["scripts_ok"],
                    "scripts_failed": after["scripts_failed"] - before["scripts_failed"],
                    "cpu_seconds": after["cpu_seconds"] - before["cpu_seconds"],
                }
            )
            before = after
    finally:
        server.stop()
    return runs


def _percentile(values: list[float], q: float) -> float:
    from bankcti.bench.pop import percentile

    return percentile(values, q) if values else 0.0


def _figures(phase: Phase, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One server's figures for one phase over all rounds."""
    millis = [ns / 1e6 for run in runs for ns in run["client"].samples_ns]
    first = [ns / 1e6 for run in runs for ns in run["client"].first_samples_ns]
    commands = [run["client"].commands for run in runs]
    rates = [
        run["client"].commands / run["client"].wall_seconds for run in runs if run["client"].wall_seconds
    ]
    cpu = [run["cpu_seconds"] * 1e6 / run["client"].commands for run in runs if run["client"].commands]
    expected = phase.total * phase.commands * len(runs)
    return {
        "commands": sum(commands),
        "expected_commands": expected,
        "complete_sessions": sum(run["client"].complete_sessions for run in runs),
        "scripts_ok": sum(run["scripts_ok"] for run in runs),
        "scripts_failed": sum(run["scripts_failed"] for run in runs),
        "unexpected_lines": sum(len(run["client"].unexpected) for run in runs),
        "failed_connects": sum(run["client"].failed_connects for run in runs),
        "timed_out_rounds": sum(run["client"].timed_out for run in runs),
        "commands_per_s": round(statistics.median(rates), 1) if rates else 0.0,
        "p50_ms": round(_percentile(millis, 50), 3),
        "p99_ms": round(_percentile(millis, 99), 3),
        "max_ms": round(max(millis, default=0.0), 3),
        "first_command_p50_ms": round(_percentile(first, 50), 3),
        "first_command_p99_ms": round(_percentile(first, 99), 3),
        "server_cpu_us_per_command": round(statistics.median(cpu), 1) if cpu else None,
    }


def _all_answered(figures: dict[str, Any], sessions: int) -> bool:
    return (
        figures["commands"] == figures["expected_commands"]
        and figures["complete_sessions"] == sessions
        and figures["scripts_ok"] == sessions
        and figures["scripts_failed"] == figures["unexpected_lines"] == figures["failed_connects"] == 0
        and figures["timed_out_rounds"] == 0
    )


def run_fastagi_benchmark(
    *,
    sessions: list[int],
    commands: int = 30,
    min_commands: int = 20_000,
    paced_commands: int = 10,
    paced_rate: float = 2000.0,
    rounds: int = 3,
    seed: int = 7,
    timeout: float = 120.0,
    json_path: Path | None = None,
    profile: Path | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Run the rounds, print the table (and write JSON); 1 unless every command of every session was
    answered by both servers, else 0."""
    if not sessions or min(sessions) < 1:
        raise FastAgiBenchError(f"--sessions must list counts of at least 1, got {sessions}")
    for name, value in (("commands", commands), ("paced-commands", paced_commands), ("rounds", rounds)):
        if value < 0 or (name != "paced-commands" and value < 1):
            raise FastAgiBenchError(
                f"--{name} must be at least {0 if name == 'paced-commands' else 1}, got {value}"
            )
    if paced_commands and paced_rate <= 0:
        raise FastAgiBenchError(f"--paced-rate must be positive, got {paced_rate}")
    # Enough sessions for min_commands: a phase of a few hundred milliseconds measures the machine's
    # other load more than the server.
    phases = [Phase(f"closed-{n}", n, commands, 0.0, max(n, -(-min_commands // commands))) for n in sessions]
    if paced_commands:
        largest = max(sessions)
        # Each session gives one command per think time: N sessions offer N / think commands per second.
        phases.append(
            Phase(f"paced-{largest}", largest, paced_commands, 1000 * largest / paced_rate, largest)
        )
    runs: dict[str, list[list[dict[str, Any]]]] = {"ours": [], "panoramisk": []}
    for round_no in range(rounds):
        order = ("ours", "panoramisk") if round_no % 2 == 0 else ("panoramisk", "ours")
        for kind in order:
            runs[kind].append(_one_server(kind, phases, seed + round_no, timeout, None))
    if profile is not None:
        heavy = [max(phases[: len(sessions)], key=lambda phase: phase.sessions)]
        _one_server("ours", heavy, seed, timeout, profile)
    result = _result(phases, runs, sessions, commands, paced_commands, paced_rate, rounds, seed)
    out(_table(result))
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        out(f"written: {json_path}")
    if profile is not None:
        out(f"profile of our server under {max(sessions)} sessions: {profile}")
    if not result["all_answered"]:
        out("some commands were not answered as expected (see commands, scripts_failed, unexpected_lines)")
    return 0 if result["all_answered"] else 1


def _result(
    phases: list[Phase],
    runs: dict[str, list[list[dict[str, Any]]]],
    sessions: list[int],
    commands: int,
    paced_commands: int,
    paced_rate: float,
    rounds: int,
    seed: int,
) -> dict[str, Any]:
    reported: list[dict[str, Any]] = []
    answered = True
    for index, phase in enumerate(phases):
        ours = _figures(phase, [server_runs[index] for server_runs in runs["ours"]])
        theirs = _figures(phase, [server_runs[index] for server_runs in runs["panoramisk"]])
        ratios = []
        for mine, other in zip(runs["ours"], runs["panoramisk"], strict=True):
            a, b = mine[index]["client"], other[index]["client"]
            if a.wall_seconds and b.wall_seconds and b.commands:
                ratios.append((a.commands / a.wall_seconds) / (b.commands / b.wall_seconds))
        cpu_ratios = []
        for mine, other in zip(runs["ours"], runs["panoramisk"], strict=True):
            a, b = mine[index]["client"], other[index]["client"]
            if a.commands and b.commands and mine[index]["cpu_seconds"] > 0:
                ours_cpu = mine[index]["cpu_seconds"] / a.commands
                cpu_ratios.append(other[index]["cpu_seconds"] / b.commands / ours_cpu)
        answered = (
            answered
            and _all_answered(ours, phase.total * rounds)
            and _all_answered(theirs, phase.total * rounds)
        )
        reported.append(
            {
                "phase": phase.name,
                "sessions": phase.sessions,
                "sessions_per_round": phase.total,
                "commands_per_session": phase.commands,
                "think_ms": round(phase.think_ms, 1),
                "ours": ours,
                "panoramisk": theirs,
                "ratio_commands_per_s": round(statistics.median(ratios), 2) if ratios else None,
                "ratios_per_round": [round(r, 2) for r in ratios],
                "cpu_per_command_panoramisk_over_ours": (
                    round(statistics.median(cpu_ratios), 2) if cpu_ratios else None
                ),
            }
        )
    closed = [p for p in reported if p["think_ms"] == 0]
    paced = [p for p in reported if p["think_ms"] > 0]
    largest = max(reported, key=lambda p: (p["sessions"], p["think_ms"]))
    return {
        "benchmark": "fastagi",
        "measured": "turnaround: client wrote the agi_* block or the previous reply -> client received the "
        "next command line; one client process, each server in a fresh process of its own",
        "sessions": sessions,
        "commands_per_session": commands,
        "paced_commands_per_session": paced_commands,
        "paced_rate": paced_rate,
        "rounds": rounds,
        "seed": seed,
        "phases": reported,
        "goal": {
            "ratio_at_least_1": all((p["ratio_commands_per_s"] or 0) >= GOAL_RATIO for p in closed),
            "p99_ms_at_largest": (paced or [largest])[0]["ours"]["p99_ms"],
            "p99_under_5ms": all(p["ours"]["p99_ms"] < GOAL_P99_MS for p in paced) if paced else None,
        },
        "all_answered": answered,
        "host": host_facts(),
    }


_COLUMNS = (
    ("commands_per_s", "cmds/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("max_ms", "max ms"),
    ("server_cpu_us_per_command", "cpu us/cmd"),
    ("commands", "commands"),
    ("scripts_ok", "scripts ok"),
)


def _table(result: dict[str, Any]) -> str:
    header = ["phase", "server", *(title for _, title in _COLUMNS), "cmds/s ours/pan.", "cpu/cmd pan./ours"]
    rows = [header]
    for phase in result["phases"]:
        for kind in ("ours", "panoramisk"):
            ratios = (
                [str(phase["ratio_commands_per_s"]), str(phase["cpu_per_command_panoramisk_over_ours"])]
                if kind == "ours"
                else ["", ""]
            )
            rows.append([phase["phase"], kind, *(str(phase[kind][key]) for key, _ in _COLUMNS), *ratios])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    goal = result["goal"]
    host = result["host"]
    lines += [
        "",
        f"{result['measured']}",
        f"goal ours/panoramisk >= {GOAL_RATIO} in every closed phase: {goal['ratio_at_least_1']}; "
        f"p99 < {GOAL_P99_MS} ms paced: {goal['p99_under_5ms']} ({goal['p99_ms_at_largest']} ms)",
        f"all commands answered by both servers: {result['all_answered']}",
        f"host: {host['date']}, {host['cpu']}, {host['cores']} cores, Python {host['python']}",
    ]
    return "\n".join(lines)
