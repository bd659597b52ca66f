"""The bank CRM: customers and their follow-up history, protection and the public pool, sharing, contracts,
self-service, commission, statistics and data mining.

It knows no telephony and no screen: ``cti``, ``ivr``, ``acd``, ``agent_console`` and ``bankcti`` use it,
never the other way round.  Inside, each package owns one domain and imports only the packages below it
(the layers are an import-linter contract in ``pyproject.toml``), from the top:

* :mod:`crm_core.demo` — a seeded demo bank;
* :mod:`crm_core.importing`, :mod:`crm_core.selfservice`, :mod:`crm_core.commission`;
* :mod:`crm_core.followups`, :mod:`crm_core.contracts`, :mod:`crm_core.sharing`;
* :mod:`crm_core.customers`;
* :mod:`crm_core.protection`;
* :mod:`crm_core.analytics`;
* :mod:`crm_core.parameters`, :mod:`crm_core.stats`, :mod:`crm_core.contact_center`;
* :mod:`crm_core.access` (who may see what, and the audit log);
* :mod:`crm_core.jobs`, :mod:`crm_core.dbtime`, :mod:`crm_core.models`, :mod:`crm_core.paging`,
  :mod:`crm_core.spool` (writes kept on disk while the database is unavailable, replayed in order), and the
  vocabulary every layer shares: :mod:`crm_core.actor`, :mod:`crm_core.errors`, :mod:`crm_core.schemas`,
  :mod:`crm_core.csvcells` (the one rule for a CSV cell a spreadsheet must not run) and
  :mod:`crm_core.outage` (a database outage told apart from data the database refuses).

:mod:`crm_core.db` (engines, sessions, migrations) and ``crm_core/migrations`` (Alembic) stand beside them.
"""
