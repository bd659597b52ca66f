"""No API response carries a full account or ID number: every JSON response over the demo bank is scanned."""

from __future__ import annotations

from typing import Any

from crm_harness import PEPPER, CrmConsole, CrmConsoleFactory, ok

from crm_core.demo.data import demo_customers
from crm_core.demo.seed import DEMO_PASSWORD, SUPERVISOR_LOGIN, seed_demo

CUSTOMERS, AGENTS, SEED = 16, 3, 11


async def crawl(console: CrmConsole, login: str) -> int:
    """Fetch every list and every record ``login`` may see; return how many customers were viewed."""
    customers: list[dict[str, Any]] = []
    page = 1
    while True:
        body = ok(
            await console.call("GET", "/api/crm/customers", login, params={"page": page, "page_size": 10})
        )
        customers += body["items"]
        if page * 10 >= body["total"]:
            break
        page += 1
    for summary in customers:
        detail = ok(await console.call("GET", f"/api/crm/customers/{summary['id']}", login))
        for account in detail["accounts"]:
            assert account["masked_number"].startswith("**** ") and len(account["masked_number"]) == 9
        if detail["id_number_masked"] is not None:
            assert detail["id_number_masked"].startswith("*" * 14)
        if not detail["limited"]:
            await console.call("GET", f"/api/crm/customers/{summary['id']}/follow-ups", login)
            await console.call("GET", f"/api/crm/customers/{summary['id']}/ownership/history", login)
            await console.call("GET", f"/api/crm/customers/{summary['id']}/grants", login)
    contracts = ok(await console.call("GET", "/api/crm/contracts", login, params={"page_size": 200}))
    for contract in contracts["items"]:
        ok(await console.call("GET", f"/api/crm/contracts/{contract['id']}", login))
    for path in ("/api/crm/reminders/today", "/api/crm/recycle-bin", "/api/crm/audit", "/api/crm/parameters"):
        await console.call("GET", path, login)
    return len(customers)


async def test_full_numbers_never_leave_the_server(make_crm_console: CrmConsoleFactory) -> None:
    console = await make_crm_console()
    await seed_demo(console.sessions, customers=CUSTOMERS, agents=AGENTS, seed=SEED, pepper=PEPPER)
    people = demo_customers(CUSTOMERS, AGENTS, SEED)
    numbers = {account.number.replace(" ", "") for person in people for account in person.accounts}
    numbers |= {person.id_number for person in people if person.id_number}
    assert len(numbers) > CUSTOMERS
    console.secrets |= numbers
    for login in ("agent1", SUPERVISOR_LOGIN):
        console.passwords[login] = DEMO_PASSWORD

    seen = {login: await crawl(console, login) for login in ("root", SUPERVISOR_LOGIN, "agent1")}
    assert seen["root"] >= CUSTOMERS - 3  # a few demo customers sit in the recycle bin
    assert 0 < seen["agent1"] < seen["root"]
