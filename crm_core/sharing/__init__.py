"""Sharing a customer with a colleague or a team, read-only or read-write, maybe until a date, and the
expiry of grants.

May import: :mod:`crm_core.customers` (the views of a grant), :mod:`crm_core.access` and below.
"""
