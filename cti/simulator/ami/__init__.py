"""The simulator's AMI server: sessions, login, filters, and the actions it answers as Asterisk 22 does.

:mod:`~cti.simulator.ami.server` accepts connections (one :mod:`~cti.simulator.ami.session` each)
and dispatches each action to its handler
(:mod:`~cti.simulator.ami.actions` call control, :mod:`~cti.simulator.ami.control_actions` park and
transfers, :mod:`~cti.simulator.ami.queue_actions`, :mod:`~cti.simulator.ami.system_actions`,
:mod:`~cti.simulator.ami.cli` for ``Command``).
"""
