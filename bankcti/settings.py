"""Settings: one validated object from ``config/bankcti.toml`` + ``BANKCTI_*`` env.

The TOML file has sections (``[http] port = 8080``); each key maps to a flat
field ``<section>_<key>`` (``http_port``) which is also the environment name
in upper case with the ``BANKCTI_`` prefix (``BANKCTI_HTTP_PORT``).  Precedence:
environment > the TOML file named by ``BANKCTI_CONFIG`` (or passed explicitly)
> the shipped defaults.  Any invalid or unknown key fails at start with a
message that names the key, never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["CONFIG_DIR", "Settings", "SettingsError", "load_settings"]

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(os.environ.get("BANKCTI_CONFIG_DIR", PROJECT_DIR / "config"))
ENV_PREFIX = "BANKCTI_"


class SettingsError(Exception):
    """Raised with a human message naming the offending key."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bankcti"


class Settings(BaseModel):
    """Every setting of one bankcti process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=default_data_dir)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # "text": one line per event with key=value fields; "json": one JSON object per line, for log shippers.
    log_format: Literal["text", "json"] = "text"

    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    http_session_ttl_seconds: int = Field(8 * 3600, ge=60)

    database_url: str = ""  # empty: SQLite file in data_dir

    mqtt_url: str = ""  # empty: in-process bus
    mqtt_topic_prefix: str = "bankcti"

    ami_enabled: bool = True
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(5038, ge=0, le=65535)
    ami_username: str = "bankcti"
    ami_secret: str = "bankcti-secret"
    ami_ping_interval: float = Field(5.0, gt=0)
    ami_ping_timeout: float = Field(3.0, gt=0)
    ami_reconnect_min: float = Field(0.5, gt=0)
    ami_reconnect_max: float = Field(30.0, gt=0)

    fastagi_host: str = "127.0.0.1"
    fastagi_port: int = Field(4573, ge=0, le=65535)

    phone_region: str = "CN"
    site_timezone: str = "Asia/Shanghai"
    ivr_menu_dir: Path = CONFIG_DIR / "ivr"
    ivr_entry_menu: str = "bank"
    ivr_ignore_business_hours: bool = False

    acd_ring_timeout: int = Field(15, ge=1, le=300)
    acd_wrapup_seconds: int = Field(10, ge=0, le=3600)
    acd_hold_poll_ms: int = Field(250, ge=20, le=5000)
    acd_moh_class: str = "default"
    acd_max_wait_seconds: int = Field(600, ge=5)
    acd_queue_file: Path = CONFIG_DIR / "queues.toml"
    acd_default_aht: float = Field(180.0, gt=0)
    acd_ivr_callback_queue: str = "general"

    jobs_enabled: bool = True

    simulator_enabled: bool = False
    simulator_call_interval: float = Field(8.0, gt=0)
    simulator_agent_answer_delay: float = Field(2.0, ge=0)
    simulator_talk_seconds: float = Field(20.0, ge=0)

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v

    @field_validator("phone_region")
    @classmethod
    def _region(cls, v: str) -> str:
        import phonenumbers

        v = v.upper()
        if v not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {v!r}")
        return v

    @field_validator("site_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)") from None
        return v

    @field_validator("database_url", "mqtt_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return v.strip()

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'bankcti.db'}"


def _flatten(data: dict[str, Any], source: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, body in data.items():
        if isinstance(body, dict):
            for key, value in body.items():
                if isinstance(value, dict):
                    raise SettingsError(f"{source}: [{section}] {key}: nested tables are not settings")
                flat[f"{section}_{key}"] = value
        else:
            flat[section] = body
    return flat


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return _flatten(tomllib.load(fh), str(path))
    except FileNotFoundError as exc:
        raise SettingsError(f"settings file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from exc


def _env_values(environ: dict[str, str]) -> dict[str, str]:
    names = set(Settings.model_fields)
    out: dict[str, str] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key in {"BANKCTI_CONFIG", "BANKCTI_CONFIG_DIR"}:
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name.startswith("test_"):
            continue  # test-suite variables, not service settings
        if name not in names:
            raise SettingsError(f"unknown setting in environment: {key}")
        out[name] = value
    return out


def load_settings(
    path: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build :class:`Settings`; raise :class:`SettingsError` naming the bad key."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    default_file = CONFIG_DIR / "bankcti.toml"
    if default_file.exists():
        values.update(_read_toml(default_file))
    chosen = path or (Path(environ["BANKCTI_CONFIG"]) if environ.get("BANKCTI_CONFIG") else None)
    if chosen is not None:
        values.update(_read_toml(chosen))
    values.update(_env_values(environ))
    values.update(overrides or {})
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise SettingsError(f"unknown setting: {unknown[0]}")
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "?"
        env_name = ENV_PREFIX + key.upper()
        raise SettingsError(f"invalid setting {key} (env {env_name}): {first['msg']}") from exc
