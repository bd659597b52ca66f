"""Typed, validated, audited parameters with defaults: the declared knobs
(:mod:`~crm_core.parameters.registry`) and their stored values (:mod:`~crm_core.parameters.store`).

May import: :mod:`crm_core.access` (changes are audited) and below.
"""
