"""The mouse wheel over a drop-down or spin box the user has not clicked scrolls, never edits."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QSpinBox, QWidget

from app.wheelguard import GUARDED


def open_posts(window, posts_copy):
    assert window.open_file(posts_copy)
    return window.document


def turn_wheel(widget: QWidget, notches: int = 1) -> None:
    """One real wheel event over the middle of a widget (positive turns up, away from the user)."""
    centre = widget.rect().center()
    event = QWheelEvent(QPointF(centre), QPointF(widget.mapToGlobal(centre)), QPoint(),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def properties_panel(window, qtbot, event_id: str):
    """The Properties panel showing an event of the current action."""
    panel = window.side_docks["properties"].widget()
    panel.show_event(event_id)
    qtbot.waitUntil(lambda: panel.fields.get("model") is not None)
    return panel


def test_wheel_over_an_unfocused_model_combo_scrolls_the_properties_panel(window, posts_copy,
                                                                         qtbot):
    doc = open_posts(window, posts_copy)
    window.open_item("actions", "a4")
    window.resize(1200, 560)  # short enough that the panel scrolls
    panel = properties_panel(window, qtbot, "n1")
    combo = panel.fields["model"]
    assert isinstance(combo, QComboBox) and combo.currentText() == "Posts"
    bar = panel.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    panel.ensureWidgetVisible(combo)
    bar.setValue(bar.maximum())
    qtbot.wait(20)
    panel.ensureWidgetVisible(combo)
    top, steps = bar.value(), doc.undo.count()
    turn_wheel(combo)
    assert combo.currentText() == "Posts"
    assert doc.project.actions[3].events["n1"].settings["model"] == "Posts"
    assert doc.undo.count() == steps
    assert bar.value() < top  # the turn scrolled the panel up instead
    assert not combo.hasFocus()


def test_wheel_over_a_clicked_combo_changes_it_as_usual(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    window.open_item("actions", "a4")
    panel = properties_panel(window, qtbot, "n1")
    combo = panel.fields["model"]
    panel.ensureWidgetVisible(combo)
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)  # opens the list...
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None)
    qtbot.keyClick(QApplication.activePopupWidget(), Qt.Key.Key_Escape)  # ...closed again
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None)
    assert combo.hasFocus()
    steps = doc.undo.count()
    turn_wheel(combo)
    assert combo.currentText() == ""
    assert doc.undo.count() == steps + 1


def test_wheel_over_an_unfocused_spin_box_scrolls_the_settings(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("settings", "settings")
    window.resize(1200, 520)
    port = editor.mail_port
    assert isinstance(port, QSpinBox)
    scroll = editor.page.parentWidget().parentWidget()
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    scroll.ensureWidgetVisible(port)
    bar.setValue(bar.maximum())
    qtbot.wait(20)
    scroll.ensureWidgetVisible(port)
    top, value, steps = bar.value(), port.value(), doc.undo.count()
    turn_wheel(port)
    assert port.value() == value and doc.undo.count() == steps
    assert bar.value() < top
    qtbot.mouseClick(port.findChild(QWidget), Qt.MouseButton.LeftButton)  # its text
    assert port.hasFocus()
    turn_wheel(port)
    assert port.value() == value + 1 and doc.undo.count() == steps + 1


def test_wheel_over_an_unfocused_combo_of_a_form_changes_nothing(window, posts_copy, qtbot):
    doc = open_posts(window, posts_copy)
    editor = window.open_item("endpoints", "e2")
    steps = doc.undo.count()
    for combo in (editor.method, editor.request_type, editor.auth):
        turn_wheel(combo)
        turn_wheel(combo, -1)
    assert doc.project.endpoint("Create post").method == "POST"
    assert doc.undo.count() == steps


def test_widgets_made_later_are_guarded_and_take_no_focus_from_the_wheel(window, qtbot):
    late = QComboBox()
    late.addItems(["a", "b"])
    late.setFocusPolicy(Qt.FocusPolicy.WheelFocus)
    qtbot.addWidget(late)
    late.show()
    qtbot.waitExposed(late)
    assert isinstance(late, GUARDED)
    assert late.focusPolicy() == Qt.FocusPolicy.StrongFocus
    turn_wheel(late, -1)
    assert late.currentText() == "a"
