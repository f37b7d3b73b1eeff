"""The store: data models as SQLAlchemy tables, and the database operations events use."""

from __future__ import annotations

import asyncio
import datetime as dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from runtime.errors import ActionError
from runtime.kinds import KindError, convert_field
from runtime.project import Model, Project

# SQLite keeps decimals as REAL; we accept that and read them back as Decimal.
warnings.filterwarnings("ignore", message=".*does \\*not\\* support Decimal objects natively")

MAX_ROWS = 1000  # a cap on rows one query returns, like Datasette's
BUSY_TIMEOUT_MS = 5000
AUTOMATIC = ("id", "created_at")


def utcnow() -> dt.datetime:
    """Now, in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator):
    """A DateTime that always comes back timezone-aware in UTC (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


def column_type(kind: str) -> sa.types.TypeEngine:
    """The SQLAlchemy column type for a field kind."""
    return {
        "Text": sa.Text(),
        "Integer": sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        "Decimal": sa.Numeric(precision=28, scale=10, asdecimal=True),
        "Boolean": sa.Boolean(),
        "Date": sa.Date(),
        "DateTime": UTCDateTime(),
        "JSON": sa.JSON(),
        "Link": sa.Integer(),
    }[kind]


def build_metadata(models: list[Model]) -> sa.MetaData:
    """One table per data model, with `id` and `created_at` added automatically."""
    metadata = sa.MetaData()
    for model in models:
        columns: list[sa.Column] = [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
        ]
        for f in model.fields:
            args: list[Any] = []
            if f.kind == "Link" and f.link:
                args.append(sa.ForeignKey(f"{f.link}.id", ondelete="SET NULL"))
            columns.append(sa.Column(f.name, column_type(f.kind), *args, nullable=True,
                                     unique=f.unique or None))
        sa.Table(model.name, metadata, *columns)
    return metadata


def default_url(project_path: str | Path) -> str:
    """The SQLite file beside a project file: `shoes.actiongraph.json` -> `shoes.db`."""
    path = Path(project_path).resolve()
    stem = path.name.removesuffix(".json").removesuffix(".actiongraph")
    return f"sqlite+aiosqlite:///{path.with_name(stem + '.db')}"


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout, foreign keys and explicit BEGINs."""
    if url.startswith("sqlite:"):
        url = url.replace("sqlite:", "sqlite+aiosqlite:", 1)
    engine = create_async_engine(url)
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
        self.write_lock = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        self.use(project)

    @property
    def tables(self) -> dict[str, sa.Table]:
        """Tables by model name."""
        return dict(self.metadata.tables)

    async def open(self, project: Project, allow_data_loss: bool = False) -> list[str]:
        """Create or migrate the tables to match the project; returns what was changed."""
        from runtime.migrate import migrate

        return await migrate(self.engine, project.models, allow_data_loss=allow_data_loss)

    def use(self, project: Project) -> None:
        """Switch to a new revision's models (after `open` migrated the database)."""
        metadata = build_metadata(project.models)
        # Statements that do not change between requests are built once per revision.
        self.inserts = {name: sa.insert(t).returning(*t.columns)
                        for name, t in metadata.tables.items()}
        self.metadata = metadata
        self.models = {m.name: m for m in project.models}
        self.fields = {m.name: frozenset(f.name for f in m.fields) for m in project.models}

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    def transaction(self, writes: bool = True) -> Transaction:
        """A context manager giving a Transaction that commits on success, rolls back on error."""
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

    # -- helpers -------------------------------------------------------------
    def table(self, model: str) -> sa.Table:
        """The table of a model; an unknown model is an ActionError."""
        try:
            return self.store.metadata.tables[model]
        except KeyError:
            raise ActionError(f'unknown model "{model}"') from None

    def by_id(self, model: str, record_id: Any):
        """A where clause matching one record by its id."""
        return self.table(model).c.id == record_id

    def by_field(self, model: str, field_name: str, value: Any):
        """A where clause matching records whose field equals a value."""
        return self.table(model).c[field_name] == value

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
            return await self.conn.execute(statement, parameters)
        except sa_exc.IntegrityError as e:
            text = str(e.orig)
            status = 409 if "UNIQUE" in text.upper() else 422
            raise ActionError(_integrity_message(text), status=status) from None

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
        statement = sa.select(table)
        if where is not None:
            statement = statement.where(where)
        for column, descending in order:
            col = table.c[column]
            statement = statement.order_by(col.desc() if descending else col.asc())
        if not order:
            statement = statement.order_by(table.c.id)
        cap = MAX_ROWS if limit is None else max(0, min(limit, MAX_ROWS))
        statement = statement.limit(cap).offset(max(0, offset))
        result = await self._execute(statement)
        return [dict(r) for r in result.mappings().all()]

    async def count(self, model: str, where=None) -> int:
        """How many rows match."""
        table = self.table(model)
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
        ids = [r["id"] for r in before]
        result = await self._execute(
            sa.update(table).where(table.c.id.in_(ids)).values(row).returning(*table.columns))
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
            await self._execute(sa.delete(table).where(table.c.id.in_(ids)))
            self.changes.extend(Change("delete", model, r, None) for r in before)
        return before

    # -- for the editor's data browser ---------------------------------------
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

        One DELETE per table, not recorded in `changes` (there may be many rows). On SQLite the
        next id starts at 1 again, as in a fresh database."""
        names = list(self.store.metadata.tables) if models is None else list(models)
        counts: dict[str, int] = {}
        # Tables that others link to go last, so no link points at a row being removed.
        for table in reversed(sa.schema.sort_tables([self.table(name) for name in names])):
            counts[table.name] = (await self._execute(sa.delete(table))).rowcount
        return counts


def _integrity_message(text: str) -> str:
    if "UNIQUE" in text.upper():
        return "a record with this value already exists (" + text.split(":", 1)[-1].strip() + ")"
    if "NOT NULL" in text.upper():
        return "a required value is missing (" + text.split(":", 1)[-1].strip() + ")"
    if "FOREIGN KEY" in text.upper():
        return "a link points to a record that does not exist"
    return text
