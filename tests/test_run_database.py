"""What a run asks of the database, decided when the action is compiled: no transaction for an
action that touches no table, a read-only transaction without the write lock for one that only
reads, the write transaction otherwise (Call Action counts what the called action does)."""

import asyncio

import pytest

from runtime.compiler import NONE, READS, WRITES, compile_project
from runtime.errors import ActionError
from runtime.executor import run_action
from runtime.project import Field, GlobalVariable, Project, Trigger, Variable
from runtime.store import Store


def project() -> Project:
    p = Project(name="Levels")
    p.add_model("Notes", [Field("text", "Text")])
    p.add_endpoint("Quote", "POST", "/v1/quote", [Variable("price", "Number", "body")])
    quote = p.add_action("Quote", Trigger("endpoint", endpoint="Quote"),
                         variables=[GlobalVariable("price", "Number", value="=body.price")])
    rounded = quote.add_event("math", operation="round", value="=price", places=0,
                              **{"as": "rounded"})
    upper = quote.add_event("text", after=rounded.id, operation="upper", text="x",
                            **{"as": "kind"})
    quote.add_event("response", after=upper.id, value={"rounded": "=rounded", "kind": "=kind"})
    read = p.add_action("List", Trigger("action"), response_value="=notes")
    read.add_event("query", model="Notes", **{"as": "notes"})
    write = p.add_action("Add", Trigger("action"), response_value="=note.id")
    write.add_event("create", model="Notes", values={"text": "hi"}, **{"as": "note"})
    p.add_action("One", Trigger("action"), variables=[
        GlobalVariable("Note", "Model", model="Notes", where={"field": "id", "op": "=",
                                                              "value": 1})],
        response_value="=Note.text")
    calls_quote = p.add_action("Calls quote", Trigger("action"), response_value="=q")
    calls_quote.add_event("call_action", action="Quote", inputs={"price": 4.4}, **{"as": "q"})
    calls_list = p.add_action("Calls list", Trigger("action"), response_value="=q")
    calls_list.add_event("call_action", action="Calls quote", **{"as": "q0"})
    calls_list.add_event("call_action", after="n1", action="List", **{"as": "q"})
    calls_add = p.add_action("Calls add", Trigger("action"), response_value="=q")
    calls_add.add_event("call_action", action="Add", **{"as": "q"})
    return p


def inputs(body=None):
    return {"path": {}, "query": {}, "header": {}, "body": body or {}}


@pytest.fixture
async def levels(database):
    p = project()
    store = Store(database.url("levels"), p)
    await store.open(p)
    yield compile_project(p).actions, store
    await store.close()


class Counting:
    """Wraps store.run_transaction to count the transactions a run opens, by kind."""

    def __init__(self, store: Store):
        self.opened: list[bool] = []
        self.real = store.run_transaction
        store.run_transaction = self

    def __call__(self, writes: bool = True):
        self.opened.append(writes)
        return self.real(writes)


def test_the_compiler_says_what_each_action_does_with_tables(levels):
    plans, _ = levels
    assert {name: plan.database for name, plan in plans.items()} == {
        "Quote": NONE, "List": READS, "Add": WRITES, "One": READS,  # a Model global with a Where
        "Calls quote": NONE, "Calls list": READS, "Calls add": WRITES}


async def test_an_action_touching_no_table_opens_no_transaction(levels):
    plans, store = levels
    counting = Counting(store)
    for trace, dry_run in ((False, False), (True, False), (False, True)):
        result = await run_action(plans["Quote"], store, inputs({"price": 2.6}), trace=trace,
                                  dry_run=dry_run, plans=plans)
        assert result.value == {"rounded": 3, "kind": "X"} and result.changes == []
    result = await run_action(plans["Calls quote"], store, inputs(), plans=plans, trace=True)
    assert result.value == {"rounded": 4, "kind": "X"}
    assert counting.opened == []
    assert [s.id for s in result.trace] == ["n1", "n2", "n3", "n1"]


async def test_ctx_db_of_a_run_without_a_transaction_is_an_internal_error(levels):
    plans, store = levels
    wrong = plans["List"]
    wrong.database = NONE  # as if a kind declared reads=False and used ctx.db anyway
    with pytest.raises(ActionError) as e:
        await run_action(wrong, store, inputs())
    assert e.value.status == 500
    assert "compiled as using no table" in e.value.detail


async def test_reads_take_no_write_lock_and_proceed_while_a_writer_holds_it(levels):
    plans, store = levels
    await run_action(plans["Add"], store, inputs(), plans=plans)
    counting = Counting(store)
    await store.write_lock.acquire()  # a writer holds the lock for now
    try:
        reads = await asyncio.wait_for(asyncio.gather(
            run_action(plans["List"], store, inputs(), plans=plans),
            run_action(plans["Calls list"], store, inputs(), plans=plans),
            run_action(plans["One"], store, inputs(), plans=plans)), timeout=5)
        assert [len(reads[0].value), len(reads[1].value), reads[2].value] == [1, 1, "hi"]
        assert counting.opened == [False, False, False]
        writer = asyncio.ensure_future(run_action(plans["Calls add"], store, inputs(),
                                                  plans=plans))
        await asyncio.sleep(0.2)
        assert not writer.done()  # a write waits for the lock, as before
    finally:
        store.write_lock.release()
    result = await asyncio.wait_for(writer, timeout=5)
    assert result.value == 2 and [c.op for c in result.changes] == ["insert"]
    assert counting.opened == [False, False, False, True]


async def test_a_write_action_is_unchanged_commits_and_rolls_back(levels, database):
    plans, store = levels
    counting = Counting(store)
    made = await run_action(plans["Add"], store, inputs(), plans=plans, dry_run=True)
    assert made.value == 1 and [c.op for c in made.changes] == ["insert"]
    made = await run_action(plans["Add"], store, inputs(), plans=plans, trace=True)
    assert made.value == 1 and made.trace[0].changes[0].op == "insert"
    assert counting.opened == [True, True]
    assert database.rows(store.url, "select text from Notes") == [("hi",)]
