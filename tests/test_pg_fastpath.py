"""The fast PostgreSQL path of action runs (runtime.pgfast): the store's values, errors and ids
as through SQLAlchemy's engine; a run is BEGIN, its prepared statements and COMMIT; a dead pooled
connection never fails a run; a run stopped mid-statement never leaves its statement or its
transaction to the next run on that connection."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
import sqlalchemy as sa

from runtime.postgres import MAX_OVERFLOW_ENV, POOL_SIZE_ENV, gone
from runtime.store import PgTransaction, SqliteTransaction, Store
from tests import test_store as same
from tests.conftest import Database

pytestmark = pytest.mark.both_databases

KILL = ("select pg_terminate_backend(pid, 5000) from pg_stat_activity "
        "where datname = current_database() and pid <> pg_backend_pid()")


class RunStore(Store):
    """A store whose every transaction is an action run's (the fast path)."""

    def transaction(self, writes: bool = True):
        return self.run_transaction(writes)


@pytest.fixture
async def store(database):
    project = same.shop()
    opened = RunStore(database.url("shop"), project)
    await opened.open(project)
    yield opened
    await opened.close()


# The store's own tests, through the transaction of action runs (on SQLite: runtime.sqlite's).
test_values_come_back_the_same = same.test_values_come_back_the_same
test_ids_count_from_one_and_clear_starts_them_again = \
    same.test_ids_count_from_one_and_clear_starts_them_again
test_a_cleared_table_comes_back_when_the_clear_is_rolled_back = \
    same.test_a_cleared_table_comes_back_when_the_clear_is_rolled_back
test_a_repeated_unique_value_is_a_409_naming_the_field = \
    same.test_a_repeated_unique_value_is_a_409_naming_the_field
test_a_link_to_no_record_and_a_missing_value_are_422 = \
    same.test_a_link_to_no_record_and_a_missing_value_are_422
test_by_id_and_by_field_take_the_field_kind = same.test_by_id_and_by_field_take_the_field_kind
test_empty_values_sort_first = same.test_empty_values_sort_first
test_a_text_with_a_nul_character_is_refused_or_kept_not_a_500 = \
    same.test_a_text_with_a_nul_character_is_refused_or_kept_not_a_500
test_where_filters_match_the_same_records = same.test_where_filters_match_the_same_records


async def test_runs_take_the_fast_path_of_their_database(store, database):
    async with store.run_transaction() as tx:
        assert isinstance(tx, PgTransaction if database.postgresql else SqliteTransaction)


async def test_ids_beyond_32_bits_and_lists_of_them(store):
    far = 2**40
    async with store.run_transaction() as tx:
        await tx._execute(tx.table("Users").insert().values(
            id=far, email="far@x.org", created_at=dt.datetime.now(dt.UTC)))
        near = await tx.insert("Users", {"email": "near@x.org"})
        made = await tx.insert("Items", {"name": "linked", "owner": far})
        assert made["owner"] == far
        both = tx.by_field("Users", "email", "far@x.org")
        assert [r["id"] for r in await tx.select("Users", both)] == [far]
        # IN lists of ids (expanding parameters): an update, a delete.
        assert [r["id"] for r in await tx.update("Users", None, {"age": 2**33})] == sorted(
            [near["id"], far])
        assert [r["age"] for r in await tx.select("Users")] == [2**33, 2**33]
        assert len(await tx.delete("Items", None)) == 1
        assert len(await tx.delete("Users", None)) == 2
        assert await tx.count("Users") == 0


async def test_a_dry_run_and_a_failed_event_undo_their_writes(store):
    async with store.run_transaction() as tx:
        await tx.insert("Users", {"email": "kept@x.org"})
        await tx.savepoint("sp1")
        await tx.insert("Users", {"email": "undone@x.org"})
        with pytest.raises(Exception):  # noqa: B017 - the 409 of a repeated value
            await tx.insert("Users", {"email": "kept@x.org"})
        await tx.rollback_to("sp1", 1)
        assert tx.changes[-1].after["email"] == "kept@x.org" and len(tx.changes) == 1
        await tx.savepoint("sp2")
        await tx.insert("Users", {"email": "released@x.org"})
        await tx.release("sp2")
    async with store.run_transaction() as tx:
        assert [r["email"] for r in await tx.select("Users")] == ["kept@x.org", "released@x.org"]
        await tx.insert("Users", {"email": "dry@x.org"})
        await tx.rollback()  # a dry run: nothing it wrote stays, the transaction goes on
        assert await tx.count("Users") == 2


# -- PostgreSQL only: the pool -------------------------------------------------------------------

@pytest.fixture
def one_connection(monkeypatch):
    """Runs share one pooled connection, so the next run meets what the last left behind."""
    monkeypatch.setenv(POOL_SIZE_ENV, "1")
    monkeypatch.setenv(MAX_OVERFLOW_ENV, "0")


