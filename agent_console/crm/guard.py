"""What every console HTTP route shares: the error body, and text the database cannot store refused early.

PostgreSQL refuses a NUL character in text, and no database driver can
encode a lone UTF-16 surrogate (JSON allows ``"\\ud800"``); either would
surface as a server error deep inside a query.  :class:`CleanInputRoute`
refuses such text in the path, the query or a JSON body with a 422 naming
the field, before validation and before any service runs — and a body that
is not UTF-8 or is nested beyond the parser's reach with a 422 naming
``body`` (FastAPI would answer a bare 400).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

__all__ = [
    "ERROR_RESPONSES",
    "UNAVAILABLE_RESPONSE",
    "CleanInputRoute",
    "ErrorBody",
    "ErrorItem",
    "error_response",
    "text_problem",
]

log = logging.getLogger(__name__)


class ErrorItem(BaseModel):
    """One validation error: where (``loc``), what (``msg``), which rule (``type``)."""

    loc: list[str]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The body of every error response.

    ``field`` names the input at fault when there is one (``"phones.0.number"``,
    ``"page_size"``); ``errors`` lists every validation error of a 422 on a
    malformed request.  Input values are never echoed.
    """

    detail: str
    field: str | None = None
    errors: list[ErrorItem] | None = None


def _described(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


#: The error statuses of the API, documented on every route with :class:`ErrorBody`.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _described("Not logged in, or the session ended"),
    403: _described("The user's role or rights do not allow this"),
    404: _described("No such record, or not visible to this user"),
    409: _described("A business rule forbids it now (cap reached, illegal transition…)"),
    422: _described("Invalid input; `field` names it"),
    503: {
        **_described("The CRM's database is unavailable right now; retry after the delay"),
        "headers": {
            "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
        },
    },
}
#: The 503 alone, for routes outside the CRM that need the database (the login).
UNAVAILABLE_RESPONSE = ERROR_RESPONSES[503]


def error_response(status: int, detail: str, field: str | None = None) -> JSONResponse:
    """A JSON error response in the :class:`ErrorBody` shape."""
    body: dict[str, Any] = {"detail": detail}
    if field is not None:
        body["field"] = field
    return JSONResponse(status_code=status, content=body)


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (``None``: it can)."""
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None


def _walk(document: Any) -> Iterator[tuple[str, str]]:
    """Every string (keys included) of a JSON document with its dotted path; iterative, any depth."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                yield child, key
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend(
                (f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value)
            )


async def _input_problem(request: Request) -> tuple[str, str] | None:
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if isinstance(value, str) and (problem := text_problem(value)) is not None:
            return name, problem
    content_type = request.headers.get("content-type")
    if content_type is not None and "json" not in content_type:
        return None  # only JSON bodies reach the services as text
    body = await request.body()
    if not body:
        return None
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return "body", "must be UTF-8 encoded JSON"
    except RecursionError:
        return "body", "is nested too deeply"
    except ValueError:
        return None  # FastAPI reports malformed JSON itself, with the position
    for path, text in _walk(document):
        if (problem := text_problem(text)) is not None:
            return path or "body", problem
    return None


class CleanInputRoute(APIRoute):
    """An :class:`~fastapi.routing.APIRoute` that refuses unstorable text with a 422 naming the field."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            problem = await _input_problem(request)
            if problem is not None:
                field, message = problem
                log.info("console.input_refused", extra={"path": request.url.path, "field": field[:100]})
                return error_response(422, f"{field[:100]}: {message}", field[:100])
            return await handler(request)

        return guarded
