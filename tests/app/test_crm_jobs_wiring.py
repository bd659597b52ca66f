"""The service registers the CRM's periodic jobs and each one runs cleanly on demo data."""

from __future__ import annotations

from pathlib import Path

from bankcti.app import Service
from bankcti.crm_jobs import JOB_INTERVALS
from bankcti.settings import load_settings
from crm_core.db import upgrade
from crm_core.demo.seed import seed_demo


async def test_every_crm_job_runs_once_under_its_lease(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    await upgrade(url)
    settings = load_settings(environ={}, overrides={"database_url": url, "data_dir": tmp_path})
    service = Service(settings)
    try:
        await seed_demo(service.sessions, pepper=service.pepper)
        assert set(service.jobs.names) == set(JOB_INTERVALS)
        for name in service.jobs.names:
            run = await service.jobs.run_once(name)
            assert run.ran, name
            assert run.error is None, (name, run.error)
            # The lease and the interval stop a second run right away.
            assert not (await service.jobs.run_once(name)).ran
    finally:
        await service.engine.dispose()
