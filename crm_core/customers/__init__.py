"""Customers: the caller-ID directory and screen-pop cards, records for people (list, view, create,
update), phones and contacts, bank accounts (last four digits + keyed hash), ID numbers, masked views, and the
recycle bin.

May import: :mod:`crm_core.protection` (a new customer is claimed by its creator), :mod:`crm_core.analytics`
(VIP treatment), :mod:`crm_core.parameters`, :mod:`crm_core.access` and below.
"""
