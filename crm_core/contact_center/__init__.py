"""The contact center's people and records: agent profiles and password logins
(:mod:`~crm_core.contact_center.agents`), the login throttle against password guessing
(:mod:`~crm_core.contact_center.throttle`) and the ACD's durable records — queue definitions, persisted agent
states, queue and agent events (:mod:`~crm_core.contact_center.acd_store`), written by the recorder that
survives a database outage (:mod:`~crm_core.contact_center.acd_recorder`).

May import: :mod:`crm_core.access` (the audit log), :mod:`crm_core.dbtime`, :mod:`crm_core.models` and
below.  The ACD itself (``acd``) lives outside the CRM and uses this.
"""
