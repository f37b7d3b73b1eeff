"""Build the posts-update back end through the editor's own commands; save; compare."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from app.editors import ActionEditor, EndpointEditor, ModelEditor
from runtime.project import Event, to_data
from runtime.projectfile import dumps, load

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"

CHECK = Qt.ItemDataRole.CheckStateRole


def set_cell(table, obj, column: int, value, role=Qt.ItemDataRole.EditRole) -> None:
    """Change a cell the way its delegate does (the table's model takes it as an edit)."""
    model = table.model
    index = model.index_of(obj, column)
    assert index.isValid()
    assert model.flags(index) & (Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsUserCheckable)
    if role == CHECK:
        value = (Qt.CheckState.Checked if value else Qt.CheckState.Unchecked).value
    assert model.setData(index, value, role)


def retype(qtbot, widget: QLineEdit, text: str) -> None:
    """Replace a line edit's text by typing it, key by key."""
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Backspace)
    qtbot.keyClicks(widget, text)


def without_ids(data):
    """Data with the `id` keys of models/endpoints/actions dropped (they depend on order)."""
    data = copy.deepcopy(data)
    if isinstance(data, dict):
        data.pop("id", None)
    return data


def build_posts_update(window, qtbot):
    """Model Posts, PUT /v1/posts/{id}, and its action, as a user would make them."""
    if window.document is None:
        window.new_project()
    doc = window.document
    tree = window.tree

    window.prompts.texts = ["Posts"]
    window.actions["add_models"].trigger()
    model_editor = window.current_editor()
    assert isinstance(model_editor, ModelEditor)
    table = model_editor.fields
    for name, kind in (("user", "Text"), ("caption", "Text"), ("likes", "Integer")):
        f = model_editor.add_field()
        set_cell(table, f, 0, name)
        set_cell(table, f, 1, kind)
    set_cell(table, doc.project.model("Posts").field("likes"), 4, "0")

    endpoint = tree.add("endpoints", "Update social media post")
    editor = window.current_editor()
    assert isinstance(editor, EndpointEditor)
    editor.method.setCurrentText("PUT")
    retype(qtbot, editor.path, "/v1/posts/{id}")
    editor.path.editingFinished.emit()
    retype(qtbot, editor.description, "Edit the caption of the post identified by id.")
    path_var = endpoint.variables[0]
    assert (path_var.name, path_var.location, path_var.kind) == ("id", "path", "Number")
    assert editor.path_problem.isHidden()
    body = editor.add_variable("body")
    set_cell(editor.variables, body, 1, "post")
    set_cell(editor.variables, body, 2, "Custom Model")  # the only model is chosen for it
    set_cell(editor.variables, body, 4, ["caption"])
    set_cell(editor.variables, body, 5, True, CHECK)

    action = tree.add("actions", "Update social media post")
    editor = window.current_editor()
    assert isinstance(editor, ActionEditor)
    assert action.trigger.endpoint == "Update social media post"  # same name: picked for you
    g = editor.add_global()
    set_cell(editor.globals, g, 0, "PostToUpdate")
    set_cell(editor.globals, g, 1, "Model")
    set_cell(editor.globals, g, 3, "id = path.id")
    retype(qtbot, editor.response_value, "=UpdatedPost")

    settings = {"model": "Posts", "record": "=PostToUpdate",
                "values": {"caption": "=body.post.caption"}, "as": "UpdatedPost",
                "description": "Update the post caption"}
    add_update_event(window, qtbot, action, settings)
    return action


def add_update_event(window, qtbot, action, settings) -> None:
    """The Update event: from the graph and its properties panel, else as a document edit."""
    editor = window.current_editor()
    if editor.has_graph:
        graph = editor.graph
        eid = graph.add_event("update")
        assert graph.connect_ports("trigger", "start", eid, "in")
        graph.move_event(eid, 320, 0)
        graph.select_event(eid)
        panel = window.side_docks["properties"].widget()
        assert panel.event_id == eid and window.side_docks["properties"].isVisible()
        retype(qtbot, panel.description, settings.pop("description"))
        panel.fields["model"].setCurrentText(settings["model"])
        for name, value in settings["values"].items():
            retype(qtbot, panel.fields["values"].edits[name], value)
        retype(qtbot, panel.fields["record"], settings["record"])
        retype(qtbot, panel.fields["as"], settings["as"])
        return
    doc = window.document
    description = settings.pop("description")
    event = Event(kind="update", settings=settings, description=description, id="n1")

    def apply(forward: bool) -> None:
        if forward:
            action.events["n1"] = event
            action.start = "n1"
            action.positions["n1"] = (320, 0)
        else:
            del action.events["n1"]
            action.start = None
            del action.positions["n1"]

    doc.edit("Add Update event", apply)


def test_build_posts_update_and_save(window, qtbot, tmp_path, shot):
    build_posts_update(window, qtbot)
    doc = window.document
    assert doc.dirty
    assert "*" in window.windowTitle()
    window.update_problems()
    assert doc.problems() == [], doc.problems()
    shot(window, "built")

    target = tmp_path / "mine.actiongraph.json"
    window.prompts.paths = [str(target)]
    assert window.save()
    assert not doc.dirty and "*" not in window.windowTitle()
    assert "mine.actiongraph.json" in window.windowTitle()

    mine = to_data(load(target))
    example = to_data(load(EXAMPLES / "posts.actiongraph.json"))
    assert mine["models"] == example["models"]
    ours = {e["name"]: e for e in mine["endpoints"]}
    theirs = {e["name"]: e for e in example["endpoints"]}
    name = "Update social media post"
    assert without_ids(ours[name]) == without_ids(theirs[name])
    ours = {a["name"]: a for a in mine["actions"]}
    theirs = {a["name"]: a for a in example["actions"]}
    assert without_ids(ours[name]) == without_ids(theirs[name])
    assert json.loads(target.read_text())["format"] == 1


def test_undo_all_then_redo_all_ends_where_it_started(window, qtbot):
    window.new_project()
    start = dumps(window.document.project)  # text: to_data shares the live lists
    build_posts_update(window, qtbot)
    doc = window.document
    end = dumps(doc.project)
    assert doc.undo.index() > 10
    # An open editor follows undo and redo.
    editor = window.current_editor()
    action = doc.project.actions[0]
    undone = 0
    while action.response_value is not None:
        window.undo_action.trigger()
        undone += 1
    assert editor.response_value.text() == ""
    for _ in range(undone):
        window.redo_action.trigger()
    assert editor.response_value.text() == "=UpdatedPost"
    labels = []
    while doc.undo.canUndo():
        labels.append(window.undo_action.text())
        window.undo_action.trigger()
    assert dumps(doc.project) == start
    assert not doc.dirty
    assert "Undo Add model Posts" in labels  # the Edit menu names the step
    while doc.undo.canRedo():
        window.redo_action.trigger()
    assert dumps(doc.project) == end
    assert window.current_editor() is None  # undoing the additions closed their tabs


def test_typing_is_merged_into_one_undo_step(window, qtbot):
    window.new_project()
    endpoint = window.tree.add("endpoints", "Get post")
    editor = window.current_editor()
    before = window.document.undo.count()
    retype(qtbot, editor.path, "/v1/posts/{postId}")
    assert window.document.undo.count() == before + 1
    assert [v.name for v in endpoint.variables] == ["postId"]  # the letters on the way left none
    window.undo_action.trigger()
    assert endpoint.path == "/v1/" and endpoint.variables == []
