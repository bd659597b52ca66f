"""Commission accounting (提成核算): versioned rules, what a contract event earns, statements per agent and
period, frozen approvals with adjustment lines, CSV export.

May import: :mod:`crm_core.contracts`, :mod:`crm_core.access` and below.
"""
