"""PBX simulator: an asyncio stand-in for Asterisk 22 at the protocol level.

It speaks AMI as a server (``Asterisk Call Manager/11.0.0``: login, actions,
filters, event fan-out) and FastAGI as a client (``res_agi``), runs a
Python-coded dialplan mirroring the lab's ``extensions.conf`` (``ivr-in``,
``caller``, ``agents``) plus the product's ``bankcti-inbound`` context, and
emits the same events, in the same order and with the same keys, as the real
traces in ``tests/fixtures/asterisk``.  Used by the demo, the tests and
``bankcti bench``.  Call control (``Park``/``ParkedCall``, ``BlindTransfer``,
``Atxfer``/``CancelAtxfer``, ``ChanSpy``) and its ``bankcti-dial`` context
live in :mod:`~cti.simulator.ami.control_actions`,
:mod:`~cti.simulator.apps.control` and :mod:`~cti.simulator.dialplan.control`.

* :class:`PbxSimulator` — start/close, :meth:`~PbxSimulator.place_call`,
  :meth:`~PbxSimulator.add_phone`, AMI test controls.
* :class:`SimulatorConfig`, :class:`AgentPhone`, :class:`CallerScript` —
  configuration and scripted behaviour.
* :class:`SimulatedCall`, :class:`CallResult` — one inbound call and its outcome.
* :class:`DirectCall` — a call placed straight to a device (:meth:`PbxSimulator.call_device`).
* :class:`Hint` — a dialplan hint (:meth:`PbxSimulator.add_hint`): ``ExtensionStatus`` events.
* :class:`CallGenerator` — steady-rate load.
"""

from cti.simulator.channels import Channel, ChannelState
from cti.simulator.config import AgentPhone, CallerScript, CallResult, SimulatorConfig
from cti.simulator.direct import DirectCall
from cti.simulator.hints import Hint
from cti.simulator.scripts import CallGenerator, SimulatedCall
from cti.simulator.simulator import PbxSimulator

__all__ = [
    "AgentPhone",
    "CallGenerator",
    "CallResult",
    "CallerScript",
    "Channel",
    "ChannelState",
    "DirectCall",
    "Hint",
    "PbxSimulator",
    "SimulatedCall",
    "SimulatorConfig",
]
