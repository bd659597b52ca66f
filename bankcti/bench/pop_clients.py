"""``python -m bankcti.bench.pop_clients``: one process playing a share of the benchmark's agents.

With hundreds of agents in one process, that process's event loop would be
what delays the frames it stamps (every websocket's reads, decodes and acks
queue behind each other), and the benchmark would measure itself.
``bankcti bench pop`` therefore spreads its agents over several of these
processes (``--client-processes``), each one
:class:`~bankcti.bench.console_client.AgentConsoleClient` per agent.

Protocol, one JSON line each way: the process logs its agents in, connects
their websockets, makes them available and prints ``{"ready": N}``; it then
waits for a line on stdin, closes everything and prints ``{"pops": [...]}``,
one list per ``call.offered`` received: call id, agent, the event's ``at``
(the ACD's reservation), the moment the frame was decoded, the frame's bytes,
and what the pop carried (customer or not, accounts, follow-ups, IVR steps).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import httpx

from bankcti.bench.console_client import AgentConsoleClient

__all__ = ["pop_rows", "run_clients"]

#: Logins at once per process: the service checks each password with a deliberately slow hash,
#: and records each attempt in its (SQLite) database.
_LOGIN_CONCURRENCY = 2
#: A login the service answered 503 (its database busy with the other logins) is tried again.
_LOGIN_ATTEMPTS = 5


def pop_rows(clients: list[AgentConsoleClient]) -> list[list[Any]]:
    """One row per ``call.offered`` the clients received (see the module docstring)."""
    rows: list[list[Any]] = []
    for client in clients:
        for message in client.received:
            if message.type != "call.offered":
                continue
            event = message.event
            customer = event.get("customer")
            card = customer if isinstance(customer, dict) else {}
            rows.append(
                [
                    str(event.get("call_id")),
                    str(event.get("agent_login")),
                    float(event["at"]),
                    message.received_at,
                    message.size,
                    bool(card),
                    len(card.get("accounts") or []),
                    len(card.get("recent_follow_ups") or []),
                    len(event.get("ivr_path") or []),
                ]
            )
    return rows


async def run_clients(base_url: str, password: str, logins: list[str]) -> None:
    """Play ``logins`` until a line arrives on stdin (see the module docstring)."""
    clients = [AgentConsoleClient(base_url) for _ in logins]
    gate = asyncio.Semaphore(_LOGIN_CONCURRENCY)

    async def ready(client: AgentConsoleClient, login: str) -> None:
        async with gate:
            for attempt in range(_LOGIN_ATTEMPTS):
                try:
                    await client.login(login, password)
                    break
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code != 503 or attempt == _LOGIN_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))
        await client.connect()
        await client.set_state("available")

    try:
        await asyncio.gather(*(ready(c, login) for c, login in zip(clients, logins, strict=True)))
        print(json.dumps({"ready": len(clients)}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    finally:
        for client in clients:
            await client.close()
    print(json.dumps({"pops": pop_rows(clients)}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bankcti.bench.pop_clients", description=__doc__)
    parser.add_argument("--base", required=True, help="the console's base URL, http://host:port")
    parser.add_argument("--password", required=True)
    parser.add_argument("logins", nargs="+")
    args = parser.parse_args()
    asyncio.run(run_clients(args.base, args.password, args.logins))
    return 0


if __name__ == "__main__":
    sys.exit(main())
