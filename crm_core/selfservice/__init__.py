"""Phone-banking self-service for the IVR: account + PIN verification with lockout, balances, recent
transactions, lost cards, callback requests, and how each reaches the follow-up history.

May import: :mod:`crm_core.followups`, :mod:`crm_core.customers`, :mod:`crm_core.parameters`,
:mod:`crm_core.access` and below.
"""
