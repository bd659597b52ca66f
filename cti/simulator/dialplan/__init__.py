"""The simulator's dialplan, coded in Python to mirror the lab's ``extensions.conf``.

* :mod:`~cti.simulator.dialplan.engine` — :class:`~cti.simulator.dialplan.engine.Dialplan`
  (contexts, extension matching, the per-channel dialplan task), its
  :class:`~cti.simulator.dialplan.engine.Frame`, and the base contexts (``ivr-in``,
  ``caller``, ``agents``, ``bankcti-inbound``, ``dtmf-lab``, ``driver-caller``);
* :mod:`~cti.simulator.dialplan.control` — ``bankcti-dial`` and ``pstn``, behind call control;
* :mod:`~cti.simulator.dialplan.lab` — the lab contexts and hints of traces h–o;
* :mod:`~cti.simulator.dialplan.parking` — res_parking's ``parkedcalls`` and ``park-dial``.

The engine is not re-exported here: it runs the applications of
:mod:`cti.simulator.apps`, and those import the parking contexts of this
package, so importing the engine with the package would close an import cycle.
"""

from cti.simulator.dialplan.control import CONTROL_CONTEXTS, DIAL_CONTEXT, PSTN_CONTEXT
from cti.simulator.dialplan.lab import LAB_CONTEXTS, LAB_HINTS
from cti.simulator.dialplan.parking import (
    PARK_DIAL_CONTEXT,
    PARKEDCALLS_CONTEXT,
    PARKING_CONTEXTS,
    park_dial_exten,
)

__all__ = [
    "CONTROL_CONTEXTS",
    "DIAL_CONTEXT",
    "LAB_CONTEXTS",
    "LAB_HINTS",
    "PARKEDCALLS_CONTEXT",
    "PARKING_CONTEXTS",
    "PARK_DIAL_CONTEXT",
    "PSTN_CONTEXT",
    "park_dial_exten",
]
