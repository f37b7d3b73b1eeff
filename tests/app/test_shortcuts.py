"""Keyboard shortcuts on a real display: every one is in a menu and fires where a user presses
it (the project tree, the graph, a form); Ctrl+R and Ctrl+Enter in the README's order; the
View menu brings each dock to the front; Help › Keyboard Shortcuts is a searchable table."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget, QLineEdit, QTreeWidgetItem

from app.editors import ActionEditor
from app.live import free_port
from app.panels import PANELS
from app.shortcuts import ShortcutsDialog, menu_shortcuts
from app.tree import ID_ROLE

pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")


def press(widget, sequence: QKeySequence) -> None:
    """Press a key combination on a widget as a user's keyboard does (shortcut map first)."""
    combo = sequence[0]
    QTest.keyClick(widget, combo.key(), combo.keyboardModifiers())


def claims(widget, sequence: QKeySequence) -> bool:
    """Whether the focused widget keeps this key for itself (a text field's Ctrl+C)."""
    combo = sequence[0]
    event = QKeyEvent(QEvent.Type.ShortcutOverride, combo.key(), combo.keyboardModifiers())
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def tree_row(window, section: str, item_id: str) -> QTreeWidgetItem:
    top = window.tree.sections[section]
    return next(top.child(i) for i in range(top.childCount())
                if top.child(i).data(0, ID_ROLE) == item_id)


def test_every_shortcut_is_in_a_menu(window, posts_copy):
    assert window.open_file(posts_copy)
    listed = {s.action for s in menu_shortcuts(window.menuBar())}
    with_keys = [a for a in window.findChildren(QAction) if a.shortcuts() and a.isVisible()
                 and a.shortcutContext() != Qt.ShortcutContext.WidgetShortcut]
    assert with_keys, "the window has actions with shortcuts"
    unlisted = [a.text() for a in with_keys if a not in listed]
    assert unlisted == [], f"shortcuts that no menu shows: {unlisted}"
    keys = {s.keys for s in menu_shortcuts(window.menuBar())}
    for needed in ("Ctrl+R", "Ctrl+Return, Ctrl+Enter", "Tab", "Ctrl+Shift+P", "Ctrl+Shift+D"):
        assert needed in keys, needed


def test_every_shortcut_fires_from_the_tree_the_graph_and_a_form(window, posts_copy, qtbot):
    assert window.open_file(posts_copy)
    editor = window.current_editor()
    assert isinstance(editor, ActionEditor) and editor.has_graph
    window.live.show_dock("run")  # Send Request acts while the Run dock is shown
    shortcuts = [s for s in menu_shortcuts(window.menuBar())
                 if s.action.isEnabled()
                 and s.action.shortcutContext() != Qt.ShortcutContext.WidgetShortcut]
    fired: dict[str, int] = {}
    for s in shortcuts:
        # Count the key reaching the command, without running it (Quit, Close Project...).
        s.action.triggered.disconnect()
        s.action.triggered.connect(lambda _c=False, name=s.command: fired.__setitem__(
            name, fired.get(name, 0) + 1))
    form = editor.findChild(QLineEdit)
    places = {"tree": window.tree.tree, "graph": editor.graph.viewer, "form": form}
    missed = []
    for place, widget in places.items():
        for s in shortcuts:
            widget.setFocus()
            qtbot.waitUntil(widget.hasFocus, timeout=2000)
            sequence = s.action.shortcuts()[0]
            if claims(widget, sequence):
                continue  # the widget's own meaning (copy text, delete the selected node)
            before = fired.get(s.command, 0)
            press(widget, sequence)
            if fired.get(s.command, 0) != before + 1:
                missed.append(f"{s.keys} ({s.command}) from the {place}")
    assert missed == []


def test_the_graph_keeps_its_own_keys(window, posts_copy, qtbot):
    assert window.open_file(posts_copy)
    graph = window.current_graph()
    graph.select_event(next(iter(graph.action.events)))
    graph.viewer.setFocus()
    for key in (QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Paste, "Ctrl+D"):
        assert claims(graph.viewer, QKeySequence(key)), key
    count = len(graph.action.events)
    press(graph.viewer, QKeySequence("Ctrl+D"))
    assert len(graph.action.events) == count + 1  # duplicated, not deleted (X11's Ctrl+D)


