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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

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
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client; none: the socket's peer.
    http_trusted_proxies: list[str] = Field(default_factory=list)
    # How long after a call (and its wrap-up) the agent who answered it may still open the caller's
    # record from their recent calls, read-only, though not its owner (0: only during call and wrap-up).
    http_recent_customer_access_minutes: int = Field(60, ge=0, le=24 * 60)
    # The supervisors' wallboard: the least time between two of its messages on one socket. A
    # queue event reaches the board within about this much plus the picture's build (ms each).
    http_wallboard_push_ms: int = Field(500, ge=100, le=60_000)

    database_url: str = ""  # empty: SQLite file in data_dir

    mqtt_url: str = ""  # empty: in-process bus; mqtts://host:8883 for TLS
    mqtt_topic_prefix: str = "bankcti"
    mqtt_ca_file: Path | None = None  # CA bundle the broker's certificate chains to (default: the system's)
    mqtt_cert_file: Path | None = None  # this client's certificate (PEM), for brokers that require one
    mqtt_key_file: Path | None = None  # its private key (PEM); empty: in mqtt_cert_file
    mqtt_check_hostname: bool = True  # the broker's certificate must name the URL's host

    ami_enabled: bool = True
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(5038, ge=0, le=65535)
    ami_username: str = "bankcti"
    ami_secret: str = "bankcti-secret"
    ami_ping_interval: float = Field(5.0, gt=0)
    ami_ping_timeout: float = Field(3.0, gt=0)
    # Reconnect timing (cti.ami.client): the first retry after reconnect_min; while Asterisk cannot be
    # reached at most reconnect_max apart (back within a second); links dying at once back off to flap_max.
    ami_reconnect_min: float = Field(0.5, gt=0)
    ami_reconnect_max: float = Field(0.8, gt=0)
    ami_flap_max: float = Field(30.0, gt=0)

    fastagi_host: str = "127.0.0.1"
    fastagi_port: int = Field(4573, ge=0, le=65535)

    phone_region: str = "CN"
    site_timezone: str = "Asia/Shanghai"
    ivr_menu_dir: Path = CONFIG_DIR / "ivr"
    ivr_entry_menu: str = "bank"
    ivr_ignore_business_hours: bool = False

    acd_ring_timeout: int = Field(15, ge=1, le=300)
    # Wrap-up of a queue that sets none (config/queues.toml), and of calls of no queue.
    acd_wrapup_seconds: int = Field(60, ge=0, le=3600)
    acd_hold_poll_ms: int = Field(250, ge=20, le=5000)
    # How long the phone may wait for the agent's console to show the pop (0: not at all).
    acd_pop_ack_wait_ms: int = Field(300, ge=0, le=5000)
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

    @field_validator("mqtt_ca_file", "mqtt_cert_file", "mqtt_key_file", mode="before")
    @classmethod
    def _optional_path(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("http_trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, v: object) -> object:
        import ipaddress

        items = [p.strip() for p in v.split(",")] if isinstance(v, str) else v
        if not isinstance(items, list):
            return v
        proxies = [str(p).strip() for p in items if str(p).strip()]
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or network") from None
        return proxies

    @field_validator("mqtt_ca_file", "mqtt_cert_file", "mqtt_key_file")
    @classmethod
    def _tls_file(cls, v: Path | None, info: ValidationInfo) -> Path | None:
        if v is None:
            return v
        if not str(info.data.get("mqtt_url", "")).startswith("mqtts://"):
            raise ValueError("is set but the mqtt url is not mqtts://host:port: TLS would not be used")
        if info.field_name == "mqtt_key_file" and info.data.get("mqtt_cert_file") is None:
            raise ValueError("needs mqtt cert_file (the certificate this key belongs to)")
        if not v.is_file():
            raise ValueError(f"{v}: no such file")
        return v

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
