"""Fixtures of the console tests: consoles on 127.0.0.1 port 0 (see console_harness)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from console_harness import (
    WAIT,
    Console,
    ConsoleFactory,
    MemoryAuthenticator,
    MemoryBus,
    MemoryControl,
    MemoryNotes,
)

from agent_console.app import create_app
from agent_console.server import start_console


@pytest.fixture
async def make_console() -> AsyncIterator[ConsoleFactory]:
    """Start consoles on 127.0.0.1:0 with the given create_app options."""
    started: list[Console] = []

    async def factory(**options: Any) -> Console:
        bus = MemoryBus()
        control = MemoryControl(bus)
        notes = MemoryNotes()
        app = create_app(
            authenticator=MemoryAuthenticator(), control=control, notes=notes, events=bus, **options
        )
        server = await start_console(app, "127.0.0.1", 0)
        http = httpx.AsyncClient(base_url=server.url, timeout=WAIT)
        console = Console(app, server, bus, control, notes, http)
        started.append(console)
        return console

    yield factory
    for console in started:
        await console.http.aclose()
        async with asyncio.timeout(10):
            await console.server.close()


@pytest.fixture
async def console(make_console: ConsoleFactory) -> Console:
    return await make_console()
