"""The dialplan contexts ``res_parking`` makes for the lot ``default`` (traces j1, j2).

* ``parkedcalls`` (``701``–``750``): ``ParkedCall(default,<space>)`` — an
  ``Originate`` into ``701@parkedcalls`` retrieves the call parked there;
* ``park-dial`` (the parker's dial string with ``/`` flattened to ``_``,
  ``Local_1001@agents``): where a parkee whose time ran out continues
  (``comebacktoorigin=yes``): ``Dial(<parker>,30)`` (``comebackdialtime``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cti.simulator.dialplan.engine import Frame

__all__ = ["PARKEDCALLS_CONTEXT", "PARKING_CONTEXTS", "PARK_DIAL_CONTEXT", "park_dial_exten"]

PARKEDCALLS_CONTEXT = "parkedcalls"
PARK_DIAL_CONTEXT = "park-dial"
COMEBACK_DIAL_SECONDS = 30


def park_dial_exten(parker_dial_string: str) -> str:
    """The ``park-dial`` extension of a parker: ``Local/1001@agents`` → ``Local_1001@agents``."""
    return parker_dial_string.replace("/", "_")


async def _parkedcalls(f: Frame) -> None:
    await f.run(1, "ParkedCall", f"default,{f.channel.exten}")


async def _park_dial(f: Frame) -> None:
    parker = f.channel.exten.replace("_", "/", 1)
    await f.run(1, "Dial", f"{parker},{COMEBACK_DIAL_SECONDS}")


def _is_space(exten: str) -> bool:
    return exten.isdigit() and 701 <= int(exten) <= 750


PARKING_CONTEXTS: dict[str, tuple[Callable[[str], bool], Callable[[Frame], Awaitable[None]]]] = {
    PARKEDCALLS_CONTEXT: (_is_space, _parkedcalls),
    PARK_DIAL_CONTEXT: (lambda exten: "_" in exten, _park_dial),
}
