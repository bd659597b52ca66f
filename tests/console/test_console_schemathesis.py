"""Schemathesis against the live console's ``/openapi.json``: no 5xx, every response as documented.

The console runs on a thread of its own (its own event loop: schemathesis
calls are blocking), over a migrated and seeded CRM database — PostgreSQL
when ``BANKCTI_TEST_POSTGRES_URL`` is set (it refuses more: NUL characters,
integers beyond 32 bits), SQLite otherwise.  Every operation is exercised
as an admin and as an agent, bounded and derandomized: the examples,
coverage and fuzzing phases, valid and invalid inputs, at most
:data:`MAX_EXAMPLES` fuzzed examples per operation (about 3,000 requests
per role).  ``POST /api/logout`` is left out: it would end the session the
other operations run on.

The run goes through schemathesis' engine (what its CLI runs), not its
pytest plugin: ``schemathesis.pytest.from_fixture`` — the only way to load
a schema from a server a fixture starts — fails under pytest 9.2 (it reads
``Node._nodeid``, gone from pytest's nodes).  Each finding is reported with
its ``curl`` reproduction.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Coroutine, Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import available_timezones

import httpx
import pytest
import schemathesis
import schemathesis.engine
from console_harness import MemoryBus, MemoryControl
from crm_harness import PEPPER, REGION, seed_office
from hypothesis import strategies as st
from schemathesis import Case, HookContext
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, StopReason, events
from sqlalchemy import make_url
from test_console_calls import RecordingCalls

from agent_console.app import create_app
from agent_console.crm.deps import CrmServices
from agent_console.reports_api import ZONE_FORMAT
from agent_console.server import ConsoleServer, start_console
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, drop_database, session_factory, upgrade
from crm_core.demo.seed import seed_demo
from crm_core.stats.intervals import MAX_RANGE_DAYS

MAX_EXAMPLES = 25
T = TypeVar("T")


#: The checks every operation runs: no server error, every response as documented (ST101, ST108).
CONFORMANCE = ("not_a_server_error", "response_schema_conformance")
#: The checks of the operations whose business limits (periods, zones, days, amounts…) the schema states:
#: a request the schema allows is not refused as invalid (ST202), one it forbids is (ST201).
LIMITS = (*CONFORMANCE, "positive_data_acceptance", "negative_data_rejection")
#: Call control, the contact-center reports and commission: the operations held to ``LIMITS``.
LIMITED_PATHS = (
    r"^/api/(calls/[^/]+/(hold|resume|hangup|transfer(/.*)?)|dial|supervisor/.*"
    r"|reports/.*|crm/commission/.*)$"
)
#: Operations whose rules span records, fields or the calendar in a way no JSON schema can state, so
#: a request the schema allows may still be refused with 422: a split's shares sum to exactly 100 and
#: name shared owners; a rule's tiers ascend from 0 and its basis fixes its date basis; a dialled
#: number must be one of the customer's own; a period is run once it has begun.  Their other checks
#: (conformance, negative data) still run.
CROSS_RECORD_RULES = (
    "PUT /api/crm/commission/contracts/{contract_id}/split",
    "POST /api/crm/commission/rules",
    "PUT /api/crm/commission/rules/{rule_id}",
    "POST /api/dial",
    "POST /api/crm/commission/runs",
)
_ACCEPTED_OR_422 = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]


def run_config(token: str, checks: tuple[str, ...] = CONFORMANCE) -> SchemathesisConfig:
    """Bounded, derandomized, only ``checks``, every request with ``token``.

    With the ``LIMITS`` checks, only the ``LIMITED_PATHS`` operations run (an ``[[operations]]``
    entry turns the others off: the engine ignores a schema's own filters once entries exist).
    """
    operations: list[dict[str, Any]] = []
    if "positive_data_acceptance" in checks:
        operations.append({"exclude-path-regex": LIMITED_PATHS, "enabled": False})
        operations += [
            {
                "include-name": name,
                "checks": {"positive_data_acceptance": {"expected-statuses": _ACCEPTED_OR_422}},
            }
            for name in CROSS_RECORD_RULES
        ]
    return SchemathesisConfig.from_dict(
        {
            "seed": 3,
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            # Unexpected HTTP methods only probe the router's 405s: not worth their time here.
            "phases": {"stateful": {"enabled": False}, "coverage": {"unexpected-methods": []}},
            "checks": {"enabled": False, **{check: {"enabled": True} for check in checks}},
            "operations": operations,
        }
    )


def _report_range(_: HookContext, case: Case) -> Case:
    """A positive report request keeps ``to`` within the range the service covers from ``from``.

    The one limit of the report parameters that spans two of them (not before ``from``, at most
    ``MAX_RANGE_DAYS`` days): the generator cannot know it, so a schema-valid pair is moved into it.
    """
    query = case.query if isinstance(case.query, dict) else None
    if case.meta is None or not case.meta.generation.mode.is_positive or query is None:
        return case
    first, last = query.get("from"), query.get("to")
    if isinstance(first, str) and isinstance(last, str):
        start, end = date.fromisoformat(first), date.fromisoformat(last)
        if not start <= end < start + timedelta(days=MAX_RANGE_DAYS):
            query["to"] = first
    return case


class LiveConsole:
    """A seeded console served from a background thread's event loop."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-console", daemon=True)
        self.server: ConsoleServer | None = None
        self.tokens: dict[str, str] = {}

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.run(self._start())
        for login in ("root", "alice"):
            response = httpx.post(
                f"{self.url}/api/login", json={"login": login, "password": f"{login}-pw"}, timeout=10
            )
            response.raise_for_status()
            self.tokens[login] = response.json()["token"]

    async def _start(self) -> None:
        await upgrade(self.db_url)
        self.engine = create_engine(self.db_url)
        sessions = session_factory(self.engine)
        services = CrmServices.build(sessions, pepper=PEPPER, region=REGION)
        await seed_office(sessions, services)
        await seed_demo(sessions, customers=12, agents=2, seed=5, pepper=PEPPER)
        bus = MemoryBus()
        app = create_app(
            authenticator=AgentDirectory(sessions),
            control=MemoryControl(bus),
            events=bus,
            crm=services,
            calls=RecordingCalls(),
        )
        self.server = await start_console(app, "127.0.0.1", 0)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def headers(self, login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[login]}"}

    def stop(self) -> None:
        async def _stop() -> None:
            if self.server is not None:
                await self.server.close()
            await self.engine.dispose()
            await drop_database(self.db_url)

        try:
            self.run(_stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


def _database_url(directory: Path) -> str:
    admin = os.environ.get("BANKCTI_TEST_POSTGRES_URL")
    if admin:
        url = make_url(admin).set(database=f"bankcti_schemathesis_{secrets.token_hex(6)}")
        return url.render_as_string(hide_password=False)
    return f"sqlite+aiosqlite:///{directory / 'schemathesis.db'}"


@pytest.fixture(scope="module")
def live_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    with pytest.MonkeyPatch.context() as patch:
        # seeding and logins, not password security
        patch.setattr("crm_core.contact_center.agents.SCRYPT_N", 2**10)
        console = LiveConsole(_database_url(tmp_path_factory.mktemp("schemathesis")))
        try:
            console.start()
            yield console
        finally:
            console.stop()


def findings(stream: Iterable[events.EngineEvent]) -> tuple[list[str], int]:
    """Every failed check and error of an engine run, described; and how many scenarios ran."""
    problems: list[str] = []
    scenarios = 0
    for event in stream:
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        problems.append(
                            f"{event.recorder.label}: {check.name}: {failure.title}\n"
                            f"{failure.message}\n{check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(f"{getattr(event, 'label', 'engine')}: {event.info.format()}")
        elif isinstance(event, events.EngineFinished) and event.stop_reason != StopReason.COMPLETED:
            problems.append(f"the run stopped early: {event.stop_reason}")
    return problems, scenarios


@pytest.mark.parametrize("login", ["root", "alice"], ids=["admin", "agent"])
def test_openapi_operations_hold_their_contract(live_console: LiveConsole, login: str) -> None:
    schema = schemathesis.openapi.from_url(
        f"{live_console.url}/openapi.json", config=run_config(live_console.tokens[login])
    ).exclude(path="/api/logout")
    problems, scenarios = findings(schemathesis.engine.from_schema(schema).execute())
    assert scenarios >= 40, "schemathesis ran fewer scenarios than there are operations"
    assert not problems, f"{len(problems)} finding(s):\n\n" + "\n\n".join(dict.fromkeys(problems))


def test_business_limits_are_in_the_schema(live_console: LiveConsole) -> None:
    """Periods, zones, days, amounts and the call-control bodies: the schema says what the API accepts."""
    # The reports' zone parameters declare the format ``iana-time-zone``: a name of the zone database.
    schemathesis.openapi.format(ZONE_FORMAT, st.sampled_from(sorted(available_timezones())))
    schema = schemathesis.openapi.from_url(
        f"{live_console.url}/openapi.json", config=run_config(live_console.tokens["root"], LIMITS)
    )
    schema.hook("map_case")(_report_range)
    problems, scenarios = findings(schemathesis.engine.from_schema(schema).execute())
    assert scenarios >= 25, "schemathesis ran fewer scenarios than there are limited operations"
    assert not problems, f"{len(problems)} finding(s):\n\n" + "\n\n".join(dict.fromkeys(problems))
