"""The fast SQLite path of action runs (runtime.sqlite): SQL runs on the event loop only while
it is quick; a slow read moves to a thread in the same transaction, a file locked by another
process is waited for on a thread, and a run stopped by its time limit stops its statement."""

import asyncio
import sqlite3
import time
from contextlib import closing

import pytest

import runtime.sqlite
from runtime.compiler import compile_project
from runtime.errors import ActionError
from runtime.executor import run_action
from runtime.project import Field, Project, Trigger, Variable
from runtime.store import Store

ROWS = 300_000  # enough that a scan of them takes far longer than the loop's budget
PADDING = " " + "." * 300  # ...and far longer than the time limit of the test that stops one


def logs_project() -> Project:
    p = Project(name="Logs")
    p.add_model("Logs", [Field("text", "Text"), Field("level", "Integer")])
    p.add_endpoint("Search", "GET", "/v1/search", [Variable("q", "Text", "query")])
    search = p.add_action("Search", Trigger("endpoint", endpoint="Search"),
                          response_value="=found")
    search.add_event("query", model="Logs",
                     where={"field": "text", "op": "contains", "value": "=query.q"},
                     **{"as": "found"})
    p.add_endpoint("Ping", "GET", "/v1/ping", [])
    ping = p.add_action("Ping", Trigger("endpoint", endpoint="Ping"), response_value="=n")
    ping.add_event("math", operation="round", value=1.4, places=0, **{"as": "n"})
    p.add_endpoint("One", "GET", "/v1/logs/{id}", [Variable("id", "Number", "path")])
    one = p.add_action("One", Trigger("endpoint", endpoint="One"), response_value="=log")
    one.add_event("query", model="Logs", one=True, if_none="404",
                  where={"field": "id", "op": "=", "value": "=path.id"}, **{"as": "log"})
    p.add_endpoint("Add", "POST", "/v1/logs", [Variable("text", "Text", "body")])
    add = p.add_action("Add", Trigger("endpoint", endpoint="Add"), response_value="=log")
    add.add_event("create", model="Logs", values={"text": "=body.text", "level": 1},
                  **{"as": "log"})
    return p


def fill(path, rows: int = ROWS) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.executemany('INSERT INTO "Logs" (created_at, text, level) VALUES (?, ?, ?)',
                         ((f"2024-01-01 00:00:{i % 60:02d}.000000", f"line {i} of the log{PADDING}", i % 5)
                          for i in range(rows)))
        conn.commit()



async def test_a_slow_read_moves_to_a_thread_while_the_loop_keeps_answering(serve):
    s = await serve(logs_project())
    fill(s.db)
    database = s.state.store.database
    before = database.moved
    started = time.perf_counter()
    slow = asyncio.create_task(s.call("GET", "/v1/search?q=no+such+line"))
    while database.moved == before:  # the read ran past the loop's budget and moved
        assert time.perf_counter() - started < 10 and not slow.done(), "the scan never moved"
        await asyncio.sleep(0.001)
    quick = await asyncio.gather(s.call("GET", "/v1/ping"), s.call("GET", "/v1/logs/7"),
                                 s.call("POST", "/v1/logs", json={"text": "meanwhile"}))
    assert not slow.done(), "the quick requests should have been answered while the scan ran"
    assert [q[0] for q in quick] == [200, 200, 200]
    assert quick[1][1]["text"] == "line 6 of the log" + PADDING and quick[2][1]["id"] == ROWS + 1
    status, body, _ = await slow
    assert (status, body) == (200, [])
    assert s.rows("SELECT count(*) FROM Logs") == [(ROWS + 1,)]


async def test_a_run_stopped_by_its_time_limit_stops_its_statement(serve):
    s = await serve(logs_project(), timeout=0.02)
    fill(s.db)
    database = s.state.store.database
    started = time.perf_counter()
    status, body, _ = await s.call("GET", "/v1/search?q=no+such+line")
    stopped = time.perf_counter() - started
    assert status == 504 and "took longer than 0.02 s" in body["error"]
    # The statement was interrupted, not left running: its connection is free again and the
    # same scan, let finish, takes longer than the stopped run did.
    assert all(not c.thread_busy for c in database.readers)
    with closing(sqlite3.connect(s.db)) as conn:
        started = time.perf_counter()
        conn.execute("SELECT * FROM Logs WHERE lower(text) LIKE '%no such line%'").fetchall()
        whole = time.perf_counter() - started
    # (a machine busy with other work slows both; the answer waits for the thread to let go,
    # so an uninterrupted scan would answer after `whole`)
    assert stopped < whole * 0.6, (stopped, whole)
    assert (await s.call("GET", "/v1/logs/3"))[0] == 200


async def test_a_database_locked_by_another_process_is_waited_for_off_the_loop(serve):
    s = await serve(logs_project())
    other = sqlite3.connect(s.db, isolation_level=None)  # as another worker process would
    other.execute("BEGIN IMMEDIATE")
    try:
        write = asyncio.create_task(s.call("POST", "/v1/logs", json={"text": "queued"}))
        await asyncio.sleep(0.3)
        assert not write.done()  # waiting for the lock...
        status, _, _ = await s.call("GET", "/v1/ping")  # ...on a thread, not on the loop
        assert status == 200 and not write.done()
    finally:
        other.execute("COMMIT")
        other.close()
    status, body, _ = await write
    assert status == 200 and body["text"] == "queued"


@pytest.fixture
async def everything_moves(monkeypatch, tmp_path):
    """A store whose every read runs on a thread (the loop's budget spent at once)."""
    monkeypatch.setattr(runtime.sqlite, "LOOP_BUDGET", -1.0)
    monkeypatch.setattr(runtime.sqlite, "PROGRESS_STEPS", 1)
    p = logs_project()
    steps = p.add_action("Steps", Trigger("action"), response_value="=found")
    first = steps.add_event("create", model="Logs", values={"text": "one"}, **{"as": "a"})
    read = steps.add_event("query", model="Logs", after=first.id, **{"as": "found"})
    steps.add_event("create", model="Logs", after=read.id, values={"text": "two"},
                    **{"as": "b"})
    failing = p.add_action("Failing", Trigger("action"))
    made = failing.add_event("create", model="Logs", values={"text": "three"}, **{"as": "c"})
    read = failing.add_event("query", model="Logs", after=made.id, **{"as": "found"})
    failing.add_event("raise_error", after=read.id, message="no", status=409)
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}", p)
    await store.open(p)
    yield compile_project(p).actions, store
    await store.close()


def inputs():
    return {"path": {}, "query": {}, "header": {}, "body": {}}


async def test_a_read_moved_to_a_thread_stays_in_the_runs_transaction(everything_moves):
    plans, store = everything_moves
    result = await run_action(plans["Steps"], store, inputs(), plans=plans)
    assert [r["text"] for r in result.value] == ["one"]  # it saw the run's own first write
    assert store.database.moved >= 1
    with pytest.raises(ActionError) as failed:
        await run_action(plans["Failing"], store, inputs(), plans=plans)
    assert failed.value.status == 409
    async with store.run_transaction(writes=False) as tx:
        assert [r["text"] for r in await tx.select("Logs")] == ["one", "two"]  # not "three"
    dry = await run_action(plans["Steps"], store, inputs(), plans=plans, dry_run=True)
    assert len(dry.changes) == 2
    async with store.run_transaction(writes=False) as tx:
        assert await tx.count("Logs") == 2
