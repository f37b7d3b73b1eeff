"""The Debug panel: the run paused at a breakpoint, every variable in its scope, the event's
pending inputs, and Step, Continue and Stop (the window's Run-menu actions)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.runpanel import JsonTree
from runtime.debugger import Paused
from runtime.renderer import to_json

IDLE = ("No run is paused. Select an event and press F9 for a breakpoint: requests sent from "
        "the Run panel (and runs from here) stop there; a front end's requests and schedules "
        "never do.")
WAITING = ("While this run is paused the live server keeps answering other requests. On "
           "SQLite a request that writes waits until this run ends (the paused run holds the "
           "write lock); Stop rolls back everything it wrote.")


def plain(value: Any) -> Any:
    """Values as JSON data (records, dates and decimals as the response would show them)."""
    return json.loads(to_json(value))


class DebugPanel(QWidget):
    """Shows `debugger.paused[0]`; the buttons act through the actions handed in."""

    def __init__(self, step: QAction, resume: QAction, stop: QAction,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.paused: Paused | None = None
        self.where = QLabel(IDLE)
        self.where.setObjectName("debugWhere")
        self.where.setWordWrap(True)
        self.where.setTextFormat(Qt.TextFormat.RichText)
        self.buttons: dict[str, QToolButton] = {}
        row = QHBoxLayout()
        for name, action in (("step", step), ("continue", resume), ("stop", stop)):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.buttons[name] = button
            row.addWidget(button)
        row.addStretch(1)
        self.variables = JsonTree()
        self.variables.setObjectName("debugVariables")
        self.variables.setHeaderLabels(["Variable", "Value"])
        self.inputs = JsonTree()
        self.inputs.setObjectName("debugInputs")
        self.inputs.setHeaderLabels(["Input", "Value"])
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.variables, "Variables in scope")
        self.tabs.addTab(self.inputs, "Pending inputs")
        self.tabs.setTabToolTip(1, "The event's inputs, computed; the event has not run yet")
        self.note = QLabel(WAITING)
        self.note.setObjectName("debugNote")
        self.note.setWordWrap(True)
        self.note.setEnabled(False)  # the muted colour of the theme
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.where)
        layout.addLayout(row)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.note)
        self.show_paused(None)

    def show_paused(self, paused: Paused | None, waiting: int = 0) -> None:
        """Show a paused run (None: nothing paused); `waiting`: how many more are paused."""
        self.paused = paused
        for widget in (self.tabs, self.note):
            widget.setVisible(paused is not None)
        if paused is None:
            self.where.setText(IDLE)
            self.variables.clear()
            self.inputs.clear()
            return
        more = f" ({waiting} more run{'s' if waiting != 1 else ''} paused)" if waiting else ""
        self.where.setText(f"Paused at <b>{_esc(paused.label)}</b> in action "
                           f"<b>{_esc(paused.action)}</b>{more}: it has not run yet")
        self.variables.show_value(plain(_ordered(paused.variables)))
        self.variables.collapseAll()  # names first; records open on a click
        self.inputs.show_value(plain(paused.inputs))

    def variable_names(self) -> list[str]:
        """The top-level names the variables tree shows."""
        return [self.variables.topLevelItem(i).text(0)
                for i in range(self.variables.topLevelItemCount())]


def _ordered(variables: dict[str, Any]) -> dict[str, Any]:
    """Named variables first (the newest outputs on top), then events' outputs by id
    ("#n1.response"), then the empty request groups."""
    def rank(item: tuple[int, tuple[str, Any]]) -> tuple[int, int]:
        i, (name, value) = item
        empty = value in ({}, [], None)
        return (2 if empty else 1 if name.startswith("#") else 0, -i)

    return dict(pair for _i, pair in sorted(enumerate(variables.items()), key=rank))


def _esc(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
