"""Benchmarks (``bankcti bench …``): each prints a table, writes JSON with ``--json``, and measures against
a reference in the same run.  :mod:`~bankcti.bench.console_client` is a programmatic agent console, shared
with the end-to-end tests.

May import the service's wiring (:mod:`bankcti.stack`, :mod:`bankcti.app`) and every component; the CLI
imports it, the service never does.
"""
