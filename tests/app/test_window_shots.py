"""Pictures of the main states (welcome, each editor, dark theme) saved as test artifacts."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit

from app.editors import ActionEditor


def on_screen(widget) -> bool:
    """Shown and not covered: a dock behind another's tab stays "visible" to Qt, and is left
    short until its tab is chosen (then it grows)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def clipped(widget) -> list[str]:
    """Labels, buttons and line edits whose text does not fit their width or height."""
    out = []
    for w in widget.findChildren(QLabel) + widget.findChildren(QAbstractButton):
        if not on_screen(w) or not w.text() or getattr(w, "wordWrap", lambda: False)():
            continue
        hint = w.sizeHint()
        if w.width() < hint.width() - 1 or w.height() < w.minimumSizeHint().height() - 1:
            out.append(f"{type(w).__name__} {w.text()!r} {w.width()}x{w.height()} "
                       f"< {hint.width()}x{hint.height()}")
    for w in widget.findChildren(QLineEdit):
        if on_screen(w) and w.height() < w.minimumSizeHint().height() - 1:
            out.append(f"QLineEdit {w.text()!r} height {w.height()}")
    return out


def test_screenshots_of_the_main_states(window, posts_copy, theme, shot, qtbot):
    window.resize(1440, 900)
    shot(window, "welcome")
    assert clipped(window) == []

    window.open_file(posts_copy)
    window.open_item("models", "m1")
    shot(window, "model")
    assert clipped(window) == []
    window.open_item("endpoints", "e4")
    shot(window, "endpoint")
    assert clipped(window) == []
    editor = window.open_item("actions", "a4")
    assert isinstance(editor, ActionEditor)
    if editor.has_graph:
        editor.graph.select_event("n1")
    window.update_problems()
    shot(window, "action", readme="editor")
    assert clipped(window) == []

    editor = window.open_item("endpoints", "e3")
    variable = window.document.project.endpoint("Get post").variables[0]
    editor.variables.model.setData(editor.variables.model.index_of(variable, 1), "Id")
    window.update_problems()
    assert not editor.path_problem.isHidden() and window.problems.view.topLevelItemCount() >= 2
    shot(window, "problems")
    assert clipped(window) == []
    window.undo_action.trigger()

    theme.set_mode("dark")
    try:
        window.open_item("actions", "a4")
        shot(window, "action_dark", readme="editor-dark")
        window.open_item("endpoints", "e4")
        shot(window, "endpoint_dark")
        assert clipped(window) == []
    finally:
        theme.set_mode("light")
