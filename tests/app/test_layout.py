"""The window as a newcomer first sees it on a real display: no empty docks on the welcome page,
an opened project on its first action with the graph taking most of the window and the Run
dock one click away, disabled icons that look disabled, and no bright line in the dark theme."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QIcon
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTabBar, QToolButton

from app.editors import ActionEditor
from app.mainwindow import problem_summary


def docks(window):
    return [window.dock(name) for name in window.panel_actions]


def test_the_welcome_page_shows_no_docks(window, posts_copy, qtbot):
    assert [d.objectName() for d in docks(window) if d.isVisible()] == []
    assert window.open_file(posts_copy)
    shown = {d.objectName() for d in docks(window) if d.isVisible()}
    assert {"problems", "run", "data", "log", "outbox", "palette", "properties"} <= shown
    assert window.close_project()
    assert [d.objectName() for d in docks(window) if d.isVisible()] == []


def test_an_opened_project_shows_its_first_action_with_room_for_the_graph(window, posts_copy,
                                                                           qtbot):
    window.resize(1440, 900)
    assert window.open_file(posts_copy)
    editor = window.current_editor()
    assert isinstance(editor, ActionEditor) and editor.item.name == "List posts"
    graph = editor.graph.viewer
    qtbot.waitUntil(lambda: window.problems_dock.height() < 0.2 * window.height(), timeout=2000)
    assert graph.height() > 0.4 * window.height(), (graph.height(), window.height())
    # The Run dock is one click away: a tab beside Problems, which grows the strip.
    tabs = next(bar for bar in window.findChildren(QTabBar)
                if "Run" in [bar.tabText(i) for i in range(bar.count())])
    run_tab = next(i for i in range(tabs.count()) if tabs.tabText(i) == "Run")
    QTest.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(run_tab).center())
    run = window.live.docks["run"]
    qtbot.waitUntil(lambda: not run.visibleRegion().isEmpty(), timeout=2000)
    qtbot.waitUntil(lambda: run.height() > 0.35 * window.height(), timeout=2000)


def ink(icon: QIcon, mode: QIcon.Mode) -> QColor:
    """The average colour of an icon's opaque pixels."""
    image = icon.pixmap(24, 24, mode).toImage()
    r = g = b = n = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if c.alpha() > 128:
                r, g, b, n = r + c.red(), g + c.green(), b + c.blue(), n + 1
    assert n, "the icon has ink"
    return QColor(r // n, g // n, b // n)


def distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def test_disabled_toolbar_icons_fade_into_the_background(window, theme):
    for mode in ("light", "dark"):
        theme.set_mode(mode)
        background = QColor(theme.colors["window"])
        save = next(b for b in window.toolbar.findChildren(QToolButton)
                    if b.defaultAction() is window.actions["save"])
        assert not save.isEnabled()  # no project on the welcome page
        normal = ink(save.icon(), QIcon.Mode.Normal)
        disabled = ink(save.icon(), QIcon.Mode.Disabled)
        assert distance(disabled, background) < distance(normal, background) * 0.6, mode


def test_no_bright_line_above_the_editor_tabs_in_the_dark_theme(window, posts_copy, theme,
                                                                  qtbot):
    theme.set_mode("dark")
    assert window.open_file(posts_copy)
    qtbot.wait(50)
    tabs = window.tabs
    image = window.grab().toImage()
    top = tabs.mapTo(window, QPoint(0, 0))
    bright = [(x, y) for y in range(max(0, top.y() - 3), top.y() + 4)
              for x in range(top.x(), top.x() + tabs.width(), 3)
              if image.pixelColor(x, y).lightness() > 200]
    assert bright == []


def test_the_status_bar_counts_warnings_apart_from_problems(window, posts_copy):
    from runtime.errors import Problem

    assert problem_summary([]) == "No problems"
    assert problem_summary([Problem("a", "x"), Problem("b", "y", "warning"),
                            Problem("c", "z", "warning")]) == "1 problem, 2 warnings"
    assert window.open_file(posts_copy)
    action = window.document.project.action("List posts")
    window.graph_command("add_event", "query")  # on the graph, wired to nothing: a warning
    assert len(action.events) == 2
    window.update_problems()
    assert window.problem_count.text() == "2 warnings"  # not reached; no model chosen
