"""The dialplan, coded in Python to mirror the lab's ``extensions.conf``.

Contexts:

* ``ivr-in`` (``s``): ``AGI(agi://<agi_host>:<agi_port>/ivr)``; with
  ``IVR_CHOICE=support`` → ``Set(__IVR_ACCOUNT=...)``, ``Queue(support,,,,120)``;
  else ``Playback(vm-goodbye)``, ``Hangup()``.
* ``caller`` (``wait``, ``senddtmf``): the customer's side of an originated
  Local channel.
* ``agents`` (``_100X``, ``1009`` and every ``Local/<exten>@agents``
  :class:`~cti.simulator.AgentPhone`): ring, answer, talk, hang up.
* ``bankcti-inbound`` (any extension): ``AGI(agi://.../<inbound_script>)``,
  ``Hangup()`` — the product's entry point.
* ``dtmf-lab`` (``s``, ``once``): the DTMF experiments of trace f.
* ``driver-caller`` (``s``): ``Wait(600)``, ``Hangup()`` — the far end of a
  call originated straight to a device (trace n; :meth:`PbxSimulator.call_device`).
* the lab contexts of traces h–o (``lab-agi``, ``agents-deaf``, ``lab-xfer``,
  ``lab-redirected``): :mod:`cti.simulator.dialplan.lab`; ``parkedcalls`` and
  ``park-dial`` (res_parking's): :mod:`cti.simulator.dialplan.parking`.

Each application runs with its priority and emits ``Newexten``; a negative
application result or a hung-up channel ends the dialplan, after which the
channel is hung up (:meth:`Pbx.end_pbx`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

from cti.simulator.apps.basic import find_app
from cti.simulator.bridging import take_goto
from cti.simulator.channels import Channel
from cti.simulator.core import Pbx
from cti.simulator.dialplan.control import CONTROL_CONTEXTS
from cti.simulator.dialplan.lab import LAB_CONTEXTS
from cti.simulator.dialplan.parking import PARKING_CONTEXTS
from cti.simulator.events import callerid_all

__all__ = ["Dialplan", "Frame"]

# The package's name: the dialplan logs as it did before it became a package.
log = logging.getLogger("cti.simulator.dialplan")

FOREVER = "31536000"


class _PbxExit(Exception):
    """The dialplan of a channel is over."""


def _fmt_seconds(value: float) -> str:
    return f"{value:g}"


class Frame:
    """Execution state of one channel's dialplan."""

    def __init__(self, pbx: Pbx, channel: Channel, start_priority: int) -> None:
        self.pbx = pbx
        self.channel = channel
        self.start_priority = start_priority

    def var(self, name: str) -> str:
        value = self.channel.variables.get(name)
        if value is None:
            value = self.pbx.globals.get(name, "")
        return value

    async def run(self, priority: int, application: str, data: str) -> int:
        """Execute ``application(data)`` at *priority* (skipped before the start)."""
        if priority < self.start_priority:
            return 0
        channel = self.channel
        if channel.dead:
            raise _PbxExit
        self.pbx.newexten(channel, priority, application, data)
        app = find_app(application)
        if app is None:
            raise _PbxExit
        result = await app(self.pbx, channel, data)
        if result < 0 or channel.dead:
            raise _PbxExit
        return result


ContextHandler = Callable[[Frame], Awaitable[None]]


