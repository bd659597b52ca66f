"""Errors the CRM services raise; the REST layer maps each to one HTTP status.

``AccessDenied`` → 403, ``NotFound`` → 404, ``Conflict`` → 409 (a rule says no:
a claim cap, an illegal contract transition), ``InvalidInput`` → 422 with the
field named.  Messages are written for the user who caused them.
"""

from __future__ import annotations

__all__ = ["AccessDenied", "Conflict", "CrmError", "InvalidInput", "NotFound"]


class CrmError(Exception):
    """Base of the CRM's user-facing errors."""


class AccessDenied(CrmError, PermissionError):
    """The actor may not read or change this record."""


class NotFound(CrmError, LookupError):
    """No such record (or not visible: callers must not learn that it exists)."""


class Conflict(CrmError, ValueError):
    """A business rule forbids the change (cap reached, illegal transition…)."""


class InvalidInput(CrmError, ValueError):
    """A value is wrong; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
