"""Migrations against a real database (SQLite and PostgreSQL): rows survive, risky changes are
refused whole."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing

import pytest

from runtime import migrate as migrate_module
from runtime.errors import MigrationError
from runtime.migrate import SCHEMA_TABLE, migrate
from runtime.project import Field, Model, Project
from runtime.store import build_metadata, create_engine

pytestmark = pytest.mark.both_databases

CREATED = "2024-05-31 12:00:00.000000"
CREATED_AT = dt.datetime(2024, 5, 31, 12, tzinfo=dt.UTC)

# SQLite's typeof() for PostgreSQL, so one query checks what both store.
PG_TYPEOF = """CREATE FUNCTION typeof(anyelement) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN $1 IS NULL THEN 'null'
                WHEN pg_typeof($1) IN ('bigint'::regtype, 'integer'::regtype) THEN 'integer'
                WHEN pg_typeof($1) = 'numeric'::regtype THEN 'real'
                ELSE pg_typeof($1)::text END $$"""


class Db:
    """The test's database, read and written on connections of their own (and committed)."""

    def __init__(self, database):
        self.database = database
        self.url = database.url("test")
        self.postgresql = database.postgresql
        if self.postgresql:
            self.database.rows(self.url, PG_TYPEOF)

    def sql(self, statement: str, *args) -> list[tuple]:
        if not self.postgresql:
            with closing(sqlite3.connect(self.url.split("///", 1)[1])) as conn:
                conn.execute("PRAGMA foreign_keys = ON")
                rows = conn.execute(statement, args).fetchall()
                conn.commit()
                return rows
        args = tuple(CREATED_AT if a == CREATED else a for a in args)
        return [tuple(_as_sqlite(v) for v in row)
                for row in self.database.rows(self.url, statement, *args)]


def _as_sqlite(value):
    """A value read from PostgreSQL as SQLite gives it back (times as text in UTC)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


INTEGRITY_ERRORS = (sqlite3.IntegrityError,)
try:
    import asyncpg

    INTEGRITY_ERRORS += (asyncpg.exceptions.IntegrityConstraintViolationError,)
except ImportError:  # pragma: no cover - asyncpg is a dependency
    pass


@pytest.fixture
def db(database):
    """The database of a test."""
    return Db(database)


@pytest.fixture
async def engine(db):
    """An engine on the test's database, made the way the server makes it."""
    engine = create_engine(db.url)
    yield engine
    await engine.dispose()


def sql(db, statement: str, *args) -> list[tuple]:
    """Run one statement on its own connection and commit."""
    return db.sql(statement, *args)


def insert(db, table: str, **values) -> None:
    """Insert one row with a created_at."""
    values = {"created_at": CREATED, **values}
    names = ", ".join(f'"{k}"' for k in values)
    marks = ", ".join("?" for _ in values)
    sql(db, f'INSERT INTO "{table}" ({names}) VALUES ({marks})', *values.values())


def columns(db, table: str) -> dict[str, str]:
    """Column name -> declared type (as SQLite names it: INTEGER, DATETIME, ...)."""
    if not db.postgresql:
        return {r[1]: r[2] for r in sql(db, f'PRAGMA table_info("{table}")')}
    named = {"bigint": "INTEGER", "integer": "INTEGER", "text": "TEXT", "numeric": "NUMERIC",
             "timestamp with time zone": "DATETIME", "boolean": "BOOLEAN", "date": "DATE",
             "json": "JSON"}
    return {name: named.get(kind, kind) for name, kind in sql(
        db, "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ? ORDER BY ordinal_position", table)}


def tables(db) -> list[str]:
    """The tables, by name."""
    if not db.postgresql:
        return [r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "ORDER BY name")]
    return [r[0] for r in sql(db, "SELECT table_name FROM information_schema.tables WHERE "
                                  "table_schema = 'public' ORDER BY table_name COLLATE \"C\"")]


def link_target(db, table: str) -> str:
    """The table the first link of a table points at."""
    if not db.postgresql:
        return sql(db, f'PRAGMA foreign_key_list("{table}")')[0][2]
    return sql(db, "SELECT confrelid::regclass::text FROM pg_constraint "
                   "WHERE contype = 'f' AND conrelid = ?::regclass", f'"{table}"')[0][0].strip('"')


