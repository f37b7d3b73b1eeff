"""File commands of the main window: new, open (with recovery), save, save as, export, export
for server, recent files. They act on the window's document through `window.set_document`."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings

from app import recovery
from app.document import Document
from runtime.deploy import DeployError, export_server
from runtime.errors import ProjectError
from runtime.project import Project
from runtime.projectfile import SUFFIX, load, loads, write_atomic

MAX_RECENT = 10


class FileCommands:
    """What the File menu does, for one main window (`window.files`)."""

    def __init__(self, window):
        self.window = window

    def confirm_close(self) -> bool:
        """Ask about unsaved edits; True when the project may be closed."""
        doc = self.window.document
        if doc is None or not doc.dirty:
            return True
        answer = self.window.prompts.save_changes(doc.path.name if doc.path else doc.project.name)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def close_project(self) -> bool:
        """Close the project (asking about unsaved edits) and show the welcome page."""
        if not self.confirm_close():
            return False
        self.window.autosave.discard()
        self.window.set_document(None)
        return True

    def new_project(self, template: str | None = None) -> bool:
        """Start an unsaved project, empty or copied from an example."""
        if template:
            try:
                project = load(template)
            except ProjectError as e:
                self._report(e, template)
                return False
        else:
            project = Project(name="Untitled")
        if not self.close_project():
            return False
        self.window.autosave.key = recovery.new_key()
        self.window.set_document(Document(project))
        self.window._open_first_item()
        return True

    def open_file(self, path: str | Path | None = None) -> bool:
        """Open a project file (asking which when no path); offers autosaved edits to recover."""
        if path is None:
            doc = self.window.document
            folder = str(doc.path.parent) if doc and doc.path \
                else QSettings().value("files/folder", "")
            path = self.window.prompts.open_path(folder)
            if not path:
                return False
        path = Path(path).absolute()
        try:
            document = Document.open(path)
        except ProjectError as e:
            self._report(e, path)
            return False
        if not self.close_project():
            return False
        QSettings().setValue("files/folder", str(path.parent))
        adopted = None
        pending = recovery.pending(path)
        if pending is not None:
            if self.window.prompts.recover(path.name, recovery.when(pending)):
                adopted = self._restore(document, pending)
            else:
                pending.unlink(missing_ok=True)
        self.window.set_document(document, adopted)
        self.window._open_first_item()
        self.add_recent(path)
        self.window.statusBar().showMessage(f"Opened {path.name}", 4000)
        return True

    def _restore(self, document: Document, source: Path) -> Path | None:
        """Apply a recovery file's project to a document as one undoable edit."""
        try:
            recovered = loads(source.read_text(encoding="utf-8"), str(source))
        except (OSError, ProjectError) as e:
            problems = e.problems if isinstance(e, ProjectError) else []
            self.window.prompts.error("Cannot recover", f"The recovery file {source} cannot be read.",
                               [str(p) for p in problems])
            return None
        project = document.project
        names = [f.name for f in dataclasses.fields(Project)]
        old = {n: getattr(project, n) for n in names}
        new = {n: getattr(recovered, n) for n in names}

        def apply(forward: bool) -> None:
            for n in names:
                setattr(project, n, (new if forward else old)[n])

        document.edit("Recover unsaved changes", apply)
        return source

    def recover_unsaved(self, source: Path) -> bool:
        """Reopen an unsaved project kept by autosave before a crash."""
        if not self.close_project():
            return False
        document = Document(Project(name="Untitled"))
        if self._restore(document, source) is None:
            return False
        key = source.name.removeprefix("untitled-").split(".", 1)[0]
        self.window.autosave.key = key
        self.window.set_document(document, source)
        return True

    def save(self) -> bool:
        """Save to the project's file (asking for one the first time)."""
        doc = self.window.document
        if doc is None:
            return False
        if doc.path is None:
            return self.save_as()
        if not doc.dirty and doc.path.exists():
            return True  # nothing changed: the file keeps its exact bytes
        return self._save_to(doc.path)

    def save_as(self) -> bool:
        """Save under a new file name; the project then lives there."""
        doc = self.window.document
        if doc is None:
            return False
        suggested = str(doc.path) if doc.path else str(
            Path(QSettings().value("files/folder", str(Path.home())))
            / f"{file_stem(doc.project.name)}{SUFFIX}")
        path = self.window.prompts.save_path("Save project as", suggested)
        return bool(path) and self._save_to(Path(path).absolute())

    def _save_to(self, path: Path) -> bool:
        try:
            self.window.document.save(path)
        except OSError as e:
            self.window.prompts.error("Cannot save", f"{path} could not be written: {e.strerror or e}")
            return False
        self.window.autosave.discard()
        self.add_recent(path)
        self.window.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

    def export(self) -> bool:
        """Write a copy of the project file elsewhere (the project stays where it is)."""
        doc = self.window.document
        if doc is None:
            return False
        name = doc.path.name if doc.path else f"{file_stem(doc.project.name)}{SUFFIX}"
        path = self.window.prompts.save_path("Export project file", str(Path.home() / name))
        if not path:
            return False
        try:
            write_atomic(Path(path), doc.text())
        except OSError as e:
            self.window.prompts.error("Cannot export", f"{path} could not be written: {e.strerror or e}")
            return False
        self.window.statusBar().showMessage(f"Exported to {path}", 4000)
        return True

    def export_for_server(self, folder: str | Path | None = None) -> list[Path]:
        """Write a deployment folder (project with secret references, pinned requirements,
        .env template, README with the gunicorn command); returns the files written."""
        doc = self.window.document
        if doc is None:
            return []
        name = doc.path.name if doc.path else f"{file_stem(doc.project.name)}{SUFFIX}"
        if folder is None:
            start = doc.path.parent if doc.path else Path.home()
            folder = self.window.prompts.folder("Export for server: new folder",
                                         str(start / f"{file_stem(doc.project.name)}-server"))
        if not folder:
            return []
        with tempfile.TemporaryDirectory(prefix="actiongraph-export-") as tmp:
            source = Path(tmp) / name  # what is in the editor now, saved or not
            source.write_text(doc.text(), encoding="utf-8")
            force = False
            target = Path(folder)
            if target.is_dir() and any(target.iterdir()):
                if not self.window.prompts.confirm(
                        "Export for server", f"{target} is not empty. Write the export over "
                        "the files there? (Other files are left alone.)", "Overwrite"):
                    return []
                force = True
            try:
                written = export_server(source, folder, force=force)
            except ProjectError as e:
                self.window.prompts.error("Cannot export for server",
                                   "The project has problems; fix them first (see Problems).",
                                   [str(p) for p in e.problems])
                return []
            except DeployError as e:
                self.window.prompts.error("Cannot export for server", str(e))
                return []
        self.window.statusBar().showMessage(f"Exported for server to {folder}", 6000)
        self.window.prompts.info("Export for server",
                          f"Wrote {len(written)} files to {folder}. Its README.md has the "
                          "commands; put the secrets of .env.example in the server's environment.",
                          [str(Path(p).relative_to(folder)) for p in written])
        return written

    def _report(self, error: ProjectError, path) -> None:
        count = len(error.problems)
        self.window.prompts.error(
            "Cannot open project",
            f"{Path(path).name} cannot be opened: {count} problem{'s' if count != 1 else ''}. "
            "The file was not changed.",
            [str(p) for p in error.problems])

    def recent_files(self) -> list[str]:
        """Recently opened project files, newest first."""
        value = QSettings().value("files/recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def add_recent(self, path: Path) -> None:
        """Put a file at the top of the recent list."""
        text = str(Path(path).absolute())
        recent = [text] + [p for p in self.recent_files() if p != text]
        QSettings().setValue("files/recent", recent[:MAX_RECENT])


def file_stem(name: str) -> str:
    """A file name made from a project name (`Social media posts` -> `social-media-posts`)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower()).strip("-") \
        or "project"
