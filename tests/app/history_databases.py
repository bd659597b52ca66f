"""Scratch databases for the history tests: a SQLite file, or a fresh PostgreSQL database (dropped after)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy import make_url

POSTGRES_ENV = "BANKCTI_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def new_database_url(backend: str, directory: Path) -> str:
    """A URL for a database that does not exist yet (skips if PostgreSQL is not configured)."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{directory / f'history-{secrets.token_hex(4)}.db'}"
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL backend not tested")
    url = make_url(admin).set(database=f"bankcti_test_{secrets.token_hex(6)}")
    return url.render_as_string(hide_password=False)
