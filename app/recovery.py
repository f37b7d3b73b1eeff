"""Autosave to a recovery file, so a crash loses at most a few seconds of edits."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from app.document import Document
from runtime.projectfile import write_atomic

SUFFIX = ".recovery"
INTERVAL_MS = 30_000
DEBOUNCE_MS = 2_000


def new_key() -> str:
    """A name for the recovery file of a project that has no file yet."""
    return uuid.uuid4().hex[:12]


def unsaved_folder() -> Path:
    """Where recovery files of projects that have no file yet are kept."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    folder = Path(base) / "recovery"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def recovery_path(path: Path | None, key: str = "") -> Path:
    """The recovery file: hidden beside the project file, or in app data for unsaved ones."""
    if path is not None:
        return path.parent / f".{path.name}{SUFFIX}"
    return unsaved_folder() / f"untitled-{key}.actiongraph.json{SUFFIX}"


def pending(path: Path) -> Path | None:
    """A recovery file left beside `path` by a crash, when it is newer than the file itself."""
    candidate = recovery_path(Path(path))
    if not candidate.exists():
        return None
    try:
        if Path(path).exists() and candidate.stat().st_mtime < Path(path).stat().st_mtime:
            return None
    except OSError:
        return None
    return candidate


def orphans() -> list[Path]:
    """Recovery files of unsaved projects left by a crash, newest first."""
    found = unsaved_folder().glob(f"untitled-*{SUFFIX}")
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def when(path: Path) -> str:
    """A recovery file's time, for the question to the user."""
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime)
    return stamp.strftime("%H:%M on %d %b %Y")


class Autosave(QObject):
    """Writes the document's text to its recovery file every 30 s and shortly after edits."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS,
                 debounce_ms: int = DEBOUNCE_MS):
        super().__init__(parent)
        self.document: Document | None = None
        self.key = new_key()
        self.written: Path | None = None
        self._written_revision = -1
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.write_now)
        self.timer.start()
        self.soon = QTimer(self, interval=debounce_ms, singleShot=True)
        self.soon.timeout.connect(self.write_now)

    def attach(self, document: Document | None, adopted: Path | None = None) -> None:
        """Watch a document (None: stop). `adopted` is a recovery file it was restored from."""
        if self.document is not None:
            self.document.changed.disconnect(self._changed)
            self.document.pathChanged.disconnect(self._moved)
            self.document.undo.indexChanged.disconnect(self._changed)
        self.document = document
        self.written = adopted
        self._written_revision = -1
        if document is not None:
            document.changed.connect(self._changed)
            document.pathChanged.connect(self._moved)
            # Undo marks the stack clean only after `changed`: look again when the index moves.
            document.undo.indexChanged.connect(self._changed)

    @property
    def path(self) -> Path | None:
        """Where the current document's recovery file goes."""
        if self.document is None:
            return None
        return recovery_path(self.document.path, self.key)

    def _changed(self, _index: int = 0) -> None:
        if self.document is not None and not self.document.dirty:
            self.discard()  # saved, or undone back to the saved state
        else:
            self.soon.start()

    def _moved(self) -> None:
        # Saved under a new name: the old recovery file belongs to nobody now.
        self.discard()

    def write_now(self) -> Path | None:
        """Write the recovery file if there are unsaved edits not yet written; returns it."""
        doc = self.document
        if doc is None or not doc.dirty:
            return None
        target = self.path
        if self.written is not None and self.written != target:
            self._remove(self.written)
        if doc.revision != self._written_revision or self.written != target:
            write_atomic(target, doc.text())
            self._written_revision = doc.revision
        self.written = target
        return target

    def discard(self) -> None:
        """Remove the recovery file (after a save, or when closing on purpose)."""
        self.soon.stop()
        if self.written is not None:
            self._remove(self.written)
        self.written = None
        self._written_revision = -1

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
