"""The tables of data models: column types per field kind, and one table per model.

The store (runtime.store) reads and writes through these tables; the migration
(runtime.migrate) compares them with the database. Both sit on this module."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from runtime.project import Model

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


# Record ids (and links to them) are 64-bit as SQLite's rowid: BIGINT elsewhere. SQLite keeps
# INTEGER, which an auto-increment primary key must be there.
ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


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
        "Link": ID_TYPE,
    }[kind]


def build_metadata(models: list[Model]) -> sa.MetaData:
    """One table per data model, with `id` and `created_at` added automatically."""
    metadata = sa.MetaData()
    for model in models:
        columns: list[sa.Column] = [
            sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
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
