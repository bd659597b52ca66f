"""The CRM's errors as HTTP responses, and the last line of defence against a traceback.

=======================  ======  ==========================================
raised by a service      status  body
=======================  ======  ==========================================
``AccessDenied``         403     ``{"detail"}``
``NotFound``             404     ``{"detail"}``
``Conflict``             409     ``{"detail"}``
``InvalidInput``         422     ``{"detail", "field"}``
database unavailable     503     ``{"detail"}`` and ``Retry-After`` (seconds)
anything else            500     ``{"detail"}`` — logged with its traceback
=======================  ======  ==========================================

"Database unavailable" is what :func:`crm_core.outage.database_unavailable`
recognises (connection refused or lost, PostgreSQL shutting down or
starting, SQLite locked beyond its timeout…), on any route: the CRM's, the
login, the reports.  The console page shows it as "the CRM is unavailable,
retrying" and retries after ``Retry-After``.

Messages of CRM errors are written for the user (see :mod:`crm_core.errors`);
an unexpected exception's message never leaves the server.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agent_console.crm.guard import error_response
from crm_core.errors import AccessDenied, Conflict, CrmError, InvalidInput, NotFound
from crm_core.outage import OUTAGE_TYPES, database_unavailable

__all__ = ["RETRY_AFTER_SECONDS", "UNAVAILABLE_DETAIL", "crm_error_response", "install_error_handlers"]

log = logging.getLogger(__name__)

_MAX_DETAIL = 500
#: What a 503 asks the client to wait before trying again: a restarting database is usually back by then.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "the CRM is unavailable: its database cannot be reached right now; retry shortly"


def crm_error_response(exc: CrmError) -> JSONResponse:
    """The response for a CRM error (see the module's table)."""
    if isinstance(exc, InvalidInput):
        return error_response(422, str(exc)[:_MAX_DETAIL], exc.field)
    if isinstance(exc, AccessDenied):
        status = 403
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Conflict):
        status = 409
    else:
        status = 400
    return error_response(status, str(exc)[:_MAX_DETAIL] or "request refused")


async def _crm_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CrmError)
    log.info(
        "console.crm_refused",
        extra={"path": request.url.path, "method": request.method, "error": type(exc).__name__},
    )
    return crm_error_response(exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "console.unexpected_error",
        extra={"path": request.url.path, "method": request.method, "error": type(exc).__name__},
        exc_info=exc,
    )
    return error_response(500, "internal error; it has been logged")


async def _outage_or_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if not database_unavailable(exc):
        return await _unexpected(request, exc)
    # Expected while the database is down: one line per request, no traceback.
    log.warning(
        "console.database_unavailable",
        extra={"path": request.url.path, "method": request.method, "error": type(exc).__name__},
    )
    return JSONResponse(
        status_code=503,
        content={"detail": UNAVAILABLE_DETAIL},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map CRM errors to 403/404/409/422, a database outage to 503, any other exception to a logged 500."""
    app.add_exception_handler(CrmError, _crm_error)
    # The types an outage surfaces as, each told apart from a genuine defect by database_unavailable();
    # registered by type (not only under Exception) so the response is final and not re-raised.
    for kind in OUTAGE_TYPES:
        app.add_exception_handler(kind, _outage_or_unexpected)
    app.add_exception_handler(Exception, _unexpected)
