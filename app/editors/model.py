"""The data model editor: its name and a table of fields."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QLabel,
    QVBoxLayout,
)

from app import tree as ops
from app.editors.base import Editor, _card
from app.editors.rows import Column, RowsModel, RowsTable
from app.editors.values import format_value, parse_default
from runtime.project import (
    FIELD_KINDS,
    NAME_RE,
)

AUTOMATIC_FIELDS = (("id", "Integer", "automatic, unique"), ("created_at", "DateTime",
                                                              "set when the record is created"))


class ModelEditor(Editor):
    """A data model: its name and a table of fields (id and created_at shown read-only)."""

    section = "models"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        name_row, self.name = self._name_row("Data model")
        kinds = list(FIELD_KINDS)
        columns = [
            Column("Name", lambda f: f.name, self._set_name, width=170),
            Column("Kind", lambda f: f"Link → {f.link}" if f.kind == "Link" else f.kind,
                   self._set_kind, "choice", lambda f: kinds, width=150),
            Column("Required", lambda f: f.required,
                   lambda f, v: self.document.set_attr(f, "required", v,
                                                       f"Set {f.name} required"),
                   "bool", width=80),
            Column("Unique", lambda f: f.unique,
                   lambda f, v: self.document.set_attr(f, "unique", v, f"Set {f.name} unique"),
                   "bool", width=80),
            Column("Default", lambda f: format_value(f.default) if f.default is not None else "",
                   lambda f, v: self.document.set_attr(f, "default", parse_default(f.kind, v),
                                                       f"Change default of {f.name}")),
        ]
        fixed = [(name, kind, False, True, hint) for name, kind, hint in AUTOMATIC_FIELDS]
        self.fields = RowsTable(
            "Fields", RowsModel(lambda: self.item.fields if self.item else [], columns, fixed,
                                problem=self._field_problem),
            self.add_field,
            lambda f: ops.remove_row(self.document, self.item.fields, f,
                                     f"Remove field {f.name}"),
            lambda f, step: ops.move_row(self.document, self.item.fields, f, step,
                                         f"Move field {f.name}"),
            self.theme)
        hint = QLabel("Every record also gets an automatic id and created_at. A Link field "
                      "holds the id of a record of another model.")
        hint.setProperty("role", "muted")
        hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(12)
        layout.addWidget(name_row)
        layout.addWidget(_card(self.fields, hint), 1)
        self.refresh()

    def restyle(self) -> None:
        self.fields.restyle(self.theme)

    def refresh(self) -> None:
        model = self.item
        if model is None:
            return
        self._updating = True
        try:
            self._set_text(self.name, model.name)
            self.fields.model.refresh()
        finally:
            self._updating = False

    def _field_problem(self, f) -> str:
        if not NAME_RE.match(f.name):
            return "a field name starts with a letter and has only letters, digits and _"
        if f.name in ("id", "created_at"):
            return f'"{f.name}" is added automatically; pick another name'
        if [x.name for x in self.item.fields].count(f.name) > 1:
            return f'two fields are called "{f.name}"'
        return ""

    def add_field(self, name: str | None = None, kind: str = "Text",
                  link: str | None = None) -> Any:
        """Add a field (named `fieldN` unless given) and start editing its name."""
        model = self.item
        taken = {f.name for f in model.fields}
        n = len(model.fields) + 1
        while name is None:
            name = f"field{n}" if f"field{n}" not in taken else None
            n += 1
        f = ops.add_field(self.document, model, name, kind, link)
        if kind == "Text" and link is None:
            self.fields.select(f, 0)
        return f

    def _set_name(self, f, value: str) -> None:
        ops.rename_field(self.document, self.item, f, str(value).strip())

    def _set_kind(self, f, kind: str) -> None:
        if kind == f.kind and kind != "Link":
            return
        if kind == "Link":
            others = [m.name for m in self.document.project.models]
            target = self.prompts.choice("Link field", f'Which model does "{f.name}" link to?',
                                         others, f.link or "")
            if target is None:
                return
            self.document.undo.beginMacro(f"Link {f.name} to {target}")
            self.document.set_attr(f, "kind", "Link")
            self.document.set_attr(f, "link", target)
            self.document.undo.endMacro()
            return
        self.document.undo.beginMacro(f"Change kind of {f.name} to {kind}")
        self.document.set_attr(f, "kind", kind)
        self.document.set_attr(f, "link", None)
        self.document.undo.endMacro()
