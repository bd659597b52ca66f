"""A customer's follow-up history: the interaction per call written by the call flow
(:mod:`~crm_core.followups.interactions`, idempotent by call id), follow-ups written by people
(:mod:`~crm_core.followups.service`) and reminders of the next contact.

May import: :mod:`crm_core.protection` (a follow-up resets the protection clock), :mod:`crm_core.parameters`,
:mod:`crm_core.access` and below.
"""
