"""The inbound call: its FastAGI session, queue wait, pop gate, dial outcome, legs, watch and adoption.

- :mod:`~bankcti.calls.callflow` — one FastAGI session from first ring to
  last word (:class:`InboundCallFlow`);
- :mod:`~bankcti.calls.live` — what the flow knows of a live call and its
  history writes in order;
- :mod:`~bankcti.calls.milestones` — the pop, each ring, the answer and the
  end, told to the ACD, the consoles, the legs and the history;
- :mod:`~bankcti.calls.queue_wait` — the caller's wait in a queue;
- :mod:`~bankcti.calls.pop_gate` — the phone rings once the consoles showed
  the pop (bounded wait);
- :mod:`~bankcti.calls.dial_outcome` — what a ``Dial`` returned means;
- :mod:`~bankcti.calls.legs` — the legs of each call;
- :mod:`~bankcti.calls.watch` — the PBX's side of the call (AMI tracker);
- :mod:`~bankcti.calls.adoption` — open calls left by an earlier run,
  adopted or closed honestly.
"""

from bankcti.calls.adoption import CallAdoption
from bankcti.calls.callflow import ROUTED_MEMORY, CallFlowSettings, CallHistory, InboundCallFlow
from bankcti.calls.legs import CallLegs
from bankcti.calls.live import HistoryWriter
from bankcti.calls.milestones import CallObserver
from bankcti.calls.pop_gate import PopGate
from bankcti.calls.watch import CallWatch

__all__ = [
    "ROUTED_MEMORY",
    "CallAdoption",
    "CallFlowSettings",
    "CallHistory",
    "CallLegs",
    "CallObserver",
    "CallWatch",
    "HistoryWriter",
    "InboundCallFlow",
    "PopGate",
]
