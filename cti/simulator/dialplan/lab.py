"""The lab contexts of the h–o traces (``tests/fixtures/asterisk/conf-live-h-o/extensions.conf``).

* ``lab-agi`` (``s``) — how those traces place "a call":
  ``Originate Channel=Local/s@lab-agi Context=driver-caller Exten=s
  Variable=LAB_SCRIPT=<script>``: ``;1`` is the customer's phone
  (``driver-caller``: ``Wait(600)``), ``;2`` runs
  ``AGI(agi://<agi_host>:<agi_port>/${LAB_SCRIPT})``, ``NoOp``, ``Hangup()``;
* ``agents-deaf`` (``_100X``) — an agent phone that rings and never answers;
* ``lab-redirected`` (``s``) — a Redirect target: ``NoOp``, ``Wait(2)``, ``Hangup()``;
* ``lab-xfer`` (``_100X``) — a transfer target: ``Dial(Local/<exten>@agents,30,tT)``;
* ``lab-hints`` — no extensions, only hints (:data:`LAB_HINTS`, declared with
  :meth:`~cti.simulator.PbxSimulator.add_hint`; trace n).

With these the simulator can be replayed against those traces action for action.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from cti.simulator.events import callerid_all
from cti.simulator.hints import Hint

if TYPE_CHECKING:
    from cti.simulator.dialplan.engine import Frame

__all__ = ["LAB_CONTEXTS", "LAB_HINTS"]

_AGENT_EXTEN = re.compile(r"100\d")
#: ``[lab-hints]``: ``exten => 1001,hint,Local/1001@agents`` and the like.
LAB_HINTS = (
    Hint("1001", "lab-hints", "Local/1001@agents"),
    Hint("1002", "lab-hints", "Local/1002@agents"),
    Hint("agent1", "lab-hints", "Custom:agent1"),
)


async def _lab_agi(f: Frame) -> None:
    config = f.pbx.config
    script = f.var("LAB_SCRIPT")
    await f.run(1, "NoOp", f"lab agi script {script}")
    await f.run(2, "AGI", f"agi://{config.agi_host}:{config.agi_port}/{script}")
    await f.run(3, "NoOp", f"lab agi done AGISTATUS={f.var('AGISTATUS')}")
    await f.run(4, "Hangup", "")


async def _agents_deaf(f: Frame) -> None:
    await f.run(1, "Ringing", "")
    await f.run(2, "Wait", "3600")


async def _lab_redirected(f: Frame) -> None:
    await f.run(1, "NoOp", f"redirected here from {callerid_all(f.channel)}")
    await f.run(2, "Wait", "2")
    await f.run(3, "Hangup", "")


async def _lab_xfer(f: Frame) -> None:
    exten = f.channel.exten
    await f.run(1, "NoOp", f"transfer to agent {exten}")
    await f.run(2, "Dial", f"Local/{exten}@agents,30,tT")
    await f.run(3, "Hangup", "")


def _is_agent(exten: str) -> bool:
    return bool(_AGENT_EXTEN.fullmatch(exten))


LAB_CONTEXTS: dict[str, tuple[Callable[[str], bool], Callable[[Frame], Awaitable[None]]]] = {
    "lab-agi": (lambda exten: exten == "s", _lab_agi),
    "agents-deaf": (_is_agent, _agents_deaf),
    "lab-redirected": (lambda exten: exten == "s", _lab_redirected),
    "lab-xfer": (_is_agent, _lab_xfer),
}
