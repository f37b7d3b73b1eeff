"""The editor base class and the small widgets every form editor shares."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import tree as ops
from app.document import Document
from app.theme import ICONS
from app.tree import Prompts

MODEL_KINDS = ("Model", "Custom Model")
RUN_SHORTCUT = "Ctrl+R"
RUN_TIP = f"Open the Run panel with dummy data for this endpoint ({RUN_SHORTCUT})"
RUN_NOW_TIP = f"Run this scheduled action once now, without waiting for its time ({RUN_SHORTCUT})"


class Editor(QWidget):
    """A tab editing one model, endpoint or action, found by id on every refresh."""

    section = ""
    titleChanged = Signal()
    runRequested = Signal(str)  # endpoint name: open the Run panel for it
    runNowRequested = Signal(str)  # action name: run a scheduled action once, now

    def __init__(self, document: Document, item_id: str, prompts: Prompts, theme=None,
                 parent=None):
        super().__init__(parent)
        self.document = document
        self.item_id = item_id
        self.prompts = prompts
        self.theme = theme
        self.bound = self.item
        self._updating = False
        self.setProperty("role", "form")
        # Ctrl+R (RUN_SHORTCUT) is the main window's Run action: it calls click_run from any
        # widget of the editor and from the project tree (a shortcut here would be ambiguous).

    def run_buttons(self) -> list[QPushButton]:
        """The editor's Run buttons (the shortcut clicks the one showing)."""
        return []

    def click_run(self) -> bool:
        """Click the visible, enabled Run button (Ctrl+R); False when there is none."""
        for button in self.run_buttons():
            if button.isVisibleTo(self) and button.isEnabled():
                button.click()
                return True
        return False

    @property
    def item(self) -> Any:
        """The edited object as the project holds it now (None once deleted)."""
        return ops.find(self.document.project, self.section, self.item_id)

    @property
    def stale(self) -> bool:
        """Whether the item is gone or was replaced (the tab must close or be rebuilt)."""
        return self.item is None or self.item is not self.bound

    def title(self) -> str:
        """The tab's text."""
        return self.item.name if self.item is not None else ""

    def refresh(self) -> None:
        """Show the item as it is now (after an edit, undo or redo)."""

    def restyle(self) -> None:
        """Pick up icons of the current colour scheme."""

    def _set_text(self, widget: QLineEdit, text: str) -> None:
        if widget.text() != text:
            widget.setText(text)
            if not widget.hasFocus():
                widget.setCursorPosition(0)  # show the start of long paths and names

    def _name_row(self, heading: str) -> tuple[QWidget, QLineEdit]:
        name = QLineEdit()
        name.setObjectName("name")
        name.editingFinished.connect(lambda: self._rename(name.text().strip()))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(heading)
        label.setProperty("role", "section")
        layout.addWidget(label)
        layout.addWidget(name, 1)
        return row, name

    def _rename(self, name: str) -> None:
        item = self.item
        if item is None or self._updating or not name or name == item.name:
            return
        ops.rename(self.document, self.section, item, name)


def _run_button(text: str, tip: str, theme) -> QPushButton:
    """A Run button, with the play icon when resources/icons has one."""
    button = QPushButton(text)
    button.setObjectName("run")
    button.setToolTip(tip)
    _run_icon(button, theme)
    return button


def _run_icon(button: QPushButton, theme) -> None:
    """The play icon in the current colour scheme (none when the icon set has no play.svg)."""
    if theme is not None and (ICONS / "play.svg").exists():
        button.setIcon(theme.icon("play"))


def _card(*widgets: QWidget, layout=None) -> QFrame:
    frame = QFrame()
    frame.setProperty("role", "card")
    box = layout or QVBoxLayout()
    box.setContentsMargins(14, 12, 14, 12)
    box.setSpacing(8)
    for w in widgets:
        box.addWidget(w)
    frame.setLayout(box)
    return frame


def fit_to_text(edit: QLineEdit, least: int = 160, most: int = 480) -> None:
    """Make a line edit at least as wide as its text (within bounds), so a name is not clipped."""
    margins = edit.textMargins()
    room = edit.fontMetrics().horizontalAdvance(edit.text() or edit.placeholderText()) + 24 \
        + margins.left() + margins.right()
    edit.setMinimumWidth(max(least, min(most, room)))


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "muted")
    return label
