"""The store on SQLite and on PostgreSQL: the same values, errors, ids and order on both."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from runtime.errors import ActionError
from runtime.project import Field, Project
from runtime.store import Store
from runtime.where import compile_where, literal_clause, parse_filter_text

pytestmark = pytest.mark.both_databases


def shop() -> Project:
    p = Project(name="Shop")
    p.add_model("Users", [Field("email", "Text", unique=True, required=True),
                          Field("age", "Integer"), Field("vip", "Boolean")])
    p.add_model("Items", [Field("name", "Text"), Field("price", "Decimal"), Field("day", "Date"),
                          Field("at", "DateTime"), Field("data", "JSON"), Field("ok", "Boolean"),
                          Field("count", "Integer"), Field("owner", "Link", link="Users")])
    return p


@pytest.fixture
async def store(database):
    project = shop()
    store = Store(database.url("shop"), project)
    await store.open(project)
    yield store
    await store.close()


async def insert(store, model, **values):
    async with store.transaction() as tx:
        return await tx.insert(model, values)


async def failure(store, model, **values) -> ActionError:
    with pytest.raises(ActionError) as e:
        await insert(store, model, **values)
    return e.value


async def test_values_come_back_the_same(store):
    big = 2**62 + 1
    made = await insert(store, "Items", name="Tea", price="12.35", day="2024-02-29",
                        at="2024-05-31T23:30:00+02:00",
                        data={"tags": ["a", "b"], "n": 1.5, "deep": {"x": None, "t": True}},
                        ok=False, count=big)
    async with store.transaction(writes=False) as tx:
        [read] = await tx.select("Items", tx.by_id("Items", made["id"]))
    for record in (made, read):
        assert record["name"] == "Tea" and record["count"] == big
        assert record["price"] == Decimal("12.35") and isinstance(record["price"], Decimal)
        assert record["day"] == dt.date(2024, 2, 29)
        assert record["at"] == dt.datetime(2024, 5, 31, 21, 30, tzinfo=dt.UTC)
        assert record["at"].tzinfo == dt.UTC and record["created_at"].tzinfo == dt.UTC
        assert record["data"] == {"tags": ["a", "b"], "n": 1.5, "deep": {"x": None, "t": True}}
        assert record["ok"] is False and record["owner"] is None
    assert read == made


async def test_ids_count_from_one_and_clear_starts_them_again(store):
    ids = [(await insert(store, "Users", email=f"u{i}@x.org"))["id"] for i in range(3)]
    assert ids == [1, 2, 3]
    await insert(store, "Items", name="a", owner=2)
    async with store.transaction() as tx:
        assert await tx.column("Users", "email") == ["u0@x.org", "u1@x.org", "u2@x.org"]
        assert await tx.column("Users", "id", limit=2) == [1, 2]
        assert await tx.clear(["Users"]) == {"Users": 3}
        assert [r["owner"] for r in await tx.select("Items")] == [None]  # the link is cleared
    assert (await insert(store, "Users", email="again@x.org"))["id"] == 1


async def test_a_cleared_table_comes_back_when_the_clear_is_rolled_back(store):
    for i in range(2):
        await insert(store, "Users", email=f"u{i}@x.org")
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            assert await tx.clear() == {"Items": 0, "Users": 2}
            raise RuntimeError("undo")
    assert (await insert(store, "Users", email="next@x.org"))["id"] == 3  # no id used twice


async def test_ids_beyond_32_bits(store):
    far = 2**40
    await insert(store, "Users", email="far@x.org", id=None)
    async with store.transaction() as tx:
        await tx.conn.execute(tx.table("Users").insert().values(
            id=far, email="far2@x.org", created_at=dt.datetime.now(dt.UTC)))
        made = await tx.insert("Items", {"name": "linked", "owner": far})
        assert made["owner"] == far
        assert [r["email"] for r in await tx.select("Users", tx.by_id("Users", far))] == [
            "far2@x.org"]
        assert await tx.select("Users", tx.by_id("Users", 2**62)) == []


async def test_a_repeated_unique_value_is_a_409_naming_the_field(store):
    await insert(store, "Users", email="ann@x.org")
    e = await failure(store, "Users", email="ann@x.org")
    assert e.status == 409
    assert e.message == "a record with this value already exists (Users.email)"
    async with store.transaction(writes=False) as tx:
        assert await tx.count("Users") == 1


async def test_a_link_to_no_record_and_a_missing_value_are_422(store):
    e = await failure(store, "Items", name="x", owner=99)
    assert (e.status, e.message) == (422, "a link points to a record that does not exist")
    e = await failure(store, "Users", age=3)
    assert (e.status, e.message) == (422, "Users.email is required")


async def test_by_id_and_by_field_take_the_field_kind(store):
    made = await insert(store, "Users", email="5", age=7)
    async with store.transaction(writes=False) as tx:
        assert len(await tx.select("Users", tx.by_id("Users", str(made["id"])))) == 1
        assert await tx.select("Users", tx.by_id("Users", "no such id")) == []
        assert len(await tx.select("Users", tx.by_field("Users", "email", 5))) == 1
        assert len(await tx.select("Users", tx.by_field("Users", "age", "7"))) == 1
        assert await tx.select("Users", tx.by_field("Users", "age", None)) == []


async def test_empty_values_sort_first(store):
    for name, count in (("b", 2), ("none", None), ("a", 1)):
        await insert(store, "Items", name=name, count=count)
    async with store.transaction(writes=False) as tx:
        up = await tx.select("Items", order=[("count", False)])
        down = await tx.select("Items", order=[("count", True)])
    assert [r["name"] for r in up] == ["none", "a", "b"]
    assert [r["name"] for r in down] == ["b", "a", "none"]


async def test_a_text_with_a_nul_character_is_refused_or_kept_not_a_500(store, database):
    if database.postgresql:
        e = await failure(store, "Items", name="a\x00b")
        assert e.status == 422 and "NUL" in e.message
    else:
        assert (await insert(store, "Items", name="a\x00b"))["name"] == "a\x00b"


def where(store, data):
    problems = []
    resolve = compile_where(data, store.models["Items"], "where", lambda v, _w: lambda _s: v,
                            problems)
    assert problems == []
    return resolve


@pytest.mark.parametrize("data, names", [
    ({"field": "name", "op": "contains", "value": "EA"}, ["Tea", "bread"]),
    ({"field": "name", "op": "starts_with", "value": "t"}, ["Tea"]),
    ({"field": "name", "op": "ends_with", "value": "%"}, ["50%"]),
    ({"field": "count", "op": "contains", "value": "2"}, ["Tea", "50%"]),
    ({"field": "data", "op": "=", "value": {"a": [1, 2]}}, ["Tea"]),
    ({"field": "data", "op": "!=", "value": {"a": [1, 2]}}, ["bread"]),
    ({"field": "ok", "op": "=", "value": "true"}, ["bread"]),
    ({"field": "price", "op": ">", "value": "2.5"}, ["bread"]),
    ({"field": "day", "op": "<", "value": "2024-06-01"}, ["Tea"]),
    ({"search": "EA"}, ["Tea", "bread"]),  # any Text or JSON field
    ({"search": "[1]"}, ["bread"]),
    ("count > 2", ["Tea", "bread"]),  # the Data browser's filter line, read into a Where
    ("name contains ea", ["Tea", "bread"]),
    ("day = null", ["bread", "50%"]),
    ("%", ["50%"]),
])
async def test_where_filters_match_the_same_records(store, data, names):
    await insert(store, "Items", name="Tea", count=12, data={"a": [1, 2]}, price="2.5",
                 day="2024-05-31")
    await insert(store, "Items", name="bread", count=3, data={"a": [1]}, ok=True, price="2.51")
    await insert(store, "Items", name="50%", count=2)
    if isinstance(data, str):
        build = literal_clause(parse_filter_text(data, store.models["Items"]),
                               store.models["Items"])
        resolve = lambda _scope, table: build(table)  # noqa: E731
    else:
        resolve = where(store, data)
    async with store.transaction(writes=False) as tx:
        rows = await tx.select("Items", resolve({}, tx.table("Items")))
    assert [r["name"] for r in rows] == names


async def test_a_connection_the_server_dropped_is_replaced_before_use(store, database):
    """PostgreSQL restarts or an idle timeout kill pooled connections: the next run still works."""
    if not database.postgresql:
        pytest.skip("SQLite has no server to drop connections")
    await insert(store, "Users", email="a@example.org")
    async with store.engine.connect() as conn:  # the pooled connection's backend
        pid = (await conn.exec_driver_sql("select pg_backend_pid()")).scalar_one()
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(store.url)
    async with admin.connect() as conn:
        killed = (await conn.execute(sa.text("select pg_terminate_backend(:pid)"),
                                     {"pid": pid})).scalar_one()
    await admin.dispose()
    assert killed
    made = await insert(store, "Users", email="b@example.org")  # no error: a fresh connection
    async with store.transaction(writes=False) as tx:
        assert [r["email"] for r in await tx.select("Users")] == ["a@example.org", made["email"]]
