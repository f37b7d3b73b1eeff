"""The Run panel: send a request to the live server inside the editor and read its answer.

The panel talks to any `server` object with `base_url` (None when not serving),
`record(tag)` (the server's RunRecord of a request sent with TAG_HEADER) and a
`requestLogged` signal; it builds requests from an endpoint's saved examples or dummy data,
sends them with aiohttp without blocking the editor, and shows status, body, headers, the rows
the action changed, and a history of this session's requests.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import html
import io
import json
import shlex
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot
from shiboken6 import Shiboken
from sqlalchemy.exc import SQLAlchemyError
from yarl import URL

from app.tree import Prompts
from runtime.dummy import Dummy, fill_rows, record_fields, to_http
from runtime.errors import ActionError
from runtime.kinds import KindError, json_default
from runtime.paths import path_template
from runtime.project import METHODS, Endpoint, Example, Project
from runtime.runs import RunRecord
from runtime.server import DRY_RUN_HEADER, TAG_HEADER

HISTORY_SIZE = 50
BODY_METHODS = ("POST", "PUT", "PATCH")  # the request opens on the Body tab for these
BODY_LINES = 12  # lines of the body editor visible at least
FILL_ROWS = 10  # rows the Fill offer adds to an empty table
CHANGE_COLUMN_MAX = 360  # px; a longer value in the Changes tab is elided in the middle
TIMEOUT = 120.0  # seconds the panel waits for an answer (the server bounds each run itself)
FILE_KEY = "file"  # a multipart example keeps a File variable as {"file": "/path/to/file"}
NOT_SERVING = "The live server is not running: start it to send requests."
VALUE = Qt.ItemDataRole.UserRole  # the Python value behind a JSON tree row
FALLBACK = {"ok": "#2b9a66", "warning": "#c27400", "error": "#dc3e42", "muted": "#60646c",
            "faint": "#8b8d98", "accent": "#5b5bd6", "alt": "#f8f9fa", "border": "#dcdee3"}


class RequestError(Exception):
    """The request as typed cannot be sent (e.g. the body is not valid JSON)."""


# -- what is sent --------------------------------------------------------------------------------

@dataclass
class Outgoing:
    """One request exactly as the panel sends it (the history re-sends it unchanged)."""

    method: str
    path: str  # path and query string, encoded, relative to the server's base URL
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None  # JSON text as typed
    form: list[tuple[str, str, bool]] | None = None  # multipart: (name, text or file path, is file)
    dry_run: bool = False
    endpoint: str | None = None

    def all_headers(self) -> list[tuple[str, str]]:
        """Headers as sent, with the content type and dry-run flag (not the panel's tag)."""
        headers = list(self.headers)
        names = {k.lower() for k, _ in headers}
        if self.body is not None and "content-type" not in names:
            headers.append(("Content-Type", "application/json"))
        if self.dry_run:
            headers.append((DRY_RUN_HEADER, "1"))
        return headers

    def curl(self, base_url: str) -> str:
        """A runnable curl command for this request (POSIX shell quoting)."""
        parts = ["curl", "-X", self.method, base_url.rstrip("/") + self.path]
        for name, value in self.all_headers():
            parts += ["-H", f"{name}: {value}"]
        if self.body is not None:
            parts += ["--data-raw", self.body]
        for name, value, is_file in self.form or []:
            # --form-string sends text as it is (-F would read "@..." and "<..." as files).
            parts += ["-F", f"{name}=@{value}"] if is_file else ["--form-string", f"{name}={value}"]
        return " ".join(shlex.quote(p) for p in parts)


@dataclass
class Answer:
    """What came back: status, headers, body bytes, time, and the server's record of the run."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    content_type: str
    ms: float
    record: RunRecord | None = None
    request: Outgoing | None = None  # what was sent (Save as Test keeps it)

    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON data (raises ValueError when it is not JSON)."""
        return json.loads(self.body)


@dataclass
class HistoryEntry:
    """One request of this session: when, what, and how it went (status None: no answer)."""

    started: float
    request: Outgoing
    status: int | None
    ms: float


# -- small widgets -------------------------------------------------------------------------------

class KeyValueTable(QTableWidget):
    """Name/value rows with one empty row at the end for adding; File rows get a chooser."""

    def __init__(self, key_label: str = "Name", parent: QWidget | None = None):
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels([key_label, "Value", ""])
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.setColumnWidth(0, 160)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.itemChanged.connect(self._keep_empty_row)
        self.fill([])

    def fill(self, rows: list[tuple[str, str, bool]]) -> None:
        """Replace the rows: (name, value, is a file)."""
        self.blockSignals(True)
        self.setRowCount(0)
        for name, value, is_file in rows:
            self._append(name, value, is_file)
        self._append("", "", False)
        self.blockSignals(False)
        self._update_columns()

    def rows(self) -> list[tuple[str, str, bool]]:
        """The rows with a name: (name, value, is a file)."""
        out = []
        for row in range(self.rowCount()):
            name = (self.item(row, 0).text() if self.item(row, 0) else "").strip()
            value = self.item(row, 1).text() if self.item(row, 1) else ""
            if name:
                out.append((name, value, bool(self.item(row, 0).data(VALUE))))
        return out

    def set_value(self, name: str, value: str) -> None:
        """Set the value of the row called `name` (adding it when missing)."""
        for row in range(self.rowCount()):
            if self.item(row, 0) and self.item(row, 0).text() == name:
                self.item(row, 1).setText(value)
                return
        self.fill([*self.rows(), (name, value, False)])

    def _update_columns(self) -> None:
        """The chooser column only when a row is a File."""
        files = any(self.item(r, 0) and self.item(r, 0).data(VALUE) for r in range(self.rowCount()))
        self.setColumnHidden(2, not files)

    def _append(self, name: str, value: str, is_file: bool) -> None:
        row = self.rowCount()
        self.insertRow(row)
        key = QTableWidgetItem(name)
        key.setData(VALUE, is_file)
        self.setItem(row, 0, key)
        self.setItem(row, 1, QTableWidgetItem(value))
        if is_file:
            key.setFlags(key.flags() & ~Qt.ItemFlag.ItemIsEditable)
            button = QToolButton(self)
            button.setText("Choose…")
            button.setToolTip(f"Choose the file to send as {name}")
            button.clicked.connect(lambda _=False, r=row: self._choose(r))
            self.setCellWidget(row, 2, button)

    def _choose(self, row: int) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file to send")
        if path:
            self.item(row, 1).setText(path)

    def _keep_empty_row(self, item: QTableWidgetItem) -> None:
        last = self.rowCount() - 1
        if item.row() == last and item.text().strip():
            self.blockSignals(True)
            self._append("", "", False)
            self.blockSignals(False)


class JsonTree(QTreeWidget):
    """JSON data as a tree: objects and arrays fold, leaves show their JSON text."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels(["Key", "Value"])
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.muted = FALLBACK["muted"]

    def show_value(self, value: Any) -> None:
        """Show a JSON value; small documents open fully, big ones two levels deep."""
        self.clear()
        root = self.invisibleRootItem()
        if isinstance(value, (dict, list)):
            self._children(root, value)
        else:
            self._add(root, "", value)
        if self._count(value) <= 200:
            self.expandAll()
        else:
            self.expandToDepth(1)

    def find(self, key: str) -> list[QTreeWidgetItem]:
        """Every row whose key is `key` (at any depth)."""
        found = []
        stack = [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        while stack:
            item = stack.pop(0)
            if item.text(0) == key:
                found.append(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        return found

    def _children(self, parent: QTreeWidgetItem, value: Any) -> None:
        pairs = value.items() if isinstance(value, dict) else ((f"[{i}]", v) for i, v in
                                                                enumerate(value))
        for key, child in pairs:
            self._add(parent, str(key), child)

    def _add(self, parent: QTreeWidgetItem, key: str, value: Any) -> None:
        item = QTreeWidgetItem(parent, [key, ""])
        item.setData(1, VALUE, value)
        if isinstance(value, dict):
            item.setText(1, f"{{ {len(value)} key{'s' if len(value) != 1 else ''} }}")
            item.setForeground(1, _brush(self.muted))
            self._children(item, value)
        elif isinstance(value, list):
            item.setText(1, f"[ {len(value)} item{'s' if len(value) != 1 else ''} ]")
            item.setForeground(1, _brush(self.muted))
            self._children(item, value)
        else:
            item.setText(1, json.dumps(value, ensure_ascii=False))
            item.setToolTip(1, item.text(1)[:2000])

    def _count(self, value: Any) -> int:
        if isinstance(value, dict):
            return 1 + sum(self._count(v) for v in value.values())
        if isinstance(value, list):
            return 1 + sum(self._count(v) for v in value)
        return 1


def _brush(color: str) -> QBrush:
    return QBrush(QColor(color))


def _mono() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _text(value: Any) -> str:
    """A value as a query, header or form field is typed: text as it is, others as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, default=json_default, ensure_ascii=False)


