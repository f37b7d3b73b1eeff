"""The action editor: its trigger, inputs, Where dialogs and the action graph."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import tree as ops
from app.document import Document
from app.editors.base import (
    MODEL_KINDS,
    RUN_NOW_TIP,
    RUN_TIP,
    Editor,
    _card,
    _label,
    _run_button,
    _run_icon,
    fit_to_text,
)
from app.editors.rows import Column, RowsModel, RowsTable
from app.editors.values import _where_value, format_value, format_where, parse_value, parse_where
from app.qtsafe import qt_safe
from runtime.project import (
    VARIABLE_KINDS,
    GlobalVariable,
    Model,
)
from runtime.schedule import parse_schedule
from runtime.where import OPS, UNARY

TRIGGER_LABELS = {"endpoint": "Endpoint", "schedule": "Schedule", "action": "Another action"}
NO_ON_FAILURE = "(none)"
ON_FAILURE_TIP = ("The action to run when a run of this one fails, after its changes are rolled "
                  "back (in a transaction of its own); it reads the failure as error: "
                  "error.message, error.status, error.event, error.inputs")


class WhereDialog(QDialog):
    """A Where filter as rows of field, operator and value, joined by and/or."""

    def __init__(self, model: Model | None, where: Any, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Where")
        self.fields = ["id", "created_at"] + ([f.name for f in model.fields] if model else [])
        self.join = QComboBox()
        self.join.addItems(["all", "any"])
        self.rows: list[tuple[QComboBox, QComboBox, QLineEdit, QWidget]] = []
        self.remove_buttons: list[QToolButton] = []
        self.grid = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(QLabel("Load the record matching"))
        top.addWidget(self.join)
        top.addWidget(QLabel("of:"))
        top.addStretch(1)
        add = self.add_button = QPushButton("Add condition")
        add.clicked.connect(lambda: self.add_row())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        hint = _label("A value is an expression like path.id or body.post.user, or a literal "
                      'like 10 or "draft".')
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(self.grid)
        layout.addWidget(add, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        conditions = []
        if isinstance(where, dict) and ("and" in where or "or" in where):
            self.join.setCurrentText("any" if "or" in where else "all")
            conditions = where.get("and") or where.get("or") or []
        elif isinstance(where, dict):
            conditions = [where]
        for c in conditions or [{"field": "id", "op": "=", "value": None}]:
            self.add_row(c)
        self.resize(560, self.sizeHint().height())

    def add_row(self, condition: dict | None = None) -> None:
        """One more condition."""
        condition = condition or {"field": "id", "op": "="}
        field, op, value = QComboBox(), QComboBox(), QLineEdit()
        field.setEditable(True)
        field.addItems(self.fields)
        field.setCurrentText(condition.get("field", "id"))
        op.addItems(OPS)
        op.setCurrentText(condition.get("op", "="))
        raw = condition.get("value")
        value.setText(raw[1:] if isinstance(raw, str) and raw.startswith("=")
                      else ("" if raw is None else json.dumps(raw)))
        value.setPlaceholderText("path.id")
        row = QWidget()
        remove = QToolButton(text="−", toolTip="Remove this condition")
        remove.clicked.connect(lambda: self.remove_row(row))
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(field, 2)
        box.addWidget(op, 1)
        box.addWidget(value, 3)
        box.addWidget(remove)
        self.grid.addWidget(row)
        self.rows.append((field, op, value, row))
        self.remove_buttons.append(remove)

    def remove_row(self, row: QWidget) -> None:
        """Take a condition out of the filter."""
        at = next(i for i, r in enumerate(self.rows) if r[3] is row)
        del self.rows[at], self.remove_buttons[at]
        self.grid.removeWidget(row)
        row.deleteLater()

    def where(self) -> Any:
        """The filter the rows describe."""
        conditions = []
        for field, op, value, _row in self.rows:
            c: dict[str, Any] = {"field": field.currentText().strip(), "op": op.currentText()}
            if c["op"] not in UNARY:
                text = value.text().strip()
                c["value"] = _where_value(text) if text else None
            conditions.append(c)
        if not conditions:
            return None  # every condition removed: no filter
        if len(conditions) == 1:
            return conditions[0]
        return {"and" if self.join.currentText() == "all" else "or": conditions}


class ActionEditor(Editor):
    """An action: trigger, global variables, response, and its event graph."""

    section = "actions"
    graphChanged = Signal()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = QLineEdit()
        self.name.setObjectName("name")
        self.name.editingFinished.connect(lambda: self._rename(self.name.text().strip()))
        self.name.textChanged.connect(lambda _text: fit_to_text(self.name))
        self.trigger_type = QComboBox()
        for value, label in TRIGGER_LABELS.items():
            self.trigger_type.addItem(label, value)
        self.trigger_type.currentIndexChanged.connect(self._trigger_type_changed)
        self.trigger_endpoint = QComboBox()
        self.trigger_endpoint.activated.connect(
            lambda _i: self.set_trigger("endpoint", self.trigger_endpoint.currentText()))
        self.trigger_action = QComboBox()
        self.trigger_action.activated.connect(
            lambda _i: self.set_trigger("action", self.trigger_action.currentText()))
        self.trigger_schedule = QLineEdit(placeholderText="every 5 minutes, or cron: 0 * * * *")
        self.trigger_schedule.setObjectName("schedule")
        self.trigger_schedule.setToolTip(
            "every 30 seconds, every 5 minutes, every 2 hours (or 30s, 5m, 2h), or a cron "
            "expression: minute hour day month weekday, e.g. 0 9 * * 1-5 (local time)")
        self.trigger_schedule.textEdited.connect(
            lambda v: self._edit_trigger("schedule", v, merge=True))
        self.trigger_schedule.textChanged.connect(self.explain_schedule)
        self.schedule_info = QLabel()
        self.schedule_info.setObjectName("schedule_info")
        self.schedule_info.setWordWrap(True)
        self.schedule_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.run_button = _run_button("Run", RUN_TIP, self.theme)
        self.run_button.clicked.connect(self._run)
        self.run_now_button = _run_button("Run now", RUN_NOW_TIP, self.theme)
        self.run_now_button.clicked.connect(self._run_now)
        self.response_value = QLineEdit(placeholderText="=UpdatedPost, or a literal")
        self.response_value.setObjectName("response")
        self.response_value.textEdited.connect(self._set_response)
        self.response_status = QSpinBox()
        self.response_status.setRange(100, 599)
        self.response_status.setFixedWidth(self.response_status.fontMetrics().horizontalAdvance(
            "0000") + 40)  # three digits and the arrows; the rest goes to the response
        self.response_status.valueChanged.connect(
            lambda v: self._set("response_status", v, f"Set response status {v}", merge=True))
        self.on_failure = QComboBox()
        self.on_failure.setObjectName("on_failure")
        self.on_failure.setToolTip(ON_FAILURE_TIP)
        self.on_failure.activated.connect(
            lambda _i: self.set_on_failure(self.on_failure.currentData() or ""))
        self.on_failure_info = QLabel()
        self.on_failure_info.setObjectName("on_failure_info")
        self.on_failure_info.setWordWrap(True)
        self.on_failure_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.on_failure_info.hide()
        # The compiler's word on the setting, once per revision and after typing pauses (as the
        # graph's node outlines): an unknown action, or the action naming itself.
        self._problem_timer = QTimer(self, singleShot=True, interval=250)
        self._problem_timer.timeout.connect(lambda: self.show_problems(self.document.problems()))

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)
        name_run = QHBoxLayout()
        name_run.setSpacing(6)
        name_run.addWidget(self.name, 1)
        name_run.addWidget(self.run_button)
        name_run.addWidget(self.run_now_button)
        form.addRow(_label("Name"), name_run)
        form.addRow(_label("Trigger"), self.trigger_type)
        self.target_label = _label("Endpoint")
        target = QWidget()
        column = QVBoxLayout(target)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        stack = QHBoxLayout()
        stack.setContentsMargins(0, 0, 0, 0)
        for w in (self.trigger_endpoint, self.trigger_action, self.trigger_schedule):
            stack.addWidget(w)
        column.addLayout(stack)
        column.addWidget(self.schedule_info)
        form.addRow(self.target_label, target)
        response = QHBoxLayout()
        response.setSpacing(6)
        response.addWidget(self.response_value, 1)
        response.addWidget(_label("Status"))
        response.addWidget(self.response_status)
        form.addRow(_label("Response"), response)
        on_failure = QWidget()
        column = QVBoxLayout(on_failure)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.on_failure)
        column.addWidget(self.on_failure_info)
        self.on_failure_label = _label("On failure")
        self.on_failure_label.setToolTip(ON_FAILURE_TIP)
        form.addRow(self.on_failure_label, on_failure)
        basics = QWidget()
        basics.setLayout(form)

        models = lambda _g: [m.name for m in self.document.project.models]
        columns = [
            Column("Name", lambda g: g.name, lambda g, v: self._set_global(g, "name", v.strip()),
                   width=140),
            Column("Kind", lambda g: g.kind, self._set_global_kind, "choice",
                   lambda g: list(VARIABLE_KINDS), width=110),
            Column("Model", lambda g: g.model, lambda g, v: self._set_global(g, "model", v),
                   "choice", models, lambda g: g.kind in MODEL_KINDS, width=110),
            Column("Where / value", self._global_text, self._set_global_text, stretch=True,
                   tooltip=lambda g: "Where filter, e.g. id = path.id" if g.kind in MODEL_KINDS
                   else "Initial value: a literal, or =expression"),
        ]
        self.globals = RowsTable(
            "Variables", RowsModel(lambda: self.item.variables if self.item else [], columns),
            lambda: self.add_global(),
            lambda g: ops.remove_row(self.document, self.item.variables, g,
                                     f"Remove variable {g.name}"),
            lambda g, step: ops.move_row(self.document, self.item.variables, g, step,
                                         f"Move variable {g.name}"),
            self.theme)
        self.where_button = QPushButton("Where...")
        self.where_button.setToolTip("Edit the Where filter of the selected Model variable")
        self.where_button.clicked.connect(lambda: self.edit_where())
        self.globals.layout().itemAt(0).layout().insertWidget(2, self.where_button)
        self.where_error = QLabel()
        self.where_error.setProperty("role", "problem")
        self.where_error.setWordWrap(True)
        self.where_error.hide()
        self.globals.view.setToolTip(
            "Visible everywhere in the action. A Model variable with a Where filter (e.g. "
            "id = path.id) is loaded from the database when the action starts.")

        # Settings in a strip above the graph, so the graph gets the whole width.
        # No fixed minimum width on the card: it would override what its layout needs, and a
        # long action name was clipped under Run (the name field sizes itself to its text).
        settings = _card(basics)
        top = _Strip(settings, _card(self.globals, self.where_error))

        # Scrolls rather than squeezing the graph when the window is small.
        top_scroll = QScrollArea()
        top_scroll.setWidgetResizable(True)
        top_scroll.setFrameShape(QFrame.Shape.NoFrame)
        top_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        top_scroll.setWidget(top)
        top_scroll.setMinimumHeight(120)
        self.graph = make_graph(self.document, self.item, self)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top_scroll)
        splitter.addWidget(self.graph)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        # Room for the settings down to On failure; what is under it (its problem) may scroll:
        # the graph keeps the most of the height.
        splitter.setSizes([236, 600])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.refresh()

    def restyle(self) -> None:
        self.globals.restyle(self.theme)
        for button in self.run_buttons():
            _run_icon(button, self.theme)

    def run_buttons(self) -> list[QPushButton]:
        return [self.run_button, self.run_now_button]

    @property
    def has_graph(self) -> bool:
        """Whether the real action graph is embedded (not the placeholder)."""
        return not isinstance(self.graph, GraphPlaceholder)

    def refresh(self) -> None:
        a = self.item
        if a is None:
            return
        project = self.document.project
        self._updating = True
        try:
            self._set_text(self.name, a.name)
            self.trigger_type.setCurrentIndex(max(self.trigger_type.findData(a.trigger.type), 0))
            _fill(self.trigger_endpoint, [e.name for e in project.endpoints], a.trigger.endpoint)
            _fill(self.trigger_action, [x.name for x in project.actions if x is not a],
                  a.trigger.action)
            self._set_text(self.trigger_schedule, a.trigger.schedule or "")
            for t, w in (("endpoint", self.trigger_endpoint), ("action", self.trigger_action),
                         ("schedule", self.trigger_schedule)):
                w.setVisible(a.trigger.type == t)
            self.target_label.setText({"endpoint": "Endpoint", "action": "Action",
                                       "schedule": "Schedule"}.get(a.trigger.type, ""))
            self.explain_schedule()
            self.run_button.setVisible(a.trigger.type == "endpoint")
            self.run_button.setEnabled(bool(a.trigger.endpoint))
            self.run_now_button.setVisible(a.trigger.type == "schedule")
            # Leave what is being typed alone unless it means something else (undo, redo).
            if parse_value(self.response_value.text()) != a.response_value:
                self._set_text(self.response_value, format_value(a.response_value))
            self.response_status.setValue(int(a.response_status or 200))
            self._fill_on_failure(a)
            self.globals.model.refresh()
        finally:
            self._updating = False
        self._problem_timer.start()

    def _fill_on_failure(self, a) -> None:
        """(none) and the project's other actions; an unknown name (or its own, from a file) is
        shown as it is, and the compiler's problem under it."""
        names = [x.name for x in self.document.project.actions if x is not a]
        if a.on_failure and a.on_failure not in names:
            names.append(a.on_failure)
        wanted = [(NO_ON_FAILURE, "")] + [(n, n) for n in names]
        have = [(self.on_failure.itemText(i), self.on_failure.itemData(i))
                for i in range(self.on_failure.count())]
        self.on_failure.blockSignals(True)
        if have != wanted:
            self.on_failure.clear()
            for text, data in wanted:
                self.on_failure.addItem(text, data)
        self.on_failure.setCurrentIndex(max(self.on_failure.findData(a.on_failure or ""), 0))
        self.on_failure.blockSignals(False)

    def show_problems(self, problems) -> None:
        """Under On failure: the compiler's problem with it, else which actions run this one
        when they fail."""
        a = self.item
        if a is None:
            return
        where = f'actions["{a.name}"].on_failure'
        found = [p.message for p in problems if p.where == where]
        callers = [x.name for x in self.document.project.actions
                   if x.on_failure == a.name and x is not a]
        if found:
            text, role = "\n".join(found), "problem"
        elif callers:
            quoted = ", ".join(f'"{n}"' for n in callers)
            text, role = (f"This action runs when {quoted} fail{'s' if len(callers) == 1 else ''}"
                          "; the failure is in error."), "muted"
        else:
            text, role = "", "muted"
        self.on_failure_info.setText(text)
        self.on_failure.setToolTip(f"{text}\n\n{ON_FAILURE_TIP}" if found else ON_FAILURE_TIP)
        if self.on_failure_info.property("role") != role:
            self.on_failure_info.setProperty("role", role)
            self.on_failure_info.style().unpolish(self.on_failure_info)
            self.on_failure_info.style().polish(self.on_failure_info)
        self.on_failure_info.setVisible(bool(text))

    def set_on_failure(self, name: str) -> None:
        """Run the action named `name` when this one fails ("" for none); one undo step."""
        a = self.item
        if self._updating or a is None or (name or "") == a.on_failure:
            return
        label = f"Run {name} on failure" if name else "Run no action on failure"
        self.document.set_attr(a, "on_failure", name or "", label)

    def _set(self, name: str, value: Any, label: str, merge: bool = False) -> None:
        if not self._updating and self.item is not None:
            self.document.set_attr(self.item, name, value, label, merge=merge)

    def explain_schedule(self, _text: str = "") -> None:
        """Under a schedule: its next three run times, or what is wrong with it."""
        a = self.item
        if a is None or a.trigger.type != "schedule":
            self.schedule_info.hide()
            return
        text, problem, tip = schedule_explanation(self.trigger_schedule.text())
        self.schedule_info.setText(text)
        self.schedule_info.setToolTip(tip)
        if self.schedule_info.property("role") != ("problem" if problem else "muted"):
            self.schedule_info.setProperty("role", "problem" if problem else "muted")
            self.schedule_info.style().unpolish(self.schedule_info)
            self.schedule_info.style().polish(self.schedule_info)
        self.schedule_info.show()

    def _run(self) -> None:
        a = self.item
        if a is not None and a.trigger.type == "endpoint" and a.trigger.endpoint:
            self.runRequested.emit(a.trigger.endpoint)

    def _run_now(self) -> None:
        a = self.item
        if a is not None and a.trigger.type == "schedule":
            self.runNowRequested.emit(a.name)

    def _set_response(self, text: str) -> None:
        self._set("response_value", parse_value(text), "Edit response", merge=True)

    def _trigger_type_changed(self, _index: int) -> None:
        if self._updating or self.item is None:
            return
        kind = self.trigger_type.currentData()
        target = {"endpoint": self.trigger_endpoint.currentText() or None,
                  "action": self.trigger_action.currentText() or None,
                  "schedule": self.trigger_schedule.text() or None}[kind]
        self.set_trigger(kind, target)

    def set_trigger(self, kind: str, target: str | None) -> None:
        """Trigger the action by an endpoint, another action or a schedule (one undo step)."""
        a = self.item
        if self._updating or a is None:
            return
        new = copy.deepcopy(a.trigger)
        new.type = kind
        setattr(new, kind, target or None)
        if new == a.trigger:
            return
        label = {"endpoint": f"Trigger by endpoint {target}", "action": f"Trigger by {target}",
                 "schedule": "Trigger on a schedule"}[kind]
        self.document.set_attr(a, "trigger", new, label)

    def _edit_trigger(self, attr: str, value: str, merge: bool = False) -> None:
        if not self._updating and self.item is not None:
            self.document.set_attr(self.item.trigger, attr, value or None, "Edit schedule",
                                   merge=merge)

    def _global_text(self, g: GlobalVariable) -> str:
        if g.kind in MODEL_KINDS:
            return format_where(g.where)
        return format_value(g.value)

    def _set_global_text(self, g: GlobalVariable, text: str) -> None:
        if g.kind in MODEL_KINDS:
            try:
                where = parse_where(text)
            except ValueError as e:
                self.where_error.setText(str(e))
                self.where_error.show()
                return
            self.where_error.hide()
            self.document.set_attr(g, "where", where, f"Change Where of {g.name}")
        else:
            self.document.set_attr(g, "value", parse_value(text), f"Change value of {g.name}")

    def _set_global(self, g: GlobalVariable, attr: str, value: Any) -> None:
        if attr == "name" and not value:
            return
        self.document.set_attr(g, attr, value, f"Change {attr} of variable {g.name}")

    def _set_global_kind(self, g: GlobalVariable, kind: str) -> None:
        if kind == g.kind:
            return
        self.document.undo.beginMacro(f"Change kind of variable {g.name} to {kind}")
        self.document.set_attr(g, "kind", kind)
        if kind in MODEL_KINDS:
            self.document.set_attr(g, "value", None)
            if not g.model:
                models = [m.name for m in self.document.project.models]
                model = models[0] if len(models) == 1 else self.prompts.choice(
                    "Variable model", f'Which model does "{g.name}" hold?', models)
                if model:
                    self.document.set_attr(g, "model", model)
        else:
            self.document.set_attr(g, "model", None)
            self.document.set_attr(g, "where", None)
        self.document.undo.endMacro()

    def add_global(self, name: str | None = None, kind: str = "JSON", model: str | None = None,
                   where: Any = None, value: Any = None) -> GlobalVariable:
        """Add a global variable (`variable1`... unless named) and start editing its name."""
        a = self.item
        taken = {g.name for g in a.variables}
        n = len(a.variables) + 1
        while name is None:
            name = f"variable{n}" if f"variable{n}" not in taken else None
            n += 1
        g = GlobalVariable(name=name, kind=kind, model=model, where=where, value=value)
        ops.insert_row(self.document, a.variables, g, label=f"Add variable {name}")
        self.globals.select(g, 0 if kind == "JSON" and model is None else None)
        return g

    def edit_where(self, g: GlobalVariable | None = None) -> bool:
        """Edit the selected Model variable's Where filter in a dialog."""
        g = g or self.globals.selected()
        if g is None or g.kind not in MODEL_KINDS:
            self.prompts.error("Where", "Select a variable of kind Model first.")
            return False
        dialog = WhereDialog(self.document.project.model(g.model or ""), g.where, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.document.set_attr(g, "where", dialog.where(), f"Change Where of {g.name}")
        return True


def schedule_explanation(text: str, now: datetime | None = None) -> tuple[str, bool, str]:
    """(text, is_problem, tooltip) for a schedule: `Next runs: Mon 14:05, ...` or the error."""
    try:
        schedule = parse_schedule(text)
    except ValueError as e:
        return str(e), True, "every 5 minutes, or a cron expression like 0 * * * *"
    runs = schedule.next_runs(3, now)
    start = now.astimezone() if now else datetime.now().astimezone()
    pattern = "%a %H:%M"
    if any(r.second for r in runs):
        pattern += ":%S"
    if runs[-1] - start > timedelta(days=6):
        pattern = "%a %d %b " + pattern.removeprefix("%a ")
    zone = start.strftime("%Z") or f"UTC{start.strftime('%z')}"
    return ("Next runs: " + ", ".join(r.strftime(pattern) for r in runs), False,
            f"{schedule.describe()}, in local time ({zone})")


def _fill(combo: QComboBox, names: list[str], current: str | None) -> None:
    """Refill a combo only when its choices changed, showing `current` even if unknown."""
    wanted = list(names)
    if current and current not in wanted:
        wanted.append(current)
    have = [combo.itemText(i) for i in range(combo.count())]
    if have != wanted:
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(wanted)
        combo.blockSignals(False)
    combo.blockSignals(True)
    combo.setCurrentIndex(wanted.index(current) if current in wanted else -1)
    combo.blockSignals(False)


class _Strip(QWidget):
    """Two cards side by side, or one above the other when the editor is narrow."""

    def __init__(self, first: QWidget, second: QWidget, breakpoint: int = 780):
        super().__init__()
        self.breakpoint = breakpoint
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(12, 10, 12, 10)
        self.box.setSpacing(12)
        self.box.addWidget(first, 2)
        self.box.addWidget(second, 3)

    @qt_safe(None)
    def resizeEvent(self, event) -> None:
        wide = event.size().width() >= self.breakpoint
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.box.direction() != direction:
            self.box.setDirection(direction)
        super().resizeEvent(event)


class GraphPlaceholder(QFrame):
    """Shown instead of the action graph when app.graph is not available."""

    def __init__(self, reason: str, parent=None):
        super().__init__(parent)
        self.setProperty("role", "card")
        label = QLabel("The action graph is not available in this build.\n" + reason)
        label.setProperty("role", "muted")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @qt_safe(QSize)
    def sizeHint(self) -> QSize:
        return QSize(600, 400)


def make_graph(document: Document, action, parent: QWidget) -> QWidget:
    """The ActionGraph of app.graph, or a placeholder saying why it is missing."""
    try:
        from app.graph import ActionGraph
    except ImportError as e:
        return GraphPlaceholder(f"({e})", parent)
    try:
        return ActionGraph(document, action, parent)
    except Exception as e:  # a bug in the graph must not take the forms down with it
        return GraphPlaceholder(f"It failed to start: {type(e).__name__}: {e}", parent)
