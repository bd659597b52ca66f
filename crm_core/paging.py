"""One page of a list and how to ask for it."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from crm_core.errors import InvalidInput

__all__ = ["MAX_PAGE_SIZE", "Page", "check_page"]

#: The largest page any list returns: a bigger request is refused, not silently cut.
MAX_PAGE_SIZE = 200

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """Items of page ``page`` (1-based) and the ``total`` number of matches."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    total: int
    page: int
    page_size: int


def check_page(page: int, page_size: int) -> int:
    """The row offset of ``page``; :class:`InvalidInput` names a bad ``page`` or ``page_size``."""
    if page < 1:
        raise InvalidInput("page", "must be 1 or more")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", f"must be 1 to {MAX_PAGE_SIZE}")
    if page > 1_000_000:
        raise InvalidInput("page", "is too large")
    return (page - 1) * page_size
