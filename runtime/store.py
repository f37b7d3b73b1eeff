"""The store: data models as SQLAlchemy tables, and the database operations events use."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from runtime import pgfast, postgres
from runtime.errors import ActionError
from runtime.kinds import KindError, convert_field
from runtime.migrate import migrate
from runtime.project import Project
from runtime.sqlite import Connection as SqliteConnection
from runtime.sqlite import Database, Rows, sqlite_path
from runtime.tables import AUTOMATIC, build_metadata, utcnow
from runtime.where import Where, field_kinds

# SQLite keeps decimals as REAL; we accept that and read them back as Decimal.
warnings.filterwarnings("ignore", message=".*does \\*not\\* support Decimal objects natively")

MAX_ROWS = 1000  # a cap on rows one query returns, like Datasette's
MAX_OFFSET = 2**63 - 1  # larger offsets do not fit the database's integers (and skip all)
BUSY_TIMEOUT_MS = 5000
def default_url(project_path: str | Path) -> str:
    """The SQLite file beside a project file: `shoes.actiongraph.json` -> `shoes.db`."""
    path = Path(project_path).resolve()
    stem = path.name.removesuffix(".json").removesuffix(".actiongraph")
    return f"sqlite+aiosqlite:///{path.with_name(stem + '.db')}"


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout, foreign keys and explicit BEGINs."""
    if url.startswith("sqlite:"):
        url = url.replace("sqlite:", "sqlite+aiosqlite:", 1)
    options: dict[str, Any] = {}
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        # A pool sized to the load, no pre-ping round trips: a connection the server dropped
        # (restart, failover, idle timeout) is replaced at checkout, or the run's first
        # statement is retried once (Transaction._execute); an unreachable server fails in
        # seconds, not 60 (runtime.postgres).
        options = postgres.engine_options(parsed)
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "postgresql":
        postgres.install(engine)
    if engine.dialect.name == "sqlite":
        sync = engine.sync_engine

        @sa_event.listens_for(sync, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, decide when a transaction begins.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @sa_event.listens_for(sync, "begin")
        def _on_begin(conn):
            # A run that writes takes the write lock at once, so two runs never deadlock
            # upgrading a read lock (SQLITE_BUSY would skip the busy timeout).
            immediate = conn.get_execution_options().get("writes", True)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Change:
    """One row the run inserted, updated or deleted (for the trace's row-level diff)."""

    op: str
    model: str
    before: dict | None
    after: dict | None


class Store:
    """The database of a project: its engine and one table per data model."""

    def __init__(self, url: str, project: Project):
        self.url = url
        self.engine = create_engine(url)
        # SQLite has one writer at a time; queueing writers here rather than in SQLite's busy
        # loop (which sleeps up to 100 ms a retry) keeps the p99 low. Other processes still
        # meet the busy timeout.
        self.dialect = self.engine.dialect.name  # "sqlite", "postgresql", ...
        self.write_lock = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        # Action runs on a SQLite file take the fast path (runtime.sqlite); tools (migrations,
        # the data browser, seeds) keep SQLAlchemy's async engine.
        path = sqlite_path(self.engine.url) if self.dialect == "sqlite" else None
        self.database = Database(path) if path else None
        # ...and on PostgreSQL through asyncpg, the fast path of runtime.pgfast.
        self.postgres = pgfast.Database(self.engine) if pgfast.serves(self.engine) else None
        self.use(project)

    @property
    def tables(self) -> dict[str, sa.Table]:
        """Tables by model name."""
        return dict(self.metadata.tables)

    async def open(self, project: Project, allow_data_loss: bool = False) -> list[str]:
        """Create or migrate the tables to match the project; returns what was changed."""
        return await migrate(self.engine, project.models, allow_data_loss=allow_data_loss)

    def use(self, project: Project) -> None:
        """Switch to a new revision's models (after `open` migrated the database)."""
        metadata = build_metadata(project.models)
        # Statements that do not change between requests are built once per revision.
        self.inserts = {name: sa.insert(t).returning(*t.columns)
                        for name, t in metadata.tables.items()}
        self.metadata = metadata
        self.shapes: dict[Any, Any] = {}  # statements by shape (runtime.where.Where.key)
        if self.database is not None:
            self.database.use(metadata)
        if self.postgres is not None:
            self.postgres.use(metadata)
        self.models = {m.name: m for m in project.models}
        self.fields = {m.name: frozenset(f.name for f in m.fields) for m in project.models}
        # The Link fields pointing at each model: (linking model, field, on-delete rule).
        self.links_to: dict[str, list[tuple[str, str, str]]] = {}
        for m in project.models:
            for f in m.fields:
                if f.kind == "Link" and f.link:
                    self.links_to.setdefault(f.link, []).append((m.name, f.name, f.on_delete))
        # Every column by name with its field kind, `id` and `created_at` first (sorting, filters).
        self.columns = {m.name: {"id": "Integer", "created_at": "DateTime",
                                 **{f.name: f.kind for f in m.fields}} for m in project.models}

    async def close(self) -> None:
        """Close every pooled connection."""
        if self.database is not None:
            await self.database.close()
        if self.postgres is not None:
            await self.postgres.close()
        await self.engine.dispose()

    def transaction(self, writes: bool = True) -> Transaction:
        """A context manager giving a Transaction that commits on success, rolls back on error."""
        return Transaction(self, writes)

    def run_transaction(self, writes: bool = True) -> Transaction:
        """The transaction of one action run: the fast path on a SQLite file or on PostgreSQL
        through asyncpg, else as `transaction`."""
        if self.database is not None:
            return SqliteTransaction(self, writes, self.database)
        if self.postgres is not None:
            return PgTransaction(self, writes, self.postgres)
        return Transaction(self, writes)


@dataclass
class Transaction:
    """One database transaction of one action run; events reach the database only here."""

    store: Store
    writes: bool = True
    changes: list[Change] = field(default_factory=list)
    conn: AsyncConnection | None = None
    _cm: Any = None
    _lock: asyncio.Lock | None = None
    _ran: bool = False  # a statement of this transaction reached the database

    async def __aenter__(self) -> Transaction:
        lock = self.store.write_lock if self.writes else None
        if lock is not None:
            await lock.acquire()
        try:
            self._cm = self.store.engine.connect()
            conn = await self._cm.__aenter__()
            try:
                await conn.execution_options(writes=self.writes)
                await conn.begin()
            except BaseException:
                await self._cm.__aexit__(None, None, None)
                raise
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self.conn = conn
        self._lock = lock
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                await self.conn.commit()
            else:
                await self.conn.rollback()
        finally:
            try:
                await self._cm.__aexit__(exc_type, exc, tb)
            finally:
                if self._lock is not None:
                    self._lock.release()

    async def rollback(self) -> None:
        """Undo everything this transaction wrote (dry runs)."""
        await self.conn.rollback()
        await self.conn.begin()

    # A savepoint around one event whose `error` port is wired: a failure undoes its writes only
    # (on PostgreSQL it also clears the failed statement's abort of the transaction).
    async def savepoint(self, name: str) -> None:
        """Mark where an event starts (`name` is the executor's, never a user's)."""
        await self._execute(sa.text(f"SAVEPOINT {name}"))

    async def release(self, name: str) -> None:
        """The event succeeded: forget the mark, keeping its writes."""
        await self._execute(sa.text(f"RELEASE SAVEPOINT {name}"))

    async def rollback_to(self, name: str, changes: int) -> None:
        """The event failed: undo what it wrote since the mark (and the `changes` after the
        first `changes` ones), then forget the mark."""
        await self.conn.execute(sa.text(f"ROLLBACK TO SAVEPOINT {name}"))
        await self.conn.execute(sa.text(f"RELEASE SAVEPOINT {name}"))
        del self.changes[changes:]

    # -- helpers -------------------------------------------------------------
    def table(self, model: str) -> sa.Table:
        """The table of a model; an unknown model is an ActionError."""
        try:
            return self.store.metadata.tables[model]
        except KeyError:
            raise ActionError(f'unknown model "{model}"') from None

    def by_id(self, model: str, record_id: Any):
        """A where clause matching one record by its id."""
        return self.by_field(model, "id", record_id)

    def by_field(self, model: str, field_name: str, value: Any) -> Where:
        """A filter matching records whose field equals a value."""
        self.table(model).c[field_name]  # an unknown model or field fails here, not later
        if value is None:
            return Where(("null", field_name), lambda t: t.c[field_name].is_(None), {})
        if self.store.dialect != "sqlite":
            # SQLite compares "3" with 3 as equal; PostgreSQL's driver refuses a value of another
            # type, so the value takes the field's kind first, and one that cannot matches nothing.
            try:
                value = convert_field(field_kinds(self.store.models[model])[field_name], value)
            except KindError:
                return Where(("nothing",), lambda t: sa.false(), {})
        return Where(("field", field_name), lambda t: t.c[field_name] == sa.bindparam(
            "f", type_=t.c[field_name].type), {"f": value})

    def shape(self, key: Any, build) -> Any:
        """The statement of a shape, built once per revision."""
        statement = self.store.shapes.get(key)
        if statement is None:
            statement = self.store.shapes[key] = build()
        return statement


    def values(self, model: str, values: dict[str, Any], partial: bool) -> dict[str, Any]:
        """Check and convert values for a model's fields; apply defaults on insert."""
        spec = self.store.models[model]
        out: dict[str, Any] = {}
        known = {f.name: f for f in spec.fields}
        for name, value in values.items():
            if name in AUTOMATIC:
                continue
            f = known.get(name)
            if f is None:
                raise ActionError(f'{model} has no field "{name}"', status=422)
            try:
                out[name] = convert_field(f.kind, value)
            except KindError as e:
                raise ActionError(f"{model}.{name}: {e}", status=422) from None
        for f in spec.fields:
            if not partial and out.get(f.name) is None and f.default is not None:
                out[f.name] = convert_field(f.kind, f.default)
            if f.required and (f.name in out or not partial) and out.get(f.name) in (None, ""):
                raise ActionError(f"{model}.{f.name} is required", status=422)
        return out

    async def _execute(self, statement, parameters=None):
        try:
            if self._ran:
                return await self.conn.execute(statement, parameters)
            return await self._first(statement, parameters)
        except sa_exc.IntegrityError as e:
            status, message = _integrity(e.orig)
            raise ActionError(message, status=status) from None
        except sa_exc.DBAPIError as e:
            refused = _refusal(e.orig)
            if refused is None:
                raise
            raise ActionError(refused[1], status=refused[0]) from None
        except OverflowError:  # values are checked before; this guards values made otherwise
            raise ActionError("a number is too large for the database", status=422) from None
        except UnicodeEncodeError:
            raise ActionError("a text holds an unpaired surrogate, which cannot be stored",
                              status=422) from None

    async def _first(self, statement, parameters):
        """The transaction's first statement; on PostgreSQL once more on a new connection when
        the pooled one turns out dead (the server restarted or ended the session while it sat
        in the pool, unnoticed at checkout). Nothing of the run has reached the database then:
        the BEGIN goes with the first statement, and the server dropped the session anyway."""
        try:
            result = await self.conn.execute(statement, parameters)
        except sa_exc.DBAPIError as e:
            if not e.connection_invalidated or self.store.dialect != "postgresql":
                raise
            await self.conn.rollback()  # the invalidated transaction, so the connection reconnects
            await self.conn.begin()
            result = await self.conn.execute(statement, parameters)
        self._ran = True
        return result

    # -- operations ----------------------------------------------------------
    async def insert(self, model: str, values: dict[str, Any]) -> dict:
        """Insert one row; returns the new record with `id` and `created_at`."""
        self.table(model)  # an unknown model is an ActionError
        row = self.values(model, values, partial=False)
        row["created_at"] = utcnow()
        result = await self._execute(self.store.inserts[model], row)
        record = dict(result.mappings().one())
        self.changes.append(Change("insert", model, None, record))
        return record

    async def select(self, model: str, where=None, order=(), limit: int | None = None,
                     offset: int = 0) -> list[dict]:
        """Rows matching a where clause, ordered, at most MAX_ROWS."""
        table = self.table(model)
        order = tuple(order)
        cap = MAX_ROWS if limit is None else max(0, min(limit, MAX_ROWS))
        values = {"_limit": cap, "_offset": min(max(0, offset), MAX_OFFSET)}
        if where is None or isinstance(where, Where):
            if where is not None:
                values.update(where.values)
            statement = self.shape(("select", model, where and where.key, order),
                                   lambda: self._select(table, where, order))
        else:  # a SQLAlchemy clause of a tool or plug-in: built for this call
            statement = self._select(table, where, order)
        result = await self._execute(statement, values)
        rows = result.mappings().all()
        return rows if isinstance(result, Rows) else [dict(r) for r in rows]

    def _select(self, table: sa.Table, where, order: tuple) -> Any:
        statement = sa.select(table)
        if where is not None:
            statement = statement.where(where.build(table) if isinstance(where, Where) else where)
        for column, descending in order:
            col = table.c[column]
            if self.store.dialect == "sqlite":
                statement = statement.order_by(col.desc() if descending else col.asc())
            else:  # empty values sort first, as on SQLite (PostgreSQL puts them last)
                statement = statement.order_by(col.desc().nulls_last() if descending
                                               else col.asc().nulls_first())
        if not order:
            statement = statement.order_by(table.c.id)
        return statement.limit(sa.bindparam("_limit", type_=sa.Integer())).offset(
            sa.bindparam("_offset", type_=sa.BigInteger()))

    async def count(self, model: str, where=None) -> int:
        """How many rows match."""
        table = self.table(model)
        if isinstance(where, Where):
            statement = self.shape(("count", model, where.key), lambda: sa.select(
                sa.func.count()).select_from(table).where(where.build(table)))
            return (await self._execute(statement, dict(where.values))).scalar_one()
        statement = sa.select(sa.func.count()).select_from(table)
        if where is not None:
            statement = statement.where(where)
        return (await self._execute(statement)).scalar_one()

    async def update(self, model: str, where, values: dict[str, Any]) -> list[dict]:
        """Update every row matching `where`; returns the updated records."""
        table = self.table(model)
        row = self.values(model, values, partial=True)
        before = await self.select(model, where, limit=MAX_ROWS)
        if not before or not row:
            return before
        names = tuple(row)
        statement = self.shape(("update", model, names), lambda: sa.update(table).where(
            table.c.id.in_(sa.bindparam("_ids", expanding=True))).values(
            {n: sa.bindparam(f"_v_{n}", type_=table.c[n].type) for n in names}).returning(
            *table.columns))
        values = {f"_v_{n}": v for n, v in row.items()}
        values["_ids"] = [r["id"] for r in before]
        result = await self._execute(statement, values)
        after = sorted((dict(r) for r in result.mappings().all()), key=lambda r: r["id"])
        by_id = {r["id"]: r for r in before}
        self.changes.extend(Change("update", model, by_id[r["id"]], r) for r in after)
        return after

    async def delete(self, model: str, where) -> list[dict]:
        """Delete every row matching `where`; returns the deleted records."""
        table = self.table(model)
        before = await self.select(model, where, limit=MAX_ROWS)
        if before:
            ids = [r["id"] for r in before]
            for linking, field_name, rule in self.store.links_to.get(model, ()):
                await self._unlink(model, ids, linking, field_name, rule)
            statement = self.shape(("delete", model), lambda: sa.delete(table).where(
                table.c.id.in_(sa.bindparam("_ids", expanding=True))))
            await self._execute(statement, {"_ids": ids})
            self.changes.extend(Change("delete", model, r, None) for r in before)
        return before

    async def _unlink(self, model: str, ids: list, linking: str, field_name: str,
                      rule: str) -> None:
        """Apply a Link's on-delete rule to the records linking to `ids` of `model`, as rows
        the run changed: refuse (409), cascade (delete them) or clear (empty the link)."""
        links = Where(("links", field_name), lambda t: t.c[field_name].in_(
            sa.bindparam("_links", expanding=True)), {"_links": ids})
        if rule == "refuse":
            found = [r["id"] for r in await self.select(linking, links, limit=6)
                     if not (linking == model and r["id"] in ids)]
            if found:
                shown = ", ".join(str(i) for i in found[:5]) + (", ..." if len(found) > 5 else "")
                raise ActionError(f"{model} {', '.join(str(i) for i in ids[:5])} cannot be "
                                  f"deleted: {linking} {shown} link to it (field {field_name}); "
                                  "delete or change those first, or give the link the "
                                  'on-delete rule "cascade" or "clear"', status=409)
        elif rule == "cascade":
            while await self.delete(linking, links):
                pass  # at most MAX_ROWS a round
        elif rule == "clear":
            while await self.update(linking, links, {field_name: None}):
                pass
    async def column(self, model: str, field_name: str, limit: int | None = None) -> list[Any]:
        """The values of one field, ordered by id (all of them unless `limit`); no MAX_ROWS cap,
        for tools such as the dummy-data filler that need every id or every unique value."""
        table = self.table(model)
        if field_name not in table.c:
            raise ActionError(f'{model} has no field "{field_name}"', status=422)
        statement = sa.select(table.c[field_name]).order_by(table.c.id)
        if limit is not None:
            statement = statement.limit(max(0, limit))
        return list((await self._execute(statement)).scalars().all())

    async def clear(self, models: list[str] | None = None) -> dict[str, int]:
        """Delete every row of the given models (all by default); returns rows deleted per model.

        One DELETE per table, not recorded in `changes` (there may be many rows). The next id
        starts at 1 again, as in a fresh database (PostgreSQL's id sequence is restarted, which a
        rollback undoes)."""
        names = list(self.store.metadata.tables) if models is None else list(models)
        counts: dict[str, int] = {}
        # Tables that others link to go last, so no link points at a row being removed.
        for table in reversed(sa.schema.sort_tables([self.table(name) for name in names])):
            counts[table.name] = (await self._execute(sa.delete(table))).rowcount
            if self.store.dialect == "postgresql":
                quoted = self.store.engine.dialect.identifier_preparer.quote(table.name)
                sequence = (await self._execute(sa.select(sa.func.pg_get_serial_sequence(
                    quoted, "id")))).scalar()
                if sequence is not None:  # pg_get_serial_sequence quotes the name it gives
                    await self._execute(sa.text(f"ALTER SEQUENCE {sequence} RESTART"))
        return counts


class SqliteTransaction(Transaction):
    """A run's transaction on the fast SQLite path (runtime.sqlite): the `sqlite3` module,
    statements compiled once per revision, SQL on the event loop only while it is quick."""

    def __init__(self, store: Store, writes: bool, database: Database):
        super().__init__(store, writes)
        self.database = database
        self.connection: SqliteConnection | None = None

    async def __aenter__(self) -> SqliteTransaction:
        lock = self.store.write_lock if self.writes else None
        if lock is not None:
            await lock.acquire()
        try:
            conn = self.database.take(self.writes)
            try:
                await self.database.run(conn, "BEGIN IMMEDIATE" if self.writes else "BEGIN",
                                        (), write=True)
            except BaseException:
                self.database.give(conn, self.writes)
                raise
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self.connection, self._lock = conn, lock
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        conn = self.connection
        try:
            if exc_type is None:
                try:
                    await self.database.run(conn, "COMMIT", (), write=True)
                except BaseException:
                    self._undo()
                    raise
                if self.writes:
                    self.database.committed()
            else:
                self._undo()
        finally:
            self.database.give(conn, self.writes)
            if self._lock is not None:
                self._lock.release()

    def _undo(self) -> None:
        raw = self.connection.raw
        if not self.connection.thread_busy and raw.in_transaction:
            raw.execute("ROLLBACK")

    async def rollback(self) -> None:
        """Undo everything this transaction wrote (dry runs)."""
        self._undo()
        await self.database.run(self.connection, "BEGIN IMMEDIATE" if self.writes else "BEGIN",
                                (), write=True)

    async def savepoint(self, name: str) -> None:
        """Mark where an event starts (see Transaction.savepoint)."""
        await self.database.run(self.connection, f"SAVEPOINT {name}", (), write=True)

    async def release(self, name: str) -> None:
        """The event succeeded: forget the mark, keeping its writes."""
        await self.database.run(self.connection, f"RELEASE {name}", (), write=True)

    async def rollback_to(self, name: str, changes: int) -> None:
        """The event failed: undo what it wrote since the mark, then forget the mark."""
        await self.database.run(self.connection, f"ROLLBACK TO {name}", (), write=True)
        await self.database.run(self.connection, f"RELEASE {name}", (), write=True)
        del self.changes[changes:]

    async def _execute(self, statement, parameters=None):
        sql, params, compiled = self.database.statements.prepare(statement, parameters)
        write = statement.is_dml
        # A DELETE from a table others link to may scan them (ON DELETE SET NULL): a thread's.
        moved = write and statement.is_delete and statement.table.name in self.database.linked
        try:
            rows, count, cursor = await self.database.run(self.connection, sql, params, write,
                                                          moved)
        except sqlite3.IntegrityError as e:
            status, message = _integrity(e)
            raise ActionError(message, status=status) from None
        except OverflowError:  # values are checked before; this guards values made otherwise
            raise ActionError("a number is too large for the database", status=422) from None
        except UnicodeEncodeError:
            raise ActionError("a text holds an unpaired surrogate, which cannot be stored",
                              status=422) from None
        names = None
        if not compiled.keys and cursor.description:  # text SQL: the cursor names the columns
            names = tuple(d[0] for d in cursor.description)
        return Rows(rows, compiled, count, names)


class PgTransaction(Transaction):
    """A run's transaction on the fast PostgreSQL path (runtime.pgfast): an asyncpg connection
    of its own pool, BEGIN / COMMIT / ROLLBACK / SAVEPOINT as plain statements, statements
    compiled once per revision and prepared once per connection."""

    def __init__(self, store: Store, writes: bool, database: pgfast.Database):
        super().__init__(store, writes)
        self.database = database
        self.connection: pgfast.Connection | None = None
        self.raw: Any = None  # the asyncpg connection

    async def __aenter__(self) -> PgTransaction:
        lock = self.store.write_lock if self.writes else None
        if lock is not None:
            await lock.acquire()
        try:
            self.connection = await self.database.begin()
            self.raw = self.connection.raw
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self._lock = lock
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        committed = False
        try:
            if exc_type is None:
                await self.raw.execute("COMMIT")
                committed = True
        finally:
            try:
                await self.database.give(self.connection, clean=committed)
            finally:
                if self._lock is not None:
                    self._lock.release()

    async def rollback(self) -> None:
        """Undo everything this transaction wrote (dry runs)."""
        await self.raw.execute("ROLLBACK")
        await self.raw.execute("BEGIN")

    async def savepoint(self, name: str) -> None:
        """Mark where an event starts (see Transaction.savepoint)."""
        await self.raw.execute(f"SAVEPOINT {name}")

    async def release(self, name: str) -> None:
        """The event succeeded: forget the mark, keeping its writes."""
        await self.raw.execute(f"RELEASE SAVEPOINT {name}")

    async def rollback_to(self, name: str, changes: int) -> None:
        """The event failed: undo what it wrote since the mark, then forget the mark."""
        await self.raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
        await self.raw.execute(f"RELEASE SAVEPOINT {name}")
        del self.changes[changes:]

    async def _execute(self, statement, parameters=None):
        sql, params, compiled = self.database.statements.prepare(statement, parameters)
        try:
            return await self.database.run(self.raw, statement, sql, params, compiled)
        except pgfast.asyncpg.IntegrityConstraintViolationError as e:
            status, message = _integrity(e)
            raise ActionError(message, status=status) from None
        except pgfast.asyncpg.PostgresError as e:
            refused = _refusal(e)
            if refused is None:
                self.database.lost(self.connection, e)
                raise
            raise ActionError(refused[1], status=refused[0]) from None
        except (OSError, pgfast.asyncpg.InterfaceError) as e:
            # asyncpg's DataError: a value it could not encode, the cause says why.
            if isinstance(e.__cause__, OverflowError):
                raise ActionError("a number is too large for the database", status=422) from None
            if isinstance(e.__cause__, UnicodeEncodeError):
                raise ActionError("a text holds an unpaired surrogate, which cannot be stored",
                                  status=422) from None
            self.database.lost(self.connection, e)
            raise


# PostgreSQL's SQLSTATE codes (asyncpg's texts differ from SQLite's and may hold SQL or values).
UNIQUE_VIOLATION, NOT_NULL_VIOLATION, FOREIGN_KEY_VIOLATION = "23505", "23502", "23503"
DATA_EXCEPTION = "22"  # the class of a value its column type refuses
TRANSACTION_ROLLBACK = "40"  # the class of a deadlock or serialization failure between runs
OUT_OF_RANGE, NO_NUL_CHARACTER = "22003", "22021"


def _integrity(error: BaseException) -> tuple[int, str]:
    """The status and message of a refused write: 409 for a repeated unique value, else 422."""
    code = getattr(error, "sqlstate", None)
    if code is None:  # SQLite: its texts name the constraint, e.g. `UNIQUE constraint failed: T.c`
        text = str(error)
        return (409 if "UNIQUE" in text.upper() else 422), _integrity_message(text)
    # asyncpg's exception says which table, column and constraint: SQLAlchemy's wraps it (the
    # fast path, runtime.pgfast, has asyncpg's own).
    cause = error if hasattr(error, "table_name") else error.__cause__
    table = getattr(cause, "table_name", None)
    if code == UNIQUE_VIOLATION:
        # The detail says `Key (email)=(ann@x.org) already exists.`: name the columns, not values.
        found = re.match(r"Key \((.+?)\)=", getattr(error, "detail", None) or "")
        columns = [c.strip().strip('"') for c in found[1].split(",")] if found else []
        where = ", ".join(f"{table}.{c}" if table else c for c in columns)
        return 409, "a record with this value already exists" + (f" ({where})" if where else "")
    if code == NOT_NULL_VIOLATION:
        column = getattr(cause, "column_name", None)
        where = f"{table}.{column}" if table and column else column
        return 422, "a required value is missing" + (f" ({where})" if where else "")
    if code == FOREIGN_KEY_VIOLATION:
        return 422, "a link points to a record that does not exist"
    return 422, "the database refused the change (a rule of the table)"


def _refusal(error: BaseException) -> tuple[int, str] | None:
    """The status and message of a statement PostgreSQL refused for a value it cannot store
    (SQLSTATE class 22: 422) or for a clash with another run (class 40: 503); None for other
    errors (a bug, a lost connection), which stay unexpected errors with a reference."""
    code = getattr(error, "sqlstate", None) or ""
    text = str(error)
    if code.startswith(TRANSACTION_ROLLBACK):
        return 503, "the database stopped this run because it clashed with another; try again"
    if not code.startswith(DATA_EXCEPTION):
        return None
    if code == NO_NUL_CHARACTER:
        return 422, "a text holds a NUL character (\\u0000), which PostgreSQL cannot store"
    if code == OUT_OF_RANGE or "out of int" in text or "out of range" in text:
        return 422, "a number is too large for the database"
    if "surrogates not allowed" in text:
        return 422, "a text holds an unpaired surrogate, which cannot be stored"
    return 422, "a value does not fit its field in the database"


def _integrity_message(text: str) -> str:
    if "UNIQUE" in text.upper():
        return "a record with this value already exists (" + text.split(":", 1)[-1].strip() + ")"
    if "NOT NULL" in text.upper():
        return "a required value is missing (" + text.split(":", 1)[-1].strip() + ")"
    if "FOREIGN KEY" in text.upper():
        return "a link points to a record that does not exist"
    return text
