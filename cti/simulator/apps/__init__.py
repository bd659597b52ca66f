"""Dialplan applications of the simulated Asterisk: ``Answer``, ``Playback`` and friends
(:mod:`~cti.simulator.apps.basic`), ``Dial`` (:mod:`~cti.simulator.apps.dial`, its
outbound legs in :mod:`~cti.simulator.apps.legs`), ``Queue()``
(:mod:`~cti.simulator.apps.queue`), ``ParkedCall`` and ``ChanSpy`` (:mod:`~cti.simulator.apps.control`).
"""
