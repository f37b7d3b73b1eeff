"""A run's path on the action graph: events numbered in order, wires taken, the failure in red,
and each event's inputs, outputs and rows in the properties panel."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from app.document import Document
from app.graph import ActionGraphEditor
from app.nodeclasses import RAN_COLOR
from runtime.compiler import compile_project
from runtime.errors import ActionError
from runtime.executor import run_action
from runtime.projectfile import load
from runtime.store import Store

pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")


@pytest.fixture
async def setup(qtbot, posts_copy, tmp_path):
    project = load(posts_copy)
    a = project.action("Update social media post")
    a.add_event("condition", after="n1", value="=UpdatedPost.likes > 5")  # n2
    a.add_event("raise_error", after="n2", port="true", message="too popular", status=409)  # n3
    a.add_event("log", after="n2", port="false", message="=UpdatedPost.caption")  # n4
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'posts.db'}", project)
    await store.open(project)
    async with store.transaction() as tx:
        await tx.insert("Posts", {"user": "ann", "caption": "hello", "likes": 1})
    document = Document(project, None)
    editor = ActionGraphEditor(document, a)
    qtbot.addWidget(editor)
    editor.resize(1100, 500)
    editor.show()
    yield project, store, editor
    await store.close()


async def _run(project, store, caption):
    plan = compile_project(project).actions["Update social media post"]
    inputs = {"path": {"id": 1}, "query": {}, "header": {}, "body": {"post": {"caption": caption}},
              "auth": {}}
    return await run_action(plan, store, inputs, trace=True)


async def test_the_path_taken_is_numbered_and_its_wires_are_green(setup, shot):
    project, store, editor = setup
    graph = editor.graph
    result = await _run(project, store, "changed")
    graph.show_trace(result.trace)
    assert graph.traced == ["n1", "n2", "n4"]
    assert graph.node("n1").view.run[0].startswith("#1")
    assert graph.node("n4").view.run[0].startswith("#3")
    assert graph.node("n3").view.run is None  # the branch not taken
    ran = {(p.output_port.node.id, p.output_port.name, p.input_port.node.id)
           for p in graph._ran_pipes}
    ids = {eid: graph.node(eid).id for eid in ("trigger", "n1", "n2", "n3", "n4")}
    assert (ids["n2"], "false", ids["n4"]) in {(a, n.removeprefix("flow:"), b) for a, n, b in ran}
    assert not any(b == ids["n3"] for _a, _n, b in ran)
    assert all(p.pen().color().getRgb()[:3] == RAN_COLOR for p in graph._ran_pipes)
    # the properties panel shows what an event did in that run
    graph.select_event("n1")
    text = " ".join(w.text() for w in editor.properties.findChildren(QLabel)
                    if w.objectName() == "lastRun")
    assert "changed" in text and "update Posts #1" in text
    shot(editor, "trace_ok")


async def test_a_failing_event_is_red_with_its_message_and_nothing_is_written(setup, shot):
    project, store, editor = setup
    a = project.action("Update social media post")
    a.events["n1"].settings["values"] = {"caption": "=body.post.caption", "likes": "=body.post.caption"}
    with pytest.raises(ActionError) as e:
        await _run(project, store, "changed")
    graph = editor.graph
    graph.show_trace(e.value.trace, failed=e.value.event, error=e.value.message)
    badge, error = graph.node("n1").view.run
    assert e.value.event == "n1" and "Posts.likes: expected a whole number" in error
    assert graph.node("n2").view.run is None
    assert "Last run" in graph.node("n1").view.tooltip()
    async with store.transaction(writes=False) as tx:
        rows = await tx.select("Posts")
    assert rows[0]["caption"] == "hello"  # rolled back
    shot(editor, "trace_failed")
    graph.clear_trace()
    assert graph.node("n1").view.run is None and graph.traced == []
