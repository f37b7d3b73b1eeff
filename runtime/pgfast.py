"""The fast PostgreSQL path of action runs: asyncpg connections from a pool of their own,
statements compiled once per shape with SQLAlchemy's asyncpg dialect, prepared once per
connection by asyncpg's statement cache.

SQLAlchemy's async layer costs a run more CPU than the database does (greenlet switches, its
pool, its cursor and result objects): an insert run took ~0.6 ms of CPU on the 2-core machine
against ~0.2 ms for hand-written asyncpg. Here a run is BEGIN, its statements and COMMIT, sent
as they would be by hand; the values are SQLAlchemy's (the dialect's bind and result
processors, its JSON codecs), so a run reads and writes exactly what it did through the engine.

- The pool has the engine's sizes (runtime.postgres: ACTIONGRAPH_DB_POOL_SIZE and
  ACTIONGRAPH_DB_MAX_OVERFLOW), opened as runs need them and closed after five idle minutes.
  A connection given back is not reset by a round trip: a run always ends with COMMIT or
  ROLLBACK, and one that cannot be rolled back is closed.
- A connection the server closed is replaced at checkout by asyncpg (`is_closed()`, no round
  trip); one found dead only by the run's BEGIN is replaced and BEGIN sent again, once (nothing
  of the run has reached the database). A session the server ended counts for the whole pool:
  the connections opened before it are replaced at their next checkout.
- A run stopped by its time limit while a statement runs: asyncpg asks the server to cancel
  the statement, and the connection goes back to the pool only after the cancel went through
  and ROLLBACK did (else it is closed), so no run ever meets another's statement or
  transaction.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any

import sqlalchemy as sa

from runtime import postgres
from runtime.errors import ActionError
from runtime.sqlite import Rows, Statements

try:
    import asyncpg
except ImportError:  # a runtime for SQLite only: the engine says what is missing
    asyncpg = None

IDLE_LIFETIME = 300.0  # seconds an idle connection stays open
SETTLE_TIMEOUT = 5.0  # seconds a stopped run's connection has to cancel and roll back
CLOSE_TIMEOUT = 5.0  # seconds closing waits for runs still holding connections

# The type OID asyncpg reports for a result column, for the types whose readers depend on it
# (SQLAlchemy's asyncpg numbers: FLOAT8 is converted to Decimal, NUMERIC comes as Decimal).
_FLOAT8, _NUMERIC, _INT8 = 701, 1700, 20


def type_code(column_type: sa.types.TypeEngine) -> int | None:
    """The OID asyncpg reports for a result column of a SQLAlchemy type (numbers only)."""
    if isinstance(column_type, sa.TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.Float):
        return _FLOAT8
    if isinstance(column_type, sa.Numeric):
        return _NUMERIC
    if isinstance(column_type, sa.Integer):
        return _INT8
    return None


def serves(engine) -> bool:
    """Whether runs on this engine's database take the fast path (PostgreSQL through asyncpg)."""
    return (asyncpg is not None and engine.dialect.name == "postgresql"
            and engine.dialect.driver == "asyncpg")


