"""The interfaces the PBX core calls out through: call observers and the dialplan."""

from __future__ import annotations

import asyncio
from typing import Protocol

from cti.ami.message import AmiMessage
from cti.simulator.channels import Channel

__all__ = ["CallObserver", "DialplanRunner"]


class CallObserver(Protocol):
    """Receives what happens to one call (keyed by its ``Linkedid``)."""

    def on_event(self, message: AmiMessage) -> None: ...

    def on_agi_command(self, line: str) -> None: ...

    def on_dial_status(self, status: str) -> None: ...

    def on_agent_answer(self, device: str) -> None: ...

    def on_channel_gone(self, channel: Channel) -> None: ...


class DialplanRunner(Protocol):
    """What the core needs from the dialplan (set by :mod:`cti.simulator.dialplan.engine`)."""

    def has_extension(self, context: str, exten: str) -> bool: ...

    def start(self, channel: Channel, context: str, exten: str, priority: int = 1) -> asyncio.Task[None]: ...
