"""The README's benchmark tables are printed from the benchmarks' JSON, and held to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bankcti.bench.report import BenchReportError, host_facts, render, replace_sections, section

REPO = Path(__file__).resolve().parents[2]
RESULTS = sorted((REPO / "docs" / "bench").glob("*.json"))
HOST = {
    "date": "2026-12-04",
    "cpu": "Test CPU @ 2.00GHz",
    "cores": 2,
    "memory_gib": 23.5,
    "python": "3.11.7",
    "os": "Linux 6.1 x86_64",
}


def _route() -> dict[str, Any]:
    return {
        "benchmark": "route",
        "agents": 2000,
        "skills": 50,
        "queues": 100,
        "events": 20000,
        "seed": 5,
        "offers": 4021,
        "indexed": {"decisions": 16046, "decisions_per_s": 146012.4, "p50_ms": 0.0061, "p99_ms": 0.0694},
        "naive": {"decisions_per_s": 2790.0, "p50_ms": 1.51, "p99_ms": 10.2},
        "ratio": {"decisions_per_s_indexed_over_naive": 52.33, "p99_naive_over_indexed": 147.0},
        "same_decisions": True,
        "host": HOST,
    }


def test_route_table_written_by_hand() -> None:
    assert render(_route()).splitlines() == [
        "`bankcti bench route --agents 2000 --skills 50 --queues 100 --events 20000 --seed 5`: "
        "16\u202f046 routing decisions, 4\u202f021 offers, same decisions from both selectors: yes.",
        "",
        "| selector | decisions/s | p50 | p99 |",
        "|---|---|---|---|",
        "| indexed router | 146\u202f012 | 0.006 ms | 0.069 ms |",
        "| naive full scan (reference) | 2\u202f790 | 1.51 ms | 10.2 ms |",
        "",
        "The router decides 52.3× faster than the full scan; p99 147× lower.",
        "",
        "Measured 2026-12-04 on Test CPU @ 2.00GHz (2 cores, 23.5 GiB), Python 3.11.7, Linux 6.1 x86_64.",
    ]


def test_a_result_without_host_facts_is_refused() -> None:
    result = _route()
    del result["host"]
    with pytest.raises(BenchReportError, match="no host facts"):
        render(result)


def test_unknown_benchmark_is_refused() -> None:
    with pytest.raises(BenchReportError, match="unknown benchmark 'nope'"):
        render({"benchmark": "nope", "host": HOST})


def test_sections_are_replaced_between_their_markers_only() -> None:
    readme = "# Title\n\n<!-- bench:route -->\nold table\n<!-- /bench:route -->\n\nafter\n"
    updated = replace_sections(readme, [_route()])
    assert updated.startswith("# Title\n\n<!-- bench:route -->\n`bankcti bench route")
    assert updated.endswith("Linux 6.1 x86_64.\n<!-- /bench:route -->\n\nafter\n")
    assert "old table" not in updated
    assert replace_sections(updated, [_route()]) == updated  # refreshing twice changes nothing
    with pytest.raises(BenchReportError, match="no <!-- bench:route -->"):
        replace_sections("# no markers\n", [_route()])


def test_host_facts_name_the_machine() -> None:
    facts = host_facts()
    assert facts["cores"] and facts["cores"] >= 1
    assert facts["cpu"] and facts["python"].count(".") == 2
    assert len(facts["date"]) == 10


def test_the_readme_shows_exactly_the_committed_results() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    names = {json.loads(path.read_text(encoding="utf-8"))["benchmark"] for path in RESULTS}
    assert {"route", "pop", "analytics"} <= names
    for path in RESULTS:
        result = json.loads(path.read_text(encoding="utf-8"))
        assert section(readme, result["benchmark"]) == render(result) + "\n", (
            f"README's {result['benchmark']} table differs from {path.name}: "
            f"run `bankcti bench report --readme README.md docs/bench/*.json`"
        )


def _bankcti(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bankcti", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_report_command_rewrites_a_readme(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench:route -->\n<!-- /bench:route -->\n", encoding="utf-8")
    result = tmp_path / "route.json"
    result.write_text(json.dumps(_route()), encoding="utf-8")
    done = _bankcti("bench", "report", "--readme", str(readme), str(result))
    assert done.returncode == 0, done.stderr
    expected = f"intro\n<!-- bench:route -->\n{render(_route())}\n<!-- /bench:route -->\n"
    assert readme.read_text(encoding="utf-8") == expected
    printed = _bankcti("bench", "report", str(result))
    assert printed.returncode == 0 and printed.stdout == render(_route()) + "\n"
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    failed = _bankcti("bench", "report", str(broken))
    assert failed.returncode != 0 and "broken.json" in failed.stderr and "Traceback" not in failed.stderr
