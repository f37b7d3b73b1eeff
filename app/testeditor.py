"""Edit Test: a test's request, expectations and fixtures as the JSON the project file holds,
checked by the file's own schema and reader, with one-click loosening of expected values to
"any value" or "same type" matchers (issue 16 item 4)."""

from __future__ import annotations

import copy
import html
import json
import re
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFontDatabase, QKeySequence, QShortcut, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from runtime import testcases
from runtime.errors import ProjectError
from runtime.project import Project, TestCase, _test_data, from_data, locate, to_data
from runtime.projectfile import _write, from_checked_data
from runtime.testcases import TYPES, Mismatch, is_matcher, matches, show

STEPS_ROLE = Qt.ItemDataRole.UserRole  # an expected value's place in the test, as JSON steps
WHERE_ROLE = Qt.ItemDataRole.UserRole + 1  # the same place as a run's mismatch names it
ANY = {"$any": True}
# The order a literal's type is guessed in: the narrowest first (a date-time is also a string).
_TYPE_ORDER = ("null", "boolean", "integer", "number", "datetime", "string", "object", "array")
_WHERE_STEP = re.compile(r'\.?([^.\[\]]+)|\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]')

HINT = (
    "<b>Matchers</b> go wherever an expected value does: "
    "<code>{\"$any\": true}</code> any value · "
    "<code>{\"$type\": \"integer\"}</code> (" + ", ".join(TYPES) + ") · "
    "<code>{\"$contains\": x}</code> text, list item or object subset · "
    "<code>{\"$regex\": \"^ann\"}</code> · "
    "<code>{\"$approx\": 9.99, \"tolerance\": 0.01}</code>. "
    "<b>expect</b>: status, body (exactly these keys), paths "
    "(<code>{\"user.email\": value}</code>, <code>items[0].id</code>: one place in the body), "
    "headers, rows (<code>model, op, count, values</code>), mails, events. "
    "<b>Fixtures</b>: seed, rows, now, mocks."
)


class TestEditError(Exception):
    """An edit that is not a valid test: where in the text (line) and in the test (field)."""

    __test__ = False  # not a pytest test class

    def __init__(self, line: int, where: str, message: str, more: list[str] | None = None):
        self.line, self.where, self.message, self.more = line, where, message, list(more or [])
        super().__init__(str(self))

    def __str__(self) -> str:
        place = f"Line {self.line}" + (f", {self.where}" if self.where else "")
        return f"{place}: {self.message}"


def test_text(test: TestCase) -> str:
    """A test as the project file writes it (same keys, order and layout), without its id."""
    data = {k: v for k, v in _test_data(test).items() if k != "id"}
    return _write(data, 0) + "\n"


def parse_test(text: str, project: Project, test: TestCase) -> TestCase:
    """The edited test read by the project file's schema and reader, keeping `test`'s id;
    raises TestEditError naming the line and the field of the first problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise TestEditError(e.lineno, "", f"not valid JSON: {e.msg} (column {e.colno})") \
            from None
    if not isinstance(data, dict):
        raise TestEditError(1, "", "a test is a JSON object: {\"name\": ..., \"request\": ...}")
    if "id" in data and data["id"] != test.id:
        raise TestEditError(line_of(text, ["id"]), "id",
                            f"a test keeps its id ({test.id}): remove the key or put it back")
    data = {"id": test.id, **{k: v for k, v in data.items() if k != "id"}}
    index = project.tests.index(test)
    file = to_data(project)
    file["tests"][index] = data
    try:
        edited = from_checked_data(file).tests[index]
    except ProjectError as e:
        prefix = locate(file, ["tests", index])
        mine = [p for p in e.problems if p.where == prefix
                or p.where.startswith((prefix + ".", prefix + "["))]
        if not mine:  # the rest of the project is at fault: this test read well
            edited = from_data(file).tests[index]
        else:
            raise _located(text, data, prefix, mine) from None
    others = [t for t in project.tests if t is not test]
    if any(t.name == edited.name for t in others):
        raise TestEditError(line_of(text, ["name"]), "name",
                            f'another test is called "{edited.name}": tests need their own names')
    new = _new_problems(project, test, edited)
    if new:
        raise _located(text, data, f'tests["{edited.name}"]', new) from None
    return edited


def _new_problems(project: Project, test: TestCase, edited: TestCase) -> list:
    """The warnings about the edited test (an unknown endpoint, model or event) it did not
    have before the edit: an edit must not break a test's references."""
    def of(candidate: TestCase) -> list:
        scratch = copy.copy(project)
        scratch.tests = [candidate if t is test else t for t in project.tests]
        prefix = f'tests["{candidate.name}"]'
        return [p for p in testcases.problems(scratch)
                if p.where == prefix or p.where.startswith((prefix + ".", prefix + "["))]

    before = {p.where[len(f'tests["{test.name}"]'):] for p in of(test)}
    prefix = len(f'tests["{edited.name}"]')
    return [p for p in of(edited) if p.where[prefix:] not in before]


