"""The simulator's FastAGI side: Asterisk's ``res_agi`` as a client of ``AGI(agi://…)``.

:mod:`~cti.simulator.agi.client` runs one session per channel; the commands and their exact replies are in
:mod:`~cti.simulator.agi.commands` and :mod:`~cti.simulator.agi.media_commands`, the result codes in
:mod:`~cti.simulator.agi.codes`.
"""
