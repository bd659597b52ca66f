"""The CRM's periodic jobs, registered on one :class:`crm_core.jobs.JobRunner`.

Each job is idempotent and runs under a database lease, so several bankcti
instances on one database run each job once per interval between them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.analytics.runner import SegmentationRunner
from crm_core.contracts.jobs import EXPIRY_JOB, expire_job
from crm_core.customers.recycle import purge_expired
from crm_core.jobs import JobRunner
from crm_core.parameters.store import ParameterStore
from crm_core.protection.service import ProtectionService
from crm_core.sharing.service import expire_grants

__all__ = ["ANALYTICS_JOB", "JOB_INTERVALS", "register_crm_jobs"]

ANALYTICS_JOB = "analytics.segment"

# Seconds between runs. Release and purge act on whole days, so hourly is
# plenty; grant expiry is only bookkeeping (grants stop working by time alone).
JOB_INTERVALS = {
    "protection.release": 3600.0,
    "protection.release-warnings": 3600.0,
    EXPIRY_JOB: 3600.0,
    "recycle.purge": 3600.0,
    "sharing.expire": 600.0,
    # Customer value moves with balances over weeks: a nightly run is enough.
    ANALYTICS_JOB: 86400.0,
}


async def _purge(session: AsyncSession, now: datetime) -> dict[str, Any]:
    return {"purged": await purge_expired(session, now)}


async def _grants(session: AsyncSession, now: datetime) -> dict[str, Any]:
    return {"expired": await expire_grants(session, now)}


def register_crm_jobs(
    runner: JobRunner,
    protection: ProtectionService,
    parameters: ParameterStore,
    segmentation: SegmentationRunner | None = None,
) -> None:
    async def release_warnings(session: AsyncSession, now: datetime) -> dict[str, Any]:
        # Reminders are computed when an agent asks; this run keeps the count of
        # customers about to be released visible in job_leases for operators.
        days = float(await parameters.get("protection.release_warning_days"))
        due = await protection.due_for_release(session, now, days)
        return {"due_for_release": len(due), "owners": len({d.owner_id for d in due})}

    runner.register("protection.release", JOB_INTERVALS["protection.release"], protection.release_job)
    runner.register(
        "protection.release-warnings", JOB_INTERVALS["protection.release-warnings"], release_warnings
    )
    runner.register(EXPIRY_JOB, JOB_INTERVALS[EXPIRY_JOB], expire_job)
    runner.register("recycle.purge", JOB_INTERVALS["recycle.purge"], _purge)
    runner.register("sharing.expire", JOB_INTERVALS["sharing.expire"], _grants)
    if segmentation is not None:

        async def segment(session: AsyncSession, now: datetime) -> dict[str, Any]:
            # The run commits in its own transactions (batched customer updates), not in the lease's.
            summary = await segmentation.run(trigger="job", as_of=now)
            return {"run_id": summary.id, "customers": summary.customers}

        runner.register(ANALYTICS_JOB, JOB_INTERVALS[ANALYTICS_JOB], segment)
