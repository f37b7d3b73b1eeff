"""The README's tour, by clicks and keys on the visible window (Xvfb, xcb): build the posts
update from a new project (steps 1 to 6), save it, then test it live: the first run answers,
the row changes, and a broken mapping turns the Update event red with nothing written."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QListWidget, QPushButton

from app.editors import ActionEditor, EndpointEditor, ModelEditor
from app.live import free_port
from app.nodeclasses import FLOW_IN, TRIGGER_OUT
from runtime.project import to_data
from runtime.projectfile import load
from tests.app.test_graph import drag, port_point
from tests.app.test_shortcuts import press
from tests.app.test_tables import choose_from_popup, run_dialog, type_name

pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")

LEFT = Qt.MouseButton.LeftButton
EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / \
    "posts.actiongraph.json"
NAME = "Update social media post"


def keys(window, sequence: str) -> None:
    """A shortcut pressed where the keyboard focus is (the window when nothing has it)."""
    press(QApplication.focusWidget() or window, QKeySequence(sequence))


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, LEFT, pos=widget.rect().center())


def double_click(qtbot, widget, pos: QPoint) -> None:
    """A double-click as the display sends it: a click, then a press that is a double-click
    (QTest's double-click alone carries no first press, which item views need)."""
    qtbot.mouseMove(widget, pos=pos)  # the pointer is where the user double-clicks
    qtbot.mouseClick(widget, LEFT, pos=pos)
    qtbot.mouseDClick(widget, LEFT, pos=pos)


def pick_in_combo(qtbot, combo: QComboBox, text: str) -> None:
    """Open a drop-down with a click and click one of its entries."""
    if not combo.view().isVisible():
        click(qtbot, combo)
    qtbot.waitUntil(combo.view().isVisible, timeout=2000)
    # A drop-down ignores a release within a double-click interval of opening (so the click
    # that opened it does not also pick).
    qtbot.wait(QApplication.doubleClickInterval() + 100)
    row = combo.findText(text)
    assert row >= 0, f"{text!r} is not offered: {[combo.itemText(i) for i in range(combo.count())]}"
    view = combo.view()
    index = view.model().index(row, 0)
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), LEFT, pos=view.visualRect(index).center())
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=2000)


def open_cell(qtbot, table, obj, column: int) -> None:
    """Click a cell of a form table and press F2 (edit), as a keyboard user does."""
    index = table.model.index_of(obj, column)
    table.view.scrollTo(index)
    qtbot.mouseClick(table.view.viewport(), LEFT, pos=table.view.visualRect(index).center())
    qtbot.keyClick(table.view, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: table.view.state() == table.view.State.EditingState, timeout=2000)


def choose_in_cell(qtbot, table, obj, column: int, text: str) -> None:
    """A cell with a drop-down (a field's kind): double-click it, click the entry."""
    open_cell(qtbot, table, obj, column)
    combo = next(c for c in table.view.findChildren(QComboBox) if c.isVisible())
    pick_in_combo(qtbot, combo, text)


def check_in_cell(qtbot, table, obj, column: int, names: list[str]) -> None:
    """A cell with a check list (a Custom Model's fields): tick names, then leave the cell."""
    open_cell(qtbot, table, obj, column)
    picker = next(p for p in table.view.findChildren(QListWidget) if p.isVisible())
    for name in names:
        item = picker.findItems(name, Qt.MatchFlag.MatchExactly)[0]
        rect = picker.visualItemRect(item)
        # the check box sits at the left of the row
        qtbot.mouseClick(picker.viewport(), LEFT, pos=QPoint(rect.left() + 10,
                                                            rect.center().y()))
    qtbot.keyClick(picker, Qt.Key.Key_Escape)


def retype(qtbot, edit, text: str) -> None:
    """Click a line edit, select what it holds and type over it."""
    click(qtbot, edit)
    edit.selectAll()
    qtbot.keyClicks(edit, text)


async def until(condition, seconds: float = 8.0) -> None:
    """Wait on qasync's loop (a nested Qt wait would stall the server)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
async def tour_window(make_window, qtbot):
    QSettings().setValue("live/port", free_port(19700))
    window = make_window()
    window.resize(1500, 950)
    yield window
    await window.live.shutdown()


async def test_the_readme_tour_by_clicks_and_keys(tour_window, qtbot, tmp_path, shot):
    window = tour_window
    eid = await as_the_app_does(lambda: build(window, qtbot, tmp_path, shot))
    await live_steps(window, qtbot, tmp_path, shot, eid)


async def as_the_app_does(gesture):
    """Run a sync gesture from Qt's event dispatch, as a click handler runs in the app, not
    inside this test's task: menus and dialogs run nested event loops, which step the live
    server's tasks, and asyncio refuses to step a task while another (this test) is running."""
    done = asyncio.get_running_loop().create_future()

    def run():
        try:
            done.set_result(gesture())
        except BaseException as e:  # handed to the awaiting test
            done.set_exception(e)

    QTimer.singleShot(0, run)
    return await done


