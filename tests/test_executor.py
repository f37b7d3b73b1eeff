"""The executor on its own: traces, dry runs, globals and the response, against a real database
(SQLite and PostgreSQL)."""

import pytest
from conftest import EXAMPLES

from runtime.compiler import compile_project
from runtime.errors import ActionError
from runtime.executor import run_action
from runtime.projectfile import load
from runtime.store import Store

pytestmark = pytest.mark.both_databases


@pytest.fixture
async def posts(database):
    project = load(EXAMPLES / "posts.actiongraph.json")
    store = Store(database.url("posts"), project)
    await store.open(project)
    plans = compile_project(project).actions
    yield plans, store
    await store.close()


def inputs(path=None, body=None, query=None):
    return {"path": path or {}, "query": query or {}, "header": {}, "body": body or {}}


async def test_trace_lists_each_event_with_inputs_outputs_and_changes(posts):
    plans, store = posts
    made = await run_action(plans["Create post"], store,
                            inputs(body={"post": {"user": "ann", "caption": "hi", "likes": 2}}))
    assert made.status == 201 and made.value["id"] == 1
    result = await run_action(plans["Update social media post"], store,
                              inputs(path={"id": 1}, body={"post": {"caption": "Edited"}}),
                              trace=True)
    assert result.status == 200 and result.value["caption"] == "Edited"
    [step] = result.trace
    assert (step.id, step.kind, step.port) == ("n1", "update", "next")
    assert step.inputs["record"]["caption"] == "hi"
    assert step.outputs["result"]["caption"] == "Edited"
    assert step.ms >= 0
    [change] = step.changes
    assert (change.op, change.model) == ("update", "Posts")
    assert (change.before["caption"], change.after["caption"]) == ("hi", "Edited")


async def test_dry_run_answers_but_keeps_nothing(posts):
    plans, store = posts
    result = await run_action(plans["Create post"], store,
                              inputs(body={"post": {"user": "bob", "caption": "x", "likes": 0}}),
                              dry_run=True)
    assert result.status == 201 and result.value["user"] == "bob"
    assert [c.op for c in result.changes] == ["insert"]
    async with store.transaction(writes=False) as tx:
        assert await tx.count("Posts") == 0


async def test_a_missing_record_for_a_model_variable_is_a_404(posts):
    plans, store = posts
    with pytest.raises(ActionError) as e:
        await run_action(plans["Get post"], store, inputs(path={"id": 7}))
    assert e.value.status == 404
    assert e.value.message == "no Posts record where id = path.id (variable Post)"


async def test_field_defaults_apply_on_create(posts):
    plans, store = posts
    result = await run_action(plans["Create post"], store,
                              inputs(body={"post": {"user": "cy", "caption": "z"}}))
    assert result.value["likes"] == 0
