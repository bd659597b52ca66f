"""End-to-end fixtures: a migrated database (SQLite / PostgreSQL) and a bus (in-process / MQTT)."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from bankcti.bus import EventBus, InProcessBus, MqttBus
from crm_core.db import drop_database, upgrade

POSTGRES_ENV = "BANKCTI_TEST_POSTGRES_URL"
MQTT_ENV = "BANKCTI_TEST_MQTT_URL"


def database_url(backend: str, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{directory / 'e2e.db'}"
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL variant not run")
    return (
        make_url(admin)
        .set(database=f"bankcti_e2e_{secrets.token_hex(6)}")
        .render_as_string(hide_password=False)
    )


def event_bus(kind: str) -> EventBus:
    if kind == "inprocess":
        return InProcessBus()
    url = os.environ.get(MQTT_ENV)
    if not url:
        pytest.skip(f"{MQTT_ENV} is not set: MQTT variant not run")
    return MqttBus(url, topic_prefix=f"bankcti-e2e-{uuid.uuid4().hex[:8]}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    url = database_url(request.param, tmp_path)
    await upgrade(url)
    yield url
    await drop_database(url)


@pytest.fixture(params=["inprocess", pytest.param("mqtt", marks=pytest.mark.mqtt)])
def bus(request: pytest.FixtureRequest) -> EventBus:
    return event_bus(request.param)
