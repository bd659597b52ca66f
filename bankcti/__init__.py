"""bankcti's composition root: settings, the event bus, the call flow and the wiring of one process.

:mod:`bankcti.app` builds one service from :mod:`bankcti.settings`; :mod:`bankcti.stack` adds the embedded PBX
simulator (demo, benchmarks, end-to-end tests).  The command line is :mod:`bankcti.cli`, the benchmarks
:mod:`bankcti.bench`; both sit on top of the wiring and the wiring never imports them.
"""
