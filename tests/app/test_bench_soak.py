"""`bankcti bench soak` as a user runs it, with tiny sizes, and the figures it derives from samples.

Real processes over real sockets (the service, the PBX simulator, the
agents' consoles); no timing or CPU figure is asserted, only that every
call placed was answered and recorded and that the result says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bankcti.bench.soak import Sample, SoakBenchError, agents_needed, summarise


def bench_soak(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKCTI_")}
    return subprocess.run(
        [sys.executable, "-m", "bankcti", "bench", "soak", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
        check=False,
    )


def test_bench_soak_records_every_call_and_reports_cpu_and_rss(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    args = ("--rate", "5", "--minutes", "0.1", "--agents", "4", "--customers", "20")
    done = bench_soak(*args, "--warmup", "1", "--sample-every", "1", "--json", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "service_cpu.percent_of_core" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert (result["benchmark"], result["rate"], result["agents"]) == ("soak", 5.0, 4)
    calls = result["calls"]
    assert calls["placed"] == 30
    assert calls["answered"] == 30
    assert calls["unfinished"] == 0
    assert result["interactions"]["written"] == 30
    assert result["interactions"]["lost"] == 0
    assert result["interactions"]["by_outcome"] == {"answered": 30}
    for name in ("service_cpu", "simulator_cpu"):
        figures = result[name]
        assert figures["percent_of_core"] > 0
        assert figures["ms_per_call"] > 0
        assert len(figures["per_minute_percent"]) == 1
    rss = result["service_rss"]
    assert rss["series_mib"][0] == rss["after_warmup_mib"] > 0
    assert rss["series_mib"][-1] == rss["end_mib"]
    assert isinstance(rss["growth_percent"], float)
    assert result["spool_bytes"]["after_stop"] == 0
    assert result["host"]["cores"]


def _sample(at: float, service_cpu: float, rss: float) -> Sample:
    return Sample(
        at=at, cpu={"service": service_cpu, "simulator": at / 10}, rss={"service": rss, "simulator": 50.0}
    )


def test_summarise_keeps_the_warmup_out_and_splits_cpu_by_minute() -> None:
    # 10 s samples over 3 minutes: the service uses half a core in the first 20 s, then a quarter.
    samples = [
        _sample(t, 10.0 + (t - 20) / 4 if t >= 20 else t / 2, 100.0 + t / 10) for t in range(0, 181, 10)
    ]
    figures = summarise(samples, warmup=20, until=180, calls_per_s=50)
    assert figures["steady_seconds"] == 160
    assert figures["service_cpu"]["percent_of_core"] == 25.0
    assert figures["service_cpu"]["ms_per_call"] == 5.0
    assert figures["service_cpu"]["per_minute_percent"] == [25.0, 25.0, 25.0]
    assert figures["simulator_cpu"]["percent_of_core"] == 10.0
    rss = figures["service_rss"]
    assert (rss["after_warmup_mib"], rss["end_mib"], rss["max_mib"]) == (102.0, 118.0, 118.0)
    assert rss["growth_percent"] == 15.7
    assert len(rss["series_mib"]) == 17


def test_summarise_refuses_a_steady_part_without_two_samples() -> None:
    with pytest.raises(SoakBenchError, match="fewer than two samples"):
        summarise([_sample(0, 0, 100), _sample(10, 5, 100)], warmup=10, until=10, calls_per_s=5)


def test_agents_cover_twice_the_offered_load() -> None:
    # 50 calls/s, each holding an agent (1 s ring + 2 s talk) / speed 5 = 0.6 s: 30 busy, 60 staffed.
    assert agents_needed(50, 5) == 60
    assert agents_needed(1, 5) == 10
