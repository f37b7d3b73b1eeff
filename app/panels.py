"""The docks of the main window, from one table: adding a panel is one `Panel` entry here plus
its widget (handed to `build_docks` by name)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
MOVABLE = QDockWidget.DockWidgetFeature.DockWidgetMovable
FLOATABLE = QDockWidget.DockWidgetFeature.DockWidgetFloatable
CLOSABLE = QDockWidget.DockWidgetFeature.DockWidgetClosable


@dataclass(frozen=True)
class Panel:
    """One dock: its name (object name), title, place, View-menu shortcut and features."""

    name: str
    title: str
    area: Qt.DockWidgetArea
    shortcut: str
    features: QDockWidget.DockWidgetFeature = MOVABLE | FLOATABLE | CLOSABLE


# In View-menu order. Bottom panels share one tabbed strip (Problems in front); the Events and
# Properties panels sit on the right while an action graph is open.
PANELS = (
    Panel("problems", "Problems", BOTTOM, "Ctrl+Shift+P", MOVABLE | CLOSABLE),
    Panel("palette", "Events", RIGHT, "Ctrl+Alt+E", MOVABLE | FLOATABLE),
    Panel("properties", "Properties", RIGHT, "Ctrl+Alt+P", MOVABLE | FLOATABLE),
    Panel("run", "Run", BOTTOM, "Ctrl+Shift+R"),
    Panel("data", "Data", BOTTOM, "Ctrl+Shift+D"),
    Panel("log", "History", BOTTOM, "Ctrl+Shift+G"),
    Panel("outbox", "Outbox", BOTTOM, "Ctrl+Shift+O"),
    Panel("tests", "Tests", BOTTOM, "Ctrl+Shift+K"),  # app/testspanel.py
    Panel("debug", "Debug", RIGHT, "Ctrl+Shift+B"),  # shown when a run pauses (app.debugging)
)


def build_docks(window: QMainWindow, widgets: dict[str, QWidget | None]
                ) -> dict[str, QDockWidget]:
    """A dock for each panel whose name is in `widgets` (a None widget is set later), placed
    as the table says; bottom docks tabbed together with the first one in front."""
    docks: dict[str, QDockWidget] = {}
    first: dict[Qt.DockWidgetArea, QDockWidget] = {}
    for panel in PANELS:
        if panel.name not in widgets:
            continue
        dock = QDockWidget(panel.title, window)
        dock.setObjectName(panel.name)
        dock.setFeatures(panel.features)
        if widgets[panel.name] is not None:
            dock.setWidget(widgets[panel.name])
        window.addDockWidget(panel.area, dock)
        if panel.area == BOTTOM and BOTTOM in first:
            window.tabifyDockWidget(first[BOTTOM], dock)
        first.setdefault(panel.area, dock)
        docks[panel.name] = dock
    if BOTTOM in first:
        first[BOTTOM].raise_()
    return docks
