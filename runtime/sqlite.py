"""The fast SQLite path of action runs: the `sqlite3` module, statements compiled once, and SQL
that runs on the event loop only while it is quick.

Measured on the 2-core machine (aiohttp, POST /v1/create_shoe, wrk -t1 -c16): one insert
transaction run on the loop thread with `sqlite3` does ~5,100 req/s; the same sent to a
dedicated connection thread, one hop per run, ~2,850; two hops ~2,050; three ~1,750
(aiosqlite made nine, and SQLAlchemy's async layer added greenlet switches). A hop to a thread
costs more than the statement: a point read is ~2 us of SQLite. So statements run on the loop,
and a progress handler keeps that honest:

- A read that has run for `LOOP_BUDGET` seconds on the loop is interrupted (a SELECT
  interrupted inside a transaction leaves the transaction as it was) and runs again on a thread
  of its own, on the same connection and so in the same transaction: a full scan taking a second
  never holds up the other requests, and everything quick never leaves the loop.
- Writes (INSERT, UPDATE and DELETE by ids) are bounded by construction and run on the loop;
  a DELETE on a table that other tables link to may have to scan them (ON DELETE SET NULL), so
  it goes to a thread.
- Connections on the loop never wait for SQLite's lock (busy timeout 0): a statement refused
  because another process holds the database (two workers) runs again on a thread with the
  busy timeout, queued there instead of on the loop.
- Commits never checkpoint on the loop: the WAL is checkpointed on a thread, passively, every
  `CHECKPOINT_EVERY` write commits.

Runs keep every guarantee: one transaction per run (BEGIN IMMEDIATE for a run that may write,
taken after the in-process writer queue; a deferred BEGIN for a read-only run, on a reader
connection of its own, in parallel with the writer), rollback on any failure, dry runs, row
changes. A run stopped by its time limit while a statement runs on a thread interrupts that
statement (`sqlite3.Connection.interrupt`) before the connection is given back.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from runtime.errors import ActionError

LOOP_BUDGET = 0.003  # seconds a read may run on the event loop before it moves to a thread
PROGRESS_STEPS = 2000  # SQLite VM steps between two looks at the clock
BUSY_TIMEOUT_MS = 5000  # what a statement moved to a thread waits for another process's lock
CHECKPOINT_EVERY = 256  # write commits between two passive WAL checkpoints on a thread
CACHED_STATEMENTS = 2000  # compiled statements kept per revision
READERS_KEPT = 16  # idle reader connections kept open
INTERRUPT_EVERY = 0.005  # seconds between interrupts of a stopped run's statement
THREADS = 4  # threads for statements moved off the loop (and checkpoints)

_INF = float("inf")


class _Moved(Exception):
    """A statement that has to run on a thread (too slow for the loop, or the file is locked)."""


class Compiled:
    """A statement compiled once for a driver (SQLite's, asyncpg's): its SQL, how to bind its
    values, how to read rows. `type_code` gives the type code the driver reports for a result
    column of a SQLAlchemy type, where the dialect's readers depend on it (PostgreSQL's
    numbers); SQLite reports none."""

    __slots__ = ("compiled", "sql", "positions", "binders", "keys", "readers", "expanding")

    def __init__(self, compiled, type_code=None):
        self.compiled = compiled
        self.sql = compiled.string
        self.expanding = bool(compiled.literal_execute_params or compiled.post_compile_params)
        processors = compiled._bind_processors
        self.positions = tuple(compiled.positiontup or ())
        self.binders = tuple(processors.get(name) for name in self.positions)
        dialect = compiled.dialect
        columns = compiled._result_columns or []
        self.keys = tuple(c.keyname for c in columns)
        readers = (c.type._cached_result_processor(
            dialect, type_code(c.type) if type_code is not None else None) for c in columns)
        # (column index, reader) of the columns whose values need converting (dates, decimals)
        self.readers = tuple((i, f) for i, f in enumerate(readers) if f is not None)


class Statements:
    """Compiled statements by SQLAlchemy's cache key (the statement's shape, not its values),
    for a dialect (SQLite's with `?` parameters unless another is given; see Compiled)."""

    def __init__(self, dialect=None, type_code=None):
        self.dialect = dialect or SQLiteDialect_pysqlite(paramstyle="qmark")
        self.type_code = type_code
        self.cache: OrderedDict[Any, Compiled] = OrderedDict()

    def prepare(self, statement, parameters: dict | None = None) -> tuple[str, list, Compiled]:
        """The SQL text, its positional values and the compiled statement (for reading rows)."""
        key = statement._generate_cache_key()
        # An INSERT's columns are those given; other statements name their parameters.
        columns = tuple(parameters) if parameters and statement.is_insert else None
        cache_key = (key.key, columns) if key is not None else None
        compiled = self.cache.get(cache_key) if cache_key is not None else None
        if compiled is None:
            compiled = Compiled(self.dialect.statement_compiler(
                self.dialect, statement, cache_key=key, column_keys=list(columns or ())),
                self.type_code)
            if cache_key is not None:
                self.cache[cache_key] = compiled
                if len(self.cache) > CACHED_STATEMENTS:
                    self.cache.popitem(last=False)
        values = compiled.compiled.construct_params(
            parameters, extracted_parameters=key.bindparams if key is not None else None,
            escape_names=False)
        if compiled.expanding:
            expanded = compiled.compiled._process_parameters_for_postcompile(values)
            processors = dict(compiled.compiled._bind_processors)
            processors.update(expanded.processors)
            params = [processors[n](expanded.parameters[n]) if n in processors
                      else expanded.parameters[n] for n in expanded.positiontup]
            return expanded.statement, params, compiled
        params = [values[n] if b is None else b(values[n])
                  for n, b in zip(compiled.positions, compiled.binders, strict=False)]
        return compiled.sql, params, compiled


class Rows:
    """A statement's outcome with the few parts of SQLAlchemy's Result the store uses; rows
    (tuples, or asyncpg's records) come out as new dicts, their values converted as SQLAlchemy
    would (dates, decimals)."""

    __slots__ = ("rows", "keys", "rowcount", "readers")

    def __init__(self, rows: list, compiled: Compiled, rowcount: int,
                 names: tuple[str, ...] | None = None):
        self.rows = rows
        self.keys = names or compiled.keys
        self.readers = () if names else compiled.readers
        self.rowcount = rowcount

    def _converted(self, row: tuple) -> tuple | list:
        if not self.readers:
            return row
        row = list(row)
        for i, read in self.readers:
            value = row[i]
            if value is not None:
                row[i] = read(value)
        return row

    def mappings(self) -> Rows:
        return self

    def one(self) -> dict:
        if len(self.rows) != 1:
            raise sa.exc.NoResultFound("expected one row") if not self.rows else \
                sa.exc.MultipleResultsFound("expected one row")
        return dict(zip(self.keys, self._converted(self.rows[0]), strict=False))

    def all(self) -> list[dict]:
        keys, converted = self.keys, self._converted
        return [dict(zip(keys, converted(row), strict=False)) for row in self.rows]

    def scalar_one(self) -> Any:
        return self._converted(self.rows[0])[0]

    def scalar(self) -> Any:
        return self._converted(self.rows[0])[0] if self.rows else None

    def scalars(self) -> Scalars:
        return Scalars(self._converted(row)[0] for row in self.rows)


class Scalars(list):
    """The first column of each row, as SQLAlchemy's `Result.scalars()` gives it."""

    def all(self) -> list:
        return list(self)


class Connection:
    """One sqlite3 connection and the clock its progress handler watches."""

    __slots__ = ("raw", "limit", "thread_busy", "stopping", "broken")

    def __init__(self, path: str):
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                              cached_statements=512, timeout=0)
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("PRAGMA synchronous = NORMAL")
        raw.execute("PRAGMA foreign_keys = ON")
        raw.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints run on a thread (Database)
        self.raw = raw
        self.limit = _INF
        self.thread_busy = False
        self.stopping = False  # the run was stopped: a statement not yet started never starts
        self.broken = False  # its settings could not be restored: never given back
        raw.set_progress_handler(self._over_budget, PROGRESS_STEPS)

    def _over_budget(self) -> bool:
        return time.perf_counter() > self.limit

    def execute_here(self, sql: str, params, budget: float) -> tuple[list, int, Any]:
        """Run on the calling (loop) thread; _Moved when over budget or the file is locked."""
        self.limit = time.perf_counter() + budget
        try:
            cursor = self.raw.execute(sql, params)
            return cursor.fetchall(), cursor.rowcount, cursor
        except sqlite3.OperationalError as e:
            text = str(e)
            if text == "interrupted" and self.limit != _INF and time.perf_counter() > self.limit:
                raise _Moved from None
            if "database is locked" in text or "database table is locked" in text:
                raise _Moved from None
            raise
        finally:
            self.limit = _INF

    def execute_there(self, sql: str, params) -> tuple[list, int, Any]:
        """Run on a thread, waiting for another process's lock as long as the busy timeout."""
        raw = self.raw
        if self.stopping:  # stopped while this waited for a thread
            raise sqlite3.OperationalError("interrupted")
        raw.set_progress_handler(None, 0)  # no Python call (and GIL) every few steps
        try:
            raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor = raw.execute(sql, params)
            return cursor.fetchall(), cursor.rowcount, cursor
        finally:
            raw.set_progress_handler(self._over_budget, PROGRESS_STEPS)
            for _ in range(3):  # an interrupt meant for the statement may hit this one
                try:
                    raw.execute("PRAGMA busy_timeout = 0")
                    break
                except sqlite3.Error:
                    continue
            else:
                self.broken = True

    def close(self) -> None:
        self.raw.close()


