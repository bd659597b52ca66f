"""The public facade: :class:`PbxSimulator`, an Asterisk 22 stand-in over TCP.

It listens for AMI clients (like Asterisk's ``manager.conf`` listener) and,
for each ``AGI()`` in its dialplan, connects to the service's FastAGI server
like ``res_agi``.  Calls come from AMI ``Originate`` (the lab's way, see
``tests/fixtures/asterisk``) or from :meth:`PbxSimulator.place_call` (an
inbound trunk call into ``bankcti-inbound``).

Example::

    sim = PbxSimulator(SimulatorConfig(agi_port=agi.port, speed=50))
    await sim.start()
    sim.add_phone(AgentPhone("PJSIP/1001", answer_after=1, talk_seconds=5))
    call = await sim.place_call(CallerScript("+8613800000001", keys=["1"]))
    result = await call.wait_finished(timeout=10)
    await sim.close()
"""

from __future__ import annotations

import asyncio
import logging
import time

from cti.simulator.ami.server import AmiServer
from cti.simulator.channels import Channel
from cti.simulator.config import AgentPhone, CallerScript, SimulatorConfig
from cti.simulator.core import Pbx
from cti.simulator.dialplan.engine import Dialplan
from cti.simulator.direct import DirectCall, place_direct_call
from cti.simulator.hints import Hint
from cti.simulator.scripts import SimulatedCall, place_inbound_call

__all__ = ["PbxSimulator"]

log = logging.getLogger(__name__)


class PbxSimulator:
    """A simulated Asterisk: AMI server, dialplan, FastAGI client, phones, callers."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.pbx = Pbx(self.config)
        self.dialplan = Dialplan(self.pbx)
        self.ami = AmiServer(self.pbx)
        self._started = False

    async def start(self) -> None:
        """Start listening for AMI clients."""
        await self.ami.start()
        self._started = True
        log.info("sim.started", extra={"ami_port": self.ami_port, "agi_port": self.config.agi_port})

    @property
    def ami_port(self) -> int:
        """The bound AMI port (useful with ``ami_port=0``)."""
        return self.ami.port

    async def close(self) -> None:
        """Stop everything: AMI connections, calls, AGI sessions."""
        await self.ami.close()
        await self.pbx.cancel_tasks()
        self._started = False
        log.info("sim.closed")

    async def __aenter__(self) -> PbxSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def add_phone(self, phone: AgentPhone) -> None:
        """Register (or replace) the phone answering calls to ``phone.device``."""
        self.pbx.phones[phone.device] = phone

    def remove_phone(self, device: str) -> None:
        self.pbx.phones.pop(device, None)

    def add_hint(self, hint: Hint) -> None:
        """Declare (or replace) a dialplan hint, ``exten => <exten>,hint,<devices>``.

        Each change of its state publishes ``ExtensionStatus``; AMI
        ``ExtensionState``/``ExtensionStateList`` and ``EXTENSION_STATE()``
        read it.  The h–o lab's hints are
        :data:`cti.simulator.dialplan.lab.LAB_HINTS`.
        """
        self.pbx.hints.add(self.pbx, hint)

    async def place_call(self, script: CallerScript, *, context: str = "bankcti-inbound") -> SimulatedCall:
        """A customer calls: a ``PJSIP/trunk-<seq>`` channel runs *context*.

        The extension is the dialed number (``script.dnid``) when *context*
        has it, else ``s`` (``ivr-in``); :exc:`ValueError` if neither exists.
        """
        exten = script.dnid or "s"
        if not self.dialplan.has_extension(context, exten):
            exten = "s"
            if not self.dialplan.has_extension(context, exten):
                raise ValueError(f"no extension {script.dnid!r} or 's' in context {context!r}")
        return place_inbound_call(self.pbx, script, context, exten)

    def call_device(self, device: str, *, caller_id: str = "", caller_name: str = "") -> DirectCall:
        """Somebody calls ``device`` (an agent's phone) directly, not through the service.

        Placed like trace n's ``Originate Channel=<device> Context=driver-caller
        Exten=s``: the device rings and answers as its phone or dialplan does;
        the call lasts until :meth:`DirectCall.hangup` or the phone hangs up.
        """
        return place_direct_call(self.pbx, device, caller_id or None, caller_name or None)

    def channels(self) -> list[Channel]:
        """The live channels (snapshots of the simulator's state)."""
        return list(self.pbx.registry)

    def set_global(self, name: str, value: str) -> None:
        """Set a dialplan global (like AMI ``Setvar`` without a channel)."""
        self.pbx.set_var(None, name, value)

    async def restart(self, *, down_for: float = 0.3, boot_for: float = 0.03) -> None:
        """``core restart now`` as an AMI client sees it (traces o1, o2).

        Every session gets ``Event: Shutdown`` (``Restart: True``) and is
        closed without ``Goodbye``; every call dies with the process; for
        *down_for* real seconds connects are refused; then the same port
        listens again and logins succeed, but ``FullyBooted`` (``Uptime: 0``)
        comes only *boot_for* seconds later, to the sessions logged in by then
        — after that a login gets it at once, as on a fresh start.
        """
        if down_for < 0 or boot_for < 0:
            raise ValueError("down_for and boot_for must not be negative")
        await self.ami.shutdown(restart=True)
        await self.pbx.restart()
        log.info("sim.restarting", extra={"down_for": down_for})
        await asyncio.sleep(down_for)
        self.pbx.started_at = time.time()  # the new process starts now: Uptime 0
        self.ami.fully_booted = False
        await self.ami.start()
        await asyncio.sleep(boot_for)
        self.ami.boot_complete()
        log.info("sim.restarted", extra={"ami_port": self.ami_port})

    async def drop_ami_clients(self) -> None:
        """Close every AMI connection (reconnect tests)."""
        await self.ami.drop_clients()

    def set_ami_frozen(self, frozen: bool) -> None:
        """Stop answering actions (Ping included) and sending events; sockets stay open."""
        self.ami.frozen = frozen
