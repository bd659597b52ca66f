"""Benchmark results as Markdown: the README's figures are printed from the benchmarks' JSON, never typed.

Every benchmark writes its result with :func:`host_facts` (date, processor, cores, memory, Python), so a
table always says when and where it was measured.  ``bankcti bench report FILE.json …`` prints the tables;
with ``--readme README.md`` it rewrites each table in place between the markers
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` (NAME is the result's ``benchmark``), so refreshing the
README after a run is one command, and a test holds the README to the JSON kept in ``docs/bench/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "BenchReportError",
    "host_facts",
    "render",
    "replace_sections",
    "report_command",
    "section",
    "table_rows",
]

Result = Mapping[str, Any]


class BenchReportError(Exception):
    """A result file or README that cannot be reported on (the message says why)."""


def host_facts() -> dict[str, Any]:
    """When and on what a benchmark ran: UTC date, processor, cores, memory, Python, OS."""
    return {
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def table_rows(result: Result) -> list[tuple[str, str]]:
    """A result as ``(key, value)`` rows for a plain terminal table; nested objects as ``key.sub``."""
    rows: list[tuple[str, str]] = []
    for key, value in result.items():
        if isinstance(value, Mapping):
            rows += [(f"{key}.{sub}", str(inner)) for sub, inner in value.items()]
        else:
            rows.append((key, str(value)))
    return rows


def _n(value: Any, digits: int = 3) -> str:
    """A figure as the README shows it: thin-space thousands, at most ``digits`` decimals, no trailing 0."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f")
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{round(value):,}".replace(",", "\u202f")
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
        return text or "0"
    return str(value)


def _where(result: Result) -> str:
    host = result.get("host")
    if not isinstance(host, Mapping):
        name = result.get("benchmark")
        raise BenchReportError(f"{name}: the result has no host facts (date, machine); run it again")
    memory = f", {_n(host.get('memory_gib'), 1)} GiB" if host.get("memory_gib") is not None else ""
    return (
        f"Measured {host.get('date')} on {host.get('cpu')} ({host.get('cores')} cores{memory}), "
        f"Python {host.get('python')}, {host.get('os')}."
    )


def _route(result: Result) -> list[str]:
    fast, slow = result["indexed"], result["naive"]
    return [
        f"`bankcti bench route --agents {result['agents']} --skills {result['skills']} "
        f"--queues {result['queues']} --events {result['events']} --seed {result['seed']}`: "
        f"{_n(fast['decisions'])} routing decisions, {_n(result['offers'])} offers, "
        f"same decisions from both selectors: {_n(result['same_decisions'])}.",
        "",
        "| selector | decisions/s | p50 | p99 |",
        "|---|---|---|---|",
        f"| indexed router | {_n(fast['decisions_per_s'])} | {_n(fast['p50_ms'])} ms "
        f"| {_n(fast['p99_ms'])} ms |",
        f"| naive full scan (reference) | {_n(slow['decisions_per_s'])} | {_n(slow['p50_ms'])} ms "
        f"| {_n(slow['p99_ms'])} ms |",
        "",
        f"The router decides {_n(result['ratio']['decisions_per_s_indexed_over_naive'], 1)}× faster than "
        f"the full scan; p99 {_n(result['ratio']['p99_naive_over_indexed'], 1)}× lower.",
    ]


def _pop(result: Result) -> list[str]:
    return [
        f"`bankcti bench pop --calls {result['calls']} --agents {result['agents']}` ({result['bus']} bus): "
        f"{_n(result['pops'])} pops, agent assigned → pop received in the agent's websocket client.",
        "",
        "| pops | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|",
        f"| {_n(result['pops'])} | {_n(result['p50_ms'], 1)} ms | {_n(result['p95_ms'], 1)} ms "
        f"| {_n(result['p99_ms'], 1)} ms | {_n(result['max_ms'], 1)} ms |",
        *_ring_after_pop(result.get("ring_after_pop")),
    ]


def _ring_after_pop(ring: Any) -> list[str]:
    """Pop received → phone rings (results measured before it existed have none: nothing is shown)."""
    if not isinstance(ring, Mapping) or not ring.get("pairs"):
        return []
    return [
        "",
        f"Pop received → the agent's phone starts ringing (`DialBegin`), {_n(ring['pairs'])} pops: "
        f"min {_n(ring['min_ms'], 1)} ms, p50 {_n(ring['p50_ms'], 1)} ms, p95 {_n(ring['p95_ms'], 1)} ms, "
        f"max {_n(ring['max_ms'], 1)} ms; phone first: {_n(ring['rang_first'])}.",
    ]


def _analytics(result: Result) -> list[str]:
    return [
        f"`bankcti bench analytics --transactions {result['transactions']}` on PostgreSQL "
        f"({_n(result['customers'])} customers):",
        "",
        "| transactions | fill | segmentation | goal |",
        "|---|---|---|---|",
        f"| {_n(result['transactions'])} | {_n(result['fill_seconds'], 2)} s | "
        f"{_n(result['segment_seconds'], 2)} s | < {_n(result['goal_seconds'])} s "
        f"({'met' if result['goal_met'] else 'missed'}) |",
    ]


_RENDERERS: dict[str, Callable[[Result], list[str]]] = {"route": _route, "pop": _pop, "analytics": _analytics}


def render(result: Result) -> str:
    """The Markdown of one result: what was run, the table, and when and where."""
    name = result.get("benchmark")
    renderer = _RENDERERS.get(str(name))
    if renderer is None:
        raise BenchReportError(f"unknown benchmark {name!r}; known: {', '.join(sorted(_RENDERERS))}")
    try:
        lines = renderer(result)
    except (KeyError, TypeError) as exc:
        raise BenchReportError(f"{name}: the result lacks {exc}; was it written by this version?") from exc
    return "\n".join([*lines, "", _where(result)])


def _markers(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- bench:{re.escape(name)} -->\n)(.*?)(<!-- /bench:{re.escape(name)} -->)", re.S)


def replace_sections(readme: str, results: Sequence[Result]) -> str:
    """``readme`` with each result's section rewritten; every result must have its markers."""
    for result in results:
        name = str(result.get("benchmark"))
        match = _markers(name).search(readme)
        if match is None:
            raise BenchReportError(f"no <!-- bench:{name} --> … <!-- /bench:{name} --> section in the README")
        table = render(result)
        readme = f"{readme[: match.start(2)]}{table}\n{readme[match.end(2) :]}"
    return readme


def section(readme: str, name: str) -> str | None:
    """The text between one benchmark's markers (without them), or ``None``."""
    match = _markers(name).search(readme)
    return match.group(2) if match else None


def load_result(path: Path) -> dict[str, Any]:
    """One benchmark's JSON result, or a :class:`BenchReportError` naming the file."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchReportError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BenchReportError(f"{path}: not a benchmark result (invalid JSON: {exc})") from None
    if not isinstance(result, dict) or "benchmark" not in result:
        raise BenchReportError(f"{path}: not a benchmark result (no 'benchmark' key)")
    return result


def report_command(paths: list[Path], readme: Path | None) -> int:
    """``bankcti bench report``: print the tables, or rewrite them in ``readme`` (all checked first)."""
    results = [load_result(path) for path in paths]
    if readme is None:
        print("\n\n".join(render(result) for result in results))
        return 0
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as exc:
        raise BenchReportError(f"{readme}: {exc.strerror or exc}") from None
    updated = replace_sections(text, results)
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    print(f"{readme}: {len(results)} table(s) {'refreshed' if updated != text else 'already current'}")
    return 0
