"""The Server log dock: every request the live server answered, and every scheduled run."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from runtime.renderer import to_json
from runtime.runs import RunRecord

MAX_ROWS = 1000
COLUMNS = ("Time", "Method", "Path", "Status", "ms", "Action")


def status_color(status: int) -> QColor:
    """Green for 2xx/3xx, orange for 4xx, red for 5xx."""
    if status >= 500:
        return QColor(220, 60, 60)
    if status >= 400:
        return QColor(215, 130, 30)
    return QColor(40, 160, 80)


class RecordsModel(QAbstractTableModel):
    """The log's rows, newest last."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.records: list[RunRecord] = []

    def add(self, records: list[RunRecord]) -> None:
        records = records[-MAX_ROWS:]
        extra = len(self.records) + len(records) - MAX_ROWS
        if extra > 0:
            self.beginRemoveRows(QModelIndex(), 0, extra - 1)
            del self.records[:extra]
            self.endRemoveRows()
        n = len(self.records)
        self.beginInsertRows(QModelIndex(), n, n + len(records) - 1)
        self.records.extend(records)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.records.clear()
        self.endResetModel()

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.records)

    def columnCount(self, parent=None) -> int:
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole) -> Any:
        r = self.records[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (time.strftime("%H:%M:%S", time.localtime(r.started)), r.method, r.path,
                    str(r.status), f"{r.ms:.1f}", _action_text(r))[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 3:
            return status_color(r.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            return r.error or ("click to see the path it took" if r.trace else None)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _action_text(r: RunRecord) -> str:
    text = r.action or r.endpoint or ""
    if r.dry_run:
        text += " (dry run)"
    if r.source != "http":
        text += f" [{r.source}]"
    return text


def describe_record(r: RunRecord) -> str:
    """The record as HTML: what was asked, what happened, each event's step."""
    esc = _html
    parts = [f"<b>{esc(r.method)} {esc(r.path)}</b> &rarr; "
             f"<b style='color:{status_color(r.status).name()}'>{r.status}</b> in {r.ms:.1f} ms"]
    if r.action:
        parts.append(f"Action: {esc(r.action)}" + (" (dry run: rolled back)" if r.dry_run else ""))
    if r.error:
        where = f" (event {esc(r.event)})" if r.event else ""
        parts.append(f"<span style='color:#d43c3c'>&#9888; {esc(r.error)}{where}</span>")
    if r.trace:
        rows = []
        for i, s in enumerate(r.trace, 1):
            state = "failed" if s.error else (s.port or "")
            rows.append(f"<tr><td>{i}</td><td>{esc(s.id)}</td><td>{esc(s.kind)}</td>"
                        f"<td>{esc(state)}</td><td align=right>{s.ms:.2f} ms</td>"
                        f"<td>{len(s.changes)} row{'s' if len(s.changes) != 1 else ''}</td></tr>")
        parts.append("<table cellspacing=4><tr><th>#</th><th>Event</th><th>Kind</th>"
                     "<th>Port</th><th>Time</th><th>Changed</th></tr>" + "".join(rows) + "</table>")
    if r.changes:
        changes = "<br/>".join(esc(_change_text(c)) for c in r.changes[:50])
        parts.append(f"<b>Rows{' (rolled back)' if r.dry_run or r.error else ''}</b><br/>{changes}")
    if r.result is not None and r.result.value is not None:
        body = to_json(r.result.value)
        parts.append(f"<b>Response</b><pre>{esc(body[:4000])}</pre>")
    return "<br/>".join(parts)


def _change_text(c) -> str:
    row = c.after or c.before or {}
    return f"{c.op} {c.model} #{row.get('id', '?')}"


def _html(text: Any) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


class ServerLog(QWidget):
    """A table of requests with a filter; the selected one's details below."""

    recordActivated = Signal(object)  # a RunRecord the user picked (to show its trace)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = RecordsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter = QLineEdit(placeholderText="Filter: path, status, action...")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.count = QLabel()
        self.count.setProperty("role", "muted")
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 70), (1, 70), (3, 55), (4, 60), (5, 180)):
            self.view.setColumnWidth(column, width)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.details = QTextBrowser()
        self.details.setPlaceholderText("Select a request to see what it did.")
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.count)
        top.addWidget(clear)
        table = QWidget()
        layout = QVBoxLayout(table)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(table)
        split.addWidget(self.details)
        split.setSizes([600, 400])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(split)
        self._update_count()

    def add(self, record: RunRecord) -> None:
        """Append a finished request, keeping the newest in view."""
        self.add_many([record])

    def add_many(self, records: list[RunRecord]) -> None:
        """Append finished requests (a burst of them in one go)."""
        if not records:
            return
        bar = self.view.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        self.model.add(records)
        if at_end:
            self.view.scrollToBottom()
        self._update_count()

    def clear(self) -> None:
        self.model.clear()
        self.details.clear()
        self._update_count()

    def records(self) -> list[RunRecord]:
        return list(self.model.records)

    def select(self, record: RunRecord) -> None:
        """Select a record's row (and show its details)."""
        if record in self.model.records:
            row = self.model.records.index(record)
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            self.view.setCurrentIndex(index)

    def _current_changed(self, current, _previous) -> None:
        if not current.isValid():
            return
        record = self.model.records[self.proxy.mapToSource(current).row()]
        self.details.setHtml(describe_record(record))
        self.recordActivated.emit(record)

    def _update_count(self) -> None:
        n = self.model.rowCount()
        self.count.setText(f"{n} request{'s' if n != 1 else ''}")
