"""The Problems list: the compiler's located problems; activating one jumps to its place."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from runtime.errors import Problem

_PLACE = re.compile(r'^(models|endpoints|actions)\["((?:[^"\\]|\\.)*)"\](.*)$')
_EVENT = re.compile(r'^\.events\["([^"]+)"\](.*)$')
_SECTION_WORDS = {"models": "Model", "endpoints": "Endpoint", "actions": "Action"}
PROBLEM_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class Place:
    """Where a problem is: a model/endpoint/action by name, maybe an event, and the rest."""

    section: str
    name: str
    event: str | None = None
    rest: str = ""


def place(problem: Problem) -> Place | None:
    """The item (and event) a problem's location names, or None for project-wide ones."""
    m = _PLACE.match(problem.where or "")
    if not m:
        return None
    section, name, rest = m.group(1), m.group(2).replace('\\"', '"'), m.group(3)
    e = _EVENT.match(rest) if section == "actions" else None
    if e:
        return Place(section, name, e.group(1), e.group(2).lstrip("."))
    return Place(section, name, None, rest.lstrip("."))


def describe(problem: Problem) -> str:
    """A problem's place in users' words, e.g. `Action "Update post" › event n1 › settings.as`."""
    p = place(problem)
    if p is None:
        return problem.where or "Project"
    text = f'{_SECTION_WORDS[p.section]} "{p.name}"'
    if p.event:
        text += f" › event {p.event}"
    if p.rest:
        text += f" › {p.rest}"
    return text


class ProblemsPanel(QWidget):
    """A list of problems; `activated` gives the clicked problem."""

    activated = Signal(object)  # Problem

    def __init__(self, theme=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.theme = theme
        self.problems: list[Problem] = []
        self.view = QTreeWidget()
        self.view.setColumnCount(2)
        self.view.setHeaderLabels(["Problem", "Where"])
        self.view.setRootIsDecorated(False)
        self.view.setAlternatingRowColors(True)
        self.view.setIconSize(QSize(16, 16))
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.view.setColumnWidth(1, 360)
        self.view.itemActivated.connect(self._activated)
        self.view.itemClicked.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(self.view)

    def show_problems(self, problems: list[Problem]) -> None:
        """Replace the list (kept as is when nothing changed, so the selection stays)."""
        if problems == self.problems:
            return
        self.problems = list(problems)
        self.view.clear()
        icons = {"error": self.theme.icon("error"),
                 "warning": self.theme.icon("error", self.theme.colors["warning"])} \
            if self.theme else {}
        for problem in problems:
            item = QTreeWidgetItem([problem.message, describe(problem)])
            item.setData(0, PROBLEM_ROLE, problem)
            item.setToolTip(0, f"{problem} (a warning: the action still runs)"
                            if problem.severity == "warning" else str(problem))
            item.setToolTip(1, problem.where)
            icon = icons.get(problem.severity)
            if icon is not None:
                item.setIcon(0, icon)
            self.view.addTopLevelItem(item)

    def restyle(self) -> None:
        """Pick up icons of the current colour scheme."""
        problems, self.problems = self.problems, []
        self.show_problems(problems)

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.activated.emit(item.data(0, PROBLEM_ROLE))