def test_view_menu_brings_every_dock_to_the_front(window, posts_copy, qtbot):
    assert window.open_file(posts_copy)
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    titles = [a.text() for a in view.actions() if a.isCheckable()]
    assert titles == ["Problems", "Events", "Properties", "Run", "Data", "History", "Outbox",
                      "Tests", "Debug"]
    # one table makes every dock, its View-menu entry and its shortcut
    assert [(p.title, p.shortcut) for p in PANELS] == \
        [(a.text(), a.shortcut().toString()) for a in view.actions() if a.isCheckable()]
    assert sorted(d.objectName() for d in window.findChildren(QDockWidget)) == \
        sorted(p.name for p in PANELS)
    for name, key in (("data", "Ctrl+Shift+D"), ("log", "Ctrl+Shift+G"),
                      ("outbox", "Ctrl+Shift+O"), ("tests", "Ctrl+Shift+K"),
                      ("run", "Ctrl+Shift+R"),
                      ("problems", "Ctrl+Shift+P")):
        window.tree.tree.setFocus()
        press(window.tree.tree, QKeySequence(key))
        dock = window.dock(name)
        qtbot.waitUntil(lambda d=dock: d.isVisible() and not d.visibleRegion().isEmpty(),
                        timeout=2000)
        assert window.panel_actions[name].isChecked()
    # the same key again, with the dock in front and focused, puts it away
    data = window.dock("data")
    press(window.tree.tree, QKeySequence("Ctrl+Shift+D"))
    qtbot.waitUntil(lambda: data.isAncestorOf(QApplication.focusWidget()), timeout=2000)
    press(QApplication.focusWidget(), QKeySequence("Ctrl+Shift+D"))
    assert not data.isVisible() and not window.panel_actions["data"].isChecked()


async def test_ctrl_r_from_the_tree_then_ctrl_enter_sends(make_window, posts_copy, qtbot):
    """The README's order: select the action in the tree, Ctrl+R, then Ctrl+Enter at once."""
    QSettings().setValue("live/port", free_port(19400))
    window = make_window()
    assert window.open_file(str(posts_copy))
    await window.live._starting
    try:
        await _ctrl_r_then_ctrl_enter(window, qtbot)
    finally:
        await window.live.shutdown()


async def _ctrl_r_then_ctrl_enter(window, qtbot) -> None:
    assert window.live.server.running
    action = window.document.project.action("Update social media post")
    tree = window.tree.tree
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualItemRect(tree_row(window, "actions", action.id)).center())
    assert tree.hasFocus()
    press(tree, QKeySequence("Ctrl+R"))
    panel = window.live.run_panel
    assert window.live.docks["run"].isVisible()
    assert window.current_editor().item is action
    assert panel.url_edit.text().endswith("/v1/posts/1")
    records = []
    panel.ran.connect(records.append)
    press(QApplication.focusWidget() or tree, QKeySequence("Ctrl+Return"))
    deadline = asyncio.get_running_loop().time() + 5
    while not records:  # a nested Qt wait would stall qasync's loop: poll it instead
        assert asyncio.get_running_loop().time() < deadline, "Ctrl+Enter sent nothing"
        await asyncio.sleep(0.02)
    assert records[0].status in (200, 404)  # the seeded example answers 200 (tested apart)


def test_keyboard_shortcuts_is_a_searchable_table_of_the_menus(window, posts_copy, qtbot):
    assert window.open_file(posts_copy)
    window.actions["run"].trigger()  # nothing else listens: the menu action itself
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    help_menu.actions()[0].trigger()
    dialog = window.shortcuts_dialog
    assert isinstance(dialog, ShortcutsDialog)
    commands = dialog.visible_commands()
    for command in ("Run Endpoint or Action", "Send Request", "Add Event", "Problems", "Copy",
                    "Undo", "Keyboard Shortcuts"):
        assert command in commands, command
    qtbot.keyClicks(dialog.search, "ctrl+shift")
    shown = dialog.visible_commands()
    assert shown and all("Ctrl+Shift" in s.keys for s in dialog.shortcuts
                         if s.command in shown)
    assert "Run Endpoint or Action" not in shown
    dialog.search.clear()
    qtbot.keyClicks(dialog.search, "send")
    assert dialog.visible_commands() == ["Send Request"]
    assert dialog.count.text() == f"1 of {len(dialog.shortcuts)} shortcuts"
    dialog.close()