@pytest.fixture
async def shoes(postgres, tmp_path, one_connection):
    pg = Database("postgresql", tmp_path, postgres)
    project = same.shop()
    opened = Store(pg.url(), project)
    await opened.open(project)
    yield opened, pg
    await opened.close()
    pg.close()


async def _insert(store: Store, email: str) -> dict:
    async with store.run_transaction() as tx:
        return await tx.insert("Users", {"email": email})


async def _pid(store: Store) -> int:
    async with store.run_transaction(writes=False) as tx:
        return (await tx._execute(sa.select(sa.func.pg_backend_pid()))).scalar_one()


@pytest.mark.postgresql
async def test_a_run_is_begin_its_prepared_statement_and_commit(shoes):
    store, _pg = shoes
    await _insert(store, "first@x.org")  # connects, prepares
    [conn] = [h._con for h in store.postgres.pool._holders if h._con is not None]
    queries: list[str] = []
    conn.add_query_logger(lambda record: queries.append(record.query))
    for i in range(10):
        await _insert(store, f"u{i}@x.org")
    assert [q.split()[0].upper() for q in queries] == ["BEGIN", "INSERT", "COMMIT"] * 10
    prepared = [r["statement"] for r in await conn.fetch(
        "select statement from pg_prepared_statements")]
    assert len([s for s in prepared if s.startswith('INSERT INTO "Users"')]) == 1  # once


@pytest.mark.postgresql
async def test_the_begin_is_sent_again_once_on_a_connection_the_server_ended(shoes):
    """The server ends the session and the event loop has not run since (the pool cannot
    know): the BEGIN fails on the dead connection and is sent again on a new one."""
    store, pg = shoes
    before = await _pid(store)
    assert pg.rows(pg.url(), KILL)  # blocks this loop: the pool's socket is not read meanwhile
    record = await _insert(store, "retried@x.org")
    assert pg.rows(pg.url(), "select id from Users where email = 'retried@x.org'") == [
        (record["id"],)]
    assert await _pid(store) != before


@pytest.mark.postgresql
async def test_a_session_ended_after_a_statement_fails_the_run_and_writes_nothing(shoes):
    store, pg = shoes
    await _insert(store, "first@x.org")
    with pytest.raises(Exception) as caught:  # noqa: B017 - asyncpg's: the session is over
        async with store.run_transaction() as tx:
            await tx.insert("Users", {"email": "half@x.org"})
            assert pg.rows(pg.url(), KILL)
            await tx.insert("Users", {"email": "half2@x.org"})
    assert gone(caught.value)
    assert pg.rows(pg.url(), "select count(*) from Users where email like 'half%'") == [(0,)]
    assert (await _insert(store, "next@x.org"))["email"] == "next@x.org"  # the pool recovered


@pytest.mark.postgresql
async def test_a_run_stopped_mid_statement_leaves_nothing_to_the_next_run(shoes):
    store, pg = shoes
    before = await _pid(store)
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            async with store.run_transaction() as tx:
                await tx.insert("Users", {"email": "stopped@x.org"})
                await tx._execute(sa.select(sa.func.pg_sleep(30)))
    assert time.perf_counter() - started < 5  # the statement was cancelled, not waited for
    # The same connection (cancelled and rolled back, not closed), idle, its run undone.
    assert await _pid(store) == before
    assert pg.rows(pg.url(), "select count(*) from pg_stat_activity "
                             "where query like '%pg_sleep%' and state = 'active' "
                             "and pid <> pg_backend_pid()") == [(0,)]
    assert pg.rows(pg.url(), "select count(*) from Users") == [(0,)]
    assert (await _insert(store, "next@x.org"))["id"] == 2  # id 1 went with the stopped run


@pytest.mark.postgresql
async def test_a_run_stopped_while_it_waits_for_a_connection_takes_none(shoes):
    store, _pg = shoes
    async with store.run_transaction():  # the only connection
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                async with store.run_transaction():
                    pass
    assert (await _insert(store, "after@x.org"))["id"] == 1


@pytest.mark.postgresql
async def test_a_new_revision_replaces_the_pooled_connections(shoes):
    """Prepared statements of the old revision may read tables the migration changed."""
    store, _pg = shoes
    await _insert(store, "a@x.org")
    before = await _pid(store)
    project = same.shop()
    project.models[0].fields[1].kind = "Text"  # Users.age: Integer -> Text
    await store.open(project, allow_data_loss=True)
    store.use(project)
    async with store.run_transaction() as tx:
        made = await tx.insert("Users", {"email": "b@x.org", "age": "old"})
        assert made["age"] == "old" and len(await tx.select("Users")) == 2
    assert await _pid(store) != before


@pytest.mark.postgresql
async def test_a_closed_store_refuses_runs(shoes):
    store, _pg = shoes
    await _insert(store, "a@x.org")
    await store.close()
    with pytest.raises(Exception) as caught:  # noqa: B017
        await _insert(store, "b@x.org")
    assert getattr(caught.value, "status", None) == 503
