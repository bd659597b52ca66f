"""A programmatic agent console: log in over HTTP, receive pops over the websocket.

It speaks exactly what the browser page speaks, so the benchmark and the
end-to-end tests measure and check the real gateway, not a shortcut.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

__all__ = ["AgentConsoleClient", "ReceivedMessage"]


@dataclass(frozen=True)
class ReceivedMessage:
    data: dict[str, Any]
    received_at: float  # epoch seconds, taken as the frame is decoded
    size: int = 0  # bytes of the websocket frame (UTF-8)

    @property
    def type(self) -> str:
        return str(self.data.get("type"))

    @property
    def event(self) -> dict[str, Any]:
        event = self.data.get("event")
        return event if isinstance(event, dict) else {}


class AgentConsoleClient:
    """One logged-in agent with one websocket.

    ``auto_ack`` acknowledges each pop as the browser does once it shows it.
    ``link_delay`` (seconds) models the network between the gateway and a
    browser farther away than this process: each frame is taken (stamped,
    acknowledged) that long after the socket delivered it, in order.
    """

    def __init__(self, base_url: str, *, auto_ack: bool = True, link_delay: float = 0.0) -> None:
        if link_delay < 0:
            raise ValueError("link_delay must not be negative")
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=10)
        self._auto_ack = auto_ack
        self._link_delay = link_delay
        self.token: str | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[ReceivedMessage] = asyncio.Queue()
        self.received: list[ReceivedMessage] = []

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def login(self, login: str, password: str) -> dict[str, Any]:
        response = await self._http.post("/api/login", json={"login": login, "password": password})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        self.token = body["token"]
        return body

    async def set_state(self, state: str, reason: str | None = None) -> dict[str, Any]:
        response = await self._http.post(
            "/api/agent/state", json={"state": state, "reason": reason}, headers=self._auth()
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def save_wrapup(self, call_id: str, notes: str, disposition: str | None = None) -> httpx.Response:
        """Record the call's wrap-up as the console does (``PUT /api/calls/{call_id}/wrap-up``)."""
        return await self._http.put(
            f"/api/calls/{call_id}/wrap-up",
            json={"notes": notes, "disposition": disposition},
            headers=self._auth(),
        )

    async def connect(self) -> ReceivedMessage:
        """Open the websocket, authenticate, return the ``hello`` message."""
        ws_url = "ws" + self.base_url[len("http") :] + "/ws"
        self._ws = await connect(ws_url, max_queue=None)
        await self._ws.send(json.dumps({"type": "auth", "token": self.token}))
        self._reader = asyncio.create_task(self._read(self._ws), name="console-client-reader")
        return await self.next_message("hello")

    async def _read(self, ws: ClientConnection) -> None:
        if not self._link_delay:
            with contextlib.suppress(Exception):
                async for frame in ws:
                    await self._take(ws, frame)
            return
        loop = asyncio.get_running_loop()
        frames: asyncio.Queue[tuple[float, str | bytes]] = asyncio.Queue()

        async def deliver() -> None:
            with contextlib.suppress(Exception):
                while True:
                    arrived, frame = await frames.get()
                    await asyncio.sleep(max(0.0, arrived + self._link_delay - loop.time()))
                    await self._take(ws, frame)

        delivering = asyncio.create_task(deliver(), name="console-client-link")
        try:
            with contextlib.suppress(Exception):
                async for frame in ws:
                    frames.put_nowait((loop.time(), frame))
            await asyncio.sleep(self._link_delay)  # the frames still on their way arrive
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering

    async def _take(self, ws: ClientConnection, frame: str | bytes) -> None:
        data = json.loads(frame)
        decoded_at = time.time()
        size = len(frame) if isinstance(frame, bytes) else len(frame.encode())
        message = ReceivedMessage(data, decoded_at, size)
        self.received.append(message)
        if self._auto_ack and message.type == "call.offered":
            await ws.send(json.dumps({"type": "ack", "seq": message.data.get("seq")}))
        await self._inbox.put(message)

    async def next_message(self, type_: str, *, timeout: float = 10.0) -> ReceivedMessage:  # noqa: ASYNC109
        """The next message of ``type_`` (others received meanwhile are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self._inbox.get()
                if message.type == type_:
                    return message

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._http.aclose()
