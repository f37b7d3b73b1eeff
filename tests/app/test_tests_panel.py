"""The Tests dock on a real display: a run of the Run panel saved as a test goes green; an edit
that breaks it turns it red with the diff and its path on the graph; a test of a deleted
endpoint shows its problem; History's Save as Test reads a run back from the run history; Edit
Test shows a test as its JSON, loosens an expected value, refuses a bad edit by its line and
saves a good one as one undo step."""

from __future__ import annotations

import asyncio
import json

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence

from app.live import free_port
from app.testeditor import TestEditor
from app.testspanel import record_of_run, request_of
from app.tree import delete
from runtime import testcases
from runtime.project import to_data
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


def line_with(text: str, part: str) -> int:
    """The line (from 1) of the first line of `text` holding `part`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if part in line)


async def test_edit_test_loosens_an_expected_value_refuses_a_bad_edit_and_undoes(
        live_window, qtbot, shot):
    window = live_window
    live, testing, document = window.live, window.testing, window.document
    tests, project = testing.panel, window.document.project
    live.run_endpoint("Create post")
    live.run_panel.body_edit.setPlainText('{"user": "ann", "caption": "Exact", "likes": 2}')
    assert (await live.run_panel.send()).status == 201
    answer_with(window, "create post, loosened")
    qtbot.mouseClick(live.run_panel.test_button, Qt.MouseButton.LeftButton)
    test = project.tests[-1]
    test_id, steps = test.id, document.undo.count()
    assert "Edit…" in window.statusBar().currentMessage()  # the next step is said
    await testing.task
    assert tests.state(test) == "passed"

    # Enter on the test's row opens Edit Test: the test as the project file holds it, no id.
    assert tests.current_test() is test
    tests.tree.setFocus()
    press(tests.tree, QKeySequence("Return"))
    editor = testing.editor
    assert isinstance(editor, TestEditor) and editor.isVisible()
    saved = {k: v for k, v in to_data(project)["tests"][-1].items() if k != "id"}
    assert json.loads(editor.text.toPlainText()) == saved
    assert '{"$any": true}' in editor.hint.text() and '"$regex"' in editor.hint.text()
    assert editor.item_at("expect", "body", "id").text(1) == '{"$type": "integer"}'

    # The request changes, the exact caption it expects does not: saved, run, red.
    text = editor.text.toPlainText().replace('"caption": "Exact"', '"caption": "Edited"', 1)
    editor.text.setPlainText(text)
    qtbot.mouseClick(editor.ok_button, Qt.MouseButton.LeftButton)
    assert not editor.isVisible()
    assert test.request["body"]["caption"] == "Edited" and test.id == test_id
    assert test.expect["body"]["caption"] == "Exact"
    assert document.undo.count() == steps + 1
    assert document.undo.undoText() == "Edit test create post, loosened"
    assert testing.running  # it runs at once
    await testing.task
    assert tests.state(test) == "failed"
    assert "body.caption" in tests.results[test.id].diff

    # Edit… again: what the last run got is beside what it expects; Any Value loosens both
    # the answer's caption and the row's.
    qtbot.mouseClick(tests.edit_button, Qt.MouseButton.LeftButton)
    editor = testing.editor
    body_caption = editor.item_at("expect", "body", "caption")
    assert body_caption.text(1) == '"Exact"' and body_caption.text(2) == '"Edited"'
    row_caption = editor.item_at("expect", "rows", 0, "values", "caption")
    assert not editor.any_button.isEnabled()
    body_caption.setSelected(True)
    row_caption.setSelected(True)
    assert editor.type_button.isEnabled()
    qtbot.mouseClick(editor.any_button, Qt.MouseButton.LeftButton)
    loosened = json.loads(editor.text.toPlainText())
    assert loosened["expect"]["body"]["caption"] == {"$any": True}
    assert loosened["expect"]["rows"][0]["values"]["caption"] == {"$any": True}
    assert loosened["expect"]["body"]["user"] == "ann"  # the others stay exact
    assert editor.item_at("expect", "body", "caption").text(1) == '{"$any": true}'
    await as_the_app_does(lambda: shot(editor, "test_editor"))
    qtbot.mouseClick(editor.ok_button, Qt.MouseButton.LeftButton)
    assert test.expect["body"]["caption"] == {"$any": True}
    await testing.task
    assert tests.state(test) == "passed", tests.results[test.id].diff

    # A malformed edit is refused, naming the line: the dialog stays, the text too, and the
    # project does not change.
    before, steps = to_data(project), document.undo.count()
    assert testing.editor is None
    window.activateWindow()  # a window manager does this when a dialog closes; Xvfb has none
    await until(window.isActiveWindow)
    tests.tree.setFocus()
    press(tests.tree, QKeySequence("Return"))
    editor = testing.editor
    bad = editor.text.toPlainText().replace('"status": 201', '"status": "created"')
    editor.text.setPlainText(bad)
    qtbot.mouseClick(editor.ok_button, Qt.MouseButton.LeftButton)
    assert editor.isVisible() and editor.error.isVisible()
    line = line_with(bad, '"status": "created"')
    assert editor.error.text().startswith(f"Line {line}, expect.status: "), editor.error.text()
    assert "Traceback" not in editor.error.text()
    assert editor.text.textCursor().blockNumber() + 1 == line  # the cursor is on it
    broken = bad.replace('"status": "created",', '"status": 201')  # a comma lost
    editor.text.setPlainText(broken)
    qtbot.mouseClick(editor.ok_button, Qt.MouseButton.LeftButton)
    assert editor.isVisible()
    assert editor.error.text().startswith(f"Line {line + 1}: not valid JSON"), \
        editor.error.text()
    assert editor.text.toPlainText() == broken
    await until(lambda: not editor.values.isEnabled())  # nothing to loosen until it is JSON
    await as_the_app_does(lambda: shot(editor, "test_editor_error"))
    assert to_data(project) == before and document.undo.count() == steps
    window.prompts.confirms = [False, True]  # Cancel asks before the edits are thrown away
    editor.reject()
    assert editor.isVisible() and window.prompts.asked[-1] == "Discard Changes"
    editor.reject()
    assert not editor.isVisible() and to_data(project) == before

    # Undo takes back one edit at a time; the test keeps its id and its row.
    document.undo.undo()
    assert test.expect["body"]["caption"] == "Exact" and test.request["body"]["caption"] == "Edited"
    document.undo.undo()
    assert test.request["body"]["caption"] == "Exact"
    assert project.tests[-1] is test and test.id == test_id
    assert tests.item_of(test_id) is not None
