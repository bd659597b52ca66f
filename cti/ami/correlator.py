"""Match AMI responses and event lists to the actions that asked for them.

Asterisk answers every action with one ``Response`` carrying the action's
``ActionID``.  A list action (``CoreShowChannels``, ``QueueStatus``) answers
``Response: Success`` + ``EventList: start`` and then sends its items as
events with the same ``ActionID``, closed by a ``…Complete`` event with
``EventList: Complete``.  Responses and unrelated events interleave freely
(trace d), and an Originate's ``OriginateResponse`` event carries the
Originate's ``ActionID`` long after the action was answered: such an event
is *not* consumed here, it is an ordinary event for the call tracker.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from cti.ami.errors import AmiActionError, AmiConnectionError
from cti.ami.message import AmiMessage

__all__ = ["ActionCorrelator"]

_ERROR_RESPONSES = frozenset({"error", "fail", "failure"})


@dataclass(slots=True)
class _Pending:
    action: str
    as_list: bool
    future: asyncio.Future[AmiMessage | list[AmiMessage]]
    started: bool = False
    items: list[AmiMessage] = field(default_factory=list)


def _starts_list(response: AmiMessage) -> bool:
    if (response.get("EventList") or "").lower() == "start":
        return True
    # Older Asterisk versions announce a list only in the text.
    return "will follow" in (response.get("Message") or "").lower()


def _ends_list(event: AmiMessage) -> bool:
    if (event.get("EventList") or "").lower() == "complete":
        return True
    return (event.event or "").endswith("Complete")


class ActionCorrelator:
    """Pending actions of one connection, keyed by ``ActionID``."""

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def expect(
        self, action_id: str, action: str, *, as_list: bool
    ) -> asyncio.Future[AmiMessage | list[AmiMessage]]:
        """Register an action about to be sent; its future gets the answer.

        The future's result is the response (``as_list=False``) or the list
        items without the closing ``…Complete`` event (``as_list=True``); an
        error response sets :class:`AmiActionError`.
        """
        future: asyncio.Future[AmiMessage | list[AmiMessage]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(action, as_list, future)
        return future

    def discard(self, action_id: str) -> None:
        """Forget an action (answered, timed out or cancelled by its caller)."""
        self._pending.pop(action_id, None)

    def handle(self, message: AmiMessage) -> bool:
        """Give ``message`` to the action it answers; ``False`` if it is not an answer."""
        if not self._pending:
            # Most events arrive with no action waiting: finding out that an event carries no
            # ``ActionID`` reads every one of its lines.
            return False
        action_id = message.action_id
        if action_id is None:
            return False
        pending = self._pending.get(action_id)
        if pending is None:
            return False
        if "Event" in message:
            if not (pending.as_list and pending.started):
                return False
            if _ends_list(message):
                self._finish(action_id, pending, pending.items)
            else:
                pending.items.append(message)
            return True
        if "Response" not in message:
            return False
        if (message.response or "").lower() in _ERROR_RESPONSES:
            self._fail(action_id, pending, AmiActionError(pending.action, message))
        elif pending.as_list and _starts_list(message):
            pending.started = True
        elif pending.as_list:
            self._finish(action_id, pending, [])
        else:
            self._finish(action_id, pending, message)
        return True

    def fail_all(self, reason: str) -> None:
        """Fail every pending action with :class:`AmiConnectionError` (the link is gone)."""
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            if not entry.future.done():
                entry.future.set_exception(AmiConnectionError(f"{entry.action}: {reason}"))

    def _finish(self, action_id: str, pending: _Pending, result: AmiMessage | list[AmiMessage]) -> None:
        del self._pending[action_id]
        if not pending.future.done():
            pending.future.set_result(result)

    def _fail(self, action_id: str, pending: _Pending, exc: Exception) -> None:
        del self._pending[action_id]
        if not pending.future.done():
            pending.future.set_exception(exc)
