"""The CRM's REST API on the console server (``/api/crm/...``).

:func:`agent_console.crm.routes.crm_router` gathers one router per area;
:class:`agent_console.crm.deps.CrmServices` holds what they call.  This
package module imports nothing on purpose: :mod:`agent_console.api` uses
:mod:`agent_console.crm.guard`, and the routers use :mod:`agent_console.api`.
"""
