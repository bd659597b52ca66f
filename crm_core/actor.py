"""Who is acting: every CRM service call that touches a customer carries one."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ROLES", "Actor"]

ROLES = ("agent", "supervisor", "admin", "system")


@dataclass(frozen=True)
class Actor:
    """The user (or the system) on whose behalf a service acts.

    ``team_ids`` are the teams the user belongs to and, for a supervisor,
    the teams they supervise.  ``offered_customer_ids`` are customers on a
    call currently offered to this agent (filled in by the console gateway):
    an agent may read those records while the phone rings.  ``recent_call_minutes`` is how long
    after a call the agent who answered it may still read the caller's record (the handled-call
    grant of :mod:`crm_core.access.handled`); ``None``: no such grant (services, jobs, tests).
    """

    user_id: int | None
    login: str
    role: str
    team_ids: frozenset[int] = field(default_factory=frozenset)
    offered_customer_ids: frozenset[int] = field(default_factory=frozenset)
    remote_addr: str | None = None
    recent_call_minutes: int | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")

    @classmethod
    def system(cls, job: str = "system") -> Actor:
        """The service itself (periodic jobs, the call flow)."""
        return cls(user_id=None, login=job, role="system")

    @property
    def is_admin(self) -> bool:
        return self.role in {"admin", "system"}

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"