class Database:
    """The asyncpg pool of one PostgreSQL database for action runs, and its compiled statements."""

    def __init__(self, engine):
        self.dialect = engine.dialect  # the engine's: the same SQL, casts and codecs
        self.url = engine.url
        self.statements = Statements(self.dialect, type_code)
        self.pool: Any = None
        self._opening: asyncio.Future | None = None
        self.closed = False
        self.expire = False  # the pooled connections are replaced at their next checkout

    def use(self, metadata: sa.MetaData) -> None:
        """A new revision's tables: compiled statements start afresh, and so do the pooled
        connections (their prepared statements may read tables a migration changed)."""
        self.statements = Statements(self.dialect, type_code)
        self.expire = self.pool is not None

    def _options(self) -> dict[str, Any]:
        _args, options = self.dialect.create_connect_args(self.url)
        options.pop("prepared_statement_name_func", None)
        cache = options.pop("prepared_statement_cache_size", postgres.STATEMENT_CACHE)
        options.setdefault("statement_cache_size", cache)
        options.setdefault("timeout", postgres.CONNECT_TIMEOUT)
        size, overflow = postgres.pool_sizes()
        return {**options, "min_size": 0, "init_size": 0, "max_size": max(1, size + overflow),
                "max_inactive_connection_lifetime": IDLE_LIFETIME,
                "init": self._codecs, "reset": _no_reset}

    async def _codecs(self, conn) -> None:
        # SQLAlchemy's own JSON codecs (it sets them on each connection it opens).
        adapted = types.SimpleNamespace(_connection=conn)
        await self.dialect.setup_asyncpg_json_codec(adapted)
        await self.dialect.setup_asyncpg_jsonb_codec(adapted)

    async def _pool(self):
        if self.closed:
            raise ActionError("the database is closed", status=503)
        if self.pool is None:
            if self._opening is None:
                self._opening = asyncio.ensure_future(asyncpg.create_pool(**self._options()))
            try:
                self.pool = await asyncio.shield(self._opening)
            except BaseException:
                if self._opening.done():
                    self._opening = None  # the next run tries again
                raise
        return self.pool

    async def begin(self) -> Connection:
        """A pooled connection with its transaction begun; a connection found dead by the BEGIN
        is replaced, once."""
        pool = await self._pool()
        for attempt in (1, 2):
            if self.expire:
                self.expire = False
                await pool.expire_connections()
            conn = Connection(await pool.acquire())
            try:
                await conn.raw.execute("BEGIN")
                return conn
            except BaseException as e:
                lost = self.lost(conn, e)
                await self.give(conn, clean=False)
                if not lost or attempt == 2 or isinstance(e, asyncio.CancelledError):
                    raise
        raise AssertionError("unreachable")

    def lost(self, conn: Connection, error: BaseException) -> bool:
        """Whether a failure means the session is over; then the connections opened before it
        are replaced at their next checkout (a restart ended them all)."""
        if isinstance(error, asyncio.CancelledError):
            return False
        if conn.raw.is_closed() or postgres.gone(error) or isinstance(error, OSError):
            self.expire = True
            return True
        return False

    async def give(self, conn: Connection, clean: bool) -> None:
        """Back to the pool. A connection whose run did not commit is rolled back first (after
        asyncpg's cancel of a stopped statement went through); one that cannot be is closed."""
        raw = conn.raw
        try:
            if not clean and not raw.is_closed():
                try:
                    await raw.execute("ROLLBACK", timeout=SETTLE_TIMEOUT)
                except BaseException:
                    raw.terminate()
                    raise
        finally:
            await self.pool.release(conn.proxy)

    async def run(self, conn, statement, sql: str, params: list, compiled) -> Rows:
        """One statement on a connection (`Connection.raw`): rows for those that return them,
        the rows changed for the others."""
        if compiled.keys:  # SELECT, or DML with RETURNING
            rows = await conn.fetch(sql, *params)
            return Rows(rows, compiled, len(rows))
        if statement.is_dml:
            status = await conn.execute(sql, *params)
            return Rows([], compiled, _count(status))
        # Text SQL: only a prepared statement tells whether it returns rows and names them.
        prepared = await conn.prepare(sql)
        rows = await prepared.fetch(*params)
        names = tuple(a.name for a in prepared.get_attributes())
        return Rows(rows, compiled, _count(prepared.get_statusmsg() or ""), names or None)

    async def close(self) -> None:
        """Close the pool (a run still holding a connection gives it back closed)."""
        self.closed = True
        opening = self._opening
        if self.pool is None and opening is not None and opening.done() \
                and not opening.cancelled() and opening.exception() is None:
            self.pool = opening.result()
        if self.pool is not None:
            try:
                await asyncio.wait_for(self.pool.close(), CLOSE_TIMEOUT)
            except TimeoutError:
                self.pool.terminate()


class Connection:
    """A pooled connection: the pool's proxy (to give it back) and asyncpg's connection under
    it, which statements use (the proxy is detached by the pool when the server closes the
    connection, and adds a call to each statement)."""

    __slots__ = ("proxy", "raw")

    def __init__(self, proxy):
        self.proxy = proxy
        self.raw = proxy._con


async def _no_reset(_conn) -> None:
    """A run ends with COMMIT or ROLLBACK (Database.give): nothing to reset by a round trip."""


def _count(status: str) -> int:
    """The rows a command changed, from its status (`DELETE 3`, `INSERT 0 1`); -1 when none."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else -1
