"""`bankcti bench pop` as a user runs it, with tiny sizes: steady arrivals and a burst, full-record pops.

Real processes over real sockets (the service, the PBX simulator, the
agents' client processes); no timing is asserted, only that every call
popped, that each pop carried the seeded customer's card, its accounts,
follow-ups and IVR path, and that the result says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MQTT_ENV = "BANKCTI_TEST_MQTT_URL"


def bench_pop(*args: str, cwd: Path, mqtt_url: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKCTI_")}
    env["BANKCTI_MQTT_URL"] = mqtt_url
    return subprocess.run(
        [sys.executable, "-m", "bankcti", "bench", "pop", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
        check=False,
    )


def _assert_full_pops(result: dict[str, object], calls: int) -> None:
    assert result["pops"] == calls
    for key in ("pops_with_customer", "pops_with_accounts", "pops_with_follow_ups", "pops_with_ivr_path"):
        assert result[key] == calls, key
    sizes = result["pop_bytes"]
    assert isinstance(sizes, dict)
    assert 0 < sizes["p50"] <= sizes["max"]
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        assert isinstance(result[key], float)
    assert result["answered"] == calls


def test_bench_pop_steady_rate_pops_full_records(tmp_path: Path) -> None:
    out = tmp_path / "pop.json"
    args = ("--rate", "4", "--duration", "1", "--agents", "3", "--client-processes", "2", "--json", str(out))
    done = bench_pop(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "pop_bytes.p50" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert (result["benchmark"], result["mode"], result["bus"]) == ("pop", "steady", "in-process")
    assert (result["calls"], result["rate"], result["duration"], result["agents"]) == (4, 4.0, 1.0, 3)
    assert result["client_processes"] == 2
    _assert_full_pops(result, 4)


def test_bench_pop_burst_over_mqtt(tmp_path: Path) -> None:
    url = os.environ.get(MQTT_ENV)
    if not url:
        pytest.skip(f"{MQTT_ENV} is not set: this run needs a broker")
    out = tmp_path / "pop.json"
    done = bench_pop("--calls", "3", "--agents", "2", "--json", str(out), cwd=tmp_path, mqtt_url=url)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert (result["mode"], result["bus"], result["calls"], result["rate"]) == ("burst", "mqtt", 3, None)
    assert result["client_processes"] == 1
    _assert_full_pops(result, 3)


def test_bench_pop_refuses_a_rate_without_a_duration(tmp_path: Path) -> None:
    done = bench_pop("--rate", "5", "--agents", "1", cwd=tmp_path)
    assert done.returncode == 1
    assert "--rate and --duration go together" in done.stderr
    assert "Traceback" not in done.stderr