def _located(text: str, data: dict, prefix: str, problems: list) -> TestEditError:
    """The first problem as a TestEditError at its line, the others as more lines."""
    shown = []
    for p in problems:
        where = p.where[len(prefix):].lstrip(".")
        steps = steps_of(where, data)
        shown.append((line_of(text, steps), where, _in_words(p.message)))
    shown.sort(key=lambda s: s[0])
    line, where, message = shown[0]
    more = [f"Line {n}" + (f", {w}" if w else "") + f": {m}" for n, w, m in shown[1:]]
    return TestEditError(line, where, message, more)


def _in_words(message: str) -> str:
    """A schema message about a test, without the test's name it repeats."""
    return re.sub(r'^test "(?:[^"\\]|\\.)*" ', "", message)


def steps_of(where: str, data: Any = None) -> list[str | int]:
    """A located place (`expect.rows[0].op`, `rows["Users"][1].email`) as JSON steps; a
    list item named by its `name` is looked up in `data`."""
    steps: list[str | int] = []
    node = data
    for m in _WHERE_STEP.finditer(where):
        if m.group(3) is not None:
            step: str | int = int(m.group(3))
        else:
            step = m.group(1) if m.group(1) is not None else m.group(2).replace('\\"', '"')
            if isinstance(node, list):
                step = next((i for i, item in enumerate(node)
                             if isinstance(item, dict) and item.get("name") == step), 0)
        steps.append(step)
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            node = None
    return steps


def offset_of(text: str, steps: list[str | int]) -> int:
    """Where the value at `steps` starts in JSON text (the nearest enclosing value when it is not
    there, or where the text stops being JSON)."""
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    at = skip(0)
    try:
        for step in steps:
            if text[at] == "{":
                i, found = skip(at + 1), None
                while text[i] != "}":
                    key, i = decoder.raw_decode(text, i)
                    i = skip(skip(i) + 1)  # past the colon
                    if key == str(step):
                        found = i
                        break
                    _, i = decoder.raw_decode(text, i)
                    i = skip(i)
                    if text[i] == ",":
                        i = skip(i + 1)
                if found is None:
                    return at
                at = found
            elif text[at] == "[" and isinstance(step, int):
                i = skip(at + 1)
                for _ in range(step):
                    _, i = decoder.raw_decode(text, i)
                    i = skip(i)
                    if text[i] == ",":
                        i = skip(i + 1)
                if text[i] == "]":
                    return at
                at = i
            else:
                return at
    except (ValueError, IndexError):
        pass
    return at


def line_of(text: str, steps: list[str | int]) -> int:
    """The line (from 1) of the value at `steps` in JSON text."""
    return text.count("\n", 0, offset_of(text, steps)) + 1


def type_of(value: Any) -> str | None:
    """The $type matcher a value fits best (None for a matcher other than $type)."""
    if is_matcher(value):
        return value.get("$type") if "$type" in value else None
    return next((t for t in _TYPE_ORDER if matches({"$type": t}, value)), None)


def at_steps(data: Any, steps: list) -> Any:
    """The value at JSON steps."""
    for step in steps:
        data = data[step]
    return data


def set_at(data: Any, steps: list, value: Any) -> None:
    """Replace the value at JSON steps (at least one step)."""
    at_steps(data, steps[:-1])[steps[-1]] = value


