"""The Tests dock on a real display: a run of the Run panel saved as a test goes green; an edit
that breaks it turns it red with the diff and its path on the graph; a test of a deleted
endpoint shows its problem; History's Save as Test reads a run back from the run history."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence

from app.live import free_port
from app.testspanel import record_of_run, request_of
from app.tree import delete
from runtime import testcases
from tests.app.test_shortcuts import press
from tests.app.test_tour import as_the_app_does

pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")


@pytest.fixture
async def live_window(make_window, posts_copy, qtbot):
    QSettings().setValue("live/port", free_port(20100))
    window = make_window()
    window.resize(1500, 950)
    assert window.open_file(str(posts_copy))
    await window.live._starting
    assert window.live.server.running, window.live.server.error
    yield window
    task = window.testing.task
    if task is not None and not task.done():
        await task
    await window.live.shutdown()


async def until(condition, seconds: float = 10.0) -> None:
    """Wait on qasync's loop (a nested Qt wait would stall the server and the tests' runs)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def answer_with(window, text: str) -> list[str]:
    """Answer the test-name question with `text`; returns the pre-filled names asked with."""
    offered: list[str] = []

    def ask(title, label, value=""):
        offered.append(value)
        return text

    window.prompts.text = ask
    return offered


async def test_a_saved_run_goes_green_and_an_edit_that_breaks_it_turns_it_red(
        live_window, qtbot, shot):
    window = live_window
    live, testing = window.live, window.testing
    panel, tests = live.run_panel, testing.panel
    before = len(window.document.project.tests)
    live.run_endpoint("Create post")
    panel.body_edit.setPlainText('{"user": "ann", "caption": "Saved as a test", "likes": 2}')
    record = await panel.send()
    assert record.status == 201
    assert panel.test_button.isEnabled()

    offered = answer_with(window, "create post from the Run panel")
    qtbot.mouseClick(panel.test_button, Qt.MouseButton.LeftButton)
    assert offered == ["POST /v1/posts 201"]
    project = window.document.project
    assert len(project.tests) == before + 1
    test = project.tests[-1]
    assert (test.name, test.endpoint) == ("create post from the Run panel", "Create post")
    assert test.request["body"] == {"user": "ann", "caption": "Saved as a test", "likes": 2}
    assert test.expect["body"]["id"] == {"$type": "integer"}  # ids and times as matchers
    assert test.expect["body"]["created_at"] == {"$type": "datetime"}
    assert window.dock("tests").isVisible() and tests.current_test() is test
    # One undo step, and the new test runs at once, without blocking the editor.
    assert window.document.undo.undoText() == "Add test create post from the Run panel"
    await until(lambda: testing.task is not None)
    await testing.task
    assert tests.state(test) == "passed", tests.results[test.id].diff
    assert "Passed in" in tests.detail.toPlainText()

    # Run All (Ctrl+Shift+T): the example's tests and the new one, all green, with times.
    press(window, QKeySequence("Ctrl+Shift+T"))
    assert testing.running
    await testing.task
    assert [tests.state(t) for t in project.tests] == ["passed"] * len(project.tests)
    assert all(tests.item_of(t.id).text(2) for t in project.tests)
    assert tests.summary.text().startswith(f"{len(project.tests)} passed")

    # Break it: the action answers the request's body instead of the new post.
    action = project.action("Create post")
    window.document.set_attr(action, "response_value", "=body.post", "Change response")
    assert tests.note.isVisible()  # results from before the edit say so
    press(window, QKeySequence("Ctrl+Shift+T"))
    await testing.task
    assert not tests.note.isVisible()
    assert tests.state(test) == "failed"
    assert tests.state(project.test("list posts answers the seed posts in id order")) == "passed"
    assert "failed" in tests.summary.text()
    tests.select(test.id)  # its diff, and its path painted on the Create post graph
    diff = tests.detail.toPlainText()
    assert "Failed in" in diff and "body.id" in diff, diff
    graph = window.current_graph()
    assert graph is not None and graph.action is action and graph.traced == ["n1"]
    item = tests.item_of(test.id)
    assert "failed" in item.text(1) and "body.id" in item.toolTip(1)
    await as_the_app_does(lambda: shot(window, "tests_panel", readme="tests_panel"))

    # Undo the edit: green again on demand.
    window.document.undo.undo()
    press(window, QKeySequence("Ctrl+Shift+T"))
    await testing.task
    assert tests.state(test) == "passed"


async def test_a_test_of_a_deleted_endpoint_shows_its_problem(live_window):
    window = live_window
    project = window.document.project
    name = "get post answers the post"
    endpoint = project.endpoint("Get post")
    action = project.action("Get post")
    delete(window.document, "actions", action)
    delete(window.document, "endpoints", endpoint)
    window.update_problems()
    tests = window.testing.panel
    test = project.test(name)
    assert tests.state(test) == "problem"
    assert 'refers to endpoint "Get post"' in tests.item_of(test.id).toolTip(0)
    tests.select(test.id)
    assert "Problem:" in tests.detail.toPlainText()
    # The Problems list names the test; activating it selects the test's row.
    problem = next(p for p in window.document.problems() if name in p.message)
    tests.select(project.tests[0].id)
    window.go_to_problem(problem)
    assert tests.current_test() is test
    # Run All: the other tests run; this one fails with its problem.
    window.testing.run_all()
    await window.testing.task
    result = tests.results[test.id]
    assert not result.passed and 'refers to endpoint "Get post"' in result.diff
    assert tests.state(project.test("list posts answers the seed posts in id order")) == "passed"


async def test_a_run_read_back_from_the_history_makes_the_same_test(live_window):
    """History's Save as Test works on runs of earlier sessions: read back, the run gives the
    test that the session's record gives."""
    window = live_window
    live = window.live
    live.run_endpoint("Create post")
    live.run_panel.body_edit.setPlainText('{"user": "bo", "caption": "From history", "likes": 1}')
    record = await live.run_panel.send()
    history = live.server.host.history
    assert history is not None and history.flush()
    runs = history.list(limit=1)
    run = history.get(runs[0]["id"])
    project = window.document.project
    from_history = testcases.test_from_record(record_of_run(run), project, "t")
    from_session = testcases.test_from_record(record, project, "t",
                                              request_of(live.run_panel.answer.request, record))
    assert from_history["expect"] == from_session["expect"]
    assert from_history["request"]["body"] == from_session["request"]["body"]

    answer_with(window, "from history")
    log = live.log
    await until(lambda: log.model.rowCount() > 0)
    log.view.setCurrentIndex(log.model.index(0, 0))
    await log.save_as_test()
    assert project.tests[-1].name == "from history"
    await window.testing.task
    assert window.testing.panel.state(project.tests[-1]) == "passed"
