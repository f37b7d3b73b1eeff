"""The Tests dock: the project's tests grouped by endpoint, run without blocking the editor,
green or red with their times; the selected test's diff, problem and path on the graph;
"Save as Test" from a run of the Run panel or the History dock; and Edit Test (Enter) to see and
loosen a test's request and expectations (app/testeditor.py)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontDatabase,
    QIcon,
    QKeySequence,
    QPainter,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from app.testeditor import TestEditor
from runtime.errors import ProjectError
from runtime.executor import StepTrace
from runtime.host import StartupError
from runtime.project import TestCase, _next_id
from runtime.runs import RunRecord
from runtime.server import DRY_RUN_HEADER
from runtime.store import Change
from runtime.testcases import test_from_record
from runtime.testing import TestResult, run_tests

TEST_ROLE = Qt.ItemDataRole.UserRole  # a test row's test id
NO_ENDPOINT = "(no endpoint)"
_TEST_WHERE = re.compile(r'^tests\["((?:[^"\\]|\\.)*)"\]')
# Headers a saved test does not repeat: the test sets its own type, token ("as") and no dry run.
_LEFT_OUT = {"content-type", "content-length", "authorization", "host", DRY_RUN_HEADER.lower()}


def test_name_of(problem) -> str | None:
    """The test a compiler problem is about (its location is `tests["NAME"]...`), or None."""
    m = _TEST_WHERE.match(problem.where or "")
    return m.group(1).replace('\\"', '"') if m else None


def request_of(outgoing, record: RunRecord | None = None) -> dict[str, Any]:
    """A test's request from the Run panel's request as sent (app.runpanel.Outgoing): method,
    path, query, the headers typed in, the JSON body (or the text fields of a form), and the
    signed-in user as `as` when the run had one (a token is issued when the test runs)."""
    path, _, query_text = outgoing.path.partition("?")
    request: dict[str, Any] = {"method": outgoing.method, "path": path}
    query = dict(parse_qsl(query_text, keep_blank_values=True))
    if query:
        request["query"] = query
    headers = {k: v for k, v in outgoing.headers if k.lower() not in _LEFT_OUT}
    if headers:
        request["headers"] = headers
    if outgoing.body is not None and outgoing.body.strip():
        try:
            request["body"] = json.loads(outgoing.body)
        except ValueError:
            request["body"] = outgoing.body
    elif outgoing.form:
        request["body"] = {name: value for name, value, is_file in outgoing.form if not is_file}
    user = ((record.inputs or {}).get("auth") or {}).get("user") if record is not None else None
    if isinstance(user, dict) and user.get("id") is not None:
        request["as"] = user["id"]
    return request


def record_of_run(run: dict) -> RunRecord:
    """A run read back from the run history (RunHistory.get) as the RunRecord that
    test_from_record reads: its request, answer, rows written and trace."""
    request, response = run.get("request") or {}, run.get("response") or {}
    http_request = http_response = None
    if request:
        body = request.get("body")
        http_request = {"method": request.get("method"), "path": request.get("path"),
                        "body": json.dumps(body).encode() if body is not None else None}
    if response:
        body = response.get("body")
        http_response = {"status": response.get("status"),
                         "body": json.dumps(body).encode() if body is not None else None}
    changes = [Change(c["op"], c["model"], c.get("before"), c.get("after"))
               for c in run.get("changes") or []]
    trace = [StepTrace(s["id"], s["kind"], s.get("inputs") or {}, s.get("outputs"), s.get("port"),
                       s.get("ms") or 0.0, s.get("error"), [])
             for s in run.get("trace") or []]
    return RunRecord(0.0, run.get("method") or "GET", run.get("path") or "/",
                     run.get("status") or 0, run.get("ms") or 0.0, endpoint=run.get("endpoint"),
                     action=run.get("action"), error=run.get("error"), event=run.get("event"),
                     trace=trace, changes=changes, dry_run=bool(run.get("dry_run")),
                     inputs=run.get("inputs"), http_request=http_request,
                     http_response=http_response)


def add_test(document, data: dict[str, Any]) -> TestCase:
    """Add a test (as test_from_record gives it) to the project as one undo step."""
    tests = document.project.tests
    test = TestCase(**{**data, "id": _next_id("t", [t.id for t in tests])})

    def apply(forward: bool) -> None:
        if forward:
            tests.append(test)
        else:
            tests.remove(test)

    document.edit(f"Add test {test.name}", apply)
    return test


def delete_test(document, test: TestCase) -> None:
    """Remove a test (undoable)."""
    tests = document.project.tests
    index = tests.index(test)

    def apply(forward: bool) -> None:
        if forward:
            tests.remove(test)
        else:
            tests.insert(index, test)

    document.edit(f"Delete test {test.name}", apply)


def replace_test(document, test: TestCase, edited: TestCase) -> bool:
    """Give a test the name, request, expectations and fixtures of `edited`, keeping its id, as
    one undo step; False when nothing changed."""
    names = [f.name for f in dataclasses.fields(TestCase) if f.name != "id"]
    old = {n: copy.deepcopy(getattr(test, n)) for n in names}
    new = {n: copy.deepcopy(getattr(edited, n)) for n in names}
    if old == new:
        return False

    def apply(forward: bool) -> None:
        for name, value in (new if forward else old).items():
            setattr(test, name, copy.deepcopy(value))

    document.edit(f"Edit test {edited.name}", apply)
    return True


def dot(color: str, size: int = 10) -> QIcon:
    """A filled circle of a colour (a test's red, green or grey)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


def unique_name(taken: set[str], name: str) -> str:
    """`name`, or `name 2`, `name 3`... when a test has it already."""
    if name not in taken:
        return name
    n = 2
    while f"{name} {n}" in taken:
        n += 1
    return f"{name} {n}"


class TestsPanel(QWidget):
    """The tests of the project grouped by endpoint, each with its last result and time, and
    the selected test's diff (or problem)."""

    __test__ = False  # not a pytest test class

    runAllRequested = Signal()
    runRequested = Signal(list)  # test names
    testSelected = Signal(str)  # a test id
    deleteRequested = Signal(str)  # a test id
    editRequested = Signal(str)  # a test id

    def __init__(self, theme=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("TestsPanel")
        self.theme = theme
        self.tests: list[TestCase] = []
        self.results: dict[str, TestResult] = {}  # test id -> its last result
        self.problems: dict[str, list[str]] = {}  # test name -> the compiler's messages
        self.running: set[str] = set()  # ids of tests waiting for or in a run
        self.stale = False  # the project changed since the results

        self.run_all_button = QPushButton("Run All")
        self.run_all_button.setProperty("primary", True)
        self.run_all_button.setToolTip("Run every test of the project (Ctrl+Shift+T)")
        self.run_all_button.clicked.connect(self.runAllRequested)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Run the selected tests (or the tests of the selected "
                                   "endpoint); double-click a test to run it")
        self.run_button.clicked.connect(lambda: self.runRequested.emit(self.selected_names()))
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setToolTip("See and loosen the selected test's request and "
                                    "expectations (Enter)")
        self.edit_button.clicked.connect(self._edit_clicked)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected test from the project (undoable)")
        self.delete_button.clicked.connect(self._delete_clicked)
        self.summary = QLabel("No tests run yet")
        self.summary.setObjectName("TestsSummary")
        self.note = QLabel()
        self.note.setObjectName("TestsStale")
        self.note.hide()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Test", "Result", "ms"])
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        for key in ("Return", "Enter"):  # Enter edits the current test, double-click runs it
            shortcut = QShortcut(QKeySequence(key), self.tree)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self._edit_clicked)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail.setPlaceholderText("Select a test to see why it failed and the path it ran.")

        top = QHBoxLayout()
        top.addWidget(self.run_all_button)
        top.addWidget(self.run_button)
        top.addWidget(self.summary, 1)
        top.addWidget(self.edit_button)
        top.addWidget(self.delete_button)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(top)
        ll.addWidget(self.note)
        ll.addWidget(self.tree, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.detail)
        split.setChildrenCollapsible(False)
        split.setSizes([560, 440])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)
        if theme is not None:
            theme.changed.connect(self.restyle)
        self.restyle()
        self._update_buttons()

    @property
    def colors(self) -> dict[str, str]:
        """The theme's colours (plain ones without a theme)."""
        if self.theme is not None:
            return self.theme.colors
        return {"ok": "#2b9a66", "error": "#dc3e42", "warning": "#c27400", "muted": "#80838d"}

    def restyle(self) -> None:
        """Pick up the theme's colours."""
        self.note.setStyleSheet(f"color: {self.colors['warning']};")
        self.show_tests(self.tests)

    # -- what is shown -------------------------------------------------------------------------
    def show_tests(self, tests: list[TestCase]) -> None:
        """List these tests (the project's), grouped by endpoint, keeping the selection."""
        self.tests = list(tests)
        current = self.current_test()
        selected = set(self.selected_ids())
        groups: dict[str, list[TestCase]] = {}
        for t in self.tests:
            groups.setdefault(t.endpoint or NO_ENDPOINT, []).append(t)
        self.tree.blockSignals(True)
        try:
            self.tree.clear()
            for endpoint, group in groups.items():
                top = QTreeWidgetItem([endpoint, "", ""])
                font = top.font(0)
                font.setBold(True)
                top.setFont(0, font)
                self.tree.addTopLevelItem(top)
                for t in group:
                    item = QTreeWidgetItem([t.name, "", ""])
                    item.setData(0, TEST_ROLE, t.id)
                    top.addChild(item)
                    self._paint(item, t)
                    item.setSelected(t.id in selected)
                    if current is not None and t.id == current.id:
                        self.tree.setCurrentItem(item)
                self._paint_group(top)
                top.setExpanded(True)
        finally:
            self.tree.blockSignals(False)
        self._update_summary()
        self._update_buttons()
        self._show_detail(self.current_test())

    def show_result(self, result: TestResult) -> None:
        """A test finished: its colour, time and (when selected) its diff."""
        self.results[result.test.id] = result
        self.running.discard(result.test.id)
        item = self.item_of(result.test.id)
        if item is not None:
            self._paint(item, result.test)
            self._paint_group(item.parent())
        self._update_summary()
        current = self.current_test()
        if current is not None and current.id == result.test.id:
            self._show_detail(current)

    def show_problems(self, problems: dict[str, list[str]]) -> None:
        """The compiler's warnings about tests (a test of something deleted), by test name."""
        if problems != self.problems:
            self.problems = problems
            self.show_tests(self.tests)

    def set_running(self, ids: set[str]) -> None:
        """These tests are about to run (their rows say so until their results come)."""
        self.running = set(ids)
        self.show_tests(self.tests)

    def set_stale(self, stale: bool) -> None:
        """Whether the project changed since the results were made."""
        self.stale = stale
        self.note.setText("The project changed since these results: Run All (Ctrl+Shift+T) "
                          "to test it as it is now.")
        self.note.setVisible(stale and bool(self.results))

    def say(self, text: str) -> None:
        """A message in place of the summary (a project that cannot be tested)."""
        self.summary.setText(text)
        self.summary.setStyleSheet(f"color: {self.colors['error']}; font-weight: 600;")

    def state(self, test: TestCase) -> str:
        """passed, failed, problem, running or not run."""
        if test.id in self.running:
            return "running"
        if self.problems.get(test.name):
            return "problem"
        result = self.results.get(test.id)
        if result is None:
            return "not run"
        return "passed" if result.passed else "failed"

    def _paint(self, item: QTreeWidgetItem, test: TestCase) -> None:
        c = self.colors
        state = self.state(test)
        color = {"passed": c["ok"], "failed": c["error"], "problem": c["warning"]}.get(
            state, c["muted"])
        result = self.results.get(test.id)
        item.setText(1, state)
        item.setIcon(1, dot(color))  # an icon keeps its colour on a selected row
        item.setText(2, f"{result.ms:.0f}" if result is not None and state != "running" else "")
        item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        tip = "\n".join(self.problems.get(test.name) or []) or (
            result.diff if result is not None and not result.passed else "")
        item.setToolTip(0, tip)
        item.setToolTip(1, tip)

    def _paint_group(self, top: QTreeWidgetItem | None) -> None:
        if top is None:
            return
        states = [self.state(t) for t in self.tests if (t.endpoint or NO_ENDPOINT) == top.text(0)]
        failed = sum(s in ("failed", "problem") for s in states)
        passed = sum(s == "passed" for s in states)
        c = self.colors
        top.setText(1, f"{failed} failed" if failed else f"{passed} passed" if passed else "")
        top.setForeground(1, QBrush(QColor(c["error"] if failed else c["ok"])))

    def _update_summary(self) -> None:
        states = [self.state(t) for t in self.tests]
        if not self.tests:
            text = "No tests yet: Save as Test from a run in the Run panel or History."
        elif "running" in states:
            text = f"Running… {len(states) - states.count('running')} of {len(states)}"
        elif not self.results:
            text = f"{len(states)} tests, not run yet"
        else:
            ms = sum(r.ms for r in self.results.values())
            parts = [f"{states.count(s)} {s}" for s in ("passed", "failed", "problem")
                     if states.count(s)]
            text = ", ".join(parts) + f" · {ms / 1000:.1f} s"
        self.summary.setText(text)
        failed = "failed" in states or "problem" in states
        self.summary.setStyleSheet(f"color: {self.colors['error']}; font-weight: 600;"
                                   if failed else "")
        self.set_stale(self.stale)

    def _show_detail(self, test: TestCase | None) -> None:
        if test is None:
            self.detail.clear()
            return
        lines = [f"{test.name}  ({test.endpoint or NO_ENDPOINT})", ""]
        problems = self.problems.get(test.name)
        result = self.results.get(test.id)
        if problems:
            lines += ["Problem:", *[f"  {p}" for p in problems], ""]
        if test.id in self.running:
            lines.append("Running…")
        elif result is None:
            lines.append("Not run yet: Run (double-click) or Run All. Edit… (Enter) shows what "
                         "it sends and expects.")
        elif result.passed:
            lines.append(f"Passed in {result.ms:.0f} ms (status {result.status}).")
        else:
            lines += [f"Failed in {result.ms:.0f} ms" +
                      (f" (status {result.status})" if result.status is not None else "") + ":",
                      "", result.diff]
        self.detail.setPlainText("\n".join(lines))

    # -- selection -----------------------------------------------------------------------------
    def item_of(self, test_id: str) -> QTreeWidgetItem | None:
        """The row of a test."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, TEST_ROLE) == test_id:
                    return top.child(j)
        return None

    def test_of(self, item: QTreeWidgetItem | None) -> TestCase | None:
        """The test of a row (None for an endpoint's row)."""
        test_id = item.data(0, TEST_ROLE) if item is not None else None
        return next((t for t in self.tests if t.id == test_id), None) if test_id else None

    def current_test(self) -> TestCase | None:
        """The test of the current row."""
        return self.test_of(self.tree.currentItem())

    def select(self, test_id: str) -> bool:
        """Make a test the current row (its diff shown, its path painted)."""
        item = self.item_of(test_id)
        if item is None:
            return False
        self.tree.setCurrentItem(item)
        self.tree.scrollToItem(item)
        return True

    def selected_ids(self) -> list[str]:
        """The ids of the selected tests, with those of selected endpoints' rows."""
        ids: list[str] = []
        for item in self.tree.selectedItems():
            if item.data(0, TEST_ROLE):
                ids.append(item.data(0, TEST_ROLE))
            else:
                ids += [item.child(j).data(0, TEST_ROLE) for j in range(item.childCount())]
        return list(dict.fromkeys(ids))

    def selected_names(self) -> list[str]:
        """The names of the selected tests (see selected_ids)."""
        ids = set(self.selected_ids())
        return [t.name for t in self.tests if t.id in ids]

    def _current_changed(self, current, _previous) -> None:
        test = self.test_of(current)
        self._show_detail(test)
        if test is not None:
            self.testSelected.emit(test.id)

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        test = self.test_of(item)
        if test is not None:
            self.runRequested.emit([test.name])

    def _edit_clicked(self) -> None:
        test = self.current_test()
        if test is not None:
            self.editRequested.emit(test.id)

    def _context_menu(self, pos) -> None:
        test = self.test_of(self.tree.itemAt(pos))
        if test is None:
            return
        self.tree.setCurrentItem(self.item_of(test.id))
        menu = QMenu(self.tree)
        menu.addAction("Edit Test…", self._edit_clicked)
        menu.addAction("Run", lambda: self.runRequested.emit([test.name]))
        menu.addSeparator()
        menu.addAction("Delete", self._delete_clicked)
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def _delete_clicked(self) -> None:
        test = self.current_test()
        if test is not None:
            self.deleteRequested.emit(test.id)

    def _update_buttons(self) -> None:
        self.run_all_button.setEnabled(bool(self.tests))
        self.run_button.setEnabled(bool(self.selected_ids()))
        self.delete_button.setEnabled(self.current_test() is not None)
        self.edit_button.setEnabled(self.current_test() is not None)


class Testing(QObject):
    """The Tests dock of a main window wired to its project, its Run panel and History."""

    __test__ = False  # not a pytest test class

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.document = None
        self.panel = TestsPanel(window.theme)
        self.widgets = {"tests": self.panel}
        self.task: asyncio.Task | None = None
        self.revision: int | None = None  # the document revision the results are of
        self.panel.runAllRequested.connect(self.run_all)
        self.panel.runRequested.connect(self.run_names)
        self.panel.testSelected.connect(self.show_path)
        self.panel.deleteRequested.connect(self.delete)
        self.panel.editRequested.connect(self.edit_test)
        self.editor: TestEditor | None = None  # the open Edit Test dialog

    def connect_sources(self, live) -> None:
        """"Save as Test" of the Run panel and of the History dock."""
        live.run_panel.testWanted.connect(lambda record, outgoing: self.save_as_test(
            record, request_of(outgoing, record)))
        live.log.testWanted.connect(self.save_as_test)

    # -- the project ---------------------------------------------------------------------------
    def set_document(self, document) -> None:
        """Show this project's tests (None: no project); a run still going is stopped."""
        if self.document is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self.document.changed.disconnect(self._changed)
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.editor is not None:  # it edits a test of the project going away
            self.editor.discard()
        self.document = document
        self.revision = None
        self.panel.results.clear()
        self.panel.running.clear()
        self.panel.problems = {}
        self.panel.stale = False
        if document is not None:
            document.changed.connect(self._changed)
        self._changed()

    def _changed(self) -> None:
        doc = self.document
        self.panel.show_tests(doc.project.tests if doc is not None else [])
        self.panel.set_stale(doc is not None and self.revision is not None
                             and doc.revision != self.revision)

    def show_problems(self, problems) -> None:
        """The compiler's problems of the project: those naming a test go to its row."""
        by_test: dict[str, list[str]] = {}
        for p in problems:
            name = test_name_of(p)
            if name is not None:
                by_test.setdefault(name, []).append(p.message)
        self.panel.show_problems(by_test)

    # -- running -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether tests are running now."""
        return self.task is not None and not self.task.done()

    def run_all(self) -> asyncio.Task | None:
        """Run every test (the Run menu's Run All Tests); returns the running task."""
        return self.run_names(None)

    def run_names(self, names: list[str] | None) -> asyncio.Task | None:
        """Run these tests (all for None) without blocking the editor; None when it cannot
        start (no project, no loop, a run going on)."""
        if self.document is None or self.running:
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        self.show_dock()
        self.task = asyncio.ensure_future(self.run(names))
        return self.task

    async def run(self, names: list[str] | None = None) -> list[TestResult]:
        """Run tests on a copy of the project as it is now, showing each result as it comes."""
        doc = self.document
        if doc is None:
            return []
        project = copy.deepcopy(doc.project)  # the user keeps editing while tests run
        revision = doc.revision
        wanted = {t.id for t in project.tests if names is None or t.name in names}
        self.panel.set_running(wanted)
        results: list[TestResult] = []
        try:
            results = await run_tests(project, names, on_result=self._result)
        except ProjectError as e:
            self.panel.say(f"The project has problems, fix them first: {e.describe()}")
        except StartupError as e:
            self.panel.say(f"The tests cannot start: {e}")
        finally:
            if Shiboken.isValid(self.panel):
                self.panel.running.clear()
                self.panel.show_tests(self.panel.tests)
        if doc is self.document and results and Shiboken.isValid(self.panel):
            self.revision = revision
            self._changed()
            current = self.panel.current_test()
            if current is not None and current.id in wanted:
                self.show_path(current.id)
        return results

    def _result(self, result: TestResult) -> None:
        if Shiboken.isValid(self.panel):
            self.panel.show_result(result)

    # -- a test's path, deleting ---------------------------------------------------------------
    def show_path(self, test_id: str) -> None:
        """Paint the path the test's last run took on its action's graph."""
        result = self.panel.results.get(test_id)
        if result is not None and result.record is not None:
            self.window.live.show_record(result.record, open_editor=True)

    def delete(self, test_id: str) -> None:
        """Remove a test from the project (undoable)."""
        test = next((t for t in self.document.project.tests if t.id == test_id), None) \
            if self.document is not None else None
        if test is not None:
            delete_test(self.document, test)

    # -- editing a test --------------------------------------------------------------------------
    def edit_test(self, test_id: str) -> TestEditor | None:
        """Open Edit Test on a test (window-modal, no nested loop); OK saves it as one undo
        step and runs it."""
        doc = self.document
        test = next((t for t in doc.project.tests if t.id == test_id), None) \
            if doc is not None else None
        if test is None:
            return None
        if self.editor is not None:
            self.editor.raise_()
            return self.editor
        editor = TestEditor(doc.project, test, lambda edited: self.apply_edit(test, edited),
                            self.panel.results.get(test.id), self.window.theme,
                            lambda *a: self.window.prompts.confirm(*a), self.window)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.finished.connect(self._editor_closed)
        self.editor = editor
        editor.open()
        return editor

    def _editor_closed(self) -> None:
        self.editor = None

    def apply_edit(self, test: TestCase, edited: TestCase) -> None:
        """Save an edited test (one undo step, same id) and run it to turn it green or red."""
        if self.document is None:
            return
        replace_test(self.document, test, edited)
        self.show_dock()
        self.panel.select(test.id)
        self.run_soon([test.name])

    def run_soon(self, names: list[str]) -> None:
        """Run these tests now, or after the run going on."""
        if self.running:
            self.task.add_done_callback(lambda _task: self.run_soon(names))
        else:
            self.run_names(names)

    # -- saving a run as a test ----------------------------------------------------------------
    def save_as_test(self, run: RunRecord | dict, request: dict | None = None) -> TestCase | None:
        """Ask for a name ("METHOD path status"), then add a test expecting what the run
        answered and changed (ids and times as matchers); it runs at once."""
        doc = self.document
        if doc is None:
            return None
        record = run if isinstance(run, RunRecord) else record_of_run(run)
        if record.source != "http" or not record.endpoint:
            self.window.statusBar().showMessage(
                "Only a request to an endpoint can be saved as a test", 6000)
            return None
        path = (request or {}).get("path") or record.path.partition("?")[0]
        suggested = unique_name({t.name for t in doc.project.tests},
                                f"{record.method} {path} {record.status}")
        name = self.window.prompts.text("Save as Test", "Test name:", suggested)
        if not name:
            return None
        name = unique_name({t.name for t in doc.project.tests}, name)
        test = add_test(doc, test_from_record(record, doc.project, name, request))
        self.show_dock()
        self.panel.select(test.id)
        self.window.statusBar().showMessage(
            f'Saved test "{test.name}" · Edit… (Enter) to loosen what it expects', 8000)
        self.run_names([test.name])
        return test

    def show_dock(self) -> None:
        """Bring the Tests dock to the front."""
        dock = self.window.dock("tests")
        if dock is not None:
            dock.show()
            dock.raise_()
