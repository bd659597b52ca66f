"""Who may read or change which customer (:mod:`~crm_core.access.rules`) and the append-only audit log of
every view and change (:mod:`~crm_core.access.audit`).

May import: :mod:`crm_core.models`, :mod:`crm_core.dbtime`, and the shared vocabulary (actor, errors, paging,
schemas).  Every domain package above uses it.
"""
