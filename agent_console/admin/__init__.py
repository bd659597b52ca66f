"""Administration pages and API of the console: agent accounts (``/admin``, ``/api/admin/agents``)."""

from agent_console.admin.agents import AgentRosterPort, admin_router, end_agent_sessions

__all__ = ["AgentRosterPort", "admin_router", "end_agent_sessions"]
