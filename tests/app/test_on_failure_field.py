"""The action editor's On failure field: chosen from the project's other actions, one undo step,
saved to the file, followed by renames, and the compiler's problem shown under it."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from app.editors import ActionEditor
from app.editors.action import NO_ON_FAILURE
from app.tree import references
from runtime.projectfile import dumps


def open_action(window, path, item_id: str = "a3") -> ActionEditor:
    assert window.open_file(path)
    editor = window.open_item("actions", item_id)
    assert isinstance(editor, ActionEditor)
    return editor


def choices(editor: ActionEditor) -> list[str]:
    return [editor.on_failure.itemText(i) for i in range(editor.on_failure.count())]


def pick(qtbot, editor: ActionEditor, text: str) -> None:
    """Choose an entry as a user does: open the list, click the entry."""
    combo = editor.on_failure
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    index = view.model().index(combo.findText(text), 0)
    view.scrollTo(index)
    rect = view.visualRect(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not view.isVisible())


def test_choosing_an_on_failure_action_is_saved_and_one_undo_step(window, posts_copy, qtbot):
    editor = open_action(window, posts_copy)
    action = window.document.project.action("Get post")
    assert editor.on_failure.isVisibleTo(editor) and editor.on_failure.currentText() == NO_ON_FAILURE
    pick(qtbot, editor, "Delete post")
    assert action.on_failure == "Delete post"
    assert window.undo_action.text() == "Undo Run Delete post on failure"
    assert window.save()
    saved = {a["name"]: a for a in json.loads(posts_copy.read_text())["actions"]}
    assert saved["Get post"]["on_failure"] == "Delete post"
    assert "on_failure" not in saved["List posts"]

    window.undo_action.trigger()  # one step takes it out again
    assert action.on_failure == "" and editor.on_failure.currentText() == NO_ON_FAILURE
    assert '"on_failure"' not in dumps(window.document.project)
    window.redo_action.trigger()
    assert editor.on_failure.currentText() == "Delete post"

    pick(qtbot, editor, NO_ON_FAILURE)
    assert action.on_failure == "" and window.undo_action.text() == "Undo Run no action on failure"


def test_the_field_offers_the_other_actions_for_every_kind_of_trigger(window, posts_copy, qtbot):
    editor = open_action(window, posts_copy)
    others = ["List posts", "Create post", "Update social media post", "Delete post"]
    assert choices(editor) == [NO_ON_FAILURE, *others]  # never the action itself
    for kind in ("schedule", "action", "endpoint"):
        editor.trigger_type.setCurrentIndex(editor.trigger_type.findData(kind))
        assert editor.item.trigger.type == kind
        assert editor.on_failure.isVisibleTo(editor) and editor.on_failure_label.isVisibleTo(editor)
        assert choices(editor) == [NO_ON_FAILURE, *others]


def test_renaming_the_on_failure_action_keeps_it_pointing_at_it(window, posts_copy, qtbot):
    editor = open_action(window, posts_copy)
    pick(qtbot, editor, "Delete post")
    project = window.document.project
    window.tree.select("actions", "a5")
    window.prompts.texts = ["Remove post"]
    window.actions["rename"].trigger()
    assert project.action("Get post").on_failure == "Remove post"
    assert editor.on_failure.currentText() == "Remove post" and "Delete post" not in choices(editor)
    window.update_problems()
    assert window.document.problems() == []
    window.undo_action.trigger()  # the rename and what followed it: one step
    assert project.action("Get post").on_failure == "Delete post"
    assert project.action("Delete post") is not None


def test_deleting_the_on_failure_action_asks_first(window, posts_copy, qtbot):
    editor = open_action(window, posts_copy)
    pick(qtbot, editor, "Delete post")
    window.tree.select("actions", "a5")
    window.prompts.confirms = [False]
    assert not window.tree.delete_current()
    assert window.prompts.asked[-1] == "Delete action"
    assert window.document.project.action("Delete post") is not None
    assert references(window.document.project, "actions", "Delete post") == \
        ['action "Get post" runs it on failure']


def test_the_target_tells_which_actions_run_it_on_failure(window, posts_copy, qtbot):
    editor = open_action(window, posts_copy)
    pick(qtbot, editor, "Delete post")
    target = window.open_item("actions", "a5")
    qtbot.waitUntil(target.on_failure_info.isVisible)
    assert target.on_failure_info.text() == \
        'This action runs when "Get post" fails; the failure is in error.'
    assert target.on_failure_info.property("role") == "muted"


def test_an_action_naming_itself_shows_the_compilers_problem(window, posts_copy, qtbot, shot):
    data = json.loads(posts_copy.read_text())
    for a in data["actions"]:
        if a["name"] == "Get post":
            a["on_failure"] = "Get post"  # written by hand: the field never offers it
    posts_copy.write_text(json.dumps(data))
    editor = open_action(window, posts_copy)
    assert editor.on_failure.currentText() == "Get post"  # shown as the file has it
    info = editor.on_failure_info
    qtbot.waitUntil(info.isVisible)
    assert info.text() == "an action cannot be its own on-failure action"
    assert info.property("role") == "problem"
    window.update_problems()
    assert any(p.where == 'actions["Get post"].on_failure' for p in window.document.problems())
    shot(window, "on_failure_problem")

    pick(qtbot, editor, NO_ON_FAILURE)  # choosing anything else mends it
    assert window.document.project.action("Get post").on_failure == ""
    qtbot.waitUntil(lambda: not info.isVisible())
    assert "Get post" not in choices(editor)
