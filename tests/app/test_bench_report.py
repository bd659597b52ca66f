"""The README's benchmark tables are printed from the benchmarks' JSON, and held to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bankcti.bench.report import (
    BenchReportError,
    host_facts,
    render,
    render_section,
    replace_sections,
    section,
)
from bankcti.bench.tables import section_name

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
    grouped: dict[str, list[dict[str, Any]]] = {}
    for path in RESULTS:
        result = json.loads(path.read_text(encoding="utf-8"))
        grouped.setdefault(section_name(result), []).append(result)
    assert {"route", "pop", "analytics", "history"} <= set(grouped)
    for name, results in grouped.items():
        assert section(readme, name) == render_section(results) + "\n", (
            f"README's {name} table differs from docs/bench/: "
            f"run `bankcti bench report --readme README.md docs/bench/*.json`"
        )


def _steady_pop(agents: int, bus: str, p99: float) -> dict[str, Any]:
    return {
        "benchmark": "pop",
        "mode": "steady",
        "calls": 750,
        "rate": 50.0,
        "duration": 15.0,
        "agents": agents,
        "bus": bus,
        "pops": 750,
        "p50_ms": 3.25,
        "p95_ms": 6.0,
        "p99_ms": p99,
        "max_ms": 40.04,
        "pop_bytes": {"p50": 2051, "max": 2990},
        "pops_with_customer": 750,
        "pops_with_accounts": 749,
        "host": HOST,
    }


def test_steady_pops_share_one_table_one_row_each_with_the_goal_for_their_size() -> None:
    readme = "<!-- bench:pop-steady -->\n<!-- /bench:pop-steady -->\n"
    updated = replace_sections(
        readme, [_steady_pop(1000, "mqtt", 26.0), _steady_pop(300, "in-process", 8.04)]
    )
    body = section(updated, "pop-steady")
    assert body is not None
    rows = [line for line in body.splitlines() if line.startswith("| 50/s")]
    assert rows == [
        "| 50/s × 15 s | 300 | in-process | 750 | 749 | 2\u202f051 B | 3.2 ms | 8 ms | 40 ms "
        "| ≤ 10 ms: met |",
        "| 50/s × 15 s | 1\u202f000 | mqtt | 750 | 749 | 2\u202f051 B | 3.2 ms | 26 ms | 40 ms "
        "| ≤ 25 ms: **not met** |",
    ]
    assert body.count("Measured 2026-12-04") == 1  # one machine, said once
    # A burst run keeps its own section; two results for a one-result section are refused.
    assert section_name({**_steady_pop(300, "mqtt", 1.0), "mode": "burst"}) == "pop"
    with pytest.raises(BenchReportError, match="2 results"):
        render_section([_route(), _route()])


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
