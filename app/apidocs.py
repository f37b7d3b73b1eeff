"""Tools › API Docs: the project's API as a front-end developer reads it, and its export.

Shows the page runtime.docs makes from runtime.openapi's OpenAPI 3.1 document, and exports the
document (JSON) or the page (one self-contained HTML file) to hand to someone else.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from runtime.docs import render_docs_html
from runtime.openapi import build_openapi, dumps
from runtime.project import Project
from runtime.projectfile import write_atomic

# Where to save: (title, suggested file name, filter) -> path, or None when cancelled.
AskPath = Callable[[str, str, str], "str | None"]


def _ask_save(parent: QWidget) -> AskPath:
    def ask(title: str, suggested: str, filters: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(parent, title, suggested, filters)
        return path or None
    return ask


def _slug(name: str) -> str:
    words = "".join(c.lower() if c.isalnum() else "-" for c in name).strip("-")
    return "-".join(w for w in words.split("-") if w) or "api"


class ApiDocsDialog(QDialog):
    """The API docs of a project, with Export OpenAPI JSON, Export HTML page and Copy URL.

    `server_url` is the live server's base URL (e.g. http://127.0.0.1:8765), or None when it is
    not running; `folder` is where the export dialogs start (the project's folder). Call
    `set_project` when the project changes and `set_server_url` when the server moves."""

    def __init__(self, project: Project, server_url: str | None = None,
                 parent: QWidget | None = None, folder: str | Path | None = None):
        super().__init__(parent)
        self.setObjectName("apiDocs")
        self.resize(960, 760)
        self.project = project
        self.server_url = server_url
        self.folder = Path(folder) if folder else None
        self.spec: dict = {}
        self.ask_path: AskPath = _ask_save(self)
        self.tell: Callable[[str, str], None] = self._error_box

        self.browser = QTextBrowser(self)
        self.browser.setObjectName("apiDocsPage")
        self.browser.setOpenLinks(False)  # anchors scroll here; http links open in the browser
        self.browser.anchorClicked.connect(self._follow)
        # The page has its own light colours, whatever the editor's theme.
        self.browser.setStyleSheet("QTextBrowser { background: #ffffff; color: #1f2328; }")
        self.browser.document().setDocumentMargin(16)
        # Tables are as wide as the page and text wraps: a sideways scroll bar would only ever
        # move the page by a pixel or two.
        self.browser.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.export_json_button = QPushButton("Export OpenAPI JSON...", self)
        self.export_json_button.setToolTip("Save the OpenAPI 3.1 document (openapi.json) for "
                                           "client generators, Postman or Swagger UI")
        self.export_json_button.clicked.connect(lambda: self.export_json())
        self.export_html_button = QPushButton("Export HTML page...", self)
        self.export_html_button.setToolTip("Save this page as one HTML file that works offline")
        self.export_html_button.clicked.connect(lambda: self.export_html())
        self.copy_button = QPushButton("Copy URL", self)
        self.copy_button.clicked.connect(self.copy_url)
        self.status = QLabel(self)
        self.status.setObjectName("apiDocsStatus")
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)

        buttons = QHBoxLayout()
        buttons.addWidget(self.export_json_button)
        buttons.addWidget(self.export_html_button)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.status, 1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addLayout(buttons)
        self.refresh()

    # -- state ---------------------------------------------------------------------------------
    def docs_url(self) -> str | None:
        """The live server's docs page, when it runs."""
        return f"{self.server_url.rstrip('/')}/docs" if self.server_url else None

    def set_project(self, project: Project) -> None:
        """Show another project (or a new revision of this one), keeping the scroll position."""
        self.project = project
        self.refresh()

    def set_server_url(self, server_url: str | None) -> None:
        """The live server's base URL, or None when it stopped."""
        self.server_url = server_url
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the document and the page from the current project."""
        bar = self.browser.verticalScrollBar()
        position = bar.value()
        try:
            self.spec = build_openapi(self.project, self.server_url)
            page = render_docs_html(self.spec)
        except Exception as e:  # a half-edited project must not break the dialog
            self.spec = {}
            page = (f"<h2>The API docs could not be made</h2><p>{type(e).__name__}: {e}</p>"
                    "<p>Fix the problems listed in the Problems panel, then look again.</p>")
        self.browser.setHtml(page)
        bar.setValue(position)
        name = self.project.name or "Untitled"
        self.setWindowTitle(f"API Docs: {name}")
        url = self.docs_url()
        self.copy_button.setEnabled(url is not None)
        self.copy_button.setToolTip(f"Copy {url}" if url else "The live server is not running")
        self.export_json_button.setEnabled(bool(self.spec))
        self.export_html_button.setEnabled(bool(self.spec))
        count = len(self.project.endpoints)
        self.status.setText(f"{count} endpoint{'s' if count != 1 else ''}"
                            + (f" · served at {url}" if url else ""))

    # -- commands ------------------------------------------------------------------------------
    def copy_url(self) -> str | None:
        """Put the live docs page's URL on the clipboard."""
        url = self.docs_url()
        if url:
            QGuiApplication.clipboard().setText(url)
            self.status.setText(f"Copied {url}")
        return url

    def export_json(self, path: str | Path | None = None) -> Path | None:
        """Write the OpenAPI document (asks where when no path is given)."""
        return self._export(path, "Export OpenAPI JSON", "openapi.json",
                            "OpenAPI documents (*.json);;All files (*)", ".json", dumps)

    def export_html(self, path: str | Path | None = None) -> Path | None:
        """Write the docs page as one HTML file (asks where when no path is given)."""
        suggested = f"{_slug(self.project.name)}-api.html"
        return self._export(path, "Export API docs page", suggested,
                            "HTML pages (*.html);;All files (*)", ".html", render_docs_html)

    def _export(self, path, title: str, suggested: str, filters: str, suffix: str,
                make: Callable[[dict], str]) -> Path | None:
        if not self.spec:
            return None
        if path is None:
            start = str(self.folder / suggested) if self.folder else suggested
            path = self.ask_path(title, start, filters)
            if not path:
                return None
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(suffix)
        try:
            write_atomic(target, make(self.spec))
        except OSError as e:
            self.tell(title, f"Could not write {target}: {e.strerror or e}")
            return None
        self.folder = target.parent
        self.status.setText(f"Saved {target.name}")
        return target

    def _error_box(self, title: str, text: str) -> None:
        QMessageBox.critical(self, title, text)

    def _follow(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)
        elif url.hasFragment() and not url.path():
            self.browser.scrollToAnchor(url.fragment())
        elif url.toString().endswith("openapi.json"):
            self.export_json()  # no server to fetch it from: offer to save it instead