def snapshot(db) -> tuple:
    """Every schema entry and every row of every table."""
    if not db.postgresql:
        schema = sql(db, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
        rows = {name: sql(db, f'SELECT * FROM "{name}" ORDER BY rowid')
                for kind, name, _ in schema if kind == "table"}
        return schema, rows
    schema = sql(db, "SELECT table_name, column_name, data_type, is_nullable, column_default "
                     "FROM information_schema.columns WHERE table_schema = 'public' "
                     "ORDER BY table_name, ordinal_position")
    schema += sql(db, "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                      "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
                      "ORDER BY 1, 2")
    schema += sql(db, "SELECT tablename, indexname, indexdef FROM pg_indexes "
                      "WHERE schemaname = 'public' ORDER BY 1, 2")
    rows = {name: sql(db, f'SELECT * FROM "{name}" ORDER BY 1') for name in tables(db)}
    return schema, rows


def insert_many(db, table: str, names: list[str], rows: list[tuple]) -> None:
    """Insert many rows at once."""
    marks = ", ".join("?" for _ in names)
    statement = f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})'
    if not db.postgresql:
        with closing(sqlite3.connect(db.url.split("///", 1)[1])) as conn:
            conn.executemany(statement, rows)
            conn.commit()
        return
    values = ", ".join(f"({', '.join(_literal(v) for v in row)})" for row in rows)
    sql(db, f'INSERT INTO "{table}" ({", ".join(names)}) VALUES {values}')


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if value == CREATED:
        return "'2024-05-31 12:00:00+00'"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


