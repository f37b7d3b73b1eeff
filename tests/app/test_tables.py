"""Every table with "+", used as a user does on a visible window: click, type, Enter, delete."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from app import qtsafe
from app import tree as ops
from app.editors import RowsTable

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
