"""`bankcti bench route` as a user runs it, with small sizes: table, JSON, agreement, bad options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bankcti.bench.route import build_world

ARGS = ["--agents", "60", "--skills", "12", "--queues", "8", "--events", "1500"]


def bankcti(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bankcti", "bench", "route", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def test_bench_route_prints_both_selectors_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "route.json"
    done = bankcti(*ARGS, "--json", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for row in ("indexed.p99_ms", "naive.p99_ms", "ratio.p99_naive_over_indexed", "same_decisions"):
        assert row in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["benchmark"] == "route"
    assert "Router.agents_for" in result["measured"]
    assert (result["agents"], result["skills"], result["queues"], result["events"]) == (60, 12, 8, 1500)
    assert result["same_decisions"] is True
    assert result["offers"] > 50
    # Same workload, so the same number of decisions; every decision was timed for both.
    assert result["indexed"]["decisions"] == result["naive"]["decisions"] > result["offers"] // 2
    for side in ("indexed", "naive"):
        figures = result[side]
        assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
        assert figures["decisions_per_s"] > 0
        assert figures["operation"]["operations"] >= result["offers"]
    assert result["ratio"]["p99_naive_over_indexed"] is not None


def test_the_run_is_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for path in (first, second):
        assert bankcti(*ARGS, "--events", "400", "--json", str(path), cwd=tmp_path).returncode == 0
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    assert (a["offers"], a["indexed"]["decisions"]) == (b["offers"], b["indexed"]["decisions"])


def test_world_shape() -> None:
    world = build_world(5, agents=300, skills=50, queues=100)
    assert len(world.queues) == 100 and len(world.agents) == 300
    assert all(1 <= len(q.skills) <= 2 for q in world.queues)
    assert all(
        3 <= len(skills) <= 8 and set(skills.values()) <= {1, 2, 3, 4, 5} for _, _, skills in world.agents
    )
    for login, served, skills in world.agents:
        assert served == {q.name for q in world.queues if q.skills <= skills.keys()}, login
    assert all(any(q.name in served for _, served, _ in world.agents) for q in world.queues)


def test_bad_size_is_one_clear_line(tmp_path: Path) -> None:
    done = bankcti("--agents", "0", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == "bankcti: --agents must be at least 1, got 0"
