"""The IVR inside the running service: real database, real CRM self-service, simulator over TCP.

A verification call is scanned for its PIN and account number everywhere it
could leak: log records at DEBUG, bus events, AMI events the simulator
emitted, AGI commands it received, and every row of every table.  Reload of
a good and a bad menu directory goes through SIGHUP and ``bankcti ivr reload``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from acd.events import CallQueued
from bankcti.bus import InProcessBus
from bankcti.cli.ivr import ivr_reload
from bankcti.settings import Settings, load_settings
from bankcti.stack import EmbeddedStack
from crm_core.customers.accounts import AccountBook, load_or_create_pepper
from crm_core.customers.directory import CustomerDirectory
from crm_core.db import create_engine, session_factory
from crm_core.parameters.store import ParameterStore
from crm_core.selfservice.service import SelfService
from cti.simulator import CallerScript
from ivr import MenuError, PlayNode

REPO = Path(__file__).resolve().parents[2]
PIN = "918273"
ACCOUNT = "6222020200447788"
SPEED = 20.0


#: Attributes every log record has; timing floats among them could hold any digits by chance.
_STANDARD = set(logging.LogRecord("x", logging.INFO, "x", 1, "x", None, None).__dict__) | {
    "message",
    "asctime",
}


def _fields(record: logging.LogRecord) -> str:
    """The record's ``extra`` fields (where a careless caller would put a secret)."""
    return repr({k: v for k, v in record.__dict__.items() if k not in _STANDARD})


async def _seed(url: str, data_dir: Path) -> int:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        customers = CustomerDirectory(sessions)
        customer_id = await customers.create_customer("Li Na", tier="vip")
        await customers.add_phone(customer_id, "+86 139 0013 9000", "CN")
        pepper = load_or_create_pepper(data_dir / "account-pepper")
        account_id = await AccountBook(sessions, pepper).open_account(
            customer_id, type="deposit", number=ACCOUNT, balance="88000.50"
        )
        await SelfService(sessions, pepper, ParameterStore(sessions)).set_pin(account_id, PIN)
        return customer_id
    finally:
        await engine.dispose()


def _settings(db_url: str, data_dir: Path, **extra: object) -> Settings:
    overrides = {"database_url": db_url, "data_dir": data_dir, "ivr_entry_menu": "bank", **extra}
    return load_settings(environ={}, overrides=overrides)


