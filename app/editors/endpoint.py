"""The endpoint editor: method, path, variables, request and response, auth."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import tree as ops
from app.editors.base import MODEL_KINDS, RUN_TIP, Editor, _card, _label, _run_button, _run_icon
from app.editors.rows import Column, RowsModel, RowsTable
from app.editors.values import path_mismatches, sync_path_variables
from runtime.project import (
    LOCATIONS,
    METHODS,
    NAME_RE,
    REQUEST_TYPES,
    RESPONSE_TYPES,
    VARIABLE_KINDS,
    Variable,
    path_variables,
)

REQUEST_LABELS = {"json": "JSON", "multipart": "Multipart form"}
RESPONSE_LABELS = {"json": "JSON", "csv": "CSV", "html": "HTML"}


class EndpointEditor(Editor):
    """An endpoint: name, method, path, description, content types, auth, variables."""

    section = "endpoints"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path_base: list[Variable] | None = None
        name_row, self.name = self._name_row("Endpoint")
        self.run_button = _run_button("Run", RUN_TIP, self.theme)
        self.run_button.clicked.connect(
            lambda: self.item is not None and self.runRequested.emit(self.item.name))
        name_row.layout().addWidget(self.run_button)
        self.method = QComboBox()
        self.method.addItems(METHODS)
        self.method.currentTextChanged.connect(
            lambda v: self._set("method", v, f"Set method to {v}"))
        self.path = QLineEdit(placeholderText="/v1/posts/{id}")
        self.path.setObjectName("path")
        self.path.textEdited.connect(self.type_path)
        self.path.editingFinished.connect(self._path_done)
        self.path_problem = QLabel()
        self.path_problem.setProperty("role", "problem")
        self.path_problem.setWordWrap(True)
        self.description = QLineEdit(placeholderText="What it does (shown in the API docs)")
        self.description.textEdited.connect(
            lambda v: self._set("description", v, "Edit description", merge=True))
        self.request_type = QComboBox()
        for value in REQUEST_TYPES:
            self.request_type.addItem(REQUEST_LABELS.get(value, value), value)
        self.request_type.currentIndexChanged.connect(
            lambda _i: self._set("request_type", self.request_type.currentData(),
                                 "Set request content type"))
        self.response_type = QComboBox()
        for value in RESPONSE_TYPES:
            self.response_type.addItem(RESPONSE_LABELS.get(value, value), value)
        self.response_type.currentIndexChanged.connect(
            lambda _i: self._set("response_type", self.response_type.currentData(),
                                 "Set response content type"))
        self.auth = QComboBox()
        self.auth.setToolTip("Who may call it: an auth profile of the project's settings, or "
                             "None for anyone")
        self.auth.activated.connect(
            lambda _i: self._set("auth", self.auth.currentData() or "", "Set auth profile"))

        form = QGridLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        method_path = QHBoxLayout()
        method_path.setSpacing(6)
        method_path.addWidget(self.method)
        method_path.addWidget(self.path, 1)
        request = QVBoxLayout()
        request.setSpacing(4)
        request.addLayout(method_path)
        request.addWidget(self.path_problem)
        request_label = _label("Request")
        # Level with the path field when a mismatch note shows below it.
        request_label.setMinimumHeight(self.path.sizeHint().height())
        form.addWidget(request_label, 0, 0, Qt.AlignmentFlag.AlignTop)
        form.addLayout(request, 0, 1, 1, 3)
        form.addWidget(_label("Description"), 1, 0)
        form.addWidget(self.description, 1, 1, 1, 3)
        form.addWidget(_label("Req. content type"), 2, 0)
        form.addWidget(self.request_type, 2, 1)
        form.addWidget(_label("Res. content type"), 2, 2)
        form.addWidget(self.response_type, 2, 3)
        form.addWidget(_label("Auth profile"), 3, 0)
        form.addWidget(self.auth, 3, 1, 1, 3)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        basics = QWidget()
        basics.setLayout(form)

        models = lambda _v: [m.name for m in self.document.project.models]
        columns = [
            Column("In", lambda v: v.location, self._set_location, "choice",
                   lambda v: list(LOCATIONS), width=80),
            Column("Name", lambda v: v.name, lambda v, x: self._set_var(v, "name", x.strip()),
                   width=140),
            Column("Kind", lambda v: v.kind, self._set_var_kind, "choice",
                   lambda v: list(VARIABLE_KINDS), width=120),
            Column("Model", lambda v: v.model, lambda v, x: self._set_var(v, "model", x),
                   "choice", models, lambda v: v.kind in MODEL_KINDS, width=110),
            Column("Fields", lambda v: v.fields, lambda v, x: self._set_var(v, "fields", x),
                   "fields", self._model_fields, lambda v: v.kind == "Custom Model", width=140,
                   stretch=True),
            Column("Required", lambda v: v.required,
                   lambda v, x: self._set_var(v, "required", x), "bool", width=80),
        ]
        add_menu = QMenu(self)
        for location in LOCATIONS:
            add_menu.addAction(f"{location.capitalize()} variable",
                               lambda loc=location: self.add_variable(loc))
        self.variables = RowsTable(
            "Variables", RowsModel(lambda: self.item.variables if self.item else [], columns,
                                   problem=self._variable_problem),
            add_menu,
            lambda v: ops.remove_row(self.document, self.item.variables, v,
                                     f"Remove variable {v.name}"),
            lambda v, step: ops.move_row(self.document, self.item.variables, v, step,
                                         f"Move variable {v.name}"),
            self.theme)
        hint = QLabel("Path variables are named in the path in {braces}: the name must match "
                      "in spelling and capitalisation. Body variables of kind Model or Custom "
                      "Model take the fields of a data model.")
        hint.setProperty("role", "muted")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(12)
        layout.addWidget(name_row)
        layout.addWidget(_card(basics))
        layout.addWidget(_card(self.variables, hint), 1)
        self.refresh()

    def restyle(self) -> None:
        self.variables.restyle(self.theme)
        _run_icon(self.run_button, self.theme)

    def run_buttons(self) -> list[QPushButton]:
        return [self.run_button]

    def refresh(self) -> None:
        e = self.item
        if e is None:
            return
        self._updating = True
        try:
            self._set_text(self.name, e.name)
            self.method.setCurrentText(e.method)
            self._set_text(self.path, e.path)
            self._set_text(self.description, e.description)
            profiles = [p.name for p in getattr(getattr(self.document.project, "settings", None),
                                                "auth_profiles", [])]
            _fill_auth(self.auth, profiles, e.auth)
            self.request_type.setCurrentIndex(max(self.request_type.findData(e.request_type), 0))
            self.response_type.setCurrentIndex(
                max(self.response_type.findData(e.response_type), 0))
            problems = path_mismatches(e.path, e.variables)
            self.path_problem.setText("\n".join(problems))
            self.path_problem.setVisible(bool(problems))
            self.path.setProperty("problem", bool(problems))
            self.path.style().unpolish(self.path)
            self.path.style().polish(self.path)
            self.variables.model.refresh()
            if not self.path.hasFocus():
                self._path_base = None
        finally:
            self._updating = False

    def _set(self, name: str, value: Any, label: str, merge: bool = False) -> None:
        if not self._updating and self.item is not None:
            self.document.set_attr(self.item, name, value, label, merge=merge)

    def type_path(self, text: str) -> None:
        """The path as typed: one merged undo step, path variables kept in step with `{}`."""
        e = self.item
        if e is None or self._updating:
            return
        if self._path_base is None:
            self._path_base = list(e.variables)
        new_vars = sync_path_variables(self._path_base, text)
        old_path, old_vars = e.path, list(e.variables)

        def apply(forward: bool) -> None:
            e.path = text if forward else old_path
            # In place: other undo steps hold this very list.
            e.variables[:] = new_vars if forward else old_vars

        self.document.edit("Edit path", apply, merge_key=(id(e), "path"))

    def _path_done(self) -> None:
        self._path_base = None

    def _variable_problem(self, v: Variable) -> str:
        e = self.item
        if v.location == "path" and v.name not in path_variables(e.path):
            near = next((n for n in path_variables(e.path) if n.lower() == v.name.lower()), None)
            return (f'"{v.name}" is not in the path' + (
                f' (the path has "{{{near}}}": the name must match in spelling and '
                'capitalisation)' if near else ""))
        if not NAME_RE.match(v.name) and v.location != "header":
            return "a variable name starts with a letter and has only letters, digits and _"
        if v.location != "body" and v.kind in ("Model", "Custom Model", "JSON", "List", "File"):
            return f"a {v.location} variable cannot be of kind {v.kind}; use a body variable"
        return ""

    def _model_fields(self, v: Variable) -> list[str]:
        model = self.document.project.model(v.model or "")
        return [f.name for f in model.fields] if model else []

    def add_variable(self, location: str = "body", name: str | None = None,
                     kind: str | None = None) -> Variable:
        """Add a variable (path ones also go into the path) and start editing its name."""
        e = self.item
        taken = {v.name for v in e.variables}
        if name is None:
            base = {"path": "id", "query": "param", "header": "X-Header", "body": "data"}[location]
            name, n = base, 2
            while name in taken:
                name, n = f"{base}{n}", n + 1
        if kind is None:
            kind = "Number" if location == "path" and name == "id" else (
                "JSON" if location == "body" else "Text")
        v = Variable(name=name, kind=kind, location=location, required=location == "path")
        at = len(e.variables)
        if location == "path":
            at = max((i + 1 for i, x in enumerate(e.variables) if x.location == "path"), default=0)
        if location == "path" and name not in path_variables(e.path):
            self.document.undo.beginMacro(f"Add path variable {name}")
            self.document.set_attr(e, "path", e.path.rstrip("/") + "/{" + name + "}")
            ops.insert_row(self.document, e.variables, v, at)
            self.document.undo.endMacro()
        else:
            ops.insert_row(self.document, e.variables, v, at, f"Add {location} variable {name}")
        # A path variable's name follows the path; the others are named by typing.
        self.variables.select(v, None if location == "path" else 1)
        return v

    def _set_var(self, v: Variable, attr: str, value: Any) -> None:
        if attr == "name" and not value:
            return
        self.document.set_attr(v, attr, value, f"Change {attr} of variable {v.name}")

    def _set_location(self, v: Variable, location: str) -> None:
        self._set_var(v, "location", location)

    def _set_var_kind(self, v: Variable, kind: str) -> None:
        if kind == v.kind:
            return
        self.document.undo.beginMacro(f"Change kind of variable {v.name} to {kind}")
        self.document.set_attr(v, "kind", kind)
        if kind in MODEL_KINDS and not v.model:
            models = [m.name for m in self.document.project.models]
            model = models[0] if len(models) == 1 else self.prompts.choice(
                "Variable model", f'Which model does "{v.name}" hold?', models)
            if model:
                self.document.set_attr(v, "model", model)
        elif kind not in MODEL_KINDS:
            self.document.set_attr(v, "model", None)
        if kind != "Custom Model":
            self.document.set_attr(v, "fields", [])
        self.document.undo.endMacro()


def _fill_auth(combo: QComboBox, profiles: list[str], current: str) -> None:
    """Auth choices: None (anyone), the project's profiles, and an unknown current one."""
    wanted = [("None: anyone may call it", "")] + [(p, p) for p in profiles]
    if current and current not in profiles:
        wanted.append((f"{current} (unknown profile)", current))
    have = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    combo.blockSignals(True)
    if have != wanted:
        combo.clear()
        for text, data in wanted:
            combo.addItem(text, data)
    combo.setCurrentIndex(next(i for i, (_t, d) in enumerate(wanted) if d == (current or "")))
    combo.blockSignals(False)