# -- the panel -----------------------------------------------------------------------------------

class RunPanel(QWidget):
    """Send requests to the live server and read the answers (the editor's Run dock)."""

    ran = Signal(object)  # the server's RunRecord after each send
    filled = Signal(str)  # a model the Fill offer added rows to
    testWanted = Signal(object, object)  # Save as Test: the RunRecord and the Outgoing sent

    def __init__(self, theme=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("RunPanel")
        self.theme = theme
        self.prompts = Prompts(self)
        self.server = None
        self.document = None
        self.endpoint_id: str | None = None
        self.history: list[HistoryEntry] = []
        self.answer: Answer | None = None
        self.sending = False
        self._session: aiohttp.ClientSession | None = None
        self._path_values: dict[str, Any] = {}
        self._dummy_path = False  # the path holds made-up values (not an example's)
        self._empty_model: str | None = None  # the model the Fill offer fills
        self._build()
        # The server starts and stops outside the panel: keep Send's state current while shown.
        self._watch = QTimer(self)
        self._watch.setInterval(1000)
        self._watch.timeout.connect(self.refresh_server_state)
        if theme is not None:
            theme.changed.connect(self.restyle)
        self.restyle()
        self.refresh_server_state()

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.endpoint_box = QComboBox()
        self.endpoint_box.setMinimumContentsLength(16)
        self.endpoint_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.endpoint_box.setPlaceholderText("No endpoints")
        self.endpoint_box.setToolTip("The endpoint to call")
        self.endpoint_box.activated.connect(
            lambda i: self.show_endpoint(self._endpoint_at(i).name) if self._endpoint_at(i) else None)
        self.examples_box = QComboBox()
        self.examples_box.setPlaceholderText("Examples")
        self.examples_box.setToolTip("Load a saved example request of this endpoint")
        self.examples_box.setMinimumContentsLength(10)
        self.examples_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.examples_box.activated.connect(lambda i: self.load_example(self.examples_box.itemText(i)))
        self.dummy_button = QPushButton("New dummy data")
        self.dummy_button.setToolTip("Fill the request with fresh made-up values")
        self.dummy_button.clicked.connect(self.new_dummy_data)
        self.save_button = QPushButton("Save as example…")
        self.save_button.setToolTip("Keep this request in the project file as an example")
        self.save_button.clicked.connect(lambda: self.save_example())

        self.method_box = QComboBox()
        self.method_box.addItems(METHODS)
        self.method_box.setToolTip("HTTP method")
        self.base_label = QLabel()
        self.base_label.setObjectName("RunBase")
        self.base_label.setMaximumWidth(180)
        self.url_edit = QLineEdit()
        self.url_edit.setFont(_mono())
        self.url_edit.setPlaceholderText("/path")
        self.url_edit.setToolTip("The path with its variables filled in (editable)")
        self.url_edit.returnPressed.connect(self._send_clicked)
        self.send_button = QPushButton("Send")
        self.send_button.setProperty("primary", True)
        self.send_button.setToolTip("Send the request (Ctrl+Enter)")
        self.send_button.clicked.connect(self._send_clicked)
        self.curl_button = QPushButton("Copy as curl")
        self.curl_button.setToolTip("Copy a curl command for this request to the clipboard")
        self.curl_button.clicked.connect(self.copy_as_curl)

        self.query_table = KeyValueTable("Name")
        self.header_table = KeyValueTable("Header")
        self.body_edit = QPlainTextEdit()
        self.body_edit.setFont(_mono())
        self.body_edit.setPlaceholderText("JSON body (empty: no body)")
        self.body_edit.setTabChangesFocus(False)
        # Room for a dozen lines of JSON, whatever the dock's default height.
        self.body_edit.setMinimumHeight(self.body_edit.fontMetrics().lineSpacing() * BODY_LINES
                                        + 2 * self.body_edit.frameWidth() + 8)
        self.form_table = KeyValueTable("Field")
        self.body_stack = QStackedWidget()
        self.body_stack.addWidget(self.body_edit)
        self.body_stack.addWidget(self.form_table)
        self.history_list = QTreeWidget()
        self.history_list.setHeaderLabels(["Time", "Method", "Path", "Status", "ms"])
        self.history_list.setRootIsDecorated(False)
        self.history_list.setUniformRowHeights(True)
        self.history_list.setAlternatingRowColors(True)
        self.history_list.header().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.history_list.header().setStretchLastSection(False)
        self.history_list.setToolTip("Double-click to send a request again, exactly as it was")
        self.history_list.itemDoubleClicked.connect(self._history_clicked)
        self.request_tabs = QTabWidget()
        self.request_tabs.setDocumentMode(True)
        self.request_tabs.addTab(self.query_table, "Query")
        self.request_tabs.addTab(self.header_table, "Headers")
        self.request_tabs.addTab(self.body_stack, "Body")
        self.request_tabs.addTab(self.history_list, "History")
        self.dry_run_box = QCheckBox("Dry run (roll back)")
        self.dry_run_box.setToolTip("Run the action, then roll back everything it wrote")
        self.notice = QLabel()
        self.notice.setObjectName("RunNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()

        top = QHBoxLayout()
        top.addWidget(self.endpoint_box, 1)
        top.addWidget(self.examples_box)
        line = QHBoxLayout()
        line.setSpacing(4)
        line.addWidget(self.method_box)
        line.addWidget(self.base_label)
        line.addWidget(self.url_edit, 1)
        line.addWidget(self.send_button)
        options = QHBoxLayout()
        options.addWidget(self.dry_run_box)
        options.addStretch(1)
        options.addWidget(self.dummy_button)
        options.addWidget(self.save_button)
        options.addWidget(self.curl_button)
        request = QWidget()
        rl = QVBoxLayout(request)
        rl.setContentsMargins(8, 8, 4, 8)
        rl.addLayout(top)
        rl.addLayout(line)
        rl.addWidget(self.notice)
        rl.addWidget(self.request_tabs, 1)
        rl.addLayout(options)

        self.status_label = QLabel("No request sent yet")
        self.status_label.setObjectName("RunStatus")
        self.time_label = QLabel()
        self.size_label = QLabel()
        self.rollback_label = QLabel()
        self.raw_box = QCheckBox("Raw")
        self.raw_box.setToolTip("Show the body as the server sent it")
        self.raw_box.toggled.connect(self._show_body)
        self.test_button = QPushButton("Save as Test…")
        self.test_button.setToolTip("Keep this request in the project's tests, expecting what "
                                    "it answered and changed (Tests dock)")
        self.test_button.clicked.connect(self.save_as_test)
        self.test_button.setEnabled(False)
        for label in (self.status_label, self.time_label, self.size_label):
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        status = QHBoxLayout()
        status.addWidget(self.status_label)
        status.addWidget(self.time_label)
        status.addWidget(self.size_label)
        status.addWidget(self.rollback_label)
        status.addStretch(1)
        status.addWidget(self.raw_box)
        status.addWidget(self.test_button)
        self.error_banner = QLabel()
        self.error_banner.setObjectName("RunError")
        self.error_banner.setWordWrap(True)
        self.error_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_banner.hide()
        self.fill_offer = QPushButton()
        self.fill_offer.setObjectName("RunFillOffer")
        self.fill_offer.setToolTip("Add rows of dummy data to the empty table, then Send again")
        self.fill_offer.clicked.connect(self._fill_clicked)
        self.fill_offer.hide()
        self.json_tree = JsonTree()
        self.csv_table = QTableWidget()
        self.csv_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.csv_table.setAlternatingRowColors(True)
        self.html_view = QTextBrowser()
        self.html_view.setOpenLinks(False)
        self.raw_view = QPlainTextEdit()
        self.raw_view.setReadOnly(True)
        self.raw_view.setFont(_mono())
        self.body_view = QStackedWidget()
        for w in (self.raw_view, self.json_tree, self.csv_table, self.html_view):
            self.body_view.addWidget(w)
        self.headers_view = QTableWidget(0, 2)
        self.headers_view.setHorizontalHeaderLabels(["Header", "Value"])
        self.headers_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.headers_view.verticalHeader().setVisible(False)
        self.headers_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changes_label = QLabel("Send a request to see the rows it changes.")
        self.changes_label.setWordWrap(True)
        self.changes_tree = QTreeWidget()
        self.changes_tree.setHeaderLabels(["Change", "Before", "After"])
        self.changes_tree.setUniformRowHeights(True)
        self.changes_tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        changes = QWidget()
        cl = QVBoxLayout(changes)
        cl.setContentsMargins(0, 6, 0, 0)
        cl.addWidget(self.changes_label)
        cl.addWidget(self.changes_tree, 1)
        self.response_tabs = QTabWidget()
        self.response_tabs.setDocumentMode(True)
        self.response_tabs.addTab(self.body_view, "Body")
        self.response_tabs.addTab(self.headers_view, "Headers")
        self.response_tabs.addTab(changes, "Changes")
        response = QWidget()
        sl = QVBoxLayout(response)
        sl.setContentsMargins(4, 8, 8, 8)
        sl.addLayout(status)
        sl.addWidget(self.error_banner)
        offer = QHBoxLayout()
        offer.addWidget(self.fill_offer)
        offer.addStretch(1)
        sl.addLayout(offer)
        sl.addWidget(self.response_tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(request)
        self.splitter.addWidget(response)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self._shown = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        # One action for Ctrl+Enter: a main window hosting the panel puts this same action in
        # its Run menu with a window-wide context (two shortcuts on one key would cancel out).
        self.send_action = QAction("&Send Request", self)
        self.send_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.send_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.send_action.setStatusTip("Send the Run panel's request to the live server")
        self.send_action.triggered.connect(lambda _checked=False: self.send_button.click())
        self.addAction(self.send_action)
        self._enable_request(False)

    def sizeHint(self) -> QSize:
        return QSize(960, 380)

    def resizeEvent(self, event) -> None:
        # Side by side when docked wide (bottom), request above response when docked tall (side).
        tall = event.size().height() > event.size().width() * 0.9
        self.splitter.setOrientation(Qt.Orientation.Vertical if tall else Qt.Orientation.Horizontal)
        super().resizeEvent(event)

    def showEvent(self, event) -> None:
        if not self._shown:  # the first time: request and response share the width (or height)
            self._shown = True
            self.splitter.setSizes([1000, 1000])
        self.refresh_server_state()
        self._watch.start()
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        self._watch.stop()
        super().hideEvent(event)

    def restyle(self) -> None:
        """Apply the theme's colours to the panel's own labels."""
        c = self.colors
        self.json_tree.muted = c["muted"]
        self.base_label.setStyleSheet(f"color: {c['muted']};")
        for label in (self.time_label, self.size_label, self.changes_label):
            label.setStyleSheet(f"color: {c['muted']};")
        self.rollback_label.setStyleSheet(f"color: {c['warning']}; font-weight: 600;")
        self.notice.setStyleSheet(f"color: {c['error']}; font-weight: 600;")
        if self.answer is not None:
            self._show_status(self.answer)

    @property
    def colors(self) -> dict[str, str]:
        """The theme's colours (a light default without a theme)."""
        return self.theme.colors if self.theme is not None else FALLBACK

    # -- wiring ------------------------------------------------------------------------------
    def set_server(self, server) -> None:
        """Send to this server (an object with base_url, record(tag) and requestLogged)."""
        self.server = server
        self.refresh_server_state()

    def set_document(self, document) -> None:
        """Show the endpoints of this document; saving an example edits it."""
        if self.document is not None:
            try:
                self.document.changed.disconnect(self._document_changed)
            except (RuntimeError, TypeError):
                pass
        self.document = document
        self.endpoint_id = None
        if document is not None:
            document.changed.connect(self._document_changed)
        self._fill_endpoints()
        first = self._endpoint_at(0)
        if first is not None:
            self.show_endpoint(first.name)
        else:
            self._enable_request(False)

    @property
    def project(self) -> Project | None:
        """The document's project (None without a document)."""
        return self.document.project if self.document is not None else None

    @property
    def endpoint(self) -> Endpoint | None:
        """The endpoint selected in the panel."""
        project = self.project
        if project is None or self.endpoint_id is None:
            return None
        return next((e for e in project.endpoints if e.id == self.endpoint_id or
                     not e.id and e.name == self.endpoint_id), None)

    def refresh_server_state(self) -> None:
        """Enable Send only while the server serves (call it when the server starts or stops)."""
        base = self.base_url
        self.base_label.setText(base or "(not serving)")
        self.base_label.setToolTip(base or NOT_SERVING)
        ready = base is not None and self.endpoint is not None and not self.sending
        self.send_button.setEnabled(ready)
        if base is None:
            self.send_button.setToolTip(NOT_SERVING)
        elif self.endpoint is None:
            self.send_button.setToolTip("Choose an endpoint first")
        else:
            self.send_button.setToolTip("Send the request (Ctrl+Enter)")

    @property
    def base_url(self) -> str | None:
        """The server's base URL, or None when it is not serving."""
        return getattr(self.server, "base_url", None) if self.server is not None else None

    def _fill_endpoints(self) -> None:
        self.endpoint_box.blockSignals(True)
        self.endpoint_box.clear()
        for e in self.project.endpoints if self.project else []:
            self.endpoint_box.addItem(f"{e.method} {e.path}  {e.name}", e.id or e.name)
        self.endpoint_box.blockSignals(False)
        self._select_in_box()

    def _select_in_box(self) -> None:
        index = self.endpoint_box.findData(self.endpoint_id) if self.endpoint_id else -1
        self.endpoint_box.setCurrentIndex(index)

    def _endpoint_at(self, index: int) -> Endpoint | None:
        project = self.project
        if project is None or not 0 <= index < len(project.endpoints):
            return None
        return project.endpoints[index]

    def _document_changed(self) -> None:
        self._fill_endpoints()
        if self.endpoint is None:  # deleted (or undone away): nothing left to send
            first = self._endpoint_at(0)
            if first is not None:
                self.show_endpoint(first.name)
            else:
                self.endpoint_id = None
                self._enable_request(False)
        else:
            self._fill_examples()
        self.refresh_server_state()

    def _enable_request(self, on: bool) -> None:
        for w in (self.examples_box, self.dummy_button, self.save_button, self.method_box,
                  self.url_edit, self.request_tabs, self.curl_button):
            w.setEnabled(on)
        self.refresh_server_state()

    # -- filling the request ------------------------------------------------------------------
    def show_endpoint(self, name: str) -> None:
        """Select an endpoint and fill the request from its first example, or dummy data."""
        project = self.project
        endpoint = project.endpoint(name) if project is not None else None
        if endpoint is None:
            self._say(f'There is no endpoint called "{name}".')
            return
        self.endpoint_id = endpoint.id or endpoint.name
        self._select_in_box()
        self._enable_request(True)
        self.method_box.setCurrentText(endpoint.method)
        self.body_stack.setCurrentWidget(self.form_table if endpoint.request_type == "multipart"
                                         else self.body_edit)
        self._fill_examples()
        self.request_tabs.setCurrentWidget(self.body_stack if endpoint.method in BODY_METHODS
                                           else self.query_table)
        if endpoint.examples:
            self.load_example(endpoint.examples[0].name)
        else:
            self.new_dummy_data()

    def new_dummy_data(self) -> None:
        """Fill the request with fresh dummy values for the endpoint's variables."""
        endpoint = self.endpoint
        if endpoint is None:
            return
        data = Dummy().request(endpoint, self.project)
        has_body = any(v.location == "body" for v in endpoint.variables)
        # The body as the server reads it: Model variables spread on its top level.
        body = to_http(endpoint, data)["json"] if has_body else None
        self._fill(data["path"], data["query"], data["header"], body)
        self._dummy_path = True
        self.examples_box.setCurrentIndex(-1)

    async def use_existing_records(self) -> dict[str, Any]:
        """Put ids of records that exist in the live database into the path variables that
        name records (`{id}` of `PUT /v1/posts/{id}`), unless the path was typed or comes from
        an example, or its record exists; returns the values put in. Send does it first."""
        endpoint, store = self.endpoint, getattr(self.server, "store", None)
        if endpoint is None or store is None or not self._dummy_path or \
                self.url_edit.text() != self._path(endpoint.path, self._path_values):
            return {}
        found: dict[str, Any] = {}
        for variable, (model, field_name) in record_fields(endpoint, self.project).items():
            if model not in store.metadata.tables:
                continue
            try:
                async with store.transaction(writes=False) as tx:
                    values = [v for v in await tx.column(model, field_name, limit=20)
                              if v is not None]
            except (ActionError, SQLAlchemyError, OSError):
                continue  # the path keeps its dummy value
            if values and self._path_values.get(variable) not in values:
                found[variable] = values[0]
        if not Shiboken.isValid(self):
            return found  # the panel went while the database answered
        template = self._path(endpoint.path, self._path_values)
        if found and self.endpoint is endpoint and self.url_edit.text() == template:
            self._path_values.update(found)  # only while the user has not edited the path
            self.url_edit.setText(self._path(endpoint.path, self._path_values))
        return found

    def load_example(self, name: str) -> None:
        """Fill the request from the endpoint's saved example called `name`."""
        endpoint = self.endpoint
        example = endpoint.example(name) if endpoint is not None else None
        if example is None:
            self._say(f'The endpoint has no example called "{name}".')
            return
        self._fill(example.path, example.query, example.header, copy.deepcopy(example.body))
        self.examples_box.setCurrentIndex(self.examples_box.findText(name))

    def fill_recorded(self, endpoint_name: str | None, request: dict) -> bool:
        """Fill the request from a recorded run's (History's Open Request): its path, query,
        the endpoint's header variables and the body; False when its endpoint is gone."""
        project = self.project
        endpoint = project.endpoint(endpoint_name) if project is not None and endpoint_name \
            else None
        if endpoint is None:
            self._say(f'The endpoint "{endpoint_name}" of that run no longer exists.')
            return False
        self.show_endpoint(endpoint.name)
        self.method_box.setCurrentText(request.get("method") or endpoint.method)
        self._dummy_path = False
        self.url_edit.setText(request.get("path") or "/")
        self.query_table.fill([(k, _text(v), False) for k, v in (request.get("query") or {}).items()])
        wanted = {v.name.replace("_", "-").lower() for v in endpoint.variables
                  if v.location == "header"} | {"authorization"}
        self.header_table.fill([(k, str(v), False) for k, v in (request.get("headers") or {}).items()
                                if k.lower() in wanted])
        body = request.get("body")
        if endpoint.request_type == "multipart":
            self.form_table.fill([(k, _text(v), False) for k, v in body.items()]
                                 if isinstance(body, dict) else [])
        else:
            self.body_edit.setPlainText("" if body is None else body if isinstance(body, str) else
                                        json.dumps(body, indent=2, ensure_ascii=False,
                                                   default=json_default))
        self.examples_box.setCurrentIndex(-1)
        self._say("")
        return True

    def _fill_examples(self) -> None:
        endpoint = self.endpoint
        current = self.examples_box.currentText()
        self.examples_box.blockSignals(True)
        self.examples_box.clear()
        for x in endpoint.examples if endpoint else []:
            self.examples_box.addItem(x.name)
        self.examples_box.setCurrentIndex(self.examples_box.findText(current) if current else -1)
        self.examples_box.setPlaceholderText("Examples" if self.examples_box.count() else "No examples")
        self.examples_box.blockSignals(False)

    def _fill(self, path: dict, query: dict, header: dict, body: Any) -> None:
        endpoint = self.endpoint
        self._say("")
        self._dummy_path = False
        self._path_values = dict(path)
        self.url_edit.setText(self._path(endpoint.path, path))
        self.query_table.fill([(k, _text(v), False) for k, v in query.items()])
        # Header variables are named with underscores; the header itself uses dashes.
        self.header_table.fill([(k.replace("_", "-"), _text(v), False) for k, v in header.items()])
        if endpoint.request_type == "multipart":
            files = {v.name for v in endpoint.variables if v.location == "body" and v.kind == "File"}
            rows = []
            for k, v in (body or {}).items() if isinstance(body, dict) else []:
                if k in files:
                    rows.append((k, str(v.get(FILE_KEY) or "") if isinstance(v, dict) else "", True))
                else:
                    rows.append((k, _text(v), False))
            for k in sorted(files - {r[0] for r in rows}):
                rows.append((k, "", True))
            self.form_table.fill(rows)
            self.body_edit.clear()
        else:
            self.form_table.fill([])
            self.body_edit.setPlainText("" if body is None else
                                        json.dumps(body, indent=2, ensure_ascii=False,
                                                   default=json_default))

    @staticmethod
    def _path(template: str, values: dict) -> str:
        return path_template(template).format(values, quoted=False, text=lambda v: str(_text(v)))

    # -- reading the request ------------------------------------------------------------------
    def build_request(self) -> Outgoing:
        """The request as typed; raises RequestError naming what is wrong."""
        endpoint = self.endpoint
        if endpoint is None:
            raise RequestError("Choose an endpoint first.")
        path = self.url_edit.text().strip() or "/"
        if not path.startswith("/"):
            path = "/" + path
        url = URL(path)
        pairs = [(k, v) for k, v, _ in self.query_table.rows()]
        if pairs:
            url = url.extend_query(pairs)
        headers = [(k, v) for k, v, _ in self.header_table.rows()]
        body = form = None
        if endpoint.request_type == "multipart":
            form = self.form_table.rows()
            for name, value, is_file in form:
                if is_file and value and not Path(value).is_file():
                    raise RequestError(f'Body field "{name}": no such file: {value}')
            form = [f for f in form if f[1] or not f[2]]
        else:
            text = self.body_edit.toPlainText()
            if text.strip():
                try:
                    json.loads(text)
                except json.JSONDecodeError as e:
                    self._point_at(e.pos)
                    raise RequestError(f"The body is not valid JSON: line {e.lineno}, column {e.colno}: "
                                       f"{e.msg}.") from None
                body = text
        return Outgoing(self.method_box.currentText(), str(url), headers, body, form,
                        self.dry_run_box.isChecked(), endpoint.name)

    def current_example(self, name: str) -> Example:
        """The request as typed, as an example (raises RequestError like build_request)."""
        request = self.build_request()
        endpoint = self.endpoint
        path_only = self.url_edit.text().strip().split("?", 1)[0]
        found = path_template(endpoint.path).match(path_only)
        path = {k: _parse(URL(v).path if "%" in v else v) for k, v in found.items()} \
            if found is not None else dict(self._path_values)
        query = dict((k, v) for k, v, _ in self.query_table.rows())
        header = dict((k, v) for k, v, _ in self.header_table.rows())
        if request.form is not None:
            body: Any = {k: ({FILE_KEY: v} if is_file else v) for k, v, is_file in request.form}
        else:
            body = json.loads(request.body) if request.body is not None else None
        return Example(name, path, query, header, body)

    def _point_at(self, pos: int) -> None:
        """Show the body editor with the cursor where the JSON goes wrong."""
        self.request_tabs.setCurrentWidget(self.body_stack)
        cursor = self.body_edit.textCursor()
        cursor.setPosition(min(pos, len(self.body_edit.toPlainText())))
        self.body_edit.setTextCursor(cursor)
        self.body_edit.setFocus()

    # -- examples ------------------------------------------------------------------------------
    def save_example(self, name: str | None = None) -> Example | None:
        """Save the request as an example of the endpoint (one undoable edit; same name replaces)."""
        endpoint = self.endpoint
        if endpoint is None or self.document is None:
            return None
        if name is None:
            suggested = self.examples_box.currentText() or f"Example {len(endpoint.examples) + 1}"
            name = self.prompts.text("Save as example", f'Name of the example of "{endpoint.name}":',
                                     suggested)
            if not name:
                return None
        try:
            example = self.current_example(name)
        except RequestError as e:
            self._say(str(e))
            return None
        examples = [x for x in endpoint.examples if x.name != name]
        at = next((i for i, x in enumerate(endpoint.examples) if x.name == name), len(examples))
        examples.insert(at, example)
        self.document.set_attr(endpoint, "examples", examples, label=f'Save example "{name}"')
        self._fill_examples()
        self.examples_box.setCurrentIndex(self.examples_box.findText(name))
        self._say("")
        return example

    # -- sending -------------------------------------------------------------------------------
    def copy_as_curl(self) -> str | None:
        """Put a curl command for the request on the clipboard, and return it."""
        try:
            request = self.build_request()
        except RequestError as e:
            self._say(str(e))
            return None
        command = request.curl(self.base_url or "http://127.0.0.1:8765")
        QGuiApplication.clipboard().setText(command)
        self._say("")
        return command

    def save_as_test(self) -> bool:
        """Hand the last answer's run and request on to be kept as a test (app.testspanel)."""
        answer = self.answer
        if answer is None or answer.record is None or answer.request is None:
            return False
        self.testWanted.emit(answer.record, answer.request)
        return True

    @asyncSlot()
    async def _send_clicked(self) -> None:
        if self.send_button.isEnabled():
            await self.send()

    async def send(self) -> RunRecord | None:
        """Send the request as typed; returns the server's record of it (None if not sent).
        The window's Ctrl+Enter calls this."""
        await self.use_existing_records()
        try:
            request = self.build_request()
        except RequestError as e:
            self._say(str(e))
            return None
        return await self.send_request(request)

    async def rerun(self, index: int) -> RunRecord | None:
        """Send a request of the history again, exactly as it was (0 is the newest)."""
        return await self.send_request(self.history[index].request)

    async def send_request(self, request: Outgoing) -> RunRecord | None:
        """Send one request, show the answer, add it to the history, emit `ran`."""
        base = self.base_url
        if base is None:
            self._say(NOT_SERVING)
            return None
        if self.sending:
            self._say("A request is still on its way; wait for its answer.")
            return None
        self._say("")
        self.sending = True
        self.send_button.setText("Sending…")
        self.status_label.setText("Sending…")
        self.status_label.setStyleSheet(f"color: {self.colors['muted']};")
        self.refresh_server_state()
        started = time.time()
        answer = None
        try:
            answer = await self._exchange(base, request)
        except (aiohttp.ClientConnectorError, ConnectionError) as e:
            self._say(f"Cannot reach the live server at {base} ({_reason(e)}). Is it still running?")
        except TimeoutError:
            self._say(f"No answer from {base} within {TIMEOUT:.0f} seconds.")
        except aiohttp.ClientError as e:
            self._say(f"The request failed: {_reason(e)}.")
        except OSError as e:  # a multipart file that cannot be read
            self._say(f"Cannot read {e.filename or 'a file'}: {e.strerror or e}.")
        finally:
            self.sending = False
            self.send_button.setText("Send")
            self.refresh_server_state()
        self._remember(HistoryEntry(started, request, answer.status if answer else None,
                                    answer.ms if answer else (time.time() - started) * 1000))
        if answer is None:
            self.status_label.setText("No answer")
            self.status_label.setStyleSheet(f"color: {self.colors['error']}; font-weight: 600;")
            return None
        answer.request = request
        self.show_answer(answer)
        if answer.status == 404:
            await self._offer_fill()
        if answer.record is not None:
            self.ran.emit(answer.record)
        return answer.record

    # -- an empty table ------------------------------------------------------------------------
    async def _offer_fill(self) -> None:
        """After a 404: when the table the path names a record of is empty, offer to fill it."""
        endpoint, store = self.endpoint, getattr(self.server, "store", None)
        if endpoint is None or store is None:
            return
        for model, _field in dict.fromkeys(record_fields(endpoint, self.project).values()):
            if model not in store.metadata.tables:
                continue
            try:
                async with store.transaction(writes=False) as tx:
                    empty = not await tx.count(model)
            except (ActionError, SQLAlchemyError, OSError):
                continue
            if empty:
                self._empty_model = model
                self.fill_offer.setText(f"Fill {model} with {FILL_ROWS} dummy rows")
                self.fill_offer.show()
                return

    @asyncSlot()
    async def _fill_clicked(self) -> None:
        await self.fill_empty_model()

    async def fill_empty_model(self) -> int:
        """Add dummy rows to the empty table the Fill offer names, then put an existing id in
        the path; returns how many rows were added."""
        name, store = self._empty_model, getattr(self.server, "store", None)
        model = store.models.get(name) if store is not None and name else None
        if model is None:
            return 0
        self.fill_offer.setEnabled(False)
        try:
            async with store.transaction() as tx:
                added = await fill_rows(tx, model, self.project, FILL_ROWS, Dummy())
        except (ActionError, KindError, SQLAlchemyError, OSError) as e:
            self._say(f"Could not fill {name}: {e}")
            return 0
        finally:
            self.fill_offer.setEnabled(True)
        self.fill_offer.hide()
        self._empty_model = None
        await self.use_existing_records()
        self._say("")
        self.status_label.setText(f"Added {added} rows to {name}: press Send")
        self.status_label.setStyleSheet(f"color: {self.colors['muted']};")
        self.filled.emit(name)
        return added

    async def _exchange(self, base: str, request: Outgoing) -> Answer:
        tag = uuid.uuid4().hex
        headers = [*request.all_headers(), (TAG_HEADER, tag)]
        data: Any = None
        if request.body is not None:
            data = request.body.encode("utf-8")
        elif request.form is not None:
            data = aiohttp.FormData()
            for name, value, is_file in request.form:
                if is_file:
                    content = await asyncio.to_thread(Path(value).read_bytes)
                    data.add_field(name, content, filename=Path(value).name)
                else:
                    data.add_field(name, value)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        url = URL(base.rstrip("/") + request.path, encoded=True)
        clock = time.perf_counter()
        async with self._session.request(request.method, url, headers=headers, data=data) as r:
            body = await r.read()
            ms = (time.perf_counter() - clock) * 1000
            answer = Answer(r.status, r.reason or "", list(r.headers.items()), body,
                            r.content_type, ms)
        record = getattr(self.server, "record", None)
        answer.record = record(tag) if record is not None else None
        return answer

    async def close_client(self) -> None:
        """Close the panel's HTTP session (await it before the loop stops).

        Not `close`: that is QWidget.close, which docks and pytest-qt call to close the widget.
        Touches no Qt object, so it may run after the widget is gone."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the answer ----------------------------------------------------------------------------
    def show_answer(self, answer: Answer) -> None:
        """Show status, body, headers and changes of an answer."""
        self.answer = answer
        self.test_button.setEnabled(answer.record is not None and answer.record.endpoint is not None)
        self.fill_offer.hide()
        self._show_status(answer)
        self.headers_view.setRowCount(0)
        for name, value in answer.headers:
            row = self.headers_view.rowCount()
            self.headers_view.insertRow(row)
            self.headers_view.setItem(row, 0, QTableWidgetItem(name))
            self.headers_view.setItem(row, 1, QTableWidgetItem(value))
        self._show_error(answer)
        self._show_body()
        self._show_changes(answer.record, answer.status)

    def _show_status(self, answer: Answer) -> None:
        c = self.colors
        color = (c["ok"] if 200 <= answer.status < 300 else c["warning"] if 400 <= answer.status < 500
                 else c["error"] if answer.status >= 500 else c["muted"])
        self.status_label.setText(f"{answer.status} {answer.reason}".strip())
        self.status_label.setStyleSheet(
            f"background: {color}; color: white; font-weight: 700; border-radius: 4px; padding: 2px 8px;")
        self.status_label.setProperty("status_color", color)
        self.time_label.setText(f"{answer.ms:.0f} ms")
        self.size_label.setText(_size(len(answer.body)))
        record = answer.record
        self.rollback_label.setText("rolled back (dry run)" if record is not None and record.dry_run
                                    else "")

    def _show_error(self, answer: Answer) -> None:
        data = None
        if answer.status >= 400 and answer.content_type == "application/json":
            try:
                data = answer.json()
            except ValueError:
                data = None
        if not isinstance(data, dict) or "error" not in data:
            self.error_banner.hide()
            self.error_banner.clear()
            return
        message = str(data["error"])
        lines = [f"<b>{_html(message)}</b>"]
        if data.get("event"):
            lines.append("Failed in " + _html(self._event_name(data.get("action"), data["event"],
                                                               data.get("event_kind"))))
        for f in data.get("fields") or []:
            if isinstance(f, dict):
                name, text = str(f.get("field", "")), str(f.get("message", ""))
                if f"{name}: {text}" not in message:  # the message often lists them already
                    lines.append(f"<b>{_html(name)}</b>: {_html(text)}")
        color = self.colors["error"] if answer.status >= 500 else self.colors["warning"]
        self.error_banner.setStyleSheet(f"background: {color}; color: white; border-radius: 6px; "
                                        "padding: 8px 10px;")
        self.error_banner.setText("<br>".join(lines))
        self.error_banner.show()

    def _event_name(self, action_name: str | None, event_id: str, kind: str | None = None) -> str:
        """An event as users know it: 'event n1 (update: "Update the post caption")'."""
        action = self.project.action(action_name) if self.project and action_name else None
        event = action.events.get(event_id) if action else None
        kind = kind or (event.kind if event else None)
        detail = ", ".join(x for x in (kind, f'"{event.description}"' if event and event.description
                                       else "") if x)
        return f"event {event_id}" + (f" ({detail})" if detail else "")

    def _show_body(self) -> None:
        answer = self.answer
        if answer is None:
            return
        text = answer.text()
        kind = answer.content_type
        self.raw_view.setPlainText(text)
        if self.raw_box.isChecked() or not answer.body:
            if not answer.body:
                self.raw_view.setPlainText("(no body)")
            self.body_view.setCurrentWidget(self.raw_view)
            return
        if kind == "application/json" or kind.endswith("+json"):
            try:
                data = answer.json()
            except ValueError:
                self.body_view.setCurrentWidget(self.raw_view)
                return
            self.raw_view.setPlainText(json.dumps(data, indent=2, ensure_ascii=False))
            self.json_tree.show_value(data)
            self.body_view.setCurrentWidget(self.json_tree)
        elif kind == "text/csv":
            rows = list(csv.reader(io.StringIO(text)))
            header, rows = (rows[0], rows[1:]) if rows else ([], [])
            self.csv_table.clear()
            self.csv_table.setColumnCount(len(header))
            self.csv_table.setHorizontalHeaderLabels(header)
            self.csv_table.setRowCount(len(rows))
            for r, row in enumerate(rows):
                for col, value in enumerate(row[: len(header)]):
                    self.csv_table.setItem(r, col, QTableWidgetItem(value))
            self.body_view.setCurrentWidget(self.csv_table)
        elif kind == "text/html":
            self.html_view.setHtml(text)
            self.body_view.setCurrentWidget(self.html_view)
        else:
            self.body_view.setCurrentWidget(self.raw_view)

    def _show_changes(self, record: RunRecord | None, status: int) -> None:
        self.changes_tree.clear()
        changes = list(record.changes) if record is not None else []
        if record is None:
            self.changes_label.setText("The server kept no record of this request.")
            return
        rolled = ("Rolled back (dry run): nothing was kept." if record.dry_run else
                  "Rolled back: the action failed, nothing was kept." if status >= 400 and changes
                  else "")
        if not changes:
            self.changes_label.setText(rolled or "No rows were changed.")
            return
        self.changes_label.setText(rolled or f"{len(changes)} row{'s' if len(changes) != 1 else ''} "
                                             "changed.")
        groups: list[tuple[str, list]] = []
        seen: set[int] = set()
        for step in record.trace or []:
            if step.changes:
                name = self._event_name(record.action, step.id, step.kind)
                groups.append((name[:1].upper() + name[1:], list(step.changes)))
                seen.update(id(c) for c in step.changes)
        rest = [c for c in changes if id(c) not in seen]
        if rest:
            groups.append(("Rows written" if not groups else "Other rows", rest))
        for title, items in groups:
            top = QTreeWidgetItem(self.changes_tree, [f"{title}: {len(items)} "
                                                      f"row{'s' if len(items) != 1 else ''}"])
            top.setFirstColumnSpanned(True)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            for change in items:
                self._change_item(top, change)
        self.changes_tree.expandAll()
        for column in range(3):  # each column as wide as its values (long ones elided)
            self.changes_tree.resizeColumnToContents(column)
            width = min(self.changes_tree.columnWidth(column), CHANGE_COLUMN_MAX)
            self.changes_tree.setColumnWidth(column, max(width, 80))

    def _change_item(self, parent: QTreeWidgetItem, change) -> None:
        row = change.after or change.before or {}
        verb = {"insert": "inserted", "update": "updated", "delete": "deleted"}.get(change.op, change.op)
        item = QTreeWidgetItem(parent, [f"{verb} {change.model} #{row.get('id', '?')}"])
        color = {"insert": self.colors["ok"], "delete": self.colors["error"]}.get(change.op)
        if color:
            item.setForeground(0, _brush(color))
        before, after = change.before or {}, change.after or {}
        for key in list(dict.fromkeys([*before, *after])):
            old, new = before.get(key), after.get(key)
            if change.op == "update" and old == new:
                continue
            line = QTreeWidgetItem(item, [key, _cell(old) if change.before is not None else "",
                                          _cell(new) if change.after is not None else ""])
            for column in (1, 2):
                line.setToolTip(column, line.text(column))

    # -- history -------------------------------------------------------------------------------
    def _remember(self, entry: HistoryEntry) -> None:
        self.history.insert(0, entry)
        del self.history[HISTORY_SIZE:]
        status = str(entry.status) if entry.status is not None else "failed"
        item = QTreeWidgetItem([time.strftime("%H:%M:%S", time.localtime(entry.started)),
                                entry.request.method, entry.request.path, status, f"{entry.ms:.0f}"])
        item.setToolTip(2, entry.request.path + (" (dry run)" if entry.request.dry_run else ""))
        self.history_list.insertTopLevelItem(0, item)
        while self.history_list.topLevelItemCount() > HISTORY_SIZE:
            self.history_list.takeTopLevelItem(HISTORY_SIZE)

    @asyncSlot(QTreeWidgetItem, int)
    async def _history_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        index = self.history_list.indexOfTopLevelItem(item)
        if 0 <= index < len(self.history):
            await self.rerun(index)

    # -- messages ------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        """Show (or clear) a message about the request: what is wrong, in plain words."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))


def _parse(text: str) -> Any:
    """A path value as typed: a number when it is one, else the text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else text


def _cell(value: Any) -> str:
    return json.dumps(value, default=json_default, ensure_ascii=False)


def _html(text: str) -> str:
    return html.escape(text)


def _reason(e: BaseException) -> str:
    inner = getattr(e, "os_error", None)
    return str(getattr(inner, "strerror", None) or inner or e) or type(e).__name__


__all__ = ["Answer", "HistoryEntry", "Outgoing", "RequestError", "RunPanel"]
