"""The page shown with no project open: new, open, recent files and example templates."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app import theme as looks

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
MAX_RECENT = 8


def examples() -> list[tuple[Path, str, str]]:
    """The example projects: (file, name, a one-line summary)."""
    out = []
    for path in sorted(EXAMPLES.glob("*.actiongraph.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        counts = [(len(data.get(k, [])), k[:-1]) for k in ("models", "endpoints", "actions")]
        summary = ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts)
        out.append((path, data.get("name", path.stem), summary))
    return out


class WelcomePage(QWidget):
    """New project, Open, recent files, example templates, and unsaved work to recover."""

    newRequested = Signal()
    openRequested = Signal(str)  # a path, or "" to ask for one
    templateRequested = Signal(str)
    recoverRequested = Signal(str)

    def __init__(self, theme=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.theme = theme
        self.setProperty("role", "form")
        self.logo = QLabel()
        self.logo.setFixedSize(56, 56)
        title = QLabel("Actiongraph")
        title.setProperty("role", "title")
        subtitle = QLabel("Design back-end actions visually; run them on a real HTTP server.")
        subtitle.setProperty("role", "muted")
        subtitle.setWordWrap(True)
        head = QHBoxLayout()
        head.setSpacing(14)
        head.addWidget(self.logo, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        words.setSpacing(2)
        words.addWidget(title)
        words.addWidget(subtitle)
        head.addLayout(words, 1)

        self.new_button = QPushButton("New project")
        self.new_button.setProperty("primary", True)
        self.new_button.clicked.connect(self.newRequested)
        self.open_button = QPushButton("Open...")
        self.open_button.clicked.connect(lambda: self.openRequested.emit(""))
        start = QHBoxLayout()
        start.setSpacing(8)
        start.addWidget(self.new_button)
        start.addWidget(self.open_button)
        start.addStretch(1)

        self.recover_box = QVBoxLayout()
        self.recover_box.setSpacing(4)
        self.recent_box = QVBoxLayout()
        self.recent_box.setSpacing(2)
        self.examples_box = QGridLayout()
        self.examples_box.setSpacing(10)

        column = QVBoxLayout()
        column.setSpacing(10)
        column.addLayout(head)
        column.addSpacing(10)
        column.addLayout(start)
        column.addLayout(self.recover_box)
        column.addSpacing(8)
        column.addWidget(_heading("Recent"))
        column.addLayout(self.recent_box)
        column.addSpacing(8)
        column.addWidget(_heading("Examples: start from a template"))
        column.addLayout(self.examples_box)
        column.addStretch(1)
        body = QWidget()
        body.setMaximumWidth(760)
        body.setLayout(column)
        centred = QWidget()
        outer = QHBoxLayout(centred)
        outer.setContentsMargins(32, 40, 32, 32)
        outer.addStretch(1)
        outer.addWidget(body, 12)
        outer.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(centred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self._fill_examples()
        self.restyle()

    def restyle(self) -> None:
        """Icons for the current colour scheme."""
        self.logo.setPixmap(looks.logo().pixmap(QSize(56, 56), self.devicePixelRatioF()))
        if self.theme:
            self.new_button.setIcon(looks.icon("new", self.theme.colors["accent_text"]))
            self.open_button.setIcon(self.theme.icon("open"))

    def set_recent(self, paths: list[str]) -> None:
        """Show the recently opened files (missing ones left out)."""
        _clear(self.recent_box)
        shown = [p for p in paths if Path(p).exists()][:MAX_RECENT]
        if not shown:
            self.recent_box.addWidget(_muted("No recent projects yet."))
        for p in shown:
            button = _link(f"{Path(p).name}", str(Path(p).parent))
            button.clicked.connect(lambda _=False, path=p: self.openRequested.emit(path))
            self.recent_box.addWidget(button)

    def set_recoverable(self, files: list[tuple[str, str]]) -> None:
        """Offer unsaved projects kept by autosave before a crash: (file, label)."""
        _clear(self.recover_box)
        for path, label in files:
            button = QPushButton(f"Recover unsaved project: {label}")
            button.clicked.connect(lambda _=False, p=path: self.recoverRequested.emit(p))
            self.recover_box.addWidget(button)

    def _fill_examples(self) -> None:
        for i, (path, name, summary) in enumerate(examples()):
            card = QPushButton()
            card.setProperty("flat", False)
            card.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            card.setText(f"{name}\n{summary}")
            card.setMinimumHeight(56)
            card.setToolTip(f"A new project copied from {path.name}")
            card.setStyleSheet("text-align: left; padding: 8px 12px;")
            card.clicked.connect(lambda _=False, p=str(path): self.templateRequested.emit(p))
            self.examples_box.addWidget(card, i // 2, i % 2)


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "heading")
    return label


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "muted")
    return label


def _link(text: str, folder: str) -> QPushButton:
    button = QPushButton(f"{text}    {folder}")
    button.setProperty("flat", True)
    button.setToolTip(str(Path(folder) / text))
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def _clear(layout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().deleteLater()
