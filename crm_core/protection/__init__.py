"""Customer protection: who owns a customer, claims from the public pool with caps, releases (by hand and
by the periodic job when follow-up or deal clocks run out), assignment, transfer and locks.

May import: :mod:`crm_core.parameters`, :mod:`crm_core.access` and below.
"""
