"""Telling "the database is unavailable right now" from "the database refuses this data".

Both reach the code as exceptions, and they call for opposite answers: an
outage delays the work (spool it, retry, answer HTTP 503 with
``Retry-After``), a refusal is final (report it, never retry it forever).
:func:`database_unavailable` recognises an outage whatever layer raised it:

* the socket: connection refused/reset/aborted, host or network unreachable,
  a timeout, a name that does not resolve (``OSError`` and ``TimeoutError``,
  raw from asyncpg's connect);
* SQLAlchemy: an error that invalidated its connection, a pool that gave no
  connection in time, ``OperationalError``/``InterfaceError`` of a lost link;
* PostgreSQL: SQLSTATE class 08 (connection exception), 57P01–57P03 (shut
  down, crashed, starting up) and class 53 (too many connections, disk full);
* SQLite: "database is locked" beyond ``busy_timeout``, a file that cannot
  be opened, a disk I/O error.

:func:`data_refused` recognises a refusal of the data itself (constraint,
type or value), which no retry will change.  Anything else is neither: a
spool keeps such a write and retries it, so that nothing is lost to an
error this module does not know yet.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

__all__ = ["OUTAGE_TYPES", "data_refused", "database_unavailable"]


def _outage_types() -> tuple[type[Exception], ...]:
    types: list[type[Exception]] = [OSError, sa_exc.SQLAlchemyError]
    try:
        import asyncpg  # the PostgreSQL driver raises its own types from connect()
    except ImportError:  # pragma: no cover - a SQLite-only installation
        return tuple(types)
    types += [asyncpg.PostgresError, asyncpg.InterfaceError]
    return tuple(types)


#: The exception types an outage surfaces as (then told apart by :func:`database_unavailable`):
#: what an HTTP layer registers its "503 Service Unavailable" handler for.
OUTAGE_TYPES: tuple[type[Exception], ...] = _outage_types()

# SQLSTATE codes and classes (PostgreSQL appendix A) that mean "not now", not "never".
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})
_UNAVAILABLE_CLASSES = frozenset({"08", "53"})
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
)
_LINK_LOST = (
    "connection is closed",
    "connection was closed",
    "connection reset",
    "server closed the connection",
)
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)
_MAX_CHAIN = 16


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what it wraps (SQLAlchemy's ``orig``) and what caused it, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < _MAX_CHAIN:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)


def _sqlstate(exc: BaseException) -> str | None:
    # asyncpg's errors carry ``sqlstate``; SQLAlchemy's asyncpg adaptor copies it to ``pgcode`` too.
    for name in ("sqlstate", "pgcode"):
        value = getattr(exc, name, None)
        if isinstance(value, str) and len(value) == 5:
            return value
    return None


def _one_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # the pool gave no connection in time; a connection was found dead
    if isinstance(exc, TimeoutError | ConnectionError | socket.gaierror):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    state = _sqlstate(exc)
    if state is not None and (state in _UNAVAILABLE_STATES or state[:2] in _UNAVAILABLE_CLASSES):
        return True
    message = str(exc).lower()
    if type(exc).__module__.startswith("sqlite3") or isinstance(exc, sa_exc.OperationalError):
        if any(text in message for text in _SQLITE_UNAVAILABLE):
            return True
    if "interfaceerror" in type(exc).__name__.lower() or isinstance(exc, sa_exc.InterfaceError):
        return any(text in message for text in _LINK_LOST)
    return False


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or anything it wraps or was caused by) says the database cannot be reached now."""
    return any(_one_unavailable(link) for link in _chain(exc))


def data_refused(exc: BaseException) -> bool:
    """Whether ``exc`` is the database (or our own validation) refusing the data for good.

    Constraint violations, bad values and our own ``ValueError`` checks are
    refusals; an outage never is, even when it surfaces as one of those types.
    """
    if database_unavailable(exc):
        return False
    return isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError | ValueError | TypeError | KeyError)
