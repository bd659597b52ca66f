"""Dialplan applications of the simulated Asterisk: ``Answer``, ``Playback`` and friends
(:mod:`~cti.simulator.apps.basic`), ``Dial`` (:mod:`~cti.simulator.apps.dial`), ``Queue()``
(:mod:`~cti.simulator.apps.queue`), ``ParkedCall`` and ``ChanSpy`` (:mod:`~cti.simulator.apps.control`).
"""
