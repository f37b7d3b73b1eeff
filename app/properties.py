"""The properties panel: a form made from the selected event's kind, its settings and inputs.

No event has GUI code of its own: each setting kind (model, field_map, where, order, variable,
choice, integer, boolean, text) has one editor here, and every unwired data input gets a line
for a literal or an `=expression` that completes the variables in scope and the functions.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QRegularExpression,
    QSettings,
    QSize,
    QStringListModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nodes import catalogue
from nodes.kind import EventKind, Port, Setting
from runtime.compiler import scope_at
from runtime.expressions import FUNCTIONS
from runtime.project import TRIGGER_NODE, Action, Event, Model, Project
from runtime.where import OPS, UNARY, field_kinds

TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")
NAME = QRegularExpression(r"^$|^[A-Za-z][A-Za-z0-9_]*$")
ABSENT = object()  # a setting that is not in the event's settings (its default applies)


# -- what is in scope, and values as text --------------------------------------------------------

def scope_words(project: Project, action: Action, event_id: str,
                kinds: dict[str, EventKind]) -> list[str]:
    """What an expression in this event can read, as the compiler decides it (endpoint inputs,
    globals, variables of the events before it, with the fields of records), then the
    functions."""
    return scope_at(project, action, event_id, kinds) + [f"{name}(" for name in sorted(FUNCTIONS)]


DESCRIPTION_OPEN = "properties/descriptionOpen"  # QSettings key: the kind's description shown


def description_open() -> bool:
    """Whether the kind's description shows unfolded: the first time, then as the user left
    it (folded unless they opened it), so the settings come first."""
    settings = QSettings()
    value = settings.value(DESCRIPTION_OPEN)
    if value is None:
        settings.setValue(DESCRIPTION_OPEN, False)
        return True
    return value in (True, "true", "1", 1)


def to_text(value: Any) -> str:
    """How a setting value shows in a line: text as is, anything else as JSON."""
    if value is None or value is ABSENT:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def from_text(text: str, kind: str = "Any") -> Any:
    """A typed line back to a value: `=...` stays an expression, numbers and JSON are parsed
    where the port or field kind wants them, anything else is text. "" means unset (None)."""
    stripped = text.strip()
    if stripped == "":
        return None
    if stripped.startswith("="):
        return stripped
    if kind in ("Text", "Date", "DateTime"):
        return text
    if kind in ("Number", "Integer", "Decimal", "Link", "Any", "JSON", "Record", "Records", "List",
                "Boolean"):
        try:
            value = json.loads(stripped)
        except ValueError:
            return text
        if kind in ("Number", "Integer", "Decimal", "Link") and not isinstance(value, (int, float)):
            return text
        if kind == "Boolean" and not isinstance(value, bool):
            return text
        return value
    return text


def trigger_summary(project: Project, action: Action) -> str:
    """What starts an action, in a few words: `POST /v1/shoes`, `every day at 8`, `after X`."""
    t = action.trigger
    if t.type == "endpoint":
        endpoint = project.endpoint(t.endpoint or "")
        return f"{endpoint.method} {endpoint.path}" if endpoint else f"endpoint {t.endpoint or '?'}"
    if t.type == "schedule":
        return f"schedule {t.schedule or '?'}"
    return f"after action {t.action or '?'}"


# -- the line for a literal or an expression ----------------------------------------------------

class ExpressionEdit(QLineEdit):
    """A line for a literal or an `=expression`; after `=`, it completes names and functions."""

    def __init__(self, words: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.words = QStringListModel(words, self)
        self.completer = QCompleter(self.words, self)
        self.completer.setWidget(self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self.insert_completion)
        self.textEdited.connect(self._complete)
        self.setPlaceholderText("literal, or =expression")

    def token(self) -> str:
        """The name being typed just before the cursor (`body.sh` in `=body.sh`)."""
        if not self.text().startswith("="):
            return ""
        found = TOKEN.search(self.text()[1:self.cursorPosition()])
        return found.group(0) if found else ""

    def _complete(self, text: str) -> None:
        token = self.token()
        if not token:
            self.completer.popup().hide()
            return
        self.completer.setCompletionPrefix(token)
        count = self.completer.completionCount()
        if count == 0 or (count == 1 and self.completer.currentCompletion() == token):
            self.completer.popup().hide()
            return
        rect = self.cursorRect()
        rect.setWidth(max(220, self.completer.popup().sizeHintForColumn(0) + 24))
        self.completer.complete(rect)

    def insert_completion(self, completion: str) -> None:
        """Replace the name before the cursor with a completion, as if typed."""
        token = self.token()
        pos = self.cursorPosition()
        text = self.text()
        self.setText(text[:pos - len(token)] + completion + text[pos:])
        self.setCursorPosition(pos - len(token) + len(completion))
        self.textEdited.emit(self.text())

    def keyPressEvent(self, event):
        # while the popup shows, these keys choose or dismiss a completion instead
        if self.completer.popup().isVisible() and event.key() in (
                Qt.Key.Key_Enter, Qt.Key.Key_Return, Qt.Key.Key_Escape, Qt.Key.Key_Tab,
                Qt.Key.Key_Backtab):
            event.ignore()
            return
        super().keyPressEvent(event)


# -- editors of structured settings ----------------------------------------------------------------

def _clear(layout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().hide()
            item.widget().deleteLater()  # the sender of the signal that led here may be inside
        elif item.layout() is not None:
            _clear(item.layout())


class FieldMapEditor(QTableWidget):
    """Field | value for every field of the chosen model (empty value: not set)."""

    changed = Signal(object, object)  # the new mapping, a merge key for typing

    def __init__(self, words: list[str], parent: QWidget | None = None):
        super().__init__(0, 2, parent)
        self.words = words
        self.edits: dict[str, ExpressionEdit] = {}
        self.mapping: dict[str, Any] = {}
        self._height = 60
        self.setHorizontalHeaderLabels(["Field", "Value"])
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def load(self, model: Model | None, mapping: Any) -> None:
        """Show a mapping for a model's fields (and any mapped field the model lacks)."""
        self.mapping = dict(mapping) if isinstance(mapping, dict) else {}
        kinds = {f.name: f.kind for f in model.fields} if model else {}
        names = list(kinds) + [k for k in self.mapping if k not in kinds]
        self.edits = {}
        self.setRowCount(len(names))
        for row, name in enumerate(names):
            label = QTableWidgetItem(name if name in kinds else f"{name} (not a field)")
            label.setFlags(Qt.ItemFlag.ItemIsEnabled)
            label.setToolTip(kinds.get(name, "this model has no such field"))
            self.setItem(row, 0, label)
            edit = ExpressionEdit(self.words)
            edit.setFrame(False)
            edit.setText(to_text(self.mapping.get(name)))
            kind = kinds.get(name, "Any")
            edit.textEdited.connect(lambda text, n=name, k=kind: self._edited(n, k, text))
            self.setCellWidget(row, 1, edit)
            self.edits[name] = edit
        # tall enough for every row: the panel scrolls, the table should not
        header = self.horizontalHeader().sizeHint().height()
        rows = self.verticalHeader().defaultSectionSize() * max(len(names), 1)
        self._height = header + rows + 2 * self.frameWidth() + 2
        self.setFixedHeight(self._height)
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self._height)

    def _edited(self, name: str, kind: str, text: str) -> None:
        value = from_text(text, kind)
        if value is None:
            self.mapping.pop(name, None)
        else:
            self.mapping[name] = value
        self.changed.emit(dict(self.mapping), name)


