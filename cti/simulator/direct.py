"""Direct calls: a call placed straight to a device, past the service's ACD.

Trace n's way: ``Originate Channel=Local/1001@agents Context=driver-caller
Exten=s``.  The device rings (a Local agent device runs ``[agents]``, a SIP
device its :class:`~cti.simulator.AgentPhone`), answers, and the originated
channel waits in ``driver-caller`` until somebody hangs up — a colleague or
a customer who dialled the agent's extension, as the PBX sees it.  The
service learns of such a call only from AMI events (``Newchannel``,
``DeviceStateChange``…): nothing goes through its FastAGI.

:func:`place_direct_call` starts one; the :class:`DirectCall` handle waits
for the answer or the end and hangs the call up like an AMI ``Hangup`` of
the originated channel.
"""

from __future__ import annotations

import asyncio

from cti.ami.message import AmiMessage
from cti.simulator.channels import Channel
from cti.simulator.core import Pbx
from cti.simulator.originate import OriginateRequest, originate

__all__ = ["DirectCall", "place_direct_call"]

CONTEXT = "driver-caller"


class DirectCall:
    """Handle of one call originated straight to a device (see :func:`place_direct_call`).

    ``uniqueid`` (also the ``Linkedid``) is the originated channel's: the
    ``;1`` of a Local device, the SIP channel itself otherwise.  ``events``
    collects every AMI event of the call.
    """

    def __init__(self, pbx: Pbx, device: str, uniqueid: str) -> None:
        self._pbx = pbx
        self.device = device
        self.uniqueid = uniqueid
        self.linkedid = uniqueid
        self.events: list[AmiMessage] = []
        self._answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._finished = asyncio.Event()

    # -- CallObserver --------------------------------------------------------------------
    def on_event(self, message: AmiMessage) -> None:
        self.events.append(message)

    def on_agi_command(self, line: str) -> None:
        return None  # a direct call runs no AGI

    def on_dial_status(self, status: str) -> None:
        return None

    def on_agent_answer(self, device: str) -> None:
        return None

    def on_channel_gone(self, channel: Channel) -> None:
        self._finish_if_over()

    def _finish_if_over(self) -> None:
        if self._finished.is_set() or any(live.linkedid == self.linkedid for live in self._pbx.registry):
            return
        self._pbx.calls.pop(self.linkedid, None)
        self._set_answered(False)
        self._finished.set()

    # -- public API ----------------------------------------------------------------------
    def _set_answered(self, answered: bool) -> None:
        if not self._answered.done():
            self._answered.set_result(answered)

    @property
    def channel(self) -> Channel | None:
        """The originated channel while it lives."""
        return self._pbx.registry.by_uniqueid(self.uniqueid)

    async def wait_answered(self, timeout: float) -> None:  # noqa: ASYNC109 - the simulator API
        """Wait (real seconds) until the device answered.

        Raises :exc:`RuntimeError` when the call ended unanswered (busy, no
        answer, unknown device) and :exc:`TimeoutError` after *timeout*.
        """
        async with asyncio.timeout(timeout):
            answered = await asyncio.shield(self._answered)
        if not answered:
            raise RuntimeError(f"direct call to {self.device} was not answered")

    async def wait_finished(self, timeout: float) -> None:  # noqa: ASYNC109 - the simulator API
        """Wait (real seconds) until every channel of the call is gone."""
        async with asyncio.timeout(timeout):
            await self._finished.wait()

    def hangup(self, cause: int = 16) -> None:
        """Hang the call up from the originating side (AMI ``Hangup`` of that channel, trace n)."""
        channel = self.channel
        if channel is not None:
            self._pbx.soft_hangup(channel, cause)


def place_direct_call(pbx: Pbx, device: str, caller_num: str | None, caller_name: str | None) -> DirectCall:
    """Ring ``device`` now, outside any queue; the call is up once the device answers."""
    uniqueid = pbx.registry.next_uniqueid()
    call = DirectCall(pbx, device, uniqueid)
    pbx.calls[uniqueid] = call
    request = OriginateRequest(
        channel=device,
        context=CONTEXT,
        exten="s",
        caller_num=caller_num,
        caller_name=caller_name,
        channel_id=uniqueid,
        publish_response=False,
    )

    async def run() -> None:
        call._set_answered(await originate(pbx, request))
        call._finish_if_over()  # an unknown device never had a channel to see go

    pbx.spawn(run(), f"direct-call-{device}")
    return call
