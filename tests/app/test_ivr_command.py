"""``bankcti ivr check`` / ``bankcti ivr reload`` as a user runs them: exit status, one line, no traceback."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from bankcti.cli.main import main
from bankcti.pidfile import pid_line

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, menus: Path) -> Path:
    config = tmp_path / "bankcti.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nivr_menu_dir = "{menus}"\n', encoding="utf-8")
    return config


def test_check_default_menus_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ivr", "check"]) == 0
    assert "ok: " in capsys.readouterr().out


def test_check_refuses_a_bad_file_with_file_line_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "main.toml"
    text = (REPO / "config" / "ivr" / "bank.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace('type = "verify"', 'type = "verifyy"', 1), encoding="utf-8")
    line = bad.read_text(encoding="utf-8").splitlines().index('type = "verifyy"') + 1
    assert main(["ivr", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"bankcti: {bad}:{line}: node 'account-verify': unknown node type 'verifyy'"
    assert "Traceback" not in err


def test_check_of_several_files_and_a_missing_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "main.toml"
    shutil.copy(REPO / "config" / "ivr" / "bank.toml", good)
    assert main(["ivr", "check", str(good)]) == 0
    assert main(["ivr", "check", str(good), str(tmp_path / "nope.toml")]) == 1
    assert "nope.toml: no such menu file" in capsys.readouterr().err


def test_reload_without_a_running_service_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, REPO / "config" / "ivr")
    assert main(["--config", str(config), "ivr", "reload"]) == 1
    assert "no running service" in capsys.readouterr().err
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bankcti.pid").write_text("999999999\n")
    assert main(["--config", str(config), "ivr", "reload"]) == 1
    assert "is gone" in capsys.readouterr().err


def test_reload_signals_the_pid_in_the_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    received: list[int] = []
    previous = signal.signal(signal.SIGHUP, lambda sig, frame: received.append(sig))
    try:
        config = _config(tmp_path, REPO / "config" / "ivr")
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "bankcti.pid").write_text(pid_line())
        assert main(["--config", str(config), "ivr", "reload"]) == 0
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert received == [signal.SIGHUP]
    assert f"SIGHUP sent to process {os.getpid()}" in capsys.readouterr().out
