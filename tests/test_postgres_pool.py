"""PostgreSQL's connection pool (runtime.postgres): a run costs BEGIN, its statements and COMMIT
(no pre-ping), statements are prepared once per connection, a steady load opens no sessions,
and a connection the server ended while it sat in the pool never fails a request."""

from __future__ import annotations

import asyncio
import weakref

import pytest
import sqlalchemy as sa

from runtime.projectfile import load
from runtime.store import Store
from tests.conftest import EXAMPLES, Database

pytestmark = pytest.mark.postgresql

INSERT = 'INSERT INTO "Shoes"'
# Every other session on the test's database (the pool's), ended by the server; waits for them.
KILL = ("select pg_terminate_backend(pid, 5000) from pg_stat_activity "
        "where datname = current_database() and pid <> pg_backend_pid()")


@pytest.fixture
def pg(postgres, tmp_path):
    made = Database("postgresql", tmp_path, postgres)
    yield made
    made.close()


@pytest.fixture
async def store(pg):
    project = load(EXAMPLES / "shoes.actiongraph.json")
    opened = Store(pg.url(), project)
    await opened.open(project)
    yield opened
    await opened.close()


class Traffic:
    """What reaches the server: SQL statements (SQLAlchemy's cursor executes) and the simple
    queries asyncpg sends outside prepared statements (BEGIN, COMMIT, a ping's `;`, ...)."""

    def __init__(self, store: Store):
        self.statements: list[str] = []
        self.queries: list[str] = []
        self.logged: weakref.WeakSet = weakref.WeakSet()  # asyncpg connections we listen to
        self.opened = 0  # sessions opened from now on
        engine = store.engine.sync_engine

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _statement(_conn, _cursor, statement, *_args):
            self.statements.append(statement)

        @sa.event.listens_for(engine.pool, "connect")
        def _connect(_dbapi_connection, _record):
            self.opened += 1

        @sa.event.listens_for(engine.pool, "checkout")
        def _checkout(dbapi_connection, _record, _proxy):
            raw = dbapi_connection._connection  # the asyncpg connection
            if raw not in self.logged:
                self.logged.add(raw)
                raw.add_query_logger(lambda record: self.queries.append(record.query))

    def clear(self) -> None:
        self.statements.clear()
        self.queries.clear()


async def _insert(store: Store, note: str = "x") -> dict:
    async with store.transaction() as tx:
        return await tx.insert("Shoes", {"shoe_type": note, "price": 1})


async def test_a_run_is_begin_its_statement_and_commit(store):
    traffic = Traffic(store)
    await _insert(store)  # the first use may connect and prepare
    traffic.clear()
    for _ in range(20):
        await _insert(store)
    # 3 round trips a run: BEGIN, the prepared INSERT, COMMIT; no pre-ping BEGIN / ; / ROLLBACK.
    assert [q.strip().rstrip(";").upper() for q in traffic.queries] == ["BEGIN", "COMMIT"] * 20
    assert len(traffic.statements) == 20 and all(s.startswith(INSERT) for s in traffic.statements)
    async with store.engine.connect() as conn:  # the same (only) pooled connection
        raw = (await conn.get_raw_connection()).dbapi_connection._connection
        prepared = [r["statement"] for r in await raw.fetch(
            "select statement from pg_prepared_statements")]
    assert len([s for s in prepared if s.startswith(INSERT)]) == 1, prepared  # prepared once
    assert traffic.opened == 0 and len(traffic.logged) == 1


async def test_a_steady_load_opens_no_sessions(store):
    traffic = Traffic(store)
    await asyncio.gather(*(_insert(store) for _ in range(32)))  # the pool grows to the load
    opened = traffic.opened
    assert 0 < opened <= 32
    for _ in range(5):
        await asyncio.gather(*(_insert(store) for _ in range(32)))
    assert traffic.opened == opened  # no connection closed and opened again
    assert store.engine.pool.checkedin() >= opened


async def test_a_pooled_connection_the_server_ended_is_replaced_at_checkout(store, pg):
    await asyncio.gather(*(_insert(store) for _ in range(8)))
    ended = pg.rows(pg.url(), KILL)
    assert ended and all(r[0] for r in ended)
    await asyncio.sleep(0.2)  # the event loop sees the sockets close
    traffic = Traffic(store)
    records = await asyncio.gather(*(_insert(store, "after") for _ in range(8)))
    assert len({r["id"] for r in records}) == 8
    assert len(traffic.statements) == 8  # no statement failed and was sent again
    assert pg.rows(pg.url(), "select count(*) from Shoes where shoe_type = 'after'") == [(8,)]


async def test_the_first_statement_is_retried_once_on_a_dead_connection(store, pg):
    """The server ends the session and the event loop has not run since (the pool cannot know):
    the run's first statement fails on the dead connection and runs again on a new one."""
    await _insert(store)
    traffic = Traffic(store)
    assert pg.rows(pg.url(), KILL)  # blocks this loop: the pool's socket is not read meanwhile
    record = await _insert(store, "retried")
    assert [s.startswith(INSERT) for s in traffic.statements] == [True, True]  # sent twice
    assert pg.rows(pg.url(), "select id from Shoes where shoe_type = 'retried'") == \
        [(record["id"],)]  # written once


async def test_a_session_ended_after_a_statement_fails_the_run_and_writes_nothing(store, pg):
    """Only a first statement is retried: once one reached the database, a lost session fails
    the run (the server rolled it back), rather than running half of it again."""
    await _insert(store)
    with pytest.raises(sa.exc.DBAPIError) as caught:
        async with store.transaction() as tx:
            await tx.insert("Shoes", {"shoe_type": "half", "price": 1})
            assert pg.rows(pg.url(), KILL)
            await tx.insert("Shoes", {"shoe_type": "half", "price": 2})
    assert caught.value.connection_invalidated
    assert pg.rows(pg.url(), "select count(*) from Shoes where shoe_type = 'half'") == [(0,)]
    assert (await _insert(store, "next"))["shoe_type"] == "next"  # the pool recovered


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_requests_after_the_server_ended_every_session_succeed(serve):
    served = await serve("shoes")
    shoe = {"shoe_type": "Boot", "price": 10}

    async def create() -> int:
        return (await served.call("POST", "/v1/create_shoe", json=shoe))[0]

    assert await asyncio.gather(*(create() for _ in range(8))) == [200] * 8
    assert served.rows(KILL)  # blocks the server's loop too: some sessions die unnoticed
    assert await create() == 200  # the next run, at once
    assert await asyncio.gather(*(create() for _ in range(8))) == [200] * 8
    assert served.rows(KILL)
    await asyncio.sleep(0.2)
    assert await asyncio.gather(*(create() for _ in range(8))) == [200] * 8
    assert served.rows("select count(*) from Shoes where shoe_type = 'Boot'") == [(25,)]
