"""PostgreSQL engine options: a pool sized to the load, no pre-ping round trips, dead
connections noticed for free.

A run on PostgreSQL costs BEGIN, its statements and COMMIT, nothing more:

- no `pool_pre_ping` (it added BEGIN / `;` / ROLLBACK before every run). Instead a pooled
  connection whose socket the server closed (restart, `pg_terminate_backend`, idle timeout) is
  replaced at checkout by looking at asyncpg's `is_closed()`, which costs no round trip; one
  found dead only by its first statement is retried once on a new connection by
  `runtime.store.Transaction` (nothing of the run can have reached the database then);
- errors meaning "the server is going away" (SQLSTATE classes 08 and 57P) count as disconnects,
  so SQLAlchemy invalidates the connection and the connections opened before it (a restart
  drops them all);
- a pool that keeps as many connections as a worker's concurrent runs, so a steady load never
  opens or closes sessions (SQLAlchemy's default keeps 5 and closes the 10 overflow connections
  on every return); statements prepared once per connection (asyncpg's prepared statement cache
  in SQLAlchemy's dialect).

Action runs through asyncpg take a pool of their own with the same sizes and the same rules
(runtime.pgfast); migrations, the data browser, the outbox and history keep this engine.

ACTIONGRAPH_DB_POOL_SIZE and ACTIONGRAPH_DB_MAX_OVERFLOW override the sizes (per process and per
pool: with N workers the server sees up to 2 x N x (size + overflow) sessions, the engine's
pool mostly idle).
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

CONNECT_TIMEOUT = 10.0  # seconds to reach the server
POOL_SIZE = 32  # connections kept open per process (a worker's concurrent runs)
MAX_OVERFLOW = 32  # more, opened for a burst and closed on return
POOL_RECYCLE = 3600  # seconds before a connection is replaced (load balancers, proxies)
STATEMENT_CACHE = 256  # prepared statements kept per connection
POOL_SIZE_ENV = "ACTIONGRAPH_DB_POOL_SIZE"
MAX_OVERFLOW_ENV = "ACTIONGRAPH_DB_MAX_OVERFLOW"

# SQLSTATE of "this session is over": connection exceptions (08xxx), admin/crash shutdown and
# "cannot connect now" (57P01-57P03), idle session timeout (57P05).
_GONE_CLASS = "08"
_GONE = frozenset({"57P01", "57P02", "57P03", "57P05"})


def _size(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must be 0 or more, not {number}")
    return number


def pool_sizes() -> tuple[int, int]:
    """Connections kept open and opened beyond them for a burst (the environment's, else ours)."""
    return _size(POOL_SIZE_ENV, POOL_SIZE), _size(MAX_OVERFLOW_ENV, MAX_OVERFLOW)


def engine_options(url: URL) -> dict[str, Any]:
    """create_async_engine's options for a PostgreSQL URL."""
    size, overflow = pool_sizes()
    options: dict[str, Any] = {
        "pool_pre_ping": False,
        "pool_size": size,
        "max_overflow": overflow,
        "pool_recycle": POOL_RECYCLE,
    }
    driver = url.get_driver_name()
    if driver == "asyncpg":
        options["connect_args"] = {"timeout": CONNECT_TIMEOUT}
        if "prepared_statement_cache_size" not in url.query:  # the URL's own setting wins
            options["connect_args"]["prepared_statement_cache_size"] = STATEMENT_CACHE
    elif driver.startswith("psycopg"):
        options["connect_args"] = {"connect_timeout": int(CONNECT_TIMEOUT)}
    return options


def _sqlstate(error: BaseException | None) -> str:
    while error is not None:
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(code, str):
            return code
        error = error.__cause__
    return ""


def gone(error: BaseException | None) -> bool:
    """Whether a driver error says the session is over (the server closed it or is stopping)."""
    code = _sqlstate(error)
    if code.startswith(_GONE_CLASS) or code in _GONE:
        return True
    text = str(error or "").lower()
    return "connection is closed" in text or "connection was closed" in text


def _closed(dbapi_connection) -> bool:
    """asyncpg's own view of the socket (no round trip); False when it cannot tell."""
    raw = getattr(dbapi_connection, "_connection", None)
    is_closed = getattr(raw, "is_closed", None)
    return bool(is_closed()) if callable(is_closed) else False


def install(engine: AsyncEngine) -> None:
    """The engine's listeners: dead connections replaced at checkout, shutdown errors treated
    as disconnects."""
    sync = engine.sync_engine

    @sa_event.listens_for(sync.pool, "checkout")
    def _on_checkout(dbapi_connection, _record, _proxy):
        if _closed(dbapi_connection):
            # The pool drops this one and hands out a fresh connection instead.
            raise sa_exc.DisconnectionError("the server closed this pooled connection")

    @sa_event.listens_for(sync, "handle_error")
    def _on_error(context):
        if not context.is_disconnect and gone(context.original_exception):
            context.is_disconnect = True