async def foreign_keys(engine) -> int:
    """SQLite's foreign key setting on the engine's pooled connection (always on elsewhere)."""
    if engine.dialect.name != "sqlite":
        return 1
    async with engine.connect() as conn:
        return (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()


def posts(*fields: Field) -> Project:
    """A project with one model, Posts."""
    project = Project()
    project.add_model("Posts", [*fields])
    return project


async def test_first_run_creates_tables_and_records_the_shape(engine, db):
    project = posts(Field("text"), Field("likes", "Integer"))
    assert await migrate(engine, project.models) == ["created table Posts"]
    assert columns(db, "Posts") == {"id": "INTEGER", "created_at": "DATETIME", "text": "TEXT",
                                    "likes": "INTEGER"}
    shape = json.loads(sql(db, f"SELECT shape FROM {SCHEMA_TABLE}")[0][0])
    assert [(m["id"], m["name"]) for m in shape["models"]] == [("m1", "Posts")]
    assert [(f["id"], f["name"], f["kind"]) for f in shape["models"][0]["fields"]] == [
        ("f1", "text", "Text"), ("f2", "likes", "Integer")]


async def test_second_run_changes_nothing(engine, db):
    project = posts(Field("text"), Field("email", unique=True))
    project.add_model("Comments", [Field("post", "Link", link="Posts")])
    await migrate(engine, project.models)
    insert(db, "Posts", text="hello", email="a@b.c")
    before = snapshot(db)
    assert await migrate(engine, project.models) == []
    assert snapshot(db) == before


async def test_add_field_keeps_rows(engine, db):
    project = posts(Field("text"))
    await migrate(engine, project.models)
    insert(db, "Posts", text="one")
    insert(db, "Posts", text="two")
    project.add_field(project.models[0], Field("likes", "Integer"))
    assert await migrate(engine, project.models) == ["Posts: added field likes"]
    assert sql(db, 'SELECT id, created_at, text, likes FROM "Posts"') == [
        (1, CREATED, "one", None), (2, CREATED, "two", None)]


async def test_an_added_field_with_a_default_gets_it_on_existing_rows(engine, db):
    project = posts(Field("text"))
    await migrate(engine, project.models)
    insert(db, "Posts", text="one")
    insert(db, "Posts", text="two")
    project.add_field(project.models[0], Field("likes", "Integer", default=7))
    project.add_field(project.models[0], Field("tag", "Text", default="new"))
    assert await migrate(engine, project.models) == [
        "Posts: set likes to its default on 2 existing rows",
        "Posts: set tag to its default on 2 existing rows",
        "Posts: added field likes", "Posts: added field tag"]
    assert sql(db, 'SELECT text, likes, tag FROM "Posts"') == [("one", 7, "new"),
                                                               ("two", 7, "new")]
    assert await migrate(engine, project.models) == []  # nothing more to do


async def test_rename_field_keeps_values(engine, db):
    project = posts(Field("text"))
    await migrate(engine, project.models)
    insert(db, "Posts", text="hello")
    project.models[0].fields[0].name = "caption"
    assert await migrate(engine, project.models) == ["Posts: renamed field text -> caption"]
    assert list(columns(db, "Posts")) == ["id", "created_at", "caption"]
    assert sql(db, 'SELECT id, caption FROM "Posts"') == [(1, "hello")]


async def test_swapping_two_field_names_swaps_no_values(engine, db):
    project = posts(Field("a"), Field("b"))
    await migrate(engine, project.models)
    insert(db, "Posts", a="from a", b="from b")
    first, second = project.models[0].fields
    first.name, second.name = "b", "a"
    lines = await migrate(engine, project.models)
    assert sorted(lines) == ["Posts: renamed field a -> b", "Posts: renamed field b -> a"]
    assert sql(db, 'SELECT a, b FROM "Posts"') == [("from b", "from a")]


async def test_rename_model_keeps_rows_and_the_links_to_it(engine, db):
    project = posts(Field("text"))
    project.add_model("Comments", [Field("post", "Link", link="Posts")])
    await migrate(engine, project.models)
    insert(db, "Posts", text="hello")
    insert(db, "Comments", post=1)
    project.models[0].name = "Articles"
    project.models[1].fields[0].link = "Articles"
    assert await migrate(engine, project.models) == ["renamed table Posts -> Articles"]
    names = set(tables(db))
    assert {"Articles", "Comments"} <= names and "Posts" not in names
    assert sql(db, 'SELECT id, text FROM "Articles"') == [(1, "hello")]
    assert link_target(db, "Comments") == "Articles"
    with pytest.raises(INTEGRITY_ERRORS):
        insert(db, "Comments", post=99)


async def test_swapping_two_model_names(engine, db):
    project = posts(Field("text"))
    project.add_model("Shoes", [Field("size", "Integer")])
    await migrate(engine, project.models)
    insert(db, "Posts", text="hello")
    insert(db, "Shoes", size=42)
    project.models[0].name, project.models[1].name = "Shoes", "Posts"
    assert sorted(await migrate(engine, project.models)) == [
        "renamed table Posts -> Shoes", "renamed table Shoes -> Posts"]
    assert sql(db, 'SELECT text FROM "Shoes"') == [("hello",)]
    assert sql(db, 'SELECT size FROM "Posts"') == [(42,)]


async def test_remove_empty_field(engine, db):
    project = posts(Field("text"), Field("likes", "Integer"))
    await migrate(engine, project.models)
    insert(db, "Posts", text="hello")
    project.models[0].fields.pop()
    assert await migrate(engine, project.models) == ["Posts: removed field likes"]
    assert list(columns(db, "Posts")) == ["id", "created_at", "text"]
    assert sql(db, 'SELECT id, created_at, text FROM "Posts"') == [(1, CREATED, "hello")]


async def test_remove_field_with_values_is_refused_then_allowed(engine, db):
    project = posts(Field("text"), Field("likes", "Integer"))
    await migrate(engine, project.models)
    insert(db, "Posts", text="a")
    insert(db, "Posts", text="b", likes=5)
    insert(db, "Posts", text="c", likes=7)
    before = snapshot(db)
    project.models[0].fields.pop()
    with pytest.raises(MigrationError) as refused:
        await migrate(engine, project.models)
    message = str(refused.value)
    assert message.startswith("Posts: removing field likes would lose data: 2 rows hold values")
    assert "(first: id 2, 5)" in message and "--allow-data-loss" in message
    assert snapshot(db) == before
    assert await migrate(engine, project.models, allow_data_loss=True) == [
        "Posts: removed field likes (2 values deleted)"]
    assert sql(db, 'SELECT * FROM "Posts"') == [(1, CREATED, "a"), (2, CREATED, "b"),
                                                (3, CREATED, "c")]


async def test_remove_model(engine, db):
    project = posts(Field("text"))
    project.add_model("Shoes", [Field("size", "Integer")])
    project.add_model("Hats")
    await migrate(engine, project.models)
    insert(db, "Shoes", size=42)
    before = snapshot(db)
    project.models[1:] = []
    with pytest.raises(MigrationError, match=r"^Shoes: removing the model would delete its 1 "
                                             r"row\."):
        await migrate(engine, project.models)
    assert snapshot(db) == before
    assert await migrate(engine, project.models, allow_data_loss=True) == [
        "removed table Shoes (1 row deleted)", "removed table Hats"]
    assert tables(db) == ["Posts", SCHEMA_TABLE]


async def test_text_to_integer_stores_real_integers(engine, db):
    project = posts(Field("likes"))
    await migrate(engine, project.models)
    for value in ("3", " 12 ", None, "-4"):
        insert(db, "Posts", likes=value)
    assert sql(db, 'SELECT typeof(likes) FROM "Posts" WHERE id = 1') == [("text",)]
    project.models[0].fields[0].kind = "Integer"
    assert await migrate(engine, project.models) == [
        "Posts.likes: kind Text -> Integer (3 rows converted)"]
    assert sql(db, 'SELECT id, created_at, likes, typeof(likes) FROM "Posts"') == [
        (1, CREATED, 3, "integer"), (2, CREATED, 12, "integer"), (3, CREATED, None, "null"),
        (4, CREATED, -4, "integer")]
    assert columns(db, "Posts")["likes"] == "INTEGER"
    insert(db, "Posts", likes=1)
    assert sql(db, 'SELECT max(id) FROM "Posts"') == [(5,)]
    assert await migrate(engine, project.models) == []


async def test_text_to_integer_not_convertible_is_refused_and_changes_nothing(engine, db):
    project = posts(Field("likes"), Field("text"))
    project.add_model("Comments", [Field("post", "Link", link="Posts")])
    await migrate(engine, project.models)
    insert(db, "Posts", likes="1")
    insert(db, "Posts", likes="2.5")
    insert(db, "Posts", likes="many")
    insert(db, "Comments", post=1)
    before = snapshot(db)
    project.models[0].fields[0].kind = "Integer"
    project.add_field(project.models[0], Field("extra"))  # a change that alone would pass
    with pytest.raises(MigrationError) as refused:
        await migrate(engine, project.models)
    assert str(refused.value) == (
        'Posts.likes: changing kind Text -> Integer would lose data: 2 rows hold values that '
        'are not whole numbers (first: id 2, "2.5"). Fix those rows or change the kind back.')
    assert snapshot(db) == before
    with pytest.raises(MigrationError):
        await migrate(engine, project.models, allow_data_loss=True)
    assert snapshot(db) == before
    assert await foreign_keys(engine) == 1


async def test_a_failure_after_changes_began_undoes_them_all(engine, db, monkeypatch):
    project = posts(Field("likes"))
    project.add_model("Comments", [Field("post", "Link", link="Posts")])
    await migrate(engine, project.models)
    insert(db, "Posts", likes="1")
    insert(db, "Comments", post=1)
    before = snapshot(db)
    project.models[0].name = "Articles"
    project.models[1].fields[0].link = "Articles"
    project.models[0].fields[0].kind = "Integer"
    project.add_field(project.models[1], Field("text"))
    project.add_model("Shoes")

    def fail(self, new):
        raise RuntimeError("disk full")

    monkeypatch.setattr(migrate_module._Migration, "_record", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        await migrate(engine, project.models)
    assert snapshot(db) == before
    assert await foreign_keys(engine) == 1
    monkeypatch.undo()
    assert await migrate(engine, project.models) == [
        "renamed table Posts -> Articles", "created table Shoes",
        "Articles.likes: kind Text -> Integer (1 row converted)", "Comments: added field text"]
    assert sql(db, 'SELECT id, likes, typeof(likes) FROM "Articles"') == [(1, 1, "integer")]
    assert sql(db, 'SELECT id, post, text FROM "Comments"') == [(1, 1, None)]
    assert await foreign_keys(engine) == 1


async def test_integer_to_text(engine, db):
    project = posts(Field("likes", "Integer"))
    await migrate(engine, project.models)
    insert(db, "Posts", likes=3)
    insert(db, "Posts", likes=None)
    project.models[0].fields[0].kind = "Text"
    assert await migrate(engine, project.models) == [
        "Posts.likes: kind Integer -> Text (1 row converted)"]
    assert sql(db, 'SELECT likes, typeof(likes) FROM "Posts"') == [("3", "text"), (None, "null")]


async def test_kind_change_of_a_linked_model_keeps_its_links(engine, db):
    project = posts(Field("likes"))
    project.add_model("Comments", [Field("post", "Link", link="Posts")])
    await migrate(engine, project.models)
    insert(db, "Posts", likes="7")
    insert(db, "Comments", post=1)
    project.models[0].fields[0].kind = "Integer"
    assert await migrate(engine, project.models) == [
        "Posts.likes: kind Text -> Integer (1 row converted)"]
    assert sql(db, 'SELECT id, post FROM "Comments"') == [(1, 1)]  # no ON DELETE SET NULL
    assert link_target(db, "Comments") == "Posts"
    sql(db, 'DELETE FROM "Posts" WHERE id = 1')
    assert sql(db, 'SELECT id, post FROM "Comments"') == [(1, None)]


async def test_unique_with_duplicates_is_refused(engine, db):
    project = posts(Field("email"))
    await migrate(engine, project.models)
    for email in ("a@x", "b@x", "a@x", None, None):
        insert(db, "Posts", email=email)
    before = snapshot(db)
    project.models[0].fields[0].unique = True
    with pytest.raises(MigrationError) as refused:
        await migrate(engine, project.models)
    assert str(refused.value) == (
        'Posts.email: cannot make the field unique: 1 row repeats a value another row holds '
        '(first: id 3, "a@x", as id 1). Change those rows or turn unique off.')
    assert snapshot(db) == before
    sql(db, "UPDATE \"Posts\" SET email = 'c@x' WHERE id = 3")
    assert await migrate(engine, project.models) == ["Posts.email: now unique"]
    with pytest.raises(INTEGRITY_ERRORS):
        insert(db, "Posts", email="a@x")


async def test_refusals_are_reported_together(engine, db):
    project = posts(Field("likes"), Field("old"))
    await migrate(engine, project.models)
    insert(db, "Posts", likes="x", old="keep me")
    project.models[0].fields[0].kind = "Integer"
    project.models[0].fields.pop()
    with pytest.raises(MigrationError) as refused:
        await migrate(engine, project.models)
    lines = str(refused.value).splitlines()
    assert lines[0] == "2 changes to the data models were refused; nothing was changed:"
    assert lines[1].startswith("- Posts: removing field old would lose data")
    assert lines[2].startswith("- Posts.likes: changing kind Text -> Integer")


async def test_link_target_change_clears_links_only_when_allowed(engine, db):
    project = posts(Field("text"))
    project.add_model("Users", [Field("name")])
    project.add_model("Comments", [Field("to", "Link", link="Posts")])
    await migrate(engine, project.models)
    insert(db, "Posts", text="hello")
    insert(db, "Users", name="ann")
    insert(db, "Comments", to=1)
    before = snapshot(db)
    project.models[2].fields[0].link = "Users"
    with pytest.raises(MigrationError, match="changing the link Posts -> Users would lose data"):
        await migrate(engine, project.models)
    assert snapshot(db) == before
    assert await migrate(engine, project.models, allow_data_loss=True) == [
        "Comments.to: link Posts -> Users (1 link cleared)"]
    assert sql(db, 'SELECT "to" FROM "Comments"') == [(None,)]
    assert link_target(db, "Comments") == "Users"


async def test_integer_to_link_checks_the_records_exist(engine, db):
    project = posts(Field("text"))
    project.add_model("Comments", [Field("post", "Integer")])
    await migrate(engine, project.models)
    insert(db, "Posts", text="hello")
    insert(db, "Comments", post=1)
    insert(db, "Comments", post=9)
    project.models[1].fields[0].kind = "Link"
    project.models[1].fields[0].link = "Posts"
    with pytest.raises(MigrationError, match=r"1 row would link to Posts records that do not "
                                             r"exist \(first: id 2, 9\)"):
        await migrate(engine, project.models)
    assert await migrate(engine, project.models, allow_data_loss=True) == [
        "Comments.post: kind Integer -> Link (2 rows converted, 1 link cleared)"]
    assert sql(db, 'SELECT id, post FROM "Comments"') == [(1, 1), (2, None)]


async def test_database_without_bookkeeping_is_matched_by_names(engine, db):
    project = posts(Field("text", unique=True), Field("likes", "Integer"),
                    Field("price", "Decimal"), Field("at", "DateTime"), Field("data", "JSON"),
                    Field("ok", "Boolean"))
    project.add_model("Comments", [Field("post", "Link", link="Posts"), Field("old")])
    async with engine.begin() as conn:  # what an older run left: tables, no bookkeeping
        await conn.run_sync(build_metadata(project.models).create_all)
    insert(db, "Posts", text="hello", likes=2, price=2.5)
    insert(db, "Comments", post=1)
    project.models[0].fields[1].kind = "Text"
    project.models[1].fields.pop()
    project.add_model("Shoes")
    assert await migrate(engine, project.models) == [
        "created table Shoes", "adopted existing table Posts",
        "Posts.likes: kind Integer -> Text (1 row converted)", "adopted existing table Comments",
        "Comments: removed field old"]
    assert sql(db, 'SELECT text, likes, price FROM "Posts"') == [("hello", "2", 2.5)]
    assert sql(db, 'SELECT id, post FROM "Comments"') == [(1, 1)]
    assert await migrate(engine, project.models) == []


async def test_models_saved_without_ids_are_matched_by_name(engine, db):
    project = posts(Field("text"))
    await migrate(engine, project.models)
    insert(db, "Posts", text="hello")
    bare = [Model("Posts", [Field("text"), Field("likes", "Integer")])]
    assert await migrate(engine, bare) == ["Posts: added field likes"]
    assert await migrate(engine, project.models) == ["Posts: removed field likes"]
    assert sql(db, 'SELECT id, text FROM "Posts"') == [(1, "hello")]


async def test_a_link_to_no_model_is_refused(engine):
    project = posts(Field("author", "Link", link="Users"))
    with pytest.raises(MigrationError, match="Posts.author: links to Users, which is not a data"):
        await migrate(engine, project.models)


async def test_many_rows_are_copied_in_batches(engine, db):
    project = posts(Field("n"))
    await migrate(engine, project.models)
    insert_many(db, "Posts", ["created_at", "n"], [(CREATED, str(i)) for i in range(1234)])
    project.models[0].fields[0].kind = "Integer"
    assert await migrate(engine, project.models) == [
        "Posts.n: kind Text -> Integer (1234 rows converted)"]
    assert sql(db, 'SELECT count(*), sum(n), min(typeof(n)), max(typeof(n)) FROM "Posts"') == [
        (1234, sum(range(1234)), "integer", "integer")]
    assert sql(db, 'SELECT count(*) FROM "Posts" WHERE id = n + 1') == [(1234,)]


async def test_ids_beyond_32_bits_survive_a_rebuild(engine, db):
    project = posts(Field("n"))
    await migrate(engine, project.models)
    insert(db, "Posts", id=2**40, n="1")
    insert(db, "Posts", id=2**40 + 1, n="2")
    project.models[0].fields[0].kind = "Integer"
    assert await migrate(engine, project.models) == [
        "Posts.n: kind Text -> Integer (2 rows converted)"]
    assert sql(db, 'SELECT id, n FROM "Posts" ORDER BY id') == [(2**40, 1), (2**40 + 1, 2)]
    insert(db, "Posts", n=3)
    assert sql(db, 'SELECT max(id) FROM "Posts"') == [(2**40 + 2,)]
