"""The ``bankcti`` command line: :mod:`~bankcti.cli.main` parses arguments, and one module per group of
subcommands does the work (service and database, import, IVR menus, prompts, analytics, commission).

Sits on top of everything: may import the benchmarks, the service's wiring and every component.
"""