def build(window, qtbot, tmp_path, shot) -> str:
    """Steps 1 to 6 of the README's tour; returns the Update event's id."""
    target = tmp_path / "posts.actiongraph.json"

    # 1. File › New Project, then File › Save As.
    keys(window, "Ctrl+N")
    assert window.document is not None and window.tree is not None
    window.prompts.paths = [str(target)]
    keys(window, "Ctrl+Shift+S")
    assert target.exists()

    # 2. A data model Posts with user, caption and likes (Integer), by "+" and typing.
    window.tree.tree.setFocus()
    window.prompts.texts = ["Posts"]
    keys(window, "Ctrl+Shift+M")
    editor = window.current_editor()
    assert isinstance(editor, ModelEditor)
    model = window.document.project.model("Posts")
    for name in ("user", "caption", "likes"):
        click(qtbot, editor.fields.add_button)
        type_name(qtbot, name)
    assert [f.name for f in model.fields] == ["user", "caption", "likes"]
    choose_in_cell(qtbot, editor.fields, model.field("likes"), 1, "Integer")
    assert model.field("likes").kind == "Integer"

    # 3. The endpoint: PUT /v1/posts/{id}, a body variable post (Custom Model: caption).
    window.prompts.texts = [NAME]
    keys(window, "Ctrl+Shift+E")
    editor = window.current_editor()
    assert isinstance(editor, EndpointEditor)
    endpoint = window.document.project.endpoint(NAME)
    pick_in_combo(qtbot, editor.method, "PUT")
    retype(qtbot, editor.path, "/v1/posts/{id}")
    qtbot.keyClick(editor.path, Qt.Key.Key_Return)
    assert [(v.name, v.location, v.kind) for v in endpoint.variables] == [("id", "path", "Number")]
    choose_from_popup(qtbot, "Body variable")
    click(qtbot, editor.variables.add_button)
    type_name(qtbot, "post")
    post = endpoint.variables[-1]
    choose_in_cell(qtbot, editor.variables, post, 2, "Custom Model")
    check_in_cell(qtbot, editor.variables, post, 4, ["caption"])
    required = editor.variables.model.index_of(post, 5)  # tick Required: click, Space
    qtbot.mouseClick(editor.variables.view.viewport(), LEFT,
                     pos=editor.variables.view.visualRect(required).center())
    qtbot.keyClick(editor.variables.view, Qt.Key.Key_Space)
    assert post.required
    assert (post.location, post.kind, post.model, post.fields) == \
        ("body", "Custom Model", "Posts", ["caption"])

    # 4. The action, its variable PostToUpdate (Model Posts where id = path.id), its response.
    window.prompts.texts = [NAME]
    keys(window, "Ctrl+Shift+A")
    editor = window.current_editor()
    assert isinstance(editor, ActionEditor) and editor.has_graph
    action = window.document.project.action(NAME)
    assert action.trigger.endpoint == NAME
    click(qtbot, editor.globals.add_button)
    type_name(qtbot, "PostToUpdate")
    found = action.variables[-1]
    choose_in_cell(qtbot, editor.globals, found, 1, "Model")
    assert found.model == "Posts"

    def where(dialog):
        field, _op, value, _row = dialog.rows[0]
        field.lineEdit().selectAll()
        qtbot.keyClicks(field.lineEdit(), "id")
        qtbot.keyClicks(value, "=path.id")
        ok = next(b for b in dialog.findChildren(QPushButton) if b.text() == "OK")
        qtbot.mouseClick(ok, LEFT)

    run_dialog(qtbot, where)
    click(qtbot, editor.where_button)
    assert found.where == {"field": "id", "op": "=", "value": "=path.id"}
    window.activateWindow()  # no window manager hands activation back after a dialog
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    retype(qtbot, editor.response_value, "=UpdatedPost")

    # 5. The graph: Update from the Events panel (double-click), wired from the trigger by
    #    mouse, its properties typed in the Properties panel.
    graph = editor.graph
    palette = window.side_docks["palette"].widget()
    item = palette.items()["update"]
    palette.tree.scrollToItem(item)
    rect = palette.tree.visualItemRect(item)
    double_click(qtbot, palette.tree.viewport(), rect.center())
    assert [e.kind for e in action.events.values()] == ["update"]
    eid = next(iter(action.events))
    graph.fit()
    drag(qtbot, graph, port_point(graph, "trigger", TRIGGER_OUT, True),
         port_point(graph, eid, FLOW_IN, False))
    assert action.start == eid
    graph.select_event(eid)
    panel = window.side_docks["properties"].widget()
    assert panel.event_id == eid
    pick_in_combo(qtbot, panel.fields["model"], "Posts")
    retype(qtbot, panel.fields["record"], "=PostToUpdate")
    retype(qtbot, panel.fields["values"].edits["caption"], "=body.post.caption")
    retype(qtbot, panel.fields["as"], "UpdatedPost")
    window.update_problems()
    assert window.document.problems() == []

    # 6. Save (Ctrl+S): the file has the tutorial's endpoint and action.
    keys(window, "Ctrl+S")
    assert not window.document.dirty
    saved = to_data(load(target))
    example = to_data(load(EXAMPLE))
    assert saved["models"] == example["models"][:1] or \
        [f["name"] for f in saved["models"][0]["fields"]] == ["user", "caption", "likes"]
    mine = next(e for e in saved["endpoints"] if e["name"] == NAME)
    theirs = next(e for e in example["endpoints"] if e["name"] == NAME)
    assert (mine["method"], mine["path"], mine["variables"]) == \
        (theirs["method"], theirs["path"], theirs["variables"])
    mine = next(a for a in saved["actions"] if a["name"] == NAME)
    assert mine["variables"] == next(a for a in example["actions"]
                                     if a["name"] == NAME)["variables"]
    update = mine["events"][eid]
    assert (update["kind"], update["settings"]["record"], update["settings"]["values"],
            update["settings"]["as"]) == \
        ("update", "=PostToUpdate", {"caption": "=body.post.caption"}, "UpdatedPost")
    assert json.loads(target.read_text())["format"] == 1
    shot(window, "tour_built")
    return eid


