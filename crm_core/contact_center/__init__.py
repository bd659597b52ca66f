"""The contact center's people and records: agent profiles and password logins
(:mod:`~crm_core.contact_center.agents`) and the ACD's durable records — queue definitions, persisted agent
states, queue and agent events (:mod:`~crm_core.contact_center.acd_store`).

May import: :mod:`crm_core.models` and below.  The ACD itself (``acd``) lives outside the CRM and uses this.
"""
