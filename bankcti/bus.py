"""The event bus: one publish/subscribe interface, two implementations.

:class:`InProcessBus` is the embedded default (one process, no broker).
:class:`MqttBus` carries the same typed events over MQTT (aiomqtt) so console
gateways at other sites receive them; a process publishes to the broker and
consumes its own events back from it, so every gateway sees one ordered stream.

Both implement :class:`acd.events.EventSink` and :class:`acd.events.EventSource`.
A subscriber gets its own bounded queue: a consumer that stops reading loses
its oldest events (and is told so in the log) instead of stalling publishers.

``call.offered`` carries the customer's name and tier, so a bus that leaves
the host should use TLS: an ``mqtts://`` URL, with :class:`MqttTls` naming
the CA the broker's certificate must chain to and this client's certificate
for brokers that require one (``require_certificate true`` in Mosquitto).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import logging
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import aiomqtt
from pydantic import ValidationError

from acd.events import BusEvent, decode_object

__all__ = ["BusConnectError", "EventBus", "InProcessBus", "MqttBus", "MqttTls", "create_bus"]

log = logging.getLogger(__name__)

#: What a TLS failure's message holds (aiomqtt hands on only the text of paho's ssl error).
_TLS_FAILURE_MARKS = ("[SSL", "certificate", "TLS", "tlsv1", "handshake")
_TLS_PROBE_SECONDS = 1.0  # how long a failed start asks the broker why it refuses this client


class BusConnectError(ConnectionError):
    """The bus cannot connect to its broker (unreachable, TLS refused, unusable TLS files); says why."""


@dataclass(frozen=True, slots=True)
class MqttTls:
    """TLS towards the broker: whom to trust, and who we are.

    ``ca_file`` is the PEM bundle the broker's certificate must chain to
    (``None``: the system's trusted CAs); ``cert_file`` and ``key_file``
    this client's certificate and private key (``key_file`` ``None``: the
    key is in ``cert_file``); ``check_hostname`` requires the broker's
    certificate to name the URL's host.  The certificate chain is always
    verified, and nothing older than TLS 1.2 is spoken.
    """

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    check_hostname: bool = True

    def context(self) -> ssl.SSLContext:
        """The client's SSL context; :class:`BusConnectError` naming the file that cannot be used."""
        try:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file) if self.ca_file else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise BusConnectError(f"MQTT ca_file {self.ca_file}: {_reason(exc)}") from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = self.check_hostname  # verify_mode stays CERT_REQUIRED
        if self.cert_file is not None:
            try:
                context.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
            except (OSError, ssl.SSLError) as exc:
                files = f"{self.cert_file}" + (f" / key_file {self.key_file}" if self.key_file else "")
                raise BusConnectError(f"MQTT cert_file {files}: {_reason(exc)}") from None
        elif self.key_file is not None:
            raise BusConnectError("MQTT key_file needs a cert_file")
        return context


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


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
        tls: MqttTls | None = None,
    ) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in {"mqtt", "tcp", "mqtts"} or not parsed.hostname:
            raise ValueError(f"MQTT URL must look like mqtt://host:1883 or mqtts://host:8883, got {url!r}")
        if tls is not None and parsed.scheme != "mqtts":
            raise ValueError(f"MQTT TLS settings need an mqtts:// URL, got {url!r}: TLS would not be used")
        self._scheme = "mqtts" if parsed.scheme == "mqtts" else "mqtt"
        # Built now, so that an unreadable CA, certificate or key stops the start with its file named.
        self._tls_context = (tls or MqttTls()).context() if self._scheme == "mqtts" else None
        self._host = parsed.hostname
        self._port = parsed.port or (8883 if self._tls_context is not None else 1883)
        self._username = parsed.username
        self._password = parsed.password
        self._prefix = topic_prefix.strip("/")
        self.origin = uuid.uuid4().hex
        # Every envelope this process sends starts so (see _send): its echoes from the broker are
        # recognised without parsing them (a screen-pop's is a few kB of JSON).
        self._envelope_head = '{"origin":' + json.dumps(self.origin) + ',"event":'
        self._own_head = self._envelope_head.encode()
        self._fanout = _Fanout(queue_size)
        self._outgoing: asyncio.Queue[BusEvent] = asyncio.Queue(queue_size)
        self._connect_timeout = connect_timeout
        self._reconnect_delay = reconnect_delay
        self._client: aiomqtt.Client | None = None
        self._ready = asyncio.Event()
        self._tls_failed = asyncio.Event()  # set by a TLS failure before the first connection
        self._last_error = ""
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight = asyncio.Semaphore(10)  # aiomqtt warns past ~10 in-flight publishes

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self._host}:{self._port}"

    @property
    def topic_prefix(self) -> str:
        return self._prefix

    @property
    def topic_filter(self) -> str:
        return f"{self._prefix}/events/#"

    async def start(self) -> None:
        """Connect and subscribe; :class:`BusConnectError` saying why if that fails.

        An unreachable broker is retried until ``connect_timeout``; a TLS
        failure (a certificate that does not verify, a client certificate the
        broker refuses) is a configuration error and fails the start at once.
        """
        self._tasks = [
            asyncio.create_task(self._run(), name="mqtt-bus"),
            asyncio.create_task(self._send_loop(), name="mqtt-bus-sender"),
        ]
        waits = {asyncio.ensure_future(self._ready.wait()), asyncio.ensure_future(self._tls_failed.wait())}
        try:
            await asyncio.wait(waits, timeout=self._connect_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if self._ready.is_set():
            return
        await self.close()
        if not self._tls_failed.is_set() and self._tls_context is not None:
            # A broker that refuses our certificate says so only after the handshake, and aiomqtt
            # then just waits for a CONNACK: ask the broker once more, directly, to say why.
            reason = await self._tls_refusal()
            if reason is not None:
                self._last_error = reason
                self._tls_failed.set()
        if self._tls_failed.is_set():
            raise BusConnectError(
                f"MQTT broker {self.url}: TLS connection refused: {self._last_error} "
                "(check the mqtt ca_file, cert_file and key_file settings)"
            )
        raise BusConnectError(
            f"MQTT broker {self.url}: not connected within {self._connect_timeout:g} s: "
            f"{self._last_error or 'no answer'}"
        )

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

    async def _tls_refusal(self) -> str | None:
        """The broker's TLS refusal of this client (its alert), if it refuses; ``None`` otherwise."""
        try:
            async with asyncio.timeout(_TLS_PROBE_SECONDS):
                reader, writer = await asyncio.open_connection(self._host, self._port, ssl=self._tls_context)
                try:
                    await reader.read(1)  # an MQTT broker sends nothing before CONNECT, except a TLS alert
                finally:
                    writer.close()
                    with contextlib.suppress(OSError, ssl.SSLError):
                        await writer.wait_closed()
        except ssl.SSLError as exc:
            return str(exc)
        except (OSError, TimeoutError):
            return None
        return None

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self._host,
                    self._port,
                    username=self._username,
                    password=self._password,
                    tls_context=self._tls_context,
                ) as client:
                    await client.subscribe(self.topic_filter, qos=1)
                    self._client = client
                    self._ready.set()
                    log.info("bus.mqtt_connected", extra={"host": self._host, "port": self._port})
                    async for message in client.messages:
                        self._receive(message.payload)
            except aiomqtt.MqttError as exc:
                self._last_error = str(exc) or type(exc).__name__
                if self._tls_context is not None and any(m in self._last_error for m in _TLS_FAILURE_MARKS):
                    self._tls_failed.set()
                log.warning("bus.mqtt_disconnected", extra={"error": self._last_error, "url": self.url})
            finally:
                self._client = None
                self._ready.clear()
            await asyncio.sleep(self._reconnect_delay)

    def _receive(self, payload: object) -> None:
        if not isinstance(payload, bytes | bytearray | str):
            return
        if isinstance(payload, str):
            ours = payload.startswith(self._envelope_head)
        else:
            ours = payload.startswith(self._own_head)
        if ours:
            return  # ours, already delivered locally
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
        # The event serialised once by pydantic, straight into the envelope: the same JSON as
        # json.dumps of model_dump(mode="json"), at a third of the cost.
        payload = self._envelope_head + event.model_dump_json() + "}"
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


def create_bus(mqtt_url: str, *, topic_prefix: str = "bankcti", tls: MqttTls | None = None) -> EventBus:
    """The bus the settings ask for: MQTT when a URL is given (TLS with ``mqtts://``), else in-process."""
    if mqtt_url:
        return MqttBus(mqtt_url, topic_prefix=topic_prefix, tls=tls)
    return InProcessBus()
