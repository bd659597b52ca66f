"""Fixtures of the fault tests: a private PostgreSQL cluster that a test stops and starts.

``pg`` is a :class:`~pg_cluster.PgCluster` of the test's own (never the
shared server), started, destroyed after the test whatever happens; the
tests skip, naming the reason, only when the PostgreSQL server binaries are
missing.  ``pg_db_url`` is a database on it, migrated to head.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fault_kit import new_database
from pg_cluster import PgCluster, pg_cluster


@pytest.fixture
def pg() -> Iterator[PgCluster]:
    with pg_cluster() as cluster:
        yield cluster


@pytest.fixture
async def pg_db_url(pg: PgCluster) -> str:
    return await new_database(pg)
