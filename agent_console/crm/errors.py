"""The CRM's errors as HTTP responses, and the last line of defence against a traceback.

=======================  ======  ==========================================
raised by a service      status  body
=======================  ======  ==========================================
``AccessDenied``         403     ``{"detail"}``
``NotFound``             404     ``{"detail"}``
``Conflict``             409     ``{"detail"}``
``InvalidInput``         422     ``{"detail", "field"}``
anything else            500     ``{"detail"}`` — logged with its traceback
=======================  ======  ==========================================

Messages of CRM errors are written for the user (see :mod:`crm_core.errors`);
an unexpected exception's message never leaves the server.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agent_console.crm.guard import error_response
from crm_core.errors import AccessDenied, Conflict, CrmError, InvalidInput, NotFound

__all__ = ["crm_error_response", "install_error_handlers"]

log = logging.getLogger(__name__)

_MAX_DETAIL = 500


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


def install_error_handlers(app: FastAPI) -> None:
    """Map CRM errors to 403/404/409/422 and any other exception to a logged, bodyless 500."""
    app.add_exception_handler(CrmError, _crm_error)
    app.add_exception_handler(Exception, _unexpected)
