"""What the console gateway tells the call flow over the bus: pops received, consoles connected.

The hub calls :meth:`ReceiptPublisher.received` when an agent's console
acknowledges a screen-pop and :meth:`ReceiptPublisher.presence` when the
number of an agent's connections changes.  Both only queue an event (the hub
never waits); :meth:`ReceiptPublisher.run` publishes them in order on the
bus the pop came from, so the call flow sees them whether it runs in this
process or behind an MQTT broker.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from acd.events import ConsolePresence, EventSink, PopReceived

__all__ = ["ReceiptPublisher"]

log = logging.getLogger(__name__)


class ReceiptPublisher:
    """Queues receipts and presence changes; ``run`` publishes them (one gateway id per instance)."""

    def __init__(self, sink: EventSink, *, gateway: str | None = None, queue_size: int = 10_000) -> None:
        self._sink = sink
        self.gateway = gateway or uuid.uuid4().hex
        self._queue: asyncio.Queue[PopReceived | ConsolePresence] = asyncio.Queue(queue_size)

    def received(self, login: str, call_id: str) -> None:
        """``login``'s console acknowledged the pop of ``call_id`` now."""
        self._put(PopReceived(call_id=call_id, agent_login=login))

    def presence(self, login: str, connections: int) -> None:
        """This gateway now serves ``connections`` console connections of ``login``."""
        self._put(ConsolePresence(gateway=self.gateway, agent_login=login, connections=connections))

    def _put(self, event: PopReceived | ConsolePresence) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # Only a wedged bus gets here; the call flow's wait is bounded, so the call still rings.
            log.warning("console.receipt_dropped", extra={"event_type": event.type})

    async def run(self) -> None:
        """Publish queued events in order until cancelled."""
        while True:
            event = await self._queue.get()
            try:
                await self._sink.publish(event)
            except Exception:
                log.exception("console.receipt_publish_failed", extra={"event_type": event.type})
