"""The dialplan contexts behind call control, as bankcti expects them on a real Asterisk.

``bankcti-dial`` is where transfers and click-to-dial send calls (see
:mod:`cti.control` for the ``extensions.conf`` it mirrors):

* ``queue`` — back into bankcti's ACD: ``AGI(agi://…/<inbound_script>)``
  (the flow reads ``BANKCTI_TRANSFER_QUEUE`` set on the channel first);
* ``agent`` — ``Dial(${BANKCTI_TRANSFER_DEVICE},30)``: an agent's device;
* a number (``_+X.``/``_X.``) — ``Dial(Local/<number>@pstn,60)``, the
  simulator's stand-in for ``Dial(PJSIP/<number>@trunk)``.

``pstn`` is the outside world of the simulator: a number rings, answers
after one second (or as the :class:`~cti.simulator.AgentPhone` registered as
``Local/<number>@pstn`` says) and stays on the line until hung up.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cti.simulator.dialplan.engine import Frame

__all__ = ["CONTROL_CONTEXTS", "DIAL_CONTEXT", "PSTN_CONTEXT"]

DIAL_CONTEXT = "bankcti-dial"
PSTN_CONTEXT = "pstn"
FOREVER = "31536000"
#: The sample's keypad alias of ``agent`` for attended transfers (config/asterisk/extensions.conf).
ATXFER_AGENT_EXTEN = "*82"
_NUMBER = re.compile(r"\+?[0-9]{2,20}")


def _is_dial_exten(exten: str) -> bool:
    return exten in ("queue", "agent", ATXFER_AGENT_EXTEN) or bool(_NUMBER.fullmatch(exten))


async def _bankcti_dial(f: Frame) -> None:
    exten = f.channel.exten
    config = f.pbx.config
    if exten == "queue":
        await f.run(1, "AGI", f"agi://{config.agi_host}:{config.agi_port}/{config.inbound_script}")
        await f.run(2, "Hangup", "")
        return
    if exten in ("agent", ATXFER_AGENT_EXTEN):
        await f.run(1, "Dial", f"{f.var('BANKCTI_TRANSFER_DEVICE')},30")
        await f.run(2, "Hangup", "")
        return
    await f.run(1, "Dial", f"Local/{exten}@{PSTN_CONTEXT},60")
    await f.run(2, "Hangup", "")


async def _pstn(f: Frame) -> None:
    phone = f.pbx.phone_for(f"Local/{f.channel.exten}@{PSTN_CONTEXT}")
    delay, talk = "1", FOREVER
    if phone is not None:
        delay = f"{phone.answer_after:g}" if phone.answers else FOREVER
        talk = FOREVER if phone.talk_seconds is None else f"{phone.talk_seconds:g}"
    await f.run(1, "Ringing", "")
    await f.run(2, "Wait", delay)
    await f.run(3, "Answer", "")
    await f.run(4, "Wait", talk)
    await f.run(5, "Hangup", "")


CONTROL_CONTEXTS: dict[str, tuple[Callable[[str], bool], Callable[[Frame], Awaitable[None]]]] = {
    DIAL_CONTEXT: (_is_dial_exten, _bankcti_dial),
    PSTN_CONTEXT: (lambda exten: bool(_NUMBER.fullmatch(exten)), _pstn),
}
