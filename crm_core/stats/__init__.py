"""Statistics: contact-center figures per queue, agent, team and interval from the ACD's event tables
(service level, abandonment, handling times, first-contact resolution, occupancy), the ``queue_log`` export,
CSV, and the CRM's statistics and conversion funnel.

May import: :mod:`crm_core.models` and below.
"""
