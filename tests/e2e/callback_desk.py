"""A recording stand-in for the ACD's callback engine, for IVR tests.

The service hands IVR callbacks to :class:`bankcti.callbacks.engine.CallbackEngine`;
these tests only need to see what the IVR handed over, in window order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

__all__ = ["CallbackDesk", "PendingCallback"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingCallback:
    """Call ``number_e164`` back between ``window_start`` and ``window_end`` (CRM request ``callback_id``)."""

    callback_id: int
    reference: str
    customer_id: int | None  # None: an unidentified caller
    number_e164: str
    window_start: datetime
    window_end: datetime
    reason: str
    call_id: str | None = None


class CallbackDesk:
    """Pending callbacks, earliest window first; fits :class:`ivr.ports.CallbackHandOff`."""

    def __init__(self) -> None:
        self._pending: dict[int, PendingCallback] = {}

    def hand_off(
        self,
        *,
        callback_id: int,
        reference: str,
        customer_id: int | None,
        number_e164: str,
        window_start: datetime,
        window_end: datetime,
        reason: str,
        call_id: str | None,
    ) -> None:
        """Accept a request (the same ``callback_id`` twice keeps one entry)."""
        self._pending[callback_id] = PendingCallback(
            callback_id, reference, customer_id, number_e164, window_start, window_end, reason, call_id
        )
        log.info("acd.callback_pending", extra={"callback_id": callback_id, "customer_id": customer_id})

    def pending(self) -> list[PendingCallback]:
        """Every pending callback, earliest window first."""
        return sorted(self._pending.values(), key=lambda c: (c.window_start, c.callback_id))

    def due(self, now: datetime) -> list[PendingCallback]:
        """Pending callbacks whose window is open at ``now``."""
        return [c for c in self.pending() if c.window_start <= now < c.window_end]

    def take(self, callback_id: int) -> PendingCallback | None:
        """Remove and return a callback an agent is about to dial."""
        return self._pending.pop(callback_id, None)