async def live_steps(window, qtbot, tmp_path, shot, eid: str) -> None:
    """The README's live testing: Run, Send, the row changed; break it, Send, red event."""
    graph = window.current_graph()
    panel = window.side_docks["properties"].widget()
    # Live testing: Run (Ctrl+R) from the graph, fill the empty table from the 404, Send.
    live = window.live
    await until(lambda: live.server.running and live.server.project is not None
                and live.server.project.endpoint(NAME) is not None)
    await live.server.settled()
    graph.viewer.setFocus()
    keys(window, "Ctrl+R")
    run_panel = live.run_panel
    assert live.docks["run"].isVisible() and "/v1/posts/" in run_panel.url_edit.text()
    records = []
    run_panel.ran.connect(records.append)
    keys(window, "Ctrl+Return")
    await until(lambda: records)
    if records[-1].status == 404:  # a new project's table is empty: the answer offers rows
        fill = run_panel.fill_offer
        assert fill.isVisible() and "Fill Posts" in fill.text()
        click(qtbot, fill)
        await until(lambda: "press Send" in run_panel.status_label.text())
        assert _count(tmp_path) > 0
        keys(window, "Ctrl+Return")
        await until(lambda: len(records) == 2)
    answer = records[-1]
    assert answer.status == 200, answer
    post_id = int(run_panel.url_edit.text().rsplit("/", 1)[1])
    caption = json.loads(run_panel.body_edit.toPlainText())["caption"]
    assert _caption(tmp_path, post_id) == caption
    assert graph.traced == [eid]
    await as_the_app_does(lambda: shot(window, "tour_ran"))

    # Break it: likes takes the caption (text), Send: 422, the Update event red, nothing written.
    graph.select_event(eid)
    retype(qtbot, panel.fields["values"].edits["likes"], "=body.post.caption")
    await live.server.settled()
    run_panel.body_edit.setPlainText('{"caption": "never written"}')
    run_panel.body_edit.setFocus()
    keys(window, "Ctrl+Return")
    await until(lambda: records[-1] is not answer)
    assert records[-1].status == 422 and records[-1].event == eid
    badge, error = graph.node(eid).view.run
    assert "Posts.likes: expected a whole number" in error
    assert _caption(tmp_path, post_id) == caption
    await as_the_app_does(lambda: shot(window, "tour_failed"))


def _count(folder: Path) -> int:
    with sqlite3.connect(folder / "posts.db") as conn:
        return conn.execute('SELECT count(*) FROM "Posts"').fetchone()[0]


def _caption(folder: Path, post_id: int) -> str:
    with sqlite3.connect(folder / "posts.db") as conn:
        return conn.execute('SELECT caption FROM "Posts" WHERE id = ?', (post_id,)).fetchone()[0]