async def _all_rows(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            meta = MetaData()
            await conn.run_sync(meta.reflect)
            rows: list[str] = []
            # By name, not meta.sorted_tables: a reflected schema has lost use_alter on the teams <-> agents
            # cycle, and the order of the rows does not matter here.
            for table in sorted(meta.tables.values(), key=lambda t: t.name):
                rows += [repr(tuple(row)) for row in (await conn.execute(select(table))).all()]
        return rows
    finally:
        await engine.dispose()


async def test_verified_caller_reaches_the_priority_queue_and_no_secret_leaks(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    customer_id = await _seed(db_url, tmp_path)
    caplog.set_level(logging.DEBUG)
    bus = InProcessBus()
    events = bus.subscribe()
    settings = _settings(db_url, tmp_path)
    async with EmbeddedStack(settings, speed=SPEED, bus=bus) as stack:
        assert stack.simulator is not None and stack.service is not None
        # Someone is logged in (so the queue takes the call) but paused (so the caller waits).
        stack.service.acd.register_agent("standby", "Standby", "PJSIP/9999", ["priority", "general"])
        await stack.service.acd.set_agent_state("standby", "paused", "break")
        keys = ["2", "1", f"{ACCOUNT}#", PIN, "1", "0"]
        call = await stack.simulator.place_call(CallerScript("+8613900139000", keys=keys))
        seen = []
        async with asyncio.timeout(20):
            async for event in events:
                seen.append(event)
                if isinstance(event, CallQueued) and event.call_id == call.linkedid:
                    break
        queued = seen[-1]
        assert isinstance(queued, CallQueued)
        assert queued.queue == "priority" and queued.customer_id == customer_id and queued.priority == 10
        await call.hangup()
        await call.wait_finished(timeout=20)
        record = None
        async with asyncio.timeout(10):
            while record is None or not record.outcome:
                await asyncio.sleep(0.05)
                record = await stack.service.interactions.get(call.linkedid)
    assert record.outcome == "abandoned_in_queue" and record.customer_id == customer_id
    trail = [(s.node, s.keys, s.result) for s in record.ivr_path or []]
    assert ("account-pin", "xxxxxx", "entered 6 digits") in trail
    assert ("account-verify", "", "verified") in trail
    assert ("balance", "", "balance: 1 accounts") in trail
    said = [c for c in call.agi_commands if c.startswith("SAY NUMBER")]
    assert said[:2] == ["SAY NUMBER 88000 ", "SAY NUMBER 50 "] or [s.split()[2] for s in said[:2]] == [
        "88000",
        "50",
    ]
    texts = [*call.agi_commands, *(e.encode().decode("utf-8", "replace") for e in call.events)]
    texts += [event.model_dump_json() for event in seen]
    texts += [record.model_dump_json()]
    texts += [r.getMessage() for r in caplog.records] + [_fields(r) for r in caplog.records]
    texts += await _all_rows(db_url)
    for secret in (PIN, ACCOUNT):
        leaks = [t for t in texts if secret in t]
        assert not leaks, (
            f"{secret} leaked: {[t[t.index(secret) - 200 : t.index(secret) + 50] for t in leaks][:3]}"
        )
    assert not [c for c in call.agi_commands if c.startswith("SET VARIABLE") and PIN in c]


def _menu_dir(tmp_path: Path) -> Path:
    menus = tmp_path / "menus"
    menus.mkdir()
    shutil.copy(REPO / "config" / "ivr" / "bank.toml", menus / "main.toml")
    return menus


async def _reloaded(stack: EmbeddedStack, before: object) -> None:
    # The SIGHUP handler runs on a later turn of the loop; nothing to await but that turn.
    assert stack.service is not None
    for _ in range(500):
        if stack.service.ivr.menus is not before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the service did not reload its menus")


async def test_reload_of_a_good_and_a_bad_menu(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    menus = _menu_dir(tmp_path)
    settings = _settings(db_url, tmp_path / "data", ivr_menu_dir=menus, ivr_entry_menu="main")
    async with EmbeddedStack(settings, speed=SPEED) as stack:
        assert stack.simulator is not None and stack.service is not None
        service = stack.service
        assert (tmp_path / "data" / "bankcti.pid").read_text().split()[0] == str(os.getpid())
        # A call in progress keeps the menus it started with.
        # (two silent language prompts last ~11 s simulated; the caller leaves after 8 s)
        slow = await stack.simulator.place_call(CallerScript("anonymous", keys=["", ""], hangup_after=8.0))
        # A good change: the welcome plays a second prompt.
        text = (menus / "main.toml").read_text()
        (menus / "main.toml").write_text(
            text.replace('prompts = ["bankcti/welcome"]', 'prompts = ["bankcti/welcome", "bankcti/goodbye"]')
        )
        before = service.ivr.menus
        assert ivr_reload(settings) == 0
        await _reloaded(stack, before)
        welcome = service.ivr.menus.get("main").node("welcome")
        assert isinstance(welcome, PlayNode)
        assert welcome.prompts == ["bankcti/welcome", "bankcti/goodbye"]
        # A bad change (a dangling reference) is refused with file and line; the good menus stay.
        (menus / "main.toml").write_text(text.replace('next = "choose-language"', 'next = "nowhere"'))
        kept = service.ivr.menus
        caplog.clear()
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(500):
            if [r for r in caplog.records if r.getMessage() == "ivr.reload_refused"]:
                break
            await asyncio.sleep(0.01)
        [refused] = [r for r in caplog.records if r.getMessage() == "ivr.reload_refused"]
        assert f"{menus / 'main.toml'}:" in refused.__dict__["error"]
        assert "node 'nowhere' does not exist" in refused.__dict__["error"]
        assert service.ivr.menus is kept
        # The CLI refuses too, before signalling.
        with pytest.raises(MenuError):
            ivr_reload(settings)
        await slow.wait_finished(timeout=30)
        record = None
        async with asyncio.timeout(10):
            while record is None or not record.outcome:
                await asyncio.sleep(0.05)
                record = await service.interactions.get(slow.linkedid)
    assert record.outcome == "abandoned_in_ivr" and record.ivr_path is not None
    assert [s.node for s in record.ivr_path][:2] == ["welcome", "choose-language"]
    assert record.ivr_path[-1].result == "abandoned"
    assert not (tmp_path / "data" / "bankcti.pid").exists()
