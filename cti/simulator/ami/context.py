"""What an AMI action handler sees: the request, the session and reply helpers.

Replies follow ``astman_send_response``: ``Response`` first, then
``ActionID`` (only when the request had one), then ``Message`` and the
action's own keys.  Header lookup is case-insensitive, like
``astman_get_header``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from cti.ami.message import AmiMessage
from cti.simulator.core import Pbx

if TYPE_CHECKING:
    from cti.simulator.ami.filters import FilterSet

__all__ = ["ActionContext", "ActionHandler", "SessionLike"]


class SessionLike(Protocol):
    """The parts of an AMI session that action handlers use."""

    filters: FilterSet
    event_mask: frozenset[str] | None
    username: str

    def send(self, message: AmiMessage) -> None: ...

    def write(self, data: bytes) -> None: ...

    def set_events(self, value: str) -> bool: ...


class ActionContext:
    """One action being processed."""

    def __init__(self, pbx: Pbx, session: SessionLike, message: AmiMessage) -> None:
        self.pbx = pbx
        self.session = session
        self.message = message
        self.action_id: str | None = self.header_or_none("ActionID")

    def header_or_none(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.message.fields:
            if key.lower() == lowered:
                return value
        return None

    def header(self, name: str) -> str:
        """The first value of header *name* (any case), ``""`` when absent."""
        value = self.header_or_none(name)
        return "" if value is None else value.strip()

    def headers(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.message.fields if key.lower() == lowered]

    def reply(self, status: str, message: str | None = None, extra: Iterable[tuple[str, str]] = ()) -> None:
        fields = [("Response", status)]
        if self.action_id is not None:
            fields.append(("ActionID", self.action_id))
        if message is not None:
            fields.append(("Message", message))
        fields.extend(extra)
        self.session.send(AmiMessage(fields))

    def success(self, message: str | None = None, extra: Iterable[tuple[str, str]] = ()) -> None:
        self.reply("Success", message, extra)

    def error(self, message: str) -> None:
        self.reply("Error", message)

    def list_start(self, message: str) -> None:
        """``astman_send_listack``: the response that opens an event list."""
        self.reply("Success", None, [("EventList", "start"), ("Message", message)])

    def list_item(self, fields: list[tuple[str, str]]) -> None:
        """An event of a list; ``ActionID`` goes where the caller placed ``None``."""
        self.session.send(AmiMessage(fields))

    def id_field(self) -> list[tuple[str, str]]:
        return [] if self.action_id is None else [("ActionID", self.action_id)]

    def list_complete(self, event: str, count: int, extra: Iterable[tuple[str, str]] = ()) -> None:
        fields = [
            ("Event", event),
            *self.id_field(),
            ("EventList", "Complete"),
            ("ListItems", str(count)),
            *extra,
        ]
        self.session.send(AmiMessage(fields))


ActionHandler = Callable[[ActionContext], Awaitable[None]]
