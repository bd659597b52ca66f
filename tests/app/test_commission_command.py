"""`bankcti commission run --period YYYY-MM` as a user runs it: a process, its exit status and its table."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from crm_core.actor import Actor
from crm_core.commission.rules import RuleService
from crm_core.commission.schemas import RuleCreate
from crm_core.db import create_engine, session_factory, upgrade
from crm_core.models import Agent, Contract, Customer, Payment

TIMEOUT = 60


@pytest.fixture
async def data_dir(tmp_path: Path) -> Path:
    """A migrated SQLite database: agent1 collected 15000 on a loan in November 2026, one rule."""
    directory = tmp_path / "data"
    url = f"sqlite+aiosqlite:///{directory / 'crm.db'}"
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        agent = Agent(login="agent1", name="Agent One", password_hash="-", extension="", device="")
        session.add(agent)
        await session.flush()
        customer = Customer(name="Wang", status="owned", owner_agent_id=agent.id)
        session.add(customer)
        await session.flush()
        contract = Contract(
            number="C-CLI-1", customer_id=customer.id, owner_id=agent.id, title="Loan", product_type="loan",
            amount=Decimal("50000"), start_on=date(2026, 11, 1), end_on=date(2027, 11, 1), status="active",
            signed_on=date(2026, 11, 1),
        )  # fmt: skip
        session.add(contract)
        await session.flush()
        session.add(
            Payment(
                contract_id=contract.id,
                received_on=date(2026, 11, 20),
                amount=Decimal("15000"),
                method="cash",
            )
        )
    rule = {
        "product_key": "*", "effective_from": "2026-01-01", "basis": "collected", "date_basis": "paid",
        "tier_method": "whole", "tiers": [{"from": "0", "rate": "1"}, {"from": "10000", "rate": "2"}],
    }  # fmt: skip
    await RuleService(sessions).create_rule(Actor.system("test"), RuleCreate.model_validate(rule))
    await engine.dispose()
    return directory


async def _bankcti(data_dir: Path, *args: str) -> tuple[int | None, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKCTI_")}
    env |= {
        "BANKCTI_DATA_DIR": str(data_dir),
        "BANKCTI_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'crm.db'}",
        "BANKCTI_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bankcti", "commission", "run", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(TIMEOUT):
        out, err = await process.communicate()
    assert b"Traceback" not in out + err, (out, err)
    return process.returncode, out.decode(), err.decode()


async def test_run_prints_a_table_per_agent(data_dir: Path) -> None:
    code, out, err = await _bankcti(data_dir, "--period", "2026-11")
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[0] == "commission 2026-11"
    assert lines[1].split() == ["agent", "status", "lines", "commission", "adjustments", "total"]
    assert lines[3].split() == ["agent1", "open", "1", "300.00", "0", "300.00"]  # 15000 at 2 %
    assert lines[-1] == "1 statements (0 approved, frozen), total 300.00"
    # a second run recomputes the open statement: same numbers, no duplicate lines
    code, again, _ = await _bankcti(data_dir, "--period", "2026-11")
    assert code == 0 and again == out


@pytest.mark.parametrize("period", ["2026-13", "2026/11", "nov", "2999-01"])
async def test_a_bad_period_is_one_clear_line(data_dir: Path, period: str) -> None:
    code, out, err = await _bankcti(data_dir, "--period", period)
    assert code == 1 and out == ""
    assert err.startswith("bankcti: --period: ") and len(err.strip().splitlines()) == 1, err


async def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    code, _, err = await _bankcti(tmp_path, "--period", "2026-11")
    assert code == 1 and "bankcti db upgrade" in err
