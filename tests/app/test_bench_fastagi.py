"""`bankcti bench fastagi` as a user runs it, tiny sizes: both servers answer every command, JSON, options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bankcti.bench.fastagi_client import REPLIES, env_block

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk"
SESSIONS, COMMANDS, PACED_COMMANDS, ROUNDS = (3, 8), 4, 2, 2


def bankcti(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bankcti", "bench", "fastagi", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def test_both_servers_answer_every_command_and_the_json_says_so(tmp_path: Path) -> None:
    out = tmp_path / "fastagi.json"
    done = bankcti(
        "--sessions",
        ",".join(map(str, SESSIONS)),
        "--commands",
        str(COMMANDS),
        "--min-commands",
        "40",
        "--paced-commands",
        str(PACED_COMMANDS),
        "--paced-rate",
        "400",
        "--rounds",
        str(ROUNDS),
        "--json",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for text in ("closed-3", "closed-8", "paced-8", "ours", "panoramisk", "cmds/s ours/pan.", "p99 ms"):
        assert text in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["benchmark"] == "fastagi"
    assert "next command line" in result["measured"]
    assert (result["sessions"], result["commands_per_session"], result["rounds"]) == (list(SESSIONS), 4, 2)
    assert [phase["phase"] for phase in result["phases"]] == ["closed-3", "closed-8", "paced-8"]
    # 40 commands at 4 a session: 10 sessions a round, the ones that end replaced by new ones.
    assert [phase["sessions_per_round"] for phase in result["phases"]] == [10, 10, 8]
    for phase in result["phases"]:
        expected_sessions = phase["sessions_per_round"] * ROUNDS
        for server in ("ours", "panoramisk"):
            figures = phase[server]
            # Every session got all its commands, and every script saw the replies it expected.
            assert figures["commands"] == figures["expected_commands"]
            assert figures["expected_commands"] == expected_sessions * phase["commands_per_session"]
            assert figures["complete_sessions"] == figures["scripts_ok"] == expected_sessions
            assert figures["scripts_failed"] == figures["unexpected_lines"] == figures["failed_connects"] == 0
            assert figures["timed_out_rounds"] == 0
            assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
            assert figures["commands_per_s"] > 0
            assert figures["server_cpu_us_per_command"] > 0
        assert len(phase["ratios_per_round"]) == ROUNDS
        assert phase["ratio_commands_per_s"] > 0 and phase["cpu_per_command_panoramisk_over_ours"] > 0
    assert [phase["think_ms"] > 0 for phase in result["phases"]] == [False, False, True]
    assert result["phases"][2]["commands_per_session"] == PACED_COMMANDS
    assert result["all_answered"] is True
    assert set(result["goal"]) == {"ratio_at_least_1", "p99_ms_at_largest", "p99_under_5ms"}
    assert {"date", "cpu", "cores", "python"} <= set(result["host"])


def test_bad_sizes_are_refused_in_one_line(tmp_path: Path) -> None:
    for args, option in ((["--sessions", "0"], "--sessions"), (["--rounds", "0"], "--rounds")):
        done = bankcti(*args, cwd=tmp_path)
        assert done.returncode == 1
        assert done.stderr.startswith("bankcti: ") and option in done.stderr
        assert "Traceback" not in done.stderr


def test_the_client_replies_what_asterisk_replied_in_the_recorded_traces() -> None:
    recorded = b"".join(path.read_bytes() for path in FIXTURES.glob("fastagi-*.txt"))
    for command, reply in REPLIES.items():
        assert reply in recorded, (command, reply)
    block = env_block(4573, 7, 20).decode()
    lines = block.split("\n")
    assert block.endswith("\n\n") and lines[0] == "agi_network: yes"
    assert "agi_network_script: bench" in lines and "agi_arg_1: 20" in lines
    assert all(line.startswith("agi_") and ": " in line for line in lines if line)
