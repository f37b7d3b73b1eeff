"""The History dock (it grew out of the Server Log): every run of the live server, kept in the
run history beside the project (`NAME.runs.db`, runtime.history) so it outlives the window,
newest first, searchable and filterable, updated as runs arrive. Opening a run paints its path
on the graph; its request opens in the Run panel; selected runs can be replayed as dry runs
against the graph as it is now, with a diff of then and now (app.replay)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections import deque
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from app.replay import ReplayView
from app.serverlog import _html, describe_record, status_color
from runtime.history import HistoryError
from runtime.renderer import to_json
from runtime.runs import RunRecord

LIMIT = 500  # runs listed at most
RELOAD_AFTER = 400  # ms after a run arrives before the list is read again (ids, filters)
COLUMNS = ("Time", "Method", "Path", "Status", "ms", "Action", "Replay")
ANY_ENDPOINT = "All endpoints"
ANY_STATUS = "Any status"


def _iso(started: float) -> str:
    """A run's start as the history lists it (ISO, UTC, milliseconds)."""
    return dt.datetime.fromtimestamp(started, dt.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def summary_of(record: RunRecord) -> dict[str, Any]:
    """A RunRecord as a row of the list (the history's summary; no id until it is written)."""
    return {"id": None, "started": _iso(record.started), "source": record.source,
            "method": record.method, "path": record.path, "endpoint": record.endpoint,
            "action": record.action, "revision": record.revision, "status": record.status,
            "ms": round(record.ms, 3), "error": record.error, "event": record.event,
            "dry_run": bool(record.dry_run), "tag": record.tag}


def _key(summary: dict) -> tuple:
    return summary["started"], summary["method"], summary["path"], summary["status"]


class RunsModel(QAbstractTableModel):
    """The listed runs, newest first: history summaries, with the session's RunRecord when the
    window saw the run, and the replay verdict when it was replayed."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.records: dict[tuple, RunRecord] = {}  # key -> the record seen in this session
        self.verdicts: dict[int, str] = {}  # run id -> "same" / "changed: ..." / "replaying..."

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def prepend(self, rows: list[dict]) -> None:
        if not rows:
            return
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self.rows[:0] = rows
        self.endInsertRows()
        if len(self.rows) > LIMIT:
            self.beginRemoveRows(QModelIndex(), LIMIT, len(self.rows) - 1)
            del self.rows[LIMIT:]
            self.endRemoveRows()

    def record(self, row: int) -> RunRecord | None:
        return self.records.get(_key(self.rows[row]))

    def row_of_id(self, run_id: int) -> int | None:
        return next((i for i, r in enumerate(self.rows) if r["id"] == run_id), None)

    def verdict_changed(self, run_id: int) -> None:
        row = self.row_of_id(run_id)
        if row is not None:
            index = self.index(row, len(COLUMNS) - 1)
            self.dataChanged.emit(index, index)

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None) -> int:
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole) -> Any:
        r = self.rows[index.row()]
        column = index.column()
        verdict = self.verdicts.get(r["id"], "") if r["id"] is not None else ""
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 6:
                return "masked" if verdict.startswith(MASKED_VERDICT) else verdict.split(":", 1)[0]
            return (_when(r["started"]), r["method"], r["path"], str(r["status"]),
                    f"{r['ms']:.1f}", action_text(r))[column]
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 3:
                return status_color(r["status"])
            if column == 6 and verdict:
                return verdict_color(verdict)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 6 and verdict:
                return verdict
            return r["error"] or "double-click to show its path on the graph"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


MASKED_VERDICT = "sent with masked values"


def verdict_color(verdict: str) -> QColor:
    """Green for "same", amber for a replay that had to send masked values, red for changed."""
    if verdict.startswith(MASKED_VERDICT):
        return QColor("#c27400")
    return status_color(200 if verdict == "same" else 400)


def _when(iso: str) -> str:
    moment = dt.datetime.fromtimestamp(_epoch(iso))
    if moment.date() == dt.date.today():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%b %d %H:%M")


def action_text(r: dict) -> str:
    """The Action column: the action (or endpoint), dry runs, replays and non-HTTP sources."""
    text = r["action"] or r["endpoint"] or ""
    if (r.get("tag") or "").startswith("replay:"):
        text += " (replay)"
    elif r["dry_run"]:
        text += " (dry run)"
    if r["source"] != "http":
        text += f" [{r['source']}]"
    return text


def describe_run(run: dict, missing: list[str] = (), changed: list[str] = ()) -> str:
    """A recorded run (RunHistory.get) as HTML: request, outcome, each event's step, rows."""
    esc = _html
    parts = [f"<b>#{run['id']} {esc(run['method'])} {esc(run['path'])}</b> &rarr; "
             f"<b style='color:{status_color(run['status']).name()}'>{run['status']}</b> "
             f"in {run['ms']:.1f} ms"]
    parts.append(f"{esc(_when(run['started']))} · {esc(run['source'])}"
                 + (f" · revision {run['revision']}" if run.get("revision") else ""))
    if run.get("action"):
        parts.append(f"Action: {esc(run['action'])}"
                     + (" (dry run: rolled back)" if run.get("dry_run") else ""))
    if run.get("error"):
        where = f" (event {esc(run['event'])})" if run.get("event") else ""
        parts.append(f"<span style='color:#d43c3c'>&#9888; {esc(run['error'])}{where}</span>")
    if missing:
        parts.append("<span style='color:#c27400'>No longer in the graph: "
                     + esc(", ".join(missing)) + "</span>")
    if changed:
        parts.append("<span style='color:#c27400'>Changed since this run: "
                     + esc(", ".join(changed)) + "</span>")
    trace = run.get("trace") or []
    if trace:
        rows = []
        for i, s in enumerate(trace, 1):
            state = "failed" if s.get("error") else (s.get("port") or "")
            mark = (" (gone)" if s["id"] in missing else
                    " (changed)" if s["id"] in changed else "")
            rows.append(f"<tr><td>{i}</td><td>{esc(s['id'])}{mark}</td><td>{esc(s['kind'])}</td>"
                        f"<td>{esc(state)}</td><td align=right>{s.get('ms') or 0:.2f} ms</td></tr>")
        parts.append("<table cellspacing=4><tr><th>#</th><th>Event</th><th>Kind</th>"
                     "<th>Port</th><th>Time</th></tr>" + "".join(rows) + "</table>")
    changes = run.get("changes") or []
    if changes:
        text = "<br/>".join(esc(_change_line(c)) for c in changes[:50])
        rolled = " (rolled back)" if run.get("dry_run") or run.get("error") else ""
        parts.append(f"<b>Rows{rolled}</b><br/>{text}")
    request = run.get("request")
    if request and request.get("body") is not None:
        parts.append(f"<b>Request body</b><pre>{esc(to_json(request['body'])[:4000])}</pre>")
    response = run.get("response")
    if response and response.get("body") is not None:
        parts.append(f"<b>Response</b><pre>{esc(to_json(response['body'])[:4000])}</pre>")
    return "<br/>".join(parts)


def _change_line(c: dict) -> str:
    row = c.get("after") or c.get("before") or {}
    return f"{c['op']} {c['model']} #{row.get('id', '?')}"


class HistoryPanel(QWidget):
    """The runs of the live server, persisted: a filter bar, the list, and the selected run's
    details and replay. Keeps the Server Log's calls (`add_many`, `records`, `select`)."""

    recordActivated = Signal(object)  # a RunRecord of this session the user picked
    runOpened = Signal(object)  # a recorded run (RunHistory.get) the user opened
    requestWanted = Signal(object)  # a recorded run whose request goes to the Run panel
    testWanted = Signal(object)  # Save as Test: a RunRecord of this session or a recorded run

    def __init__(self, parent=None):
        super().__init__(parent)
        self.history = None  # runtime.history.RunHistory of the live server (None: stopped)
        self.replayer = None  # app.replay.Replayer
        self.problem: str | None = None
        self.seen: deque[RunRecord] = deque(maxlen=LIMIT)  # runs of this session, oldest first
        self.opened: dict | None = None  # the run shown in the details
        self._reloading: asyncio.Task | None = None
        self._again = False
        self.model = RunsModel(self)

        self.search = QLineEdit(placeholderText="Search: path, action, error, body...")
        self.search.setClearButtonEnabled(True)
        self.endpoint_box = QComboBox()
        self.endpoint_box.addItem(ANY_ENDPOINT)
        self.endpoint_box.setMinimumContentsLength(14)
        self.status_box = QComboBox()
        self.status_box.setEditable(True)
        self.status_box.addItems([ANY_STATUS, "200", "201", "204", "400", "401", "403", "404",
                                  "409", "422", "500"])
        self.status_box.setMinimumContentsLength(9)
        self.failed_box = QCheckBox("Failed only")
        self.count = QLabel()
        self.count.setProperty("role", "muted")
        self.request_button = QPushButton("Open Request")
        self.request_button.setToolTip("Put the selected run's request in the Run panel")
        self.test_button = QPushButton("Save as Test…")
        self.test_button.setToolTip("Keep the selected run's request in the project's tests, "
                                    "expecting what it answered and changed")
        self.test_button.clicked.connect(self._test_clicked)
        self.replay_button = QPushButton("Replay")
        self.replay_button.setToolTip("Run the selected runs again against the graph as it is "
                                      "now, as dry runs (nothing is written), and compare")
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.reload_soon)
        self._later = QTimer(self, singleShot=True)
        self._later.timeout.connect(self.reload_soon)
        self.search.textChanged.connect(self._debounce.start)
        self.endpoint_box.currentIndexChanged.connect(self.reload_soon)
        self.status_box.currentTextChanged.connect(self._debounce.start)
        self.failed_box.toggled.connect(self.reload_soon)
        self.request_button.clicked.connect(self._request_clicked)
        self.replay_button.clicked.connect(self._replay_clicked)

        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for column, width in ((0, 70), (1, 62), (3, 50), (4, 55), (5, 170), (6, 70)):
            self.view.setColumnWidth(column, width)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.view.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.details = QTextBrowser()
        self.details.setPlaceholderText("Select a run to see what it did.")
        self.replay_view = ReplayView()
        self.replay_view.valuesGiven.connect(self._values_given)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.details, "Details")
        self.tabs.addTab(self.replay_view, "Replay")

        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.endpoint_box)
        filters.addWidget(self.status_box)
        filters.addWidget(self.failed_box)
        actions = QHBoxLayout()
        actions.addWidget(self.count, 1)
        actions.addWidget(self.request_button)
        actions.addWidget(self.test_button)
        actions.addWidget(self.replay_button)
        table = QWidget()
        layout = QVBoxLayout(table)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.view)
        layout.addLayout(actions)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(table)
        split.addWidget(self.tabs)
        split.setSizes([620, 480])
        self.split = split
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(split)
        self._selection_changed()
        self._update_count()

    # -- sources -----------------------------------------------------------------------------
    def set_history(self, history) -> None:
        """Read runs from this RunHistory (the live server's; None when it stopped)."""
        if history is self.history:
            return
        self.history = history
        self.reload_soon()

    def set_endpoints(self, names: list[str]) -> None:
        """The endpoints offered by the filter (the project's)."""
        current = self.endpoint_box.currentText()
        self.endpoint_box.blockSignals(True)
        self.endpoint_box.clear()
        self.endpoint_box.addItems([ANY_ENDPOINT, *names])
        at = self.endpoint_box.findText(current)
        self.endpoint_box.setCurrentIndex(max(at, 0))
        self.endpoint_box.blockSignals(False)

    # -- the Server Log's calls -----------------------------------------------------------------
    def add(self, record: RunRecord) -> None:
        """A finished run (shown at once, its id read from the history a moment later)."""
        self.add_many([record])

    def add_many(self, records: list[RunRecord]) -> None:
        """Finished runs (a burst of them in one go), newest on top."""
        if not records:
            return
        self.seen.extend(records)
        for r in records:
            self.model.records[_key(summary_of(r))] = r
        if len(self.model.records) > 2 * LIMIT:
            keep = {_key(summary_of(r)) for r in self.seen}
            self.model.records = {k: v for k, v in self.model.records.items() if k in keep}
        # a run read back from the history before its record arrived here is listed already
        listed = {_key(r) for r in self.model.rows}
        fresh = [s for s in (summary_of(r) for r in reversed(records))
                 if _key(s) not in listed and self.matches(s)]
        self.model.prepend(fresh)
        self._update_count()
        self.reload_soon(RELOAD_AFTER)

    def clear(self) -> None:
        """Forget what is listed (another project): the next history read fills it again."""
        self.seen.clear()
        self.model.records.clear()
        self.model.verdicts.clear()
        self.model.set_rows([])
        self.details.clear()
        self.replay_view.clear()
        self.opened = None
        self._update_count()

    def records(self) -> list[RunRecord]:
        """The runs this window saw, oldest first (the Server Log's list)."""
        return list(self.seen)

    def select(self, record: RunRecord) -> None:
        """Select a run of this session (and show its details)."""
        key = _key(summary_of(record))
        row = next((i for i, r in enumerate(self.model.rows) if _key(r) == key), None)
        if row is not None:
            self.view.setCurrentIndex(self.model.index(row, 0))

    # -- filters -------------------------------------------------------------------------------
    def filters(self) -> dict[str, Any]:
        """The filters set in the bar, as RunHistory.list takes them."""
        status = self.status_box.currentText().strip()
        endpoint = self.endpoint_box.currentText()
        return {"endpoint": None if endpoint in ("", ANY_ENDPOINT) else endpoint,
                "status": int(status) if status.isdigit() else None,
                "failed": self.failed_box.isChecked(),
                "search": self.search.text().strip() or None}

    def matches(self, summary: dict) -> bool:
        """Whether a run passes the filters (for runs shown before the history is read)."""
        f = self.filters()
        if f["endpoint"] and summary["endpoint"] != f["endpoint"]:
            return False
        if f["status"] is not None and summary["status"] != f["status"]:
            return False
        if f["failed"] and summary["status"] < 400:
            return False
        if f["search"]:
            text = " ".join(str(summary.get(k) or "") for k in ("path", "endpoint", "action", "error"))
            return f["search"].lower() in text.lower()
        return True

    # -- reading the history ----------------------------------------------------------------------
    def reload_soon(self, delay: int = 0) -> None:
        """Read the list again from the history (after `delay` ms; one read at a time)."""
        if delay:
            if not self._later.isActive():
                self._later.start(delay)
            return
        if _loop() is None:
            return
        if self._reloading is not None and not self._reloading.done():
            self._again = True
            return
        self._reloading = asyncio.ensure_future(self.reload())

    async def stop(self) -> None:
        """No more reads (the server is stopping): cancel the one under way."""
        task, self._reloading = self._reloading, None
        if Shiboken.isValid(self._later):
            self._later.stop()
            self._debounce.stop()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def reload(self) -> list[dict]:
        """Read the runs matching the filters, newest first (the written ones get their ids)."""
        while True:
            self._again = False
            history, filters = self.history, self.filters()
            if history is None:
                return self.model.rows
            try:
                rows = await asyncio.to_thread(_read, history, filters)
                self.problem = None
            except HistoryError as e:
                rows = None
                self.problem = None if "no run history" in str(e) or "holds no" in str(e) \
                    else str(e)
            if not Shiboken.isValid(self) or history is not self.history:
                return []
            if rows is not None:
                self._show(rows)
            self._update_count()
            if not self._again:
                return self.model.rows

    def _show(self, rows: list[dict]) -> None:
        current = self.view.currentIndex()
        keep = _key(self.model.rows[current.row()]) if current.isValid() else None
        chosen = {_key(self.model.rows[i.row()]) for i in self.view.selectionModel().selectedRows()}
        written = {_key(r) for r in rows}
        # runs seen but not written yet stay on top until the next read
        pending = [summary_of(r) for r in reversed(self.seen)]
        pending = [s for s in pending if _key(s) not in written and self.matches(s)
                   and _epoch(s["started"]) > time.time() - 10]
        selection = self.view.selectionModel()
        with _blocked(selection):
            self.model.set_rows((pending + rows)[:LIMIT])
            for i, r in enumerate(self.model.rows):
                k = _key(r)
                if k in chosen:
                    selection.select(self.model.index(i, 0), selection.SelectionFlag.Select
                                     | selection.SelectionFlag.Rows)
                if k == keep:
                    selection.setCurrentIndex(self.model.index(i, 0),
                                              selection.SelectionFlag.NoUpdate)
        self._selection_changed()

    def run_ids(self, selected: bool = True) -> list[int]:
        """The ids of the selected runs (or of every listed run), newest first."""
        if selected:
            rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        else:
            rows = range(len(self.model.rows))
        return [self.model.rows[r]["id"] for r in rows if self.model.rows[r]["id"] is not None]

    def select_ids(self, ids: list[int]) -> None:
        """Select these runs (the first becomes current and is shown)."""
        selection = self.view.selectionModel()
        selection.clearSelection()
        rows = [r for r in (self.model.row_of_id(i) for i in ids) if r is not None]
        for row in rows:
            selection.select(self.model.index(row, 0),
                             selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
        if rows:
            selection.setCurrentIndex(self.model.index(rows[0], 0),
                                      selection.SelectionFlag.NoUpdate)
            self._current_changed(self.model.index(rows[0], 0), None)

    async def get(self, run_id: int) -> dict | None:
        """A whole recorded run (off the loop)."""
        if self.history is None:
            return None
        try:
            return await asyncio.to_thread(self.history.get, run_id)
        except HistoryError as e:
            self.problem = str(e)
            self._update_count()
            return None

    # -- opening a run -----------------------------------------------------------------------
    def _current_changed(self, current, _previous) -> None:
        if not current.isValid():
            return
        self.open_row(current.row())

    def open_row(self, row: int) -> None:
        """Show a run's details and paint its path (a recorded one is read from the history)."""
        if not 0 <= row < len(self.model.rows):
            return
        summary = self.model.rows[row]
        record = self.model.record(row)
        if record is not None:  # seen in this session: its details at once
            self.details.setHtml(describe_record(record))
            if summary["id"] is None:
                self.opened = None
                self.recordActivated.emit(record)
                return
        if summary["id"] is not None and _loop() is not None:
            asyncio.ensure_future(self.open_run(summary["id"]))

    async def open_run(self, run_id: int) -> dict | None:
        """Read a run, show it and hand it on (the graph paints its path)."""
        run = await self.get(run_id)
        if run is None or not Shiboken.isValid(self):
            return None
        self.opened = run
        self.show_details(run)
        self.runOpened.emit(run)
        shown = self.replay_view.comparisons.get(run_id)
        if shown is not None:
            self.replay_view.show_comparison(*shown)
        return run

    def show_details(self, run: dict, missing: list[str] = (), changed: list[str] = ()) -> None:
        """The details pane for a recorded run (with the events gone or changed since)."""
        self.details.setHtml(describe_run(run, missing, changed))

    # -- actions -----------------------------------------------------------------------------
    def _selection_changed(self, *_args) -> None:
        n = len(self.view.selectionModel().selectedRows())
        self.replay_button.setText("Replay" if n <= 1 else f"Replay {n} Runs")
        self.replay_button.setEnabled(n > 0 and self.replayer is not None)
        self.request_button.setEnabled(n == 1)
        self.test_button.setEnabled(n == 1)

    def _request_clicked(self) -> None:
        if _loop() is not None:
            asyncio.ensure_future(self.open_request())

    async def open_request(self) -> dict | None:
        """Put the current run's request in the Run panel."""
        current = self.view.currentIndex()
        if not current.isValid() or self.model.rows[current.row()]["id"] is None:
            return None
        run = await self.get(self.model.rows[current.row()]["id"])
        if run is not None:
            self.requestWanted.emit(run)
        return run

    def _test_clicked(self) -> None:
        if _loop() is not None:
            asyncio.ensure_future(self.save_as_test())

    async def save_as_test(self) -> RunRecord | dict | None:
        """Hand the current run on to be kept as a test (app.testspanel): the session's record
        when the window saw it, else the run read from the history."""
        current = self.view.currentIndex()
        if not current.isValid():
            return None
        run = self.model.record(current.row())
        if run is None and self.model.rows[current.row()]["id"] is not None:
            run = await self.get(self.model.rows[current.row()]["id"])
        if run is not None and Shiboken.isValid(self):
            self.testWanted.emit(run)
        return run

    def _values_given(self, run_id: int, values: dict) -> None:
        """Replay a run again with the values the user typed for its masked places."""
        if self.replayer is None:
            return
        self.replayer.values.setdefault(run_id, {}).update(values)
        if _loop() is not None:
            asyncio.ensure_future(self.replay([run_id]))

    def _replay_clicked(self) -> None:
        if _loop() is not None:
            asyncio.ensure_future(self.replay(self.run_ids()))

    async def replay(self, ids: list[int]) -> dict[int, Any]:
        """Replay these runs one after another as dry runs; mark each same or changed and show
        the diff of the current one (the first)."""
        if self.replayer is None or not ids:
            return {}
        self.replay_button.setEnabled(False)
        results = {}
        try:
            for run_id in ids:
                self.model.verdicts[run_id] = "replaying..."
                self.model.verdict_changed(run_id)
            for run_id in ids:
                run = await self.get(run_id)
                if run is None:
                    continue
                comparison = await self.replayer.replay(run)
                if not Shiboken.isValid(self):
                    return results
                results[run_id] = comparison
                self.model.verdicts[run_id] = comparison.summary()
                self.model.verdict_changed(run_id)
                self.replay_view.comparisons[run_id] = (run, comparison)
            first = next(iter(results), None)
            if first is not None:
                self.replay_view.show_comparison(*self.replay_view.comparisons[first])
                self.tabs.setCurrentWidget(self.replay_view)
        finally:
            for run_id in ids:
                if self.model.verdicts.get(run_id) == "replaying...":
                    self.model.verdicts.pop(run_id)
                    self.model.verdict_changed(run_id)
            if Shiboken.isValid(self):
                self._selection_changed()
        masked = sum(1 for c in results.values() if c.masked)
        changed = sum(1 for c in results.values() if not c.same and not c.masked)
        same = len(results) - changed - masked
        self.count.setText(f"Replayed {len(results)}: {changed} changed, {same} the same"
                           + (f", {masked} sent with masked values" if masked else ""))
        self.reload_soon(RELOAD_AFTER)  # the replays are runs too
        return results

    def _update_count(self) -> None:
        if self.problem:
            self.count.setText(f"History unavailable: {self.problem}")
            return
        n = self.model.rowCount()
        self.count.setText(f"{n} run{'s' if n != 1 else ''}" + (" (newest)" if n >= LIMIT else ""))


def _read(history, filters: dict) -> list[dict]:
    history.flush(2.0)  # what the server has recorded so far, written
    return history.list(limit=LIMIT, **filters)


def _loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@contextlib.contextmanager
def _blocked(obj):
    obj.blockSignals(True)
    try:
        yield
    finally:
        obj.blockSignals(False)
