"""Console lifecycle: server start/stop, auth timeout, a failing bus subscription."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
from console_harness import (
    WAIT,
    Console,
    ConsoleFactory,
    MemoryAuthenticator,
    MemoryBus,
    MemoryControl,
    offer,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from acd.events import BusEvent
from agent_console.app import consume_events, create_app
from agent_console.connection import Connection
from agent_console.hub import Hub
from agent_console.server import ConsoleStartupError, start_console


async def test_silent_socket_is_closed_after_the_auth_timeout(make_console: ConsoleFactory) -> None:
    console = await make_console(auth_timeout=0.2)
    async with connect(console.ws_url) as ws:
        async with asyncio.timeout(WAIT):
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4401, "authentication timed out")


async def test_closing_the_server_tells_browsers_to_reconnect(console: Console) -> None:
    ws, _ = await console.socket(await console.login("alice"))
    async with asyncio.timeout(WAIT):
        await console.server.close()
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1012  # "service restart"
    await console.server.close()  # idempotent


async def test_busy_port_is_a_clear_startup_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        bus = MemoryBus()
        app = create_app(
            authenticator=MemoryAuthenticator(), control=MemoryControl(bus), events=bus
        )
        with pytest.raises(ConsoleStartupError, match=f"cannot listen on 127.0.0.1:{port}"):
            await start_console(app, "127.0.0.1", port)


def test_create_app_rejects_bad_options() -> None:
    bus = MemoryBus()
    ports = {"authenticator": MemoryAuthenticator(), "control": MemoryControl(bus)}
    with pytest.raises(ValueError, match="dispositions"):
        create_app(events=bus, dispositions=[], **ports)
    with pytest.raises(ValueError, match="queue_size"):
        create_app(events=bus, queue_size=2, **ports)
    with pytest.raises(ValueError, match="ttl"):
        create_app(events=bus, session_ttl=0, **ports)


class FlakyBus:
    """The first subscription dies (a broker restart), the next ones work."""

    def __init__(self) -> None:
        self.bus = MemoryBus()
        self.subscriptions = 0

    async def subscribe(self) -> AsyncIterator[BusEvent]:
        self.subscriptions += 1
        if self.subscriptions == 1:
            raise ConnectionError("broker went away")
        async for event in self.bus.subscribe():
            yield event


async def test_consumer_resubscribes_after_a_broken_subscription() -> None:
    source = FlakyBus()
    hub = Hub()
    conn = Connection(login="alice", session_key="k", observer=False, max_queue=8)
    hub.attach(conn, {})
    consumer = asyncio.create_task(consume_events(source, hub, min_delay=0.01, max_delay=0.02))
    try:
        await source.bus.publish(offer("c1", "alice"))
        async with asyncio.timeout(WAIT):
            hello = json.loads(await conn.outbox.get())
            pop = json.loads(await conn.outbox.get())
        assert hello["type"] == "hello"
        assert (pop["type"], pop["seq"], pop["event"]["call_id"]) == ("call.offered", 2, "c1")
        assert source.subscriptions == 2
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