class WhereEditor(QWidget):
    """Conditions field / operator / value, joined by and (all) or or (any)."""

    changed = Signal(object, object)  # the new filter (or None), a merge key for typing

    def __init__(self, words: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.words = words
        self.fields: list[str] = []
        self.rows: list[dict] = []
        self.mode = QComboBox(self)
        self.mode.addItem("all of these (and)", "and")
        self.mode.addItem("any of these (or)", "or")
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(2)
        self.add = QPushButton("+ Condition", self)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.mode)
        layout.addLayout(self.rows_box)
        layout.addWidget(self.add, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.note)
        self.mode.currentIndexChanged.connect(lambda _: self._emit(None))
        self.add.clicked.connect(self._add_row)
        self.conditions: list[dict] = []
        self.kinds: dict[str, str] = {}
        self.supported = True

    def load(self, model: Model | None, data: Any) -> None:
        """Show a filter on a model's fields (nested groups are shown, not edited)."""
        self.fields = list(field_kinds(model)) if model else []
        self.kinds = field_kinds(model) if model else {}
        conditions, mode, ok = _flatten(data)
        self.supported = ok
        self.conditions = conditions
        self.mode.blockSignals(True)
        self.mode.setCurrentIndex(0 if mode == "and" else 1)
        self.mode.blockSignals(False)
        self._show_rows()
        self.note.setText("" if ok else "This filter nests groups, which this form cannot "
                          "edit: " + json.dumps(data))
        self.note.setVisible(not ok)
        self.add.setEnabled(ok and bool(self.fields))
        self.mode.setEnabled(ok)

    def _show_rows(self) -> None:
        _clear(self.rows_box)
        self.rows = []
        self.mode.setVisible(len(self.conditions) > 1)
        for index, cond in enumerate(self.conditions if self.supported else []):
            row = QHBoxLayout()
            field = QComboBox()
            field.addItems(self.fields)
            if cond.get("field") not in self.fields:
                field.addItem(str(cond.get("field")))
            field.setCurrentText(str(cond.get("field")))
            op = QComboBox()
            op.addItems([o.replace("_", " ") for o in OPS])
            op.setCurrentIndex(OPS.index(cond.get("op", "=")) if cond.get("op", "=") in OPS else 0)
            value = ExpressionEdit(self.words)
            value.setText(to_text(cond.get("value")))
            value.setVisible(cond.get("op", "=") not in UNARY)
            remove = QToolButton()
            remove.setText("✕")
            remove.setToolTip("Remove this condition")
            row.addWidget(field, 2)
            row.addWidget(op, 1)
            row.addWidget(value, 3)
            row.addWidget(remove)
            self.rows_box.addLayout(row)
            self.rows.append({"field": field, "op": op, "value": value, "remove": remove})
            field.currentTextChanged.connect(lambda t, i=index: self._set(i, "field", t))
            op.currentIndexChanged.connect(lambda k, i=index: self._set(i, "op", OPS[k]))
            value.textEdited.connect(lambda t, i=index: self._set(i, "value", t))
            remove.clicked.connect(lambda _=False, i=index: self._remove(i))

    def _set(self, index: int, key: str, raw: str) -> None:
        cond = self.conditions[index]
        if key == "value":
            cond["value"] = from_text(raw, self.kinds.get(cond.get("field"), "Any"))
            self._emit(("value", index))
            return
        cond[key] = raw
        if key == "op":
            unary = raw in UNARY
            self.rows[index]["value"].setVisible(not unary)
            if unary:
                cond.pop("value", None)
        self._emit(None)

    def _add_row(self) -> None:
        self.conditions.append({"field": self.fields[0] if self.fields else "id", "op": "=",
                                "value": None})
        self._show_rows()
        self._emit(None)

    def _remove(self, index: int) -> None:
        del self.conditions[index]
        self._show_rows()
        self._emit(None)

    def value(self) -> Any:
        """The filter as settings data: None, one condition, or an and/or group."""
        conditions = [dict(c) for c in self.conditions]
        if not conditions:
            return None
        if len(conditions) == 1:
            return conditions[0]
        return {self.mode.currentData(): conditions}

    def _emit(self, merge) -> None:
        self.changed.emit(self.value(), merge)