class TestEditor(QDialog):
    """The test as JSON beside its expected values, which a click turns into matchers; OK checks
    the text as the project file would and hands the edited test to `apply`."""

    __test__ = False  # not a pytest test class

    def __init__(self, project: Project, test: TestCase, apply, result=None, theme=None,
                 confirm=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Edit Test — {test.name}")
        self.setObjectName("TestEditor")
        self.project, self.test, self.apply, self.theme = project, test, apply, theme
        self.confirm = confirm  # Prompts.confirm: asked before edits are thrown away
        self.mismatches: dict[str, Mismatch] = {}
        if result is not None and not result.passed:
            self.mismatches = {m.where: m for m in result.mismatches}
        self.edited: TestCase | None = None

        what = (f"<b>{html.escape(test.name)}</b> · {html.escape(test.endpoint or 'no endpoint')}"
                f" · id {test.id} (kept)")
        if result is not None:
            state, color = ("passed", "ok") if result.passed else ("failed", "error")
            what += f" · last run: <span style='color:{self._color(color)}'>{state}</span>"
        self.heading = QLabel(what)
        self.text = QPlainTextEdit()
        self.text.setObjectName("TestJson")
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setTabChangesFocus(True)
        self.text.setPlainText(test_text(test))
        self.original = self.text.toPlainText()

        self.values = QTreeWidget()
        self.values.setObjectName("ExpectedValues")
        self.values.setHeaderLabels(["Expected", "Value", "Last run got"])
        self.values.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.values.setUniformRowHeights(True)
        header = self.values.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.values.itemSelectionChanged.connect(self._update_buttons)
        self.any_button = QPushButton("Any Value")
        self.any_button.setToolTip('Accept any value here: {"$any": true} (Ctrl+Z in the text '
                                   "undoes)")
        self.any_button.clicked.connect(lambda: self.loosen("any"))
        self.type_button = QPushButton("Same Type")
        self.type_button.setToolTip('Accept any value of the same type, e.g. {"$type": '
                                    '"string"} (Ctrl+Z in the text undoes)')
        self.type_button.clicked.connect(lambda: self.loosen("type"))
        self.values_note = QLabel()
        self.values_note.setWordWrap(True)
        self.values_note.setObjectName("ValuesNote")

        buttons_row = QHBoxLayout()
        buttons_row.addWidget(self.any_button)
        buttons_row.addWidget(self.type_button)
        buttons_row.addStretch(1)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(QLabel("Loosen what the test expects: select values, then"))
        rl.addLayout(buttons_row)
        rl.addWidget(self.values, 1)
        rl.addWidget(self.values_note)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.text)
        split.addWidget(right)
        split.setChildrenCollapsible(False)
        split.setSizes([780, 440])

        self.hint = QLabel(HINT)
        self.hint.setObjectName("MatcherHint")
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.RichText)
        self.error = QLabel()
        self.error.setObjectName("TestError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet(f"color: {self._color('error')}; font-weight: 600;")
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Save and Run")
        self.ok_button.setToolTip("Check the test, save it (one undo step) and run it "
                                  "(Ctrl+Return)")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(split, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(1240, 760)

        self._refresh = QTimer(self, singleShot=True, interval=250)
        self._refresh.timeout.connect(self.show_values)
        self.text.textChanged.connect(self._text_changed)
        self.show_values()
        self.text.setFocus()

    def _color(self, name: str) -> str:
        if self.theme is not None:
            return self.theme.colors[name]
        return {"ok": "#2b9a66", "error": "#dc3e42", "muted": "#80838d"}[name]

    # -- the expected values beside the text ----------------------------------------------------
    def data(self) -> dict | None:
        """The text as JSON, or None while it is not a JSON object."""
        try:
            data = json.loads(self.text.toPlainText())
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def show_values(self) -> None:
        """List the expected values of the text (body, paths, headers, rows' values)."""
        self._refresh.stop()
        data = self.data()
        selected = {item.data(0, STEPS_ROLE) for item in self.values.selectedItems()}
        self.values.blockSignals(True)
        try:
            self.values.clear()
            expect = data.get("expect") if data is not None else None
            if isinstance(expect, dict):
                if "body" in expect:
                    self._add(self.values, "body", expect["body"], ["expect", "body"], "body")
                for key in ("paths", "headers"):
                    if isinstance(expect.get(key), dict):
                        group = self._group(key, f"{key} checked")
                        for name, value in expect[key].items():
                            where = ("body." + name.lstrip("$.") if key == "paths"
                                     else f"headers.{name}")
                            self._add(group, name, value, ["expect", key, name], where)
                for i, rule in enumerate(expect.get("rows") or []):
                    if isinstance(rule, dict) and isinstance(rule.get("values"), dict):
                        group = self._group(f"rows[{i}]", f"{rule.get('model')} "
                                            f"{rule.get('op')}", where=f"rows[{i}]")
                        for name, value in rule["values"].items():
                            self._add(group, name, value, ["expect", "rows", i, "values", name],
                                      None)
            for item in self._items():
                item.setSelected(item.data(0, STEPS_ROLE) in selected)
        finally:
            self.values.blockSignals(False)
        self.values.expandAll()
        self.values.setEnabled(data is not None)
        if data is None:
            self.values_note.setText("Fix the JSON to loosen values here.")
        elif not self.values.topLevelItemCount():
            self.values_note.setText("This test expects no values (only a status or rows "
                                     "counted).")
        else:
            self.values_note.setText("Tip: a test of a body checks exactly its keys; to check "
                                     "one value only, use expect.paths.")
        self._update_buttons()

    def _group(self, label: str, text: str, where: str | None = None) -> QTreeWidgetItem:
        group = QTreeWidgetItem(self.values, [label, text, ""])
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)  # its values loosen, not the group
        self._mark(group, where)
        return group

    def _add(self, parent, label: str, value: Any, steps: list, where: str | None) -> None:
        container = isinstance(value, (dict, list)) and not is_matcher(value)
        item = QTreeWidgetItem(parent, [label, show(value, 80) if not container or not value
                                        else ("{…}" if isinstance(value, dict) else "[…]"), ""])
        item.setData(0, STEPS_ROLE, json.dumps(steps))
        item.setToolTip(1, show(value, 400))
        self._mark(item, where)
        if not container:
            return
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        for key, inner in pairs:
            place = None if where is None else (
                f"{where}.{key}" if isinstance(value, dict) else f"{where}[{key}]")
            self._add(item, str(key) if isinstance(value, dict) else f"[{key}]", inner,
                      [*steps, key], place)

    def _mark(self, item: QTreeWidgetItem, where: str | None) -> None:
        """What the last run got where it differed from this value."""
        mismatch = self.mismatches.get(where) if where else None
        if mismatch is None:
            return
        got = mismatch.message or show(mismatch.actual, 80)
        item.setText(2, got)
        item.setToolTip(2, str(mismatch))
        item.setForeground(2, QColor(self._color("error")))
        item.setForeground(0, QColor(self._color("error")))

    def _items(self) -> list[QTreeWidgetItem]:
        out, stack = [], [self.values.topLevelItem(i)
                          for i in range(self.values.topLevelItemCount())]
        while stack:
            item = stack.pop(0)
            out.append(item)
            stack += [item.child(j) for j in range(item.childCount())]
        return out

    def item_at(self, *steps) -> QTreeWidgetItem | None:
        """The row of the expected value at these steps (e.g. "expect", "body", "caption")."""
        wanted = json.dumps(list(steps))
        return next((i for i in self._items() if i.data(0, STEPS_ROLE) == wanted), None)

    def _update_buttons(self) -> None:
        chosen = self.chosen()
        self.any_button.setEnabled(bool(chosen))
        data = self.data()
        self.type_button.setEnabled(data is not None and bool(chosen) and all(
            type_of(at_steps(data, steps)) is not None for steps in chosen))

    def chosen(self) -> list[list]:
        """The places of the selected expected values."""
        return [json.loads(item.data(0, STEPS_ROLE)) for item in self.values.selectedItems()
                if item.data(0, STEPS_ROLE)]

    def loosen(self, how: str) -> None:
        """Turn the selected expected values into matchers: "any" value or the same "type"."""
        data, chosen = self.data(), self.chosen()
        if data is None or not chosen:
            return
        for steps in sorted(chosen, key=len):  # a value inside one loosened already is gone
            try:
                value = at_steps(data, steps)
            except (KeyError, IndexError, TypeError):
                continue
            kind = type_of(value)
            set_at(data, steps, ANY if how == "any" or kind is None else {"$type": kind})
        text = _write(data, 0) + "\n"
        cursor = QTextCursor(self.text.document())
        cursor.beginEditBlock()  # one Ctrl+Z in the text takes it back
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.endEditBlock()
        self.show_values()
        self._go_to(line_of(text, chosen[0]), highlight=False)

    # -- checking and saving --------------------------------------------------------------------
    def _text_changed(self) -> None:
        self.text.setExtraSelections([])
        self._refresh.start()

    def _go_to(self, line: int, highlight: bool) -> None:
        block = self.text.document().findBlockByLineNumber(max(line - 1, 0))
        cursor = QTextCursor(block)
        self.text.setTextCursor(cursor)
        self.text.centerCursor()
        if highlight:
            mark = QTextEdit.ExtraSelection()
            color = QColor(self._color("error"))
            color.setAlpha(50)
            mark.format.setBackground(color)
            mark.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            mark.cursor = cursor
            self.text.setExtraSelections([mark])

    def accept(self) -> None:
        """Check the text as the project file would; a valid test goes to `apply` and the dialog
        closes, a bad one is named (line and field) and the dialog stays, text and all."""
        if self.test not in self.project.tests:
            self._refuse("The test is no longer in the project (deleted or undone).")
            return
        try:
            edited = parse_test(self.text.toPlainText(), self.project, self.test)
        except TestEditError as e:
            self._refuse("\n".join([str(e), *e.more[:3]]))
            self._go_to(e.line, highlight=True)
            return
        self.edited = edited
        self.error.hide()
        self.apply(edited)
        super().accept()

    def reject(self) -> None:
        """Cancel (Escape): edits are thrown away only when the user says so."""
        if self.text.toPlainText() != self.original and self.confirm is not None and \
                not self.confirm("Discard Changes", f'Discard your changes to the test '
                                 f'"{self.test.name}"?', "Discard"):
            return
        super().reject()

    def discard(self) -> None:
        """Close without asking (the project is going away)."""
        super().reject()

    def _refuse(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
