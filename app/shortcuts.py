"""Help › Keyboard Shortcuts: a searchable table made from the window's own menu actions."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)


@dataclass(frozen=True)
class Shortcut:
    """One menu command with its keys: where it is in the menus, and what it does."""

    command: str
    keys: str
    menu: str
    tip: str
    action: QAction


def menu_shortcuts(bar: QMenuBar) -> list[Shortcut]:
    """Every menu action that has a shortcut, in menu order (submenus included)."""
    found: list[Shortcut] = []

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{path} › {_plain(action.text())}")
            elif not action.isSeparator() and action.shortcuts():
                keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                                 for k in action.shortcuts())
                found.append(Shortcut(_plain(action.text()), keys, path,
                                      action.statusTip() or "", action))

    for top in bar.actions():
        if top.menu() is not None:
            walk(top.menu(), _plain(top.text()))
    return found


def _plain(text: str) -> str:
    """A menu text without its mnemonic marker and trailing dots."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".")


class ShortcutsDialog(QDialog):
    """The keyboard shortcuts of every menu command, filtered as you type."""

    def __init__(self, bar: QMenuBar, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(620, 560)
        self.shortcuts = menu_shortcuts(bar)
        self.search = QLineEdit(placeholderText="Search commands or keys (e.g. run, Ctrl+Shift)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.table = QTableWidget(len(self.shortcuts), 3)
        self.table.setHorizontalHeaderLabels(["Command", "Keys", "Menu"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        for row, s in enumerate(self.shortcuts):
            for column, text in enumerate((s.command, s.keys, s.menu)):
                item = QTableWidgetItem(text)
                if s.tip:
                    item.setToolTip(s.tip)
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.count = QLabel()
        self.count.setProperty("role", "muted")
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count)
        self._filter("")
        self.search.setFocus(Qt.FocusReason.OtherFocusReason)

    def visible_commands(self) -> list[str]:
        """The commands the table shows now."""
        return [self.shortcuts[r].command for r in range(self.table.rowCount())
                if not self.table.isRowHidden(r)]

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        shown = 0
        for row, s in enumerate(self.shortcuts):
            haystack = f"{s.command} {s.keys} {s.menu} {s.tip}".lower()
            hidden = any(w not in haystack for w in words)
            self.table.setRowHidden(row, hidden)
            shown += not hidden
        self.count.setText(f"{shown} of {len(self.shortcuts)} shortcuts")