class Dialplan:
    """Contexts, extension matching and the per-channel dialplan task."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self._contexts: dict[str, tuple[Callable[[str], bool], ContextHandler]] = {
            "ivr-in": (lambda exten: exten == "s", self._ivr_in),
            "caller": (lambda exten: exten in ("wait", "senddtmf"), self._caller),
            "agents": (self._is_agent_exten, self._agents),
            "bankcti-inbound": (lambda exten: bool(exten), self._bankcti_inbound),
            "dtmf-lab": (lambda exten: exten in ("s", "once"), self._dtmf_lab),
            "driver-caller": (lambda exten: exten == "s", self._driver_caller),
            **CONTROL_CONTEXTS,
            **LAB_CONTEXTS,
            **PARKING_CONTEXTS,
        }
        pbx.dialplan = self

    def has_extension(self, context: str, exten: str) -> bool:
        entry = self._contexts.get(context)
        return entry is not None and entry[0](exten)

    def start(self, channel: Channel, context: str, exten: str, priority: int = 1) -> asyncio.Task[None]:
        channel.context, channel.exten, channel.priority = context, exten, priority
        task = self.pbx.spawn(self._run(channel, priority), f"pbx-{channel.name}")
        channel.pbx_task = task
        return task

    async def _run(self, channel: Channel, priority: int) -> None:
        entry = self._contexts.get(channel.context)
        if entry is not None and entry[0](channel.exten):
            try:
                await entry[1](Frame(self.pbx, channel, priority))
            except _PbxExit:
                pass
            except Exception:
                # A simulator bug must end this call, not leave it up forever.
                log.exception("sim.dialplan_failed", extra={"channel": channel.name})
        goto = take_goto(channel)
        if goto is not None and not channel.gone:
            # An async goto (blind transfer) ended the application, not the channel.
            channel.clear_hangup()
            self.start(channel, *goto)
            return
        await self.pbx.end_pbx(channel)

    def _agi_url(self, script: str) -> str:
        config = self.pbx.config
        return f"agi://{config.agi_host}:{config.agi_port}/{script}"

    # -- contexts ---------------------------------------------------------------------
    async def _ivr_in(self, f: Frame) -> None:
        await f.run(1, "NoOp", f"ivr-in: inbound call from {callerid_all(f.channel)}")
        await f.run(2, "AGI", self._agi_url("ivr"))
        await f.run(
            3,
            "NoOp",
            f"AGISTATUS={f.var('AGISTATUS')} IVR_CHOICE={f.var('IVR_CHOICE')} "
            f"IVR_ACCOUNT={f.var('IVR_ACCOUNT')}",
        )
        support = f.var("IVR_CHOICE") == "support"
        await f.run(4, "GotoIf", f"{1 if support else 0}?support")
        if not support:
            await f.run(5, "Playback", "vm-goodbye")
            await f.run(6, "Hangup", "")
            return
        await f.run(7, "Set", f"__IVR_ACCOUNT={f.var('IVR_ACCOUNT')}")
        await f.run(8, "Queue", "support,,,,120")
        await f.run(9, "NoOp", f"QUEUESTATUS={f.var('QUEUESTATUS')}")
        await f.run(10, "Hangup", "")

    async def _caller(self, f: Frame) -> None:
        if f.channel.exten == "wait":
            await f.run(1, "NoOp", "caller leg up")
            await f.run(2, "Wait", "300")
            await f.run(3, "Hangup", "")
            return
        digits, delay = f.var("DTMF_DIGITS"), f.var("DTMF_DELAY")
        await f.run(1, "NoOp", f"caller leg will send {digits} after {delay}s")
        await f.run(2, "Wait", delay)
        await f.run(3, "SendDTMF", f"{digits},250,250")
        await f.run(4, "Wait", "300")
        await f.run(5, "Hangup", "")

    def _is_agent_exten(self, exten: str) -> bool:
        return bool(re.fullmatch(r"100\d", exten)) or self.pbx.phone_for(f"Local/{exten}@agents") is not None

    async def _agents(self, f: Frame) -> None:
        chan, exten = f.channel, f.channel.exten
        phone = self.pbx.phone_for(f"Local/{exten}@agents")
        if phone is None and exten == "1009":
            await f.run(1, "Answer", "")
            await f.run(2, "Echo", "")
            await f.run(3, "Hangup", "")
            return
        if phone is not None:
            delay = _fmt_seconds(phone.answer_after) if phone.answers else FOREVER
            talk = FOREVER if phone.talk_seconds is None else _fmt_seconds(phone.talk_seconds)
        else:
            delay, talk = f.var(f"AGENT_{exten}_DELAY"), f.var(f"AGENT_{exten}_TALK")
        await f.run(
            1, "NoOp", f"agent phone {exten} ringing for {callerid_all(chan)} account {f.var('IVR_ACCOUNT')}"
        )
        await f.run(2, "Ringing", "")
        await f.run(3, "Wait", delay)
        await f.run(4, "Answer", "")
        if not talk:
            # AGENT_<exten>_TALK empty: the h–o lab's phone (conf-live-h-o), Echo() until hung up.
            await f.run(5, "Echo", "")
            return
        await f.run(5, "Wait", talk)
        await f.run(6, "Hangup", "")

    async def _bankcti_inbound(self, f: Frame) -> None:
        await f.run(1, "AGI", self._agi_url(self.pbx.config.inbound_script))
        await f.run(2, "Hangup", "")

    async def _driver_caller(self, f: Frame) -> None:
        await f.run(1, "Wait", "600")
        await f.run(2, "Hangup", "")

    async def _dtmf_lab(self, f: Frame) -> None:
        script = "dtmftest" if f.channel.exten == "s" else "dtmfonce"
        await f.run(1, "AGI", self._agi_url(script))
        await f.run(2, "Hangup", "")
