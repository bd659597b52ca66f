"""Scripted customers: inbound calls driven by a :class:`CallerScript`, and a load generator.

:func:`place_inbound_call` creates the inbound trunk channel
``PJSIP/trunk-<8 hex>`` (single leg, ``Linkedid`` = its ``Uniqueid``) and
runs the given context on it.  The :class:`SimulatedCall` it returns
records every AMI event and AGI command of the call, presses the scripted
keys while the service runs a digit-reading AGI command, hangs up on
schedule and reports a :class:`~cti.simulator.CallResult`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from cti.ami.message import AmiMessage
from cti.simulator.channels import Channel, ChannelState, DigitReader
from cti.simulator.config import CallerScript, CallResult
from cti.simulator.core import Pbx

__all__ = ["CallGenerator", "SimulatedCall", "place_inbound_call"]

log = logging.getLogger(__name__)

KEY_PRESS_MS = 100


class SimulatedCall:
    """Handle of one inbound call placed by :meth:`PbxSimulator.place_call`.

    ``events`` holds every AMI event whose ``Linkedid`` is this call's (plus
    its bridge events), ``agi_commands`` every AGI command the service sent.
    """

    def __init__(self, pbx: Pbx, channel: Channel, script: CallerScript) -> None:
        self._pbx = pbx
        self._channel = channel
        self._script = script
        self.linkedid = channel.linkedid
        self.uniqueid = channel.uniqueid
        self.channel = channel.name
        self.agi_commands: list[str] = []
        self.events: list[AmiMessage] = []
        self.answered_by: str | None = None
        self.dial_statuses: list[str] = []
        self._started = time.monotonic()
        self._result: CallResult | None = None
        self._finished = asyncio.Event()
        self._reads = 0
        self._hangup_after_answer_armed = False
        self._next_press: str | None = None
        channel.reader_listeners.append(self._on_reader)

    # -- CallObserver -----------------------------------------------------------------
    def on_event(self, message: AmiMessage) -> None:
        self.events.append(message)

    def on_agi_command(self, line: str) -> None:
        self.agi_commands.append(line)

    def on_dial_status(self, status: str) -> None:
        self.dial_statuses.append(status)

    def on_agent_answer(self, device: str) -> None:
        if self.answered_by is None:
            self.answered_by = device
        delay = self._script.hangup_after_answer
        if delay is not None and not self._hangup_after_answer_armed:
            self._hangup_after_answer_armed = True
            self._pbx.spawn(self._hangup_later(delay), f"caller-hangup-{self.channel}")

    def on_channel_gone(self, channel: Channel) -> None:
        if self._result is not None or not self._channel.gone:
            return
        if any(live.linkedid == self.linkedid for live in self._pbx.registry):
            return
        cause = self._channel.hangup_cause if self._channel.hangup_cause is not None else 16
        self._result = CallResult(
            linkedid=self.linkedid,
            answered_by=self.answered_by,
            dial_statuses=list(self.dial_statuses),
            hangup_cause=cause,
            duration=time.monotonic() - self._started,
        )
        self._pbx.calls.pop(self.linkedid, None)
        self._finished.set()

    # -- public API ------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self._result is not None

    async def wait_finished(self, timeout: float) -> CallResult:  # noqa: ASYNC109 - the simulator API
        """Wait (real seconds) until every channel of the call is gone.

        Raises :exc:`TimeoutError` when the call is still up after *timeout*.
        """
        async with asyncio.timeout(timeout):
            await self._finished.wait()
        assert self._result is not None
        return self._result

    def press(self, digits: str) -> None:
        """The customer presses ``digits`` now: during the digit-reading command running, else the next one.

        (A key pressed while no AGI command reads digits would be lost on a
        real Asterisk too; this waits for the next reader, as a patient caller
        pressing again would.)
        """
        if not set(digits) <= set("0123456789*#ABCD"):
            raise ValueError(f"not DTMF digits: {digits!r}")
        if self._channel.reader is not None:
            self._deliver(self._channel, digits)
        else:
            self._next_press = digits

    async def hangup(self) -> None:
        """The customer hangs up (a BYE on the trunk: ``HangupRequest``)."""
        if not self._channel.dead:
            self._pbx.queue_hangup(self._channel, 16)

    # -- scripted behaviour ----------------------------------------------------------------
    def start_timers(self) -> None:
        if self._script.hangup_after is not None:
            self._pbx.spawn(self._hangup_later(self._script.hangup_after), f"caller-timer-{self.channel}")

    async def _hangup_later(self, delay: float) -> None:
        await self._pbx.sleep(delay)
        await self.hangup()

    def _on_reader(self, channel: Channel, reader: DigitReader) -> None:
        index = self._reads
        self._reads += 1
        if self._next_press is not None:
            digits, self._next_press = self._next_press, None
            self._deliver(channel, digits)
            return
        keys = self._script.keys
        if index < len(keys) and keys[index]:
            self._pbx.spawn(self._press(channel, reader, keys[index]), f"caller-keys-{self.channel}")

    def _deliver(self, channel: Channel, digits: str) -> None:
        # press(): the key goes to the reader running at this very moment.
        for digit in digits:
            if channel.reader is None or channel.dead:
                return
            self._pbx.receive_dtmf(channel, digit, KEY_PRESS_MS)

    async def _press(self, channel: Channel, reader: DigitReader, digits: str) -> None:
        for digit in digits:
            await self._pbx.sleep(self._script.key_delay)
            if channel.reader is not reader or channel.dead:
                return
            self._pbx.receive_dtmf(channel, digit, KEY_PRESS_MS)


def _caller_identity(script: CallerScript) -> tuple[str | None, str | None, int]:
    if not script.caller_id:
        return None, script.caller_name or None, 0
    if script.caller_id.lower() == "anonymous":
        return "anonymous", "Anonymous", 32
    return script.caller_id, script.caller_name or None, 0


def place_inbound_call(pbx: Pbx, script: CallerScript, context: str, exten: str) -> SimulatedCall:
    """Create the inbound trunk channel and start *context*, *exten* on it."""
    channel = pbx.new_channel("PJSIP", "trunk", context=context, exten=exten, state=ChannelState.RING)
    channel.dnid = script.dnid or None
    channel.caller_num, channel.caller_name, channel.caller_pres = _caller_identity(script)
    call = SimulatedCall(pbx, channel, script)
    pbx.calls[channel.linkedid] = call
    pbx.announce(channel)
    call.start_timers()
    pbx.run_dialplan(channel, context, exten)
    return call


class CallGenerator:
    """Places calls at a steady rate (for the demo and ``bankcti bench``).

    ``scripts(n)`` returns the :class:`CallerScript` of the *n*-th call
    (from 0); ``interval`` is in real seconds.  Finished calls are not kept:
    ``on_call`` (optional) receives each :class:`SimulatedCall` as placed.
    """

    def __init__(
        self,
        sim: object,
        scripts: Callable[[int], CallerScript],
        interval: float,
        *,
        context: str = "bankcti-inbound",
        on_call: Callable[[SimulatedCall], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        place = getattr(sim, "place_call", None)
        if place is None:
            raise TypeError("sim must be a PbxSimulator")
        self._place = place
        self._scripts = scripts
        self._interval = interval
        self._context = context
        self._on_call = on_call
        self._task: asyncio.Task[None] | None = None
        self.placed = 0

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sim-call-generator")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            try:
                call = await self._place(self._scripts(self.placed), context=self._context)
            except (ValueError, TypeError) as exc:
                log.error("sim.generator_bad_script", extra={"n": self.placed, "error": str(exc)})
                return
            self.placed += 1
            if self._on_call is not None:
                self._on_call(call)
            next_at += self._interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
