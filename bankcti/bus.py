"""The event bus: one publish/subscribe interface, two implementations.

:class:`InProcessBus` is the embedded default (one process, no broker).
:class:`MqttBus` carries the same typed events over MQTT (aiomqtt) so console
gateways at other sites receive them; a process publishes to the broker and
consumes its own events back from it, so every gateway sees one ordered stream.

Both implement :class:`acd.events.EventSink` and :class:`acd.events.EventSource`.
A subscriber gets its own bounded queue: a consumer that stops reading loses
its oldest events (and is told so in the log) instead of stalling publishers.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlparse

import aiomqtt
from pydantic import ValidationError

from acd.events import BusEvent, decode_object

__all__ = ["EventBus", "InProcessBus", "MqttBus", "create_bus"]

log = logging.getLogger(__name__)


class _Fanout:
    """Local fan-out of events to subscriber queues."""

    def __init__(self, maxsize: int) -> None:
        self._queues: set[asyncio.Queue[BusEvent]] = set()
        self._maxsize = maxsize

    def deliver(self, event: BusEvent) -> None:
        for queue in list(self._queues):
            if queue.full():
                dropped = queue.get_nowait()
                log.warning("bus.subscriber_overflow", extra={"dropped": dropped.type})
            queue.put_nowait(event)

    def subscribe(self) -> _Subscription:
        return _Subscription(self._queues, self._maxsize)

    @property
    def subscribers(self) -> int:
        return len(self._queues)


class _Subscription:
    """An async iterator of events, registered from the moment it is created.

    (An async generator would register only on its first ``__anext__`` and
    miss what is published in between.)
    """

    def __init__(self, registry: set[asyncio.Queue[BusEvent]], maxsize: int) -> None:
        self._registry = registry
        self._queue: asyncio.Queue[BusEvent] = asyncio.Queue(maxsize)
        registry.add(self._queue)

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> BusEvent:
        return await self._queue.get()

    async def aclose(self) -> None:
        self._registry.discard(self._queue)

    def close(self) -> None:
        self._registry.discard(self._queue)


class EventBus(abc.ABC):
    """Base: ``publish`` + ``subscribe`` + lifecycle."""

    async def start(self) -> None:  # noqa: B027 - nothing to connect for in-process delivery
        """Connect (if needed); returns when the bus can carry events."""

    async def close(self) -> None:  # noqa: B027
        """Stop; pending subscribers stop receiving."""

    @abc.abstractmethod
    async def publish(self, event: BusEvent) -> None:
        """Deliver ``event`` to every subscriber (of every process, for MQTT)."""

    @abc.abstractmethod
    def subscribe(self) -> AsyncIterator[BusEvent]:
        """A new subscription, receiving every event published from now on."""


class InProcessBus(EventBus):
    """Events delivered to subscribers of this process only."""

    def __init__(self, *, queue_size: int = 10_000) -> None:
        self._fanout = _Fanout(queue_size)

    async def publish(self, event: BusEvent) -> None:
        self._fanout.deliver(event)

    def subscribe(self) -> AsyncIterator[BusEvent]:
        return self._fanout.subscribe()


class MqttBus(EventBus):
    """Events as JSON on ``<prefix>/events/<type>`` with QoS 1.

    An event is delivered to this process's subscribers at once, then sent
    to the broker for the gateways of other processes and sites; copies that
    come back from the broker carry this process's origin id and are
    skipped.  A screen-pop for a console served by this process therefore
    never waits for a broker round trip.

    Sending runs in a background task, in publish order, several messages in
    flight; while the broker is away events wait in a bounded queue (publish
    blocks when it is full) and go out after the reconnect.  aiomqtt does not
    reconnect by itself, so a supervisor task runs the documented retry loop:
    connect, subscribe, read until the connection fails, wait, start again.
    """

    def __init__(
        self,
        url: str,
        *,
        topic_prefix: str = "bankcti",
        queue_size: int = 10_000,
        connect_timeout: float = 10.0,
        reconnect_delay: float = 1.0,
    ) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in {"mqtt", "tcp"} or not parsed.hostname:
            raise ValueError(f"MQTT URL must look like mqtt://host:1883, got {url!r}")
        self._host = parsed.hostname
        self._port = parsed.port or 1883
        self._username = parsed.username
        self._password = parsed.password
        self._prefix = topic_prefix.strip("/")
        self.origin = uuid.uuid4().hex
        self._fanout = _Fanout(queue_size)
        self._outgoing: asyncio.Queue[BusEvent] = asyncio.Queue(queue_size)
        self._connect_timeout = connect_timeout
        self._reconnect_delay = reconnect_delay
        self._client: aiomqtt.Client | None = None
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight = asyncio.Semaphore(10)  # aiomqtt warns past ~10 in-flight publishes

    @property
    def url(self) -> str:
        return f"mqtt://{self._host}:{self._port}"

    @property
    def topic_prefix(self) -> str:
        return self._prefix

    @property
    def topic_filter(self) -> str:
        return f"{self._prefix}/events/#"

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="mqtt-bus"),
            asyncio.create_task(self._send_loop(), name="mqtt-bus-sender"),
        ]
        async with asyncio.timeout(self._connect_timeout):
            await self._ready.wait()

    async def close(self) -> None:
        if self._client is not None and not self._outgoing.empty():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._outgoing.join()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self._host, self._port, username=self._username, password=self._password
                ) as client:
                    await client.subscribe(self.topic_filter, qos=1)
                    self._client = client
                    self._ready.set()
                    log.info("bus.mqtt_connected", extra={"host": self._host, "port": self._port})
                    async for message in client.messages:
                        self._receive(message.payload)
            except aiomqtt.MqttError as exc:
                log.warning("bus.mqtt_disconnected", extra={"error": str(exc)})
            finally:
                self._client = None
                self._ready.clear()
            await asyncio.sleep(self._reconnect_delay)

    def _receive(self, payload: object) -> None:
        if not isinstance(payload, bytes | bytearray | str):
            return
        try:
            envelope = json.loads(payload)
            if envelope.get("origin") == self.origin:
                return  # ours, already delivered locally
            event = decode_object(envelope.get("event"))
        except (ValueError, AttributeError, ValidationError) as exc:
            log.warning("bus.bad_event", extra={"error": type(exc).__name__})
            return
        self._fanout.deliver(event)

    async def publish(self, event: BusEvent) -> None:
        self._fanout.deliver(event)
        await self._outgoing.put(event)

    async def _send_loop(self) -> None:
        while True:
            event = await self._outgoing.get()
            await self._inflight.acquire()
            # Started in order, so the packets leave in order; confirmations overlap.
            task = asyncio.create_task(self._send(event))
            task.add_done_callback(self._sent)

    def _sent(self, _task: asyncio.Task[None]) -> None:
        self._inflight.release()
        self._outgoing.task_done()

    async def _send(self, event: BusEvent) -> None:
        topic = f"{self._prefix}/events/{event.type}"
        payload = json.dumps({"origin": self.origin, "event": event.model_dump(mode="json")})
        while True:
            await self._ready.wait()
            client = self._client
            if client is None:
                await asyncio.sleep(0.05)
                continue
            try:
                await client.publish(topic, payload, qos=1)
                return
            except aiomqtt.MqttError:
                # Lost the broker mid-publish: wait for the reconnect and send
                # again; remote consoles must not silently miss an event.
                self._ready.clear()
                await asyncio.sleep(0.05)

    def subscribe(self) -> AsyncIterator[BusEvent]:
        return self._fanout.subscribe()


def create_bus(mqtt_url: str, *, topic_prefix: str = "bankcti") -> EventBus:
    """The bus the settings ask for: MQTT when a URL is given, else in-process."""
    if mqtt_url:
        return MqttBus(mqtt_url, topic_prefix=topic_prefix)
    return InProcessBus()
