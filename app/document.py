"""An open project in the editor: the runtime's Project, its file, one undo stack, its problems."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from runtime.compiler import Checked, check
from runtime.errors import Problem
from runtime.project import Project
from runtime.projectfile import dumps, load, save


class Edit(QUndoCommand):
    """A reversible edit of the project: `apply(True)` does it, `apply(False)` undoes it.

    Edits with the same `merge_key` pushed in a row merge into one (typing in a field)."""

    def __init__(self, document: Document, label: str, apply: Callable[[bool], None],
                 merge_key: Any = None):
        super().__init__(label)
        # A weak reference: the stack (a child of the document) owns this command, and a
        # strong one would make a cycle that Python's collector may free in an order that
        # leaves Qt deleting commands twice (a crash at exit).
        self._document = weakref.ref(document)
        self.apply = apply
        self.merge_key = merge_key

    @property
    def document(self) -> Document | None:
        """The document this edit belongs to (None once it is gone)."""
        return self._document()

    def redo(self) -> None:
        self.apply(True)
        if self.document is not None:
            self.document.touch()

    def undo(self) -> None:
        self.apply(False)
        if self.document is not None:
            self.document.touch()

    def id(self) -> int:
        return 1 if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, Edit) or other.merge_key != self.merge_key:
            return False
        first, second = self.apply, other.apply
        self.apply = lambda forward: (first(forward), second(forward)) if forward \
            else (second(forward), first(forward))
        return True


class Document(QObject):
    """The project being edited. Every change goes through `undo` (one stack per project)."""

    changed = Signal()  # after every edit, undo and redo
    pathChanged = Signal()

    def __init__(self, project: Project | None = None, path: Path | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.project = project or Project(name="Untitled")
        self.path = Path(path) if path else None
        self.undo = QUndoStack(self)
        self.revision = 0
        self._checked: tuple[int, Checked] | None = None

    @classmethod
    def open(cls, path: str | Path) -> Document:
        """Load a project file (raises runtime.errors.ProjectError with located problems)."""
        return cls(load(path), Path(path))

    # -- editing ---------------------------------------------------------------
    def edit(self, label: str, apply: Callable[[bool], None], merge_key: Any = None) -> None:
        """Push a reversible edit; it is applied at once."""
        self.undo.push(Edit(self, label, apply, merge_key))

    def set_attr(self, target: Any, name: str, value: Any, label: str | None = None,
                 merge: bool = False) -> None:
        """Set `target.name = value` as an undoable edit (no-op when unchanged)."""
        old = copy.deepcopy(getattr(target, name))
        if old == value:
            return
        new = copy.deepcopy(value)

        def apply(forward: bool) -> None:
            setattr(target, name, copy.deepcopy(new if forward else old))

        self.edit(label or f"Change {name}", apply, (id(target), name) if merge else None)

    def touch(self) -> None:
        """Mark the project changed (called by every edit)."""
        self.revision += 1
        self.changed.emit()

    # -- state -----------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """Whether there are unsaved edits."""
        return not self.undo.isClean()

    def title(self) -> str:
        """The file name (or project name) with a mark when unsaved."""
        name = self.path.name if self.path else f"{self.project.name} (not saved)"
        return f"{name}{' *' if self.dirty else ''}"

    def problems(self) -> list[Problem]:
        """The compiler's problems for the current revision (computed once per revision)."""
        return self.checked().problems

    def checked(self) -> Checked:
        """The one compile of the current revision: its problems and, when it has no error, its
        plan, made from a copy of the project that nobody edits (the live server serves it
        while the user keeps editing `project`)."""
        if self._checked is None or self._checked[0] != self.revision:
            self._checked = (self.revision, check(copy.deepcopy(self.project)))
        return self._checked[1]

    def text(self) -> str:
        """The project as file text."""
        return dumps(self.project)

    def save(self, path: str | Path | None = None) -> None:
        """Save atomically (to `path`, or the current file) and mark clean."""
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("no file name yet: use save(path)")
        save(self.project, target)
        if target != self.path:
            self.path = target
            self.pathChanged.emit()
        self.undo.setClean()
        self.changed.emit()
