"""Settings: TOML file + BANKCTI_* environment, errors that name the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bankcti.cli.main import main
from bankcti.settings import SettingsError, load_settings


def test_defaults_come_from_the_shipped_file() -> None:
    settings = load_settings(environ={})
    assert settings.http_port == 8080
    assert settings.fastagi_port == 4573
    assert settings.phone_region == "CN"
    assert settings.mqtt_url == ""
    assert settings.effective_database_url().startswith("sqlite+aiosqlite:///")


def test_environment_overrides_file(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[http]\nport = 9000\n[ami]\nhost = "10.1.2.3"\n')
    settings = load_settings(
        site,
        environ={
            "BANKCTI_HTTP_PORT": "9100",
            "BANKCTI_DATABASE_URL": "postgresql+asyncpg://u@db/bankcti",
            "BANKCTI_MQTT_URL": "mqtt://broker:1883",
            "BANKCTI_AMI_SECRET": "s",
        },
    )
    assert settings.http_port == 9100
    assert settings.ami_host == "10.1.2.3"
    assert settings.ami_secret == "s"
    assert settings.effective_database_url() == "postgresql+asyncpg://u@db/bankcti"
    assert settings.mqtt_url == "mqtt://broker:1883"


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({"BANKCTI_HTTP_PORT": "eighty"}, "http_port"),
        ({"BANKCTI_HTTP_PORT": "70000"}, "http_port"),
        ({"BANKCTI_PHONE_REGION": "XX"}, "phone_region"),
        ({"BANKCTI_AMI_PORTT": "1"}, "BANKCTI_AMI_PORTT"),
        ({"BANKCTI_ACD_RING_TIMEOUT": "0"}, "acd_ring_timeout"),
        ({"BANKCTI_LOG_FORMAT": "jsn"}, "log_format"),
        ({"BANKCTI_LOG_LEVEL": "LOUD"}, "log_level"),
    ],
)
def test_invalid_settings_name_the_key(environ: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        load_settings(environ=environ)


def test_bad_file_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[http\nport = 1\n")
    with pytest.raises(SettingsError, match=r"broken\.toml"):
        load_settings(broken, environ={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[http]\nprot = 1\n")
    with pytest.raises(SettingsError, match="http_prot"):
        load_settings(unknown, environ={})


def test_cli_reports_bad_settings_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BANKCTI_HTTP_PORT", "not-a-port")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "http_port" in err and "BANKCTI_HTTP_PORT" in err
    assert "Traceback" not in err


def test_db_upgrade_creates_sqlite_in_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANKCTI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # works from any directory
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "data" / "bankcti.db").exists()


def test_json_log_format_writes_one_object_per_line(tmp_path: Path) -> None:
    env = {**os.environ, "BANKCTI_LOG_FORMAT": "json", "BANKCTI_LOG_LEVEL": "INFO"}
    done = subprocess.run(
        [sys.executable, "-m", "bankcti", "ivr", "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    loaded = [r for r in records if r["event"] == "ivr.menus_loaded"]
    assert loaded and {"ts", "level", "logger", "menus"} <= set(loaded[0])
    assert loaded[0]["level"] == "info"
