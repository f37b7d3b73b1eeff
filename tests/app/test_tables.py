"""Every table with "+", used as a user does on a visible window: click, type, Enter, delete."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLineEdit, QMenu
from shiboken6 import Shiboken

from app import qtsafe
from app import tree as ops
from app.editors import RowsTable, WhereDialog
from app.editors.settings import SettingsEditor

LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture(autouse=True)
def _no_errors_answered_with_a_default():
    """Code Qt calls turns an exception into a logged default (not a crash): none may happen."""
    before = qtsafe.error_count()
    yield
    assert qtsafe.error_count() == before, "code called by Qt raised (see the logged error)"


def open_posts(window, posts_copy):
    assert window.open_file(posts_copy)
    return window.document


def cell_editor(qtbot) -> QLineEdit:
    """The line edit of the table cell being edited (it has the keyboard focus)."""
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit), timeout=2000)
    return QApplication.focusWidget()


def type_name(qtbot, text: str) -> None:
    """Type into the open cell editor, replacing its suggestion, and press Enter."""
    editor = cell_editor(qtbot)
    assert editor.selectedText() == editor.text()  # the suggested name is selected
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not editor, timeout=2000)


def click_row(qtbot, table: RowsTable, obj) -> None:
    """Click a row's first cell, as a user selects it."""
    index = table.model.index_of(obj, 0)
    table.view.scrollTo(index)
    rect = table.view.visualRect(index)
    qtbot.mouseClick(table.view.viewport(), LEFT, pos=rect.center())
    assert table.selected() is obj


def undo(qtbot, widget) -> None:
    qtbot.keyClick(widget, Qt.Key.Key_Z, CTRL)


def delete_then_remove_button(qtbot, table: RowsTable, rows, obj) -> None:
    """The Delete key removes the selected row, Ctrl+Z brings it back; then the same with "-"."""
    table.view.setFocus()
    click_row(qtbot, table, obj)
    qtbot.keyClick(table.view, Qt.Key.Key_Delete)
    assert obj not in rows()
    undo(qtbot, table.view)
    assert obj in rows()
    click_row(qtbot, table, obj)
    qtbot.mouseClick(table.remove_button, LEFT)
    assert obj not in rows()
    undo(qtbot, table.view)
    assert obj in rows()


def test_plus_under_fields_adds_the_field_typed_and_delete_removes_it(window, posts_copy,
                                                                      qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("models", "m1")
    model = doc.project.model("Posts")
    before = [f.name for f in model.fields]
    qtbot.mouseClick(editor.fields.add_button, LEFT)
    type_name(qtbot, "views")
    assert [f.name for f in model.fields] == before + ["views"]
    views = model.field("views")
    assert window.isVisible() and editor.fields.view.isVisible()
    delete_then_remove_button(qtbot, editor.fields, lambda: model.fields, views)
    undo(qtbot, editor.fields.view)  # the rename
    undo(qtbot, editor.fields.view)  # the "+"
    assert [f.name for f in model.fields] == before


def test_adding_a_row_refuses_a_name_that_is_not_text(window, posts_copy):
    doc = open_posts(window, posts_copy)
    model = doc.project.model("Posts")
    with pytest.raises(TypeError, match="text"):
        ops.add_field(doc, model, False)
    assert [f.name for f in model.fields] == ["user", "caption", "likes"]


def choose_from_popup(qtbot, text: str) -> None:
    """Once the "+" menu pops up, click its entry `text` (the menu runs its own event loop)."""

    def pick():
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu), menu
        action = next(a for a in menu.actions() if a.text() == text)
        qtbot.mouseClick(menu, LEFT, pos=menu.actionGeometry(action).center())

    QTimer.singleShot(100, pick)