def _flatten(data: Any) -> tuple[list[dict], str, bool]:
    """A filter as a flat list of conditions and its joining word; False when nested."""
    if data in (None, {}, []):
        return [], "and", True
    if isinstance(data, dict) and "field" in data:
        return [dict(data)], "and", True
    for mode in ("and", "or"):
        if isinstance(data, dict) and isinstance(data.get(mode), list) and \
                all(isinstance(c, dict) and "field" in c for c in data[mode]):
            return [dict(c) for c in data[mode]], mode, True
    return [], "and", False


class OrderEditor(QWidget):
    """Sort fields, each ascending or descending, in order of importance."""

    changed = Signal(object, object)

    def __init__(self, words: list[str] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.fields: list[str] = []
        self.items: list[dict] = []
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(2)
        self.add = QPushButton("+ Sort field", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.rows_box)
        layout.addWidget(self.add, 0, Qt.AlignmentFlag.AlignLeft)
        self.add.clicked.connect(self._add_row)

    def load(self, model: Model | None, data: Any) -> None:
        """Show a sort order on a model's fields."""
        self.fields = list(field_kinds(model)) if model else []
        self.items = [dict(i) if isinstance(i, dict) else {"field": str(i), "dir": "asc"}
                      for i in (data if isinstance(data, list) else [])]
        self.add.setEnabled(bool(self.fields))
        self._show_rows()

    def _show_rows(self) -> None:
        _clear(self.rows_box)
        for index, item in enumerate(self.items):
            row = QHBoxLayout()
            field = QComboBox()
            field.addItems(self.fields)
            if item.get("field") not in self.fields:
                field.addItem(str(item.get("field")))
            field.setCurrentText(str(item.get("field")))
            direction = QComboBox()
            direction.addItem("ascending", "asc")
            direction.addItem("descending", "desc")
            direction.setCurrentIndex(1 if item.get("dir") == "desc" else 0)
            remove = QToolButton()
            remove.setText("✕")
            remove.setToolTip("Remove this sort field")
            row.addWidget(field, 2)
            row.addWidget(direction, 1)
            row.addWidget(remove)
            self.rows_box.addLayout(row)
            field.currentTextChanged.connect(lambda t, i=index: self._set(i, "field", t))
            direction.currentIndexChanged.connect(
                lambda k, i=index, d=direction: self._set(i, "dir", d.itemData(k)))
            remove.clicked.connect(lambda _=False, i=index: self._remove(i))

    def _set(self, index: int, key: str, value: str) -> None:
        self.items[index][key] = value
        self.changed.emit(self.value(), None)

    def _add_row(self) -> None:
        self.items.append({"field": self.fields[0], "dir": "asc"})
        self._show_rows()
        self.changed.emit(self.value(), None)

    def _remove(self, index: int) -> None:
        del self.items[index]
        self._show_rows()
        self.changed.emit(self.value(), None)

    def value(self) -> list[dict]:
        """The order as settings data."""
        return [dict(i) for i in self.items]


# -- the panel -----------------------------------------------------------------------------------

class PropertiesPanel(QScrollArea):
    """The form of the selected event; each change is an undoable edit (typing merges)."""

    def __init__(self, source, action: Action | None = None, parent: QWidget | None = None,
                 kinds: dict[str, EventKind] | None = None):
        """`source`: a Document (then pass the action), or an ActionGraph to follow."""
        super().__init__(parent)
        graph = source if hasattr(source, "eventSelected") else None
        self.document = graph.document if graph is not None else source
        self.action = graph.action if graph is not None else action
        if kinds is None:
            kinds = graph.kinds if graph is not None else catalogue()
        self.kinds = kinds
        self.event_id = ""
        self.fields: dict[str, QWidget] = {}  # editors by setting or input name
        self.description: QLineEdit | None = None
        self._signature: Any = None
        self._shown_id: str | None = None  # the event the form was last built for
        self._scope: tuple | None = None  # (revision, action, event), its completion words
        self.about: QToolButton | None = None  # folds the kind's description
        self.about_text: QLabel | None = None
        self._committing = False
        self._dependent: list[Callable[[Model | None], None]] = []  # editors that follow the model
        self.graph = None  # the graph whose last run is shown (see `follow`)
        # Adds a part to an event's form (layout, event): the window's pinned-output part.
        self.event_part: Callable[[QVBoxLayout, Event], None] | None = None
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(260)
        self.document.changed.connect(self._document_changed)
        self._rebuild()
        self.graph = graph
        if graph is not None:
            graph.eventSelected.connect(self.show_event)
            graph.traceChanged.connect(self._show_last_run)
            ids = graph.selected_ids()
            if len(ids) == 1:
                self.show_event(ids[0])

    # -- public API -------------------------------------------------------------------------------
    def follow(self, graph) -> None:
        """Show the last run of this graph's events (the main window's panel follows the
        current action graph)."""
        if graph is self.graph:
            return
        if self.graph is not None:
            try:
                self.graph.traceChanged.disconnect(self._show_last_run)
            except (RuntimeError, TypeError):
                pass  # the old graph is gone
        self.graph = graph
        if graph is not None:
            graph.traceChanged.connect(self._show_last_run)
        self._show_last_run()

    def set_action(self, action: Action | None) -> None:
        """Edit events of another action (clears the form)."""
        self.action = action
        self.show_event("")

    def show_event(self, event_id: str) -> None:
        """Show the form of an event ("trigger" for the trigger, "" for nothing)."""
        self.event_id = event_id or ""
        self._rebuild()

    @property
    def event(self) -> Event | None:
        """The event shown, or None."""
        if self.action is None:
            return None
        return self.action.events.get(self.event_id)

    # -- building the form -------------------------------------------------------------------------
    def _document_changed(self) -> None:
        if self._committing:
            return
        if self._compute_signature() != self._signature:
            self._rebuild()

    def _compute_signature(self) -> Any:
        event = self.event
        if event is None:
            return (self.event_id, None, self.action.trigger if self.action else None)
        project = self.document.project
        wired = sorted((w.input, w.source, w.output) for w in self.action.wires
                       if w.target == event.id)
        models = [(m.name, [(f.name, f.kind) for f in m.fields]) for m in project.models]
        words = self._words(event.id)
        return (event.id, id(event), event.kind, repr(event.settings), event.description,
                wired, models, words, repr(event.pin))

    def _words(self, event_id: str) -> list[str]:
        """The completion words at an event, asked of the compiler once per revision."""
        revision = getattr(self.document, "revision", None)
        key = (revision, id(self.action), event_id)
        if revision is None or self._scope is None or self._scope[0] != key:
            words = scope_words(self.document.project, self.action, event_id, self.kinds)
            self._scope = (key, words)
        return self._scope[1]

    def _rebuild(self) -> None:
        self._signature = self._compute_signature()
        # the same event shown again (after an undo, a change elsewhere): stay where the user was
        keep = self.verticalScrollBar().value() if self.event_id == self._shown_id else 0
        self._shown_id = self.event_id
        old = self.takeWidget()
        if old is not None:
            old.deleteLater()
        self.fields = {}
        self.description = None
        self.about = self.about_text = None
        self._dependent = []
        body = QWidget()
        layout = QVBoxLayout(body)
        event = self.event
        if self.action is not None and self.event_id == TRIGGER_NODE:
            self._trigger_form(layout)
        elif event is None:
            hint = QLabel("Select an event to see its properties.")
            hint.setWordWrap(True)
            hint.setEnabled(False)
            layout.addWidget(hint)
        else:
            self._event_form(layout, event)
        self._run_box = QVBoxLayout()
        self._run_box.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._run_box)
        self._show_last_run()
        # a stretch, not top alignment: wrapped labels need their height-for-width honoured
        layout.addStretch(1)
        self.setWidget(body)
        if keep:
            body.layout().activate()
            self.verticalScrollBar().setValue(keep)
            QTimer.singleShot(0, lambda: self.verticalScrollBar().setValue(keep))

    def _show_last_run(self) -> None:
        """Show the last run of the event in its own part of the form: a new run (a Send in the
        Run panel) changes only that part, so the form and its scroll position stay."""
        box = getattr(self, "_run_box", None)
        if box is None:
            return
        _clear(box)
        if self.graph is not None and self.event_id:
            self._last_run(box, self.graph.trace_of(self.event_id))

    def _last_run(self, layout, steps: list) -> None:
        """What the event did in the run shown on the graph: time, inputs, outputs, rows, error."""
        if not steps:
            return
        parts = []
        for n, step in enumerate(steps[:20], 1):
            head = f"{step.ms:.2f} ms" + (f", left by {step.port}" if step.port else "")
            if len(steps) > 1:
                head = f"Pass {n}: {head}"
            rows = [f"<b>{_esc(head)}</b>"]
            if step.error:
                rows.append(f'<span style="color:#eb4040">&#10007; {_esc(step.error)}</span>')
            for title, values in (("Inputs", step.inputs), ("Outputs", step.outputs)):
                if values:
                    rows.append(f"<i>{title}</i>")
                    rows += [f"&nbsp;&nbsp;{_esc(k)} = {_esc(_short(v))}" for k, v in values.items()]
            for c in step.changes[:10]:
                row = c.after or c.before or {}
                rows.append(f"&nbsp;&nbsp;{_esc(c.op)} {_esc(c.model)} #{_esc(row.get('id', '?'))}")
            parts.append("<br/>".join(rows))
        box = QLabel("<br/><br/>".join(parts))
        box.setObjectName("lastRun")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setWordWrap(True)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        title = QLabel("<b>Last run</b>")
        title.setTextFormat(Qt.TextFormat.RichText)
        layout.addSpacing(10)
        layout.addWidget(title)
        layout.addWidget(box)

    def _heading(self, layout, title: str, doc: str, fold: bool = False) -> None:
        head = QLabel(f"<b>{title}</b>")
        head.setTextFormat(Qt.TextFormat.RichText)
        font = head.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        head.setFont(font)
        text = QLabel(doc)
        text.setWordWrap(True)
        text.setEnabled(False)  # the muted colour of the current theme
        if not fold:
            layout.addWidget(head)
            layout.addWidget(text)
            return
        # a kind's description folds away, so the settings and mappings need no scrolling
        about = QToolButton()
        about.setObjectName("aboutKind")
        about.setCheckable(True)
        about.setAutoRaise(True)
        about.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        about.setText("About")
        about.setToolTip("Show or hide what this kind of event does")
        row = QHBoxLayout()
        row.addWidget(head, 1)
        row.addWidget(about)
        layout.addLayout(row)
        layout.addWidget(text)

        def unfold(on: bool, remember: bool = True) -> None:
            about.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
            text.setVisible(on)
            if remember:
                QSettings().setValue(DESCRIPTION_OPEN, on)

        about.setChecked(description_open())
        unfold(about.isChecked(), remember=False)
        about.toggled.connect(unfold)
        self.about = about
        self.about_text = text

    def _trigger_form(self, layout) -> None:
        t = self.action.trigger
        self._heading(layout, "Trigger", "What starts this action; it leads to the first event. "
                      "Choose the endpoint, schedule or action in the action's settings.")
        form = QFormLayout()
        form.addRow("Type", QLabel(t.type))
        form.addRow("Starts on", QLabel(trigger_summary(self.document.project, self.action)))
        layout.addLayout(form)

    def _event_form(self, layout, event: Event) -> None:
        kind = self.kinds.get(event.kind)
        if kind is None:
            self._heading(layout, f"Unknown event {event.id}",
                          f'This editor does not know the event kind "{event.kind}"; the event is '
                          "kept as it is.")
            return
        self._heading(layout, f"{kind.name} <span style='font-weight:normal'>· {event.id}</span>",
                      kind.doc, fold=True)
        words = self._words(event.id)
        form = _form()
        self.description = QLineEdit(event.description)
        self.description.setPlaceholderText("what this event is for")
        self.description.textEdited.connect(self._set_description)
        _add_row(form, QLabel("Description"), self.description)
        layout.addLayout(form)

        model = self.document.project.model(event.settings.get("model") or "")
        dependent: list[Callable[[Model | None], None]] = []
        if kind.settings:
            layout.addWidget(_section("Settings"))
            form = None
            for setting in kind.settings:
                editor = self._setting_editor(kind, event, setting, model, words, dependent)
                editor.setToolTip(setting.doc)
                self.fields[setting.name] = editor
                label = QLabel(_label(setting.name) + (" *" if setting.required else ""))
                label.setToolTip(setting.doc)
                if setting.kind in ("field_map", "where", "order"):
                    # full width, under its label (a form row would squeeze a table)
                    layout.addWidget(label)
                    layout.addWidget(editor)
                    form = None
                    continue
                if form is None:
                    form = _form()
                    layout.addLayout(form)
                _add_row(form, label, editor)
        self._dependent = dependent
        if kind.inputs:
            layout.addWidget(_section("Inputs"))
            inputs_form = _form()
            wired = {w.input: w for w in self.action.wires if w.target == event.id}
            for port in kind.inputs:
                editor = self._input_editor(event, port, wired.get(port.name), words)
                editor.setToolTip(f"{port.kind}: {port.doc}")
                self.fields[port.name] = editor
                label = QLabel(f"{port.name} ({port.kind})" + (" *" if port.required else ""))
                label.setToolTip(port.doc)
                _add_row(inputs_form, label, editor)
            layout.addLayout(inputs_form)
        if self.event_part is not None:
            self.event_part(layout, event)

    def _setting_editor(self, kind: EventKind, event: Event, setting: Setting,
                        model: Model | None, words: list[str], dependent: list) -> QWidget:
        value = event.settings.get(setting.name, setting.default)
        name = setting.name
        if setting.kind == "model":
            combo = QComboBox()
            combo.addItem("")
            combo.addItems([m.name for m in self.document.project.models])
            if value and combo.findText(value) < 0:
                combo.addItem(value)  # an unknown model stays visible (the compiler flags it)
            combo.setCurrentText(value or "")
            combo.currentTextChanged.connect(lambda text: self._model_chosen(setting, text))
            return combo
        if setting.kind in ("field_map", "where", "order"):
            make = {"field_map": FieldMapEditor, "where": WhereEditor, "order": OrderEditor}
            editor = make[setting.kind](words)
            editor.load(model, value)
            editor.changed.connect(lambda v, key: self._set(setting, v, merge=key))
            # the fields to map, filter and sort by follow the model chosen above
            dependent.append(lambda m: editor.load(m, self._current(name, setting.default)))
            return editor
        if setting.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(setting.choices))
            if value not in setting.choices and value is not None:
                combo.addItem(str(value))
            combo.setCurrentText(str(value if value is not None else setting.choices[0]))
            combo.currentTextChanged.connect(lambda text: self._set(setting, text))
            return combo
        if setting.kind == "integer":
            spin = QSpinBox()
            spin.setRange(-2_000_000_000, 2_000_000_000)
            spin.setValue(value if isinstance(value, int) else 0)
            spin.valueChanged.connect(lambda v: self._set(setting, v, merge="typing"))
            return spin
        if setting.kind == "boolean":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(lambda on: self._set(setting, on))
            return box
        line = QLineEdit(to_text(value))
        if setting.kind == "variable":
            line.setValidator(QRegularExpressionValidator(NAME, line))
            line.setPlaceholderText("variable name")
        line.textEdited.connect(lambda text: self._set(setting, text, merge="typing"))
        return line

    def _input_editor(self, event: Event, port: Port, wire, words: list[str]) -> QWidget:
        if wire is not None:
            label = QLabel(f"wired from {wire.source}.{wire.output}")
            label.setEnabled(False)
            return label
        edit = ExpressionEdit(words)
        edit.setText(to_text(event.settings.get(port.name)))
        if port.default is not None:
            edit.setPlaceholderText(f"{to_text(port.default)} (default)")
        edit.textEdited.connect(
            lambda text: self._set_input(port, from_text(text, port.kind)))
        return edit

    # -- edits ------------------------------------------------------------------------------------
    def _current(self, name: str, default: Any) -> Any:
        event = self.event
        return event.settings.get(name, default) if event is not None else default

    def _model_chosen(self, setting: Setting, text: str) -> None:
        self._set(setting, text)
        model = self.document.project.model(text)
        for reload in self._dependent:
            reload(model)

    def _set(self, setting: Setting, value: Any, merge: Any = None) -> None:
        """Set a setting (back to its default: remove it, which keeps files small)."""
        empty = value in (None, "", {}, []) and setting.kind != "boolean"
        unset = empty or value == setting.default
        self._change_setting(setting.name, ABSENT if unset else value, _label(setting.name), merge)

    def _set_input(self, port: Port, value: Any) -> None:
        unset = value is None or value == port.default
        self._change_setting(port.name, ABSENT if unset else value, port.name, "typing")

    def _change_setting(self, name: str, value: Any, label: str, merge: Any) -> None:
        event = self.event
        if event is None:
            return
        old = copy.deepcopy(event.settings[name]) if name in event.settings else ABSENT
        if old is value or (old is not ABSENT and value is not ABSENT and old == value):
            return
        new = copy.deepcopy(value) if value is not ABSENT else ABSENT

        def apply(forward: bool) -> None:
            target = new if forward else old
            if target is ABSENT:
                event.settings.pop(name, None)
            else:
                event.settings[name] = copy.deepcopy(target)

        kind = self.kinds.get(event.kind)
        what = f"{kind.name if kind else event.kind} {event.id}"
        key = (id(event), name, merge) if merge is not None else None
        self._commit(f"Set {label} of {what}", apply, key)

    def _set_description(self, text: str) -> None:
        event = self.event
        if event is None or text == event.description:
            return
        old = event.description

        def apply(forward: bool) -> None:
            event.description = text if forward else old

        self._commit(f"Set description of {event.id}", apply, (id(event), "description"))

    def _commit(self, label: str, apply: Callable[[bool], None], merge_key: Any) -> None:
        # our own edit must not rebuild the form under the user's cursor
        self._committing = True
        try:
            self.document.edit(label, apply, merge_key)
        finally:
            self._committing = False
        self._signature = self._compute_signature()


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


def _add_row(form: QFormLayout, label: QLabel, editor: QWidget) -> None:
    # a form puts labels at the top of their row: as tall as the field, they sit level with it
    label.setMinimumHeight(editor.sizeHint().height())
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    form.addRow(label, editor)


def _section(title: str) -> QLabel:
    label = QLabel(title.upper())
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 0.85)
    label.setFont(font)
    label.setContentsMargins(0, 10, 0, 2)
    label.setEnabled(False)
    return label


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize() if name != "as" else "Store as"


def _esc(value: Any) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(value: Any, limit: int = 160) -> str:
    """A value as compact JSON, cut to `limit` characters."""
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"
