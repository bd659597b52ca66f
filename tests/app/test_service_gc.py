"""Starting a service in a process that outlives it freezes nothing: its garbage stays collectable."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from bankcti.app import Service
from bankcti.settings import load_settings
from crm_core.db import upgrade


class _Node:
    def __init__(self) -> None:
        self.peer: _Node | None = None


async def test_a_started_service_leaves_earlier_garbage_to_the_collector(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gc.db'}"
    await upgrade(url)
    settings = load_settings(
        environ={},
        overrides={
            "database_url": url,
            "data_dir": tmp_path / "data",
            "http_port": 0,
            "fastagi_port": 0,
            "jobs_enabled": False,
            "ami_enabled": False,
        },
    )
    # A cycle that is garbage already: only the collector (not reference counting) can free it.
    a, b = _Node(), _Node()
    a.peer, b.peer = b, a
    alive = weakref.ref(a)
    del a, b
    frozen = gc.get_freeze_count()
    service = Service(settings)
    await service.start()
    try:
        assert gc.get_freeze_count() == frozen  # freezing is `bankcti serve`'s choice, after a collection
        gc.collect()
        assert alive() is None
    finally:
        await service.close()
