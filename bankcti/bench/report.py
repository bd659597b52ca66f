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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bankcti.bench.tables import MANY, SECTIONS, figure, section_name

__all__ = [
    "BenchReportError",
    "host_facts",
    "render",
    "render_section",
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


def _where(result: Result) -> str:
    host = result.get("host")
    if not isinstance(host, Mapping):
        name = result.get("benchmark")
        raise BenchReportError(f"{name}: the result has no host facts (date, machine); run it again")
    memory = f", {figure(host.get('memory_gib'), 1)} GiB" if host.get("memory_gib") is not None else ""
    return (
        f"Measured {host.get('date')} on {host.get('cpu')} ({host.get('cores')} cores{memory}), "
        f"Python {host.get('python')}, {host.get('os')}."
    )


def render(result: Result) -> str:
    """The Markdown of one result: what was run, the table, and when and where."""
    return render_section([result])


def render_section(results: Sequence[Result]) -> str:
    """The Markdown of one README section from its results (see :func:`bankcti.bench.tables.section_name`)."""
    if not results:
        raise BenchReportError("no result to render")
    name = section_name(results[0])
    renderer = SECTIONS.get(name)
    if renderer is None:
        known = ", ".join(sorted({str(key).removesuffix("-steady") for key in SECTIONS}))
        raise BenchReportError(f"unknown benchmark {results[0].get('benchmark')!r}; known: {known}")
    if len(results) > 1 and name not in MANY:
        raise BenchReportError(f"{name}: {len(results)} results for a section that shows one; pass one file")
    try:
        lines = renderer(results)
    except (KeyError, TypeError) as exc:
        raise BenchReportError(f"{name}: the result lacks {exc}; was it written by this version?") from exc
    places = list(dict.fromkeys(_where(result) for result in results))
    return "\n".join([*lines, "", *places])


def _markers(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- bench:{re.escape(name)} -->\n)(.*?)(<!-- /bench:{re.escape(name)} -->)", re.S)


def replace_sections(readme: str, results: Sequence[Result]) -> str:
    """``readme`` with each result's section rewritten; every result must have its markers."""
    grouped: dict[str, list[Result]] = {}
    for result in results:
        grouped.setdefault(section_name(result), []).append(result)
    for name, group in grouped.items():
        match = _markers(name).search(readme)
        if match is None:
            raise BenchReportError(f"no <!-- bench:{name} --> … <!-- /bench:{name} --> section in the README")
        table = render_section(group)
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
        grouped: dict[str, list[Result]] = {}
        for result in results:
            grouped.setdefault(section_name(result), []).append(result)
        print("\n\n".join(render_section(group) for group in grouped.values()))
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
