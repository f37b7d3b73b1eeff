"""Fixtures for the editor: an isolated settings folder, a main window, scripted answers."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# Before Qt starts: nothing read from or written to the user's settings (the display is chosen
# in tests/conftest.py).
_HOME = Path(tempfile.mkdtemp(prefix="actiongraph-test-home-"))
os.environ["XDG_CONFIG_HOME"] = str(_HOME / "config")
os.environ["XDG_DATA_HOME"] = str(_HOME / "data")

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from app.tree import Prompts  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
SHOTS = Path(os.environ.get("ACTIONGRAPH_SHOTS", "/tmp/shots"))
README_SHOTS = Path(__file__).resolve().parents[2] / "resources" / "screenshots"


def pytest_asyncio_loop_factories(config, item):
    """Async editor tests run on qasync's loop, as the app does: Qt events and asyncio
    (the embedded server, HTTP clients) progress together while a test awaits."""
    return {"qt": _qt_loop}


def _qt_loop():
    from PySide6.QtWidgets import QApplication

    from app.eventloop import EditorLoop

    return EditorLoop(QApplication.instance() or QApplication([]))


class Answers(Prompts):
    """Prompts answered from lists the test fills in; errors are recorded, never shown."""

    def __init__(self):
        super().__init__(None)
        self.texts: list[str | None] = []
        self.choices: list[str | None] = []
        self.confirms: list[bool] = []
        self.saves: list[str] = []
        self.recovers: list[bool] = []
        self.paths: list[str | None] = []
        self.errors: list[tuple[str, str, list[str]]] = []
        self.infos: list[tuple[str, str, list[str]]] = []
        self.asked: list[str] = []

    def text(self, title, label, value=""):
        self.asked.append(title)
        return self.texts.pop(0)

    def choice(self, title, label, items, current=""):
        self.asked.append(title)
        answer = self.choices.pop(0)
        assert answer is None or answer in items, f"{answer!r} is not offered in {items}"
        return answer

    def confirm(self, title, text, action="Delete"):
        self.asked.append(title)
        return self.confirms.pop(0)

    def save_changes(self, name):
        self.asked.append("save changes")
        return self.saves.pop(0)

    def recover(self, name, when):
        self.asked.append("recover")
        return self.recovers.pop(0)

    def open_path(self, folder=""):
        return self.paths.pop(0)

    def save_path(self, title, suggested):
        return self.paths.pop(0)

    def error(self, title, text, details=None):
        self.errors.append((title, text, list(details or [])))

    def info(self, title, text, details=None):
        self.infos.append((title, text, list(details or [])))

    def folder(self, title, suggested=""):
        return self.paths.pop(0)


@pytest.fixture(scope="session")
def theme(qapp):
    """The application configured as `actiongraph open` does, with its theme applied."""
    from app.main import configure
    from app.theme import Theme

    configure(qapp)
    t = Theme(qapp)
    t.set_mode("light")
    return t


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, theme):
    """Fresh settings and a private folder for unsaved projects' recovery files, per test."""
    QSettings().clear()
    if theme.mode != "light":
        theme.set_mode("light")
    folder = tmp_path / "appdata-recovery"
    folder.mkdir()
    monkeypatch.setattr("app.recovery.unsaved_folder", lambda: folder)
    yield


@pytest.fixture
def make_window(qtbot, theme):
    """Build main windows with scripted prompts; closes (discarding edits) those still open."""
    from app.mainwindow import MainWindow

    made = []

    def make(crash: bool = False):
        """A new window; `crash=True` for one the test destroys without closing."""
        window = MainWindow(theme)
        window.prompts = Answers()
        if not crash:
            qtbot.addWidget(window, before_close_func=lambda w: _discard(w))
        show(qtbot, window)
        made.append(window)
        return window

    yield make


def show(qtbot, widget) -> None:
    """Show a window and make it the active one, as a user's click on it would: on a real
    display, shortcuts and key presses reach only the active window."""
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    widget.raise_()
    qtbot.waitUntil(widget.isActiveWindow, timeout=3000)


def _discard(window) -> None:
    window.prompts.saves = ["discard"] * 3


@pytest.fixture
def window(make_window):
    """A main window on the welcome page."""
    return make_window()


@pytest.fixture
def posts_copy(tmp_path) -> Path:
    """A copy of the posts example in a temporary folder."""
    target = tmp_path / "posts.actiongraph.json"
    shutil.copyfile(EXAMPLES / "posts.actiongraph.json", target)
    return target


@pytest.fixture
def shot(qtbot):
    """Save a picture of a widget as /tmp/shots/window_NAME.png (an artifact of the run)."""

    def take(widget, name: str, readme: str | None = None) -> Path:
        """`readme`: also the README's picture of that name when ACTIONGRAPH_README_SHOTS=1
        (the README's pictures are these, taken on the real display)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"window_{name}.png"
        qtbot.wait(50)  # let queued layout and repaint requests run first
        assert widget.grab().save(str(path))
        if readme and os.environ.get("ACTIONGRAPH_README_SHOTS") == "1":
            assert os.environ.get("QT_QPA_PLATFORM") == "xcb", "README pictures: a real display"
            assert widget.grab().save(str(README_SHOTS / f"{readme}.png"))
        return path

    return take


@pytest.fixture(scope="session", autouse=True)
def _release_the_clipboard():
    """Empty the clipboard before Qt shuts down: mime data Qt still owns at interpreter exit
    crashes the offscreen platform (a segfault after every test has passed)."""
    yield
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.clipboard().clear()
        app.processEvents()


@pytest.fixture(autouse=True)
def _clear_undo_stacks(monkeypatch):
    """Clear every document's undo stack after each test, while Python still holds all the
    commands: left to the garbage collector, a stack and its commands can be freed in an order
    that makes Qt delete a command twice (a segfault after the tests have passed)."""
    import weakref

    from app.document import Document

    made = weakref.WeakSet()
    original = Document.__init__

    def tracking_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.add(self)

    monkeypatch.setattr(Document, "__init__", tracking_init)
    yield
    from shiboken6 import Shiboken

    for document in list(made):
        if Shiboken.isValid(document) and Shiboken.isValid(document.undo):
            document.undo.clear()