class Database:
    """The connections of one SQLite file for action runs: one writer, readers on demand."""

    def __init__(self, path: str):
        self.path = path
        self.statements = Statements()
        self.threads = ThreadPoolExecutor(THREADS, thread_name_prefix="actiongraph-sqlite")
        self.writer: Connection | None = None
        self.readers: list[Connection] = []
        self.commits = 0
        self.moved = 0  # statements that ran on a thread (slow, or the file was locked)
        self.checkpointing = False
        self.closed = False
        self.linked: frozenset[str] = frozenset()  # tables other tables link to

    def use(self, metadata: sa.MetaData) -> None:
        """A new revision's tables: compiled statements start afresh."""
        self.statements = Statements()
        self.linked = frozenset(fk.column.table.name for t in metadata.tables.values()
                                for fk in t.foreign_keys)

    def take(self, writes: bool) -> Connection:
        if self.closed:
            raise ActionError("the database is closed", status=503)
        if writes:
            if self.writer is None or self.writer.thread_busy or self.writer.broken:
                self.writer = Connection(self.path)
            return self.writer
        return self.readers.pop() if self.readers else Connection(self.path)

    def give(self, conn: Connection, writes: bool) -> None:
        if writes or conn.thread_busy or conn.broken:
            return  # a connection a thread still holds (a run stopped twice) is dropped
        if self.closed or len(self.readers) >= READERS_KEPT:
            conn.close()
        else:
            self.readers.append(conn)

    def committed(self) -> None:
        """Count a write commit; every CHECKPOINT_EVERY, checkpoint the WAL on a thread."""
        self.commits += 1
        if self.commits % CHECKPOINT_EVERY == 0 and not self.checkpointing and not self.closed:
            self.checkpointing = True
            self.threads.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=0)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()
        except sqlite3.Error:
            pass  # the next one tries again; a checkpoint is never needed for correctness
        finally:
            self.checkpointing = False

    async def run(self, conn: Connection, sql: str, params, write: bool,
                  moved: bool = False) -> tuple[list, int, Any]:
        """Run one statement: on the loop while quick, else on a thread (see the module); its
        rows, the rows it changed and its cursor (whose `description` names the columns)."""
        if not moved:
            try:
                return conn.execute_here(sql, params, _INF if write else LOOP_BUDGET)
            except _Moved:
                pass
        loop = asyncio.get_running_loop()
        self.moved += 1
        conn.thread_busy = True
        future = loop.run_in_executor(self.threads, conn.execute_there, sql, params)
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            # The run's time limit (or the server stopping): stop the statement, and give the
            # connection back only once the thread has let go of it. An interrupt reaches only a
            # statement already running, so it is repeated until the thread answers (one still
            # waiting for a thread sees `stopping` and never starts).
            conn.stopping = True
            while not future.done():
                conn.raw.interrupt()
                await asyncio.wait({future}, timeout=INTERRUPT_EVERY)
            raise
        finally:
            if future.done():
                if not future.cancelled():
                    future.exception()  # retrieved (an interrupted statement's): never logged
                conn.thread_busy = conn.stopping = False
        return result

    async def close(self) -> None:
        self.closed = True
        self.threads.shutdown(wait=False)
        for conn in [*self.readers, *([self.writer] if self.writer else [])]:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self.readers, self.writer = [], None


def sqlite_path(url: sa.engine.URL) -> str | None:
    """The file of a SQLite URL, or None when the fast path cannot serve it (in memory, URI
    options)."""
    database = url.database
    if not database or database == ":memory:" or url.query or database.startswith("file:"):
        return None
    return database