def test_plus_under_endpoint_variables_adds_the_variable_typed(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("endpoints", "e2")
    endpoint = doc.project.endpoint("Create post")
    before = [v.name for v in endpoint.variables]
    choose_from_popup(qtbot, "Query variable")
    qtbot.mouseClick(editor.variables.add_button, LEFT)
    type_name(qtbot, "draft")
    assert [v.name for v in endpoint.variables] == before + ["draft"]
    draft = endpoint.variables[-1]
    assert draft.location == "query"
    delete_then_remove_button(qtbot, editor.variables, lambda: endpoint.variables, draft)


def test_plus_under_action_variables_adds_the_variable_typed(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("actions", "a4")
    action = doc.project.action("Update social media post")
    before = [g.name for g in action.variables]
    qtbot.mouseClick(editor.globals.add_button, LEFT)
    type_name(qtbot, "limit")
    assert [g.name for g in action.variables] == before + ["limit"]
    delete_then_remove_button(qtbot, editor.globals, lambda: action.variables,
                              action.variables[-1])


def test_plus_under_auth_profiles_adds_the_profile_typed(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("settings", "settings")
    assert isinstance(editor, SettingsEditor)
    profiles = doc.project.settings.auth_profiles
    qtbot.mouseClick(editor.profiles.add_button, LEFT)
    type_name(qtbot, "staff")
    assert [p.name for p in profiles] == ["staff"]
    delete_then_remove_button(qtbot, editor.profiles, lambda: profiles, profiles[0])


def run_dialog(qtbot, steps) -> None:
    """Run `steps(dialog)` once the modal Where dialog shows; never leave it open on failure."""

    def drive():
        dialog = QApplication.activeModalWidget()
        try:
            assert isinstance(dialog, WhereDialog), dialog
            qtbot.waitExposed(dialog)
            steps(dialog)
        finally:
            if dialog is not None and dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(100, drive)


def test_where_rows_are_added_typed_and_removed_by_clicks(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("actions", "a4")
    g = doc.project.action("Update social media post").variables[0]
    click_row(qtbot, editor.globals, g)

    def steps(dialog):
        assert len(dialog.rows) == 1
        qtbot.mouseClick(dialog.add_button, LEFT)
        qtbot.mouseClick(dialog.add_button, LEFT)
        field, _op, value, _row = dialog.rows[1]
        field.lineEdit().selectAll()
        qtbot.keyClicks(field.lineEdit(), "likes")
        qtbot.keyClicks(value, "3")
        qtbot.mouseClick(dialog.remove_buttons[2], LEFT)  # the third one was not wanted
        qtbot.waitUntil(lambda: len(dialog.rows) == 2)
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, LEFT)

    run_dialog(qtbot, steps)
    qtbot.mouseClick(editor.where_button, LEFT)
    assert g.where == {"and": [{"field": "id", "op": "=", "value": "=path.id"},
                               {"field": "likes", "op": "=", "value": 3}]}
    # Without a window manager nothing hands activation back once the dialog closes.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    undo(qtbot, editor.globals.view)
    assert g.where == {"field": "id", "op": "=", "value": "=path.id"}

    def remove_all(dialog):
        qtbot.mouseClick(dialog.remove_buttons[0], LEFT)
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, LEFT)

    run_dialog(qtbot, remove_all)
    qtbot.mouseClick(editor.where_button, LEFT)
    assert g.where is None


# -- a cell editor open while its table goes away ---------------------------------------------

def open_name_editor(qtbot, editor) -> QLineEdit:
    """Start typing a new field's name and leave the cell editor open."""
    qtbot.mouseClick(editor.fields.add_button, LEFT)
    line = cell_editor(qtbot)
    qtbot.keyClicks(line, "half")
    return line


def close_tab_button(qtbot, window, editor) -> None:
    """Click the close button on an editor's tab."""
    bar = window.tabs.tabBar()
    button = bar.tabButton(window.tabs.indexOf(editor), bar.ButtonPosition.RightSide)
    qtbot.mouseClick(button, LEFT)


def test_closing_the_tab_while_a_name_is_typed_keeps_the_app_alive(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("models", "m1")
    model = doc.project.model("Posts")
    open_name_editor(qtbot, editor)
    close_tab_button(qtbot, window, editor)
    qtbot.waitUntil(lambda: editor not in window.editors())
    qtbot.wait(50)  # the tab is deleted later; let that happen
    assert [f.name for f in model.fields][:3] == ["user", "caption", "likes"]
    assert all(isinstance(f.name, str) for f in model.fields)
    again = window.open_item("models", "m1")
    qtbot.mouseClick(again.fields.add_button, LEFT)
    type_name(qtbot, "views")
    assert model.field("views") is not None


def test_closing_the_project_while_a_name_is_typed_keeps_the_app_alive(window, posts_copy,
                                                                       qtbot):
    open_posts(window, posts_copy)
    editor = window.open_item("models", "m1")
    open_name_editor(qtbot, editor)
    window.prompts.saves = ["discard"]
    assert window.close_project()
    qtbot.wait(50)
    assert window.document is None
    open_posts(window, posts_copy)  # and it opens again, cleanly
    assert window.open_item("models", "m1") is not None


def test_opening_another_project_while_a_kind_is_chosen_keeps_the_app_alive(
        window, posts_copy, qtbot, tmp_path):
    import shutil

    open_posts(window, posts_copy)
    editor = window.open_item("models", "m1")
    table = editor.fields
    index = table.model.index_of(window.document.project.model("Posts").field("caption"), 1)
    rect = table.view.visualRect(index)
    qtbot.mouseClick(table.view.viewport(), LEFT, pos=rect.center())
    qtbot.mouseDClick(table.view.viewport(), LEFT, pos=rect.center())
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None)  # the kinds list
    QApplication.activePopupWidget().close()
    other = tmp_path / "other.actiongraph.json"
    shutil.copyfile(posts_copy, other)
    window.prompts.saves = ["discard"]
    assert window.open_file(other)
    qtbot.wait(50)
    assert window.document.path == other


def test_undo_while_a_name_is_typed_closes_the_cell_editor(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("models", "m1")
    model = doc.project.model("Posts")
    line = open_name_editor(qtbot, editor)
    window.undo_action.trigger()  # the Edit menu's Undo, while the name is still typed
    qtbot.wait(50)
    assert [f.name for f in model.fields] == ["user", "caption", "likes"]
    assert not Shiboken.isValid(line) or not line.isVisible()


# -- names and sizes --------------------------------------------------------------------------

def test_duplicate_gives_names_each_section_accepts(window, posts_copy):
    doc = open_posts(window, posts_copy)
    project = doc.project
    made = {}
    for section, item_id in (("models", "m1"), ("models", "m1"), ("endpoints", "e2"),
                             ("actions", "a2")):
        window.tree.select(section, item_id)
        made.setdefault(section, []).append(window.tree.duplicate_current().name)
    assert made == {"models": ["Posts_copy", "Posts_copy2"], "endpoints": ["Create post copy"],
                    "actions": ["Create post copy"]}
    names = [p.where + ": " + p.message for p in doc.problems() if p.where.endswith(".name")
             or "name" in p.message]
    assert names == []
    assert ops.unique_name(project, "models", "Posts") == "Posts2"


def test_tree_rows_keep_their_height_after_an_edit(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    tree = window.tree.tree

    def heights():
        rows = []
        for i in range(tree.topLevelItemCount()):
            top = tree.topLevelItem(i)
            rows += [top] + [top.child(j) for j in range(top.childCount())]
        return {tree.visualItemRect(row).height() for row in rows}

    qtbot.wait(20)
    before = heights()
    assert len(before) == 1
    doc.set_attr(doc.project.models[0], "name", "Post", "Rename")
    qtbot.wait(20)
    assert heights() == before


def test_the_action_name_is_not_clipped(window, posts_copy, qtbot):
    open_posts(window, posts_copy)
    editor = window.open_item("actions", "a4")
    qtbot.wait(20)
    name = editor.name
    assert name.text() == "Update social media post"
    assert name.width() >= name.fontMetrics().horizontalAdvance(name.text()) + 16
    assert name.geometry().right() < editor.run_button.geometry().left()


def test_table_columns_grow_to_their_content(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("models", "m1")
    model = doc.project.model("Posts")
    ops.rename_field(doc, model, model.field("caption"), "a_rather_long_caption_of_the_post")
    table = editor.fields.view
    assert table.columnWidth(0) >= table.sizeHintForColumn(0)
    header = table.horizontalHeader()
    assert all(table.columnWidth(i) >= header.sectionSizeHint(i) for i in range(4))
