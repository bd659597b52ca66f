"""Contracts: terms, a strict state machine (draft → approval → signed → paid / expired), payment plans,
received and outstanding amounts, who may do what, and the expiry job.

May import: :mod:`crm_core.parameters`, :mod:`crm_core.access` and below.
"""
