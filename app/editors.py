"""The form editors of the centre tabs: data model, endpoint and action; every change undoable."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStyledItemDelegate,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import tree as ops
from app.document import Document
from app.qtsafe import qt_safe
from app.theme import ICONS
from app.tree import Prompts
from runtime.project import (
    FIELD_KINDS,
    LOCATIONS,
    METHODS,
    NAME_RE,
    REQUEST_TYPES,
    RESPONSE_TYPES,
    VARIABLE_KINDS,
    GlobalVariable,
    Model,
    Variable,
    path_variables,
)
from runtime.schedule import parse_schedule
from runtime.where import OPS, UNARY

REQUEST_LABELS = {"json": "JSON", "multipart": "Multipart form"}
RESPONSE_LABELS = {"json": "JSON", "csv": "CSV", "html": "HTML"}
TRIGGER_LABELS = {"endpoint": "Endpoint", "schedule": "Schedule", "action": "Another action"}
AUTOMATIC_FIELDS = (("id", "Integer", "automatic, unique"), ("created_at", "DateTime",
                                                              "set when the record is created"))
MODEL_KINDS = ("Model", "Custom Model")
RUN_SHORTCUT = "Ctrl+R"
RUN_TIP = f"Open the Run panel with dummy data for this endpoint ({RUN_SHORTCUT})"
RUN_NOW_TIP = f"Run this scheduled action once now, without waiting for its time ({RUN_SHORTCUT})"


# -- values as text ---------------------------------------------------------------------------

def format_value(value: Any) -> str:
    """A setting value as the user types it: `=expr` stays, literals as JSON, None empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def parse_value(text: str) -> Any:
    """Typed text back to a value: `=expr`, a JSON literal (number, object...), or text."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("="):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_default(kind: str, text: str) -> Any:
    """A field default typed in the table, as the kind's value (text stays text)."""
    text = text.strip()
    if not text:
        return None
    if kind in ("Integer", "Decimal", "Boolean", "JSON"):
        try:
            return json.loads(text.lower() if kind == "Boolean" else text)
        except ValueError:
            return text  # the compiler says what is wrong with it, in the Problems list
    return text


_CONDITION = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|<=|>=|=|<|>|not_in\b|in\b|contains\b|starts_with\b|"
    r"ends_with\b|is_null\b|not_null\b|is null\b|not null\b)\s*(.*?)\s*$")


IF_GIVEN = "(if given)"  # the text form of a Where condition's `optional`


def parse_where(text: str) -> Any:
    """`id = path.id and likes > 10` as a Where filter; raises ValueError saying what is wrong."""
    text = text.strip()
    if not text:
        return None
    joiner = "or" if re.search(r"\s+or\s+", text) and not re.search(r"\s+and\s+", text) else "and"
    parts = re.split(rf"\s+{joiner}\s+", text)
    conditions = []
    for part in parts:
        # `price < query.max (if given)`: left out when the value is empty (an optional filter).
        optional = bool(re.search(rf"\s*{re.escape(IF_GIVEN)}$", part))
        part = re.sub(rf"\s*{re.escape(IF_GIVEN)}$", "", part)
        m = _CONDITION.match(part)
        if not m:
            raise ValueError(f'"{part}" is not a condition like: id = path.id')
        name, op, raw = m.group(1), m.group(2).replace(" ", "_"), m.group(3)
        if op in UNARY:
            if optional:
                raise ValueError(f'"{part}" has no value, so it cannot be {IF_GIVEN}')
            conditions.append({"field": name, "op": op})
            continue
        if not raw:
            raise ValueError(f'"{part}" needs a value after {op}')
        condition = {"field": name, "op": op, "value": _where_value(raw)}
        if optional:
            condition["optional"] = True
        conditions.append(condition)
    return conditions[0] if len(conditions) == 1 else {joiner: conditions}


def _where_value(raw: str) -> Any:
    """A literal when the text is one (`10`, `"draft"`, `true`), else an expression (written
    `path.id`, or `=path.id` as everywhere else in the editor)."""
    if raw.startswith("="):
        return raw
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        return raw[1:-1]
    try:
        value = json.loads(raw)
    except ValueError:
        return "=" + raw
    return value


def format_where(where: Any) -> str:
    """A Where filter as the text `parse_where` reads back."""
    if not where:
        return ""
    for group in ("and", "or"):
        if group in where and all(isinstance(c, dict) and "field" in c for c in where[group]):
            return f" {group} ".join(format_where(c) for c in where[group])
    if "field" not in where:
        return json.dumps(where)
    op = where.get("op", "=")
    if op in UNARY:
        return f"{where['field']} {op}"
    value = where.get("value")
    shown = value[1:] if isinstance(value, str) and value.startswith("=") else json.dumps(value)
    return f"{where['field']} {op} {shown}" + (f" {IF_GIVEN}" if where.get("optional") else "")


def sync_path_variables(base: list[Variable], path: str) -> list[Variable]:
    """The variables after typing `path`: `{name}`s get a path variable, renamed ones follow."""
    # Computed from the variables as they were before the typing started (`base`), so the
    # letters typed on the way (`{i}`, `{id}`) never leave variables behind.
    names = [n for n in path_variables(path) if NAME_RE.match(n)]
    result = list(base)
    declared = [v for v in base if v.location == "path"]
    have = {v.name for v in declared}
    orphans = [v for v in declared if v.name not in names]
    for name in (n for n in dict.fromkeys(names) if n not in have):
        if orphans:
            old = orphans.pop(0)
            renamed = copy.deepcopy(old)
            renamed.name = name
            result[result.index(old)] = renamed
            continue
        kind = "Number" if name == "id" or name.endswith(("_id", "Id")) else "Text"
        last = max((i for i, v in enumerate(result) if v.location == "path"), default=-1)
        result.insert(last + 1, Variable(name=name, kind=kind, location="path", required=True))
    return result


def path_mismatches(path: str, variables: list[Variable]) -> list[str]:
    """Where the `{}` of a path and its path variables disagree, in the tutorial's words."""
    in_path = path_variables(path)
    declared = [v.name for v in variables if v.location == "path"]
    out = []
    for name in in_path:
        if name not in declared:
            near = next((d for d in declared if d.lower() == name.lower()), None)
            out.append(f'"{{{name}}}" in the path has no path variable' + (
                f' (there is "{near}": the name must match in spelling and capitalisation)'
                if near else ""))
    for name in declared:
        if name not in in_path:
            near = next((n for n in in_path if n.lower() == name.lower()), None)
            out.append(f'path variable "{name}" is not in the path' + (
                f' (the path has "{{{near}}}": the name must match in spelling and '
                'capitalisation)' if near else ""))
    return out


# -- tables of rows (fields, variables) -------------------------------------------------------

@dataclass
class Column:
    """One column of a rows table: how to show a cell and how to change it (undoably)."""

    title: str
    get: Callable[[Any], Any]
    set: Callable[[Any, Any], None] | None = None
    kind: str = "text"  # text | choice | bool | fields
    choices: Callable[[Any], list[str]] | None = None
    enabled: Callable[[Any], bool] | None = None
    width: int = 0
    tooltip: Callable[[Any], str] | None = None
    stretch: bool = False  # takes the width left over


class RowsModel(QAbstractTableModel):
    """A table over a list of the project (fields, variables); edits go to the document."""

    def __init__(self, rows: Callable[[], list], columns: list[Column],
                 fixed: list[tuple] = (), problem: Callable[[Any], str] | None = None,
                 parent=None):
        super().__init__(parent)
        self.rows = rows
        self.columns = columns
        self.fixed = list(fixed)  # read-only rows shown first (a model's id and created_at)
        self.problem = problem
        self._count = self.rowCount()

    def refresh(self) -> None:
        """Show the list as it is now."""
        count = self.rowCount()
        if count != self._count:
            self.beginResetModel()
            self._count = count
            self.endResetModel()
        elif count:
            self.dataChanged.emit(self.index(0, 0), self.index(count - 1, len(self.columns) - 1))

    def row(self, index: QModelIndex | int) -> Any:
        """The object shown at a row (None for a fixed row)."""
        r = index.row() if isinstance(index, QModelIndex) else index
        r -= len(self.fixed)
        rows = self.rows()
        return rows[r] if 0 <= r < len(rows) else None

    def index_of(self, obj: Any, column: int = 0) -> QModelIndex:
        """The index of an object's cell."""
        rows = self.rows()
        return self.index(len(self.fixed) + rows.index(obj), column) if obj in rows \
            else QModelIndex()

    @qt_safe(0)
    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.fixed) + len(self.rows())

    @qt_safe(0)
    def columnCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.columns)

    @qt_safe(None)
    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    @qt_safe(None)
    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        col = self.columns[index.column()]
        if index.row() < len(self.fixed):
            value = self.fixed[index.row()][index.column()]
            if role == Qt.ItemDataRole.DisplayRole:
                return "" if value is None or isinstance(value, bool) else str(value)
            if role == Qt.ItemDataRole.CheckStateRole and col.kind == "bool":
                return Qt.CheckState.Checked if value else Qt.CheckState.Unchecked
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(128, 128, 140)
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setItalic(True)
                return font
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Added to every model automatically"
            return None
        obj = self.row(index)
        if obj is None:
            return None
        value = col.get(obj)
        enabled = col.enabled is None or col.enabled(obj)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col.kind == "bool":
                return None
            if role == Qt.ItemDataRole.DisplayRole and not enabled:
                return ""
            if col.kind == "fields":
                return ", ".join(value or []) if role == Qt.ItemDataRole.DisplayRole \
                    else list(value or [])
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.CheckStateRole and col.kind == "bool":
            return Qt.CheckState.Checked if value else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            text = self.problem(obj) if self.problem else ""
            return text or (col.tooltip(obj) if col.tooltip else None)
        if role == Qt.ItemDataRole.ForegroundRole and self.problem and index.column() <= 1 \
                and self.problem(obj):
            return QColor("#dc3e42")
        return None

    @qt_safe(Qt.ItemFlag.NoItemFlags)
    def flags(self, index):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.row() < len(self.fixed):
            return Qt.ItemFlag.ItemIsEnabled
        col = self.columns[index.column()]
        obj = self.row(index)
        if col.set is None or obj is None or (col.enabled and not col.enabled(obj)):
            return base
        if col.kind == "bool":
            return base | Qt.ItemFlag.ItemIsUserCheckable
        return base | Qt.ItemFlag.ItemIsEditable

    @qt_safe(False)
    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        obj = self.row(index)
        col = self.columns[index.column()]
        if obj is None or col.set is None:
            return False
        if role == Qt.ItemDataRole.CheckStateRole and col.kind == "bool":
            value = Qt.CheckState(value) == Qt.CheckState.Checked
        elif role != Qt.ItemDataRole.EditRole:
            return False
        col.set(obj, value)
        return True


class CellDelegate(QStyledItemDelegate):
    """Editors for table cells: a drop-down for choices, a check list for chosen fields."""

    def _column(self, index) -> Column:
        return index.model().columns[index.column()]

    @qt_safe(None)
    def createEditor(self, parent, option, index):
        col = self._column(index)
        obj = index.model().row(index)
        if col.kind == "choice":
            combo = QComboBox(parent)
            combo.addItems(col.choices(obj) if col.choices else [])
            combo.activated.connect(lambda _i, c=combo: (self.commitData.emit(c),
                                                         self.closeEditor.emit(c)))
            return combo
        if col.kind == "fields":
            picker = QListWidget(parent)
            for name in col.choices(obj) if col.choices else []:
                item = QListWidgetItem(name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                picker.addItem(item)
            picker.itemChanged.connect(lambda _item, p=picker: self.commitData.emit(p))
            return picker
        return super().createEditor(parent, option, index)

    @qt_safe(None)
    def setEditorData(self, editor, index):
        if isinstance(editor, QComboBox):
            editor.setCurrentText(index.data(Qt.ItemDataRole.EditRole) or "")
            editor.showPopup()
        elif isinstance(editor, QListWidget):
            chosen = set(index.data(Qt.ItemDataRole.EditRole) or [])
            editor.blockSignals(True)
            for i in range(editor.count()):
                item = editor.item(i)
                item.setCheckState(Qt.CheckState.Checked if item.text() in chosen
                                   else Qt.CheckState.Unchecked)
            editor.blockSignals(False)
        else:
            super().setEditorData(editor, index)

    @qt_safe(None)
    def setModelData(self, editor, model, index):
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText())
        elif isinstance(editor, QListWidget):
            model.setData(index, [editor.item(i).text() for i in range(editor.count())
                                  if editor.item(i).checkState() == Qt.CheckState.Checked])
        else:
            super().setModelData(editor, model, index)

    @qt_safe(None)
    def updateEditorGeometry(self, editor, option, index):
        if isinstance(editor, QListWidget):
            rect = QRect(option.rect)
            rect.setHeight(min(max(editor.count(), 1) * 24 + 6, 180))
            rect.setWidth(max(rect.width(), 160))
            editor.setGeometry(rect)
        else:
            super().updateEditorGeometry(editor, option, index)


class RowsTable(QWidget):
    """A titled table of rows with add, remove and move buttons."""

    def __init__(self, title: str, model: RowsModel, add: Callable[[], Any] | QMenu,
                 remove: Callable[[Any], None], move: Callable[[Any, int], bool],
                 theme=None, parent=None):
        super().__init__(parent)
        self.model = model
        self._remove, self._move = remove, move
        self.view = QTableView()
        self.view.setModel(model)
        self.view.setItemDelegate(CellDelegate(self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.SelectedClicked
                                  | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.view.verticalHeader().setVisible(False)
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setDefaultSectionSize(30)
        header = self.view.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        stretch = [i for i, col in enumerate(model.columns) if col.stretch]
        header.setStretchLastSection(not stretch)
        for i, col in enumerate(model.columns):
            if col.width:
                self.view.setColumnWidth(i, col.width)
            if col.stretch:
                header.setSectionResizeMode(i, QHeaderView.ResizeMode.Stretch)

        # Columns grow to their content (a long name, a Link kind) but keep a width the user set.
        model.modelReset.connect(self.fit_columns)
        model.dataChanged.connect(self.fit_columns)
        self.fit_columns()

        label = QLabel(title)
        label.setProperty("role", "heading")
        self.add_button = QToolButton(toolTip=f"Add to {title.lower()}")
        if isinstance(add, QMenu):
            self.add_button.setMenu(add)
            self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        else:
            # Called without arguments: clicked(bool) would hand `checked` to the first
            # optional parameter (a field named False).
            self.add_button.clicked.connect(lambda: add())
        self.remove_button = QToolButton(toolTip="Remove the selected row")
        self.remove_button.clicked.connect(self.remove_selected)
        self.up_button = QToolButton(toolTip="Move up")
        self.up_button.clicked.connect(lambda: self.move_selected(-1))
        self.down_button = QToolButton(toolTip="Move down")
        self.down_button.clicked.connect(lambda: self.move_selected(1))
        self.buttons = {"add": self.add_button, "delete": self.remove_button,
                        "up": self.up_button, "down": self.down_button}
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(label)
        top.addStretch(1)
        for b in self.buttons.values():
            top.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self.restyle(theme)

    def fit_columns(self, *_changed) -> None:
        """Widen the columns whose header or cells no longer fit (never narrows one)."""
        header = self.view.horizontalHeader()
        for i, col in enumerate(self.model.columns):
            if col.stretch or (i == len(self.model.columns) - 1 and header.stretchLastSection()):
                continue
            needed = max(header.sectionSizeHint(i), self.view.sizeHintForColumn(i), col.width)
            if self.view.columnWidth(i) < needed:
                self.view.setColumnWidth(i, needed)

    def restyle(self, theme) -> None:
        """Icons for the current colour scheme."""
        if theme is None:
            return
        for name, button in self.buttons.items():
            button.setIcon(theme.icon(name))

    def selected(self) -> Any:
        """The object of the selected row, or None."""
        rows = self.view.selectionModel().selectedRows()
        return self.model.row(rows[0]) if rows else None

    def select(self, obj: Any, edit_column: int | None = None) -> None:
        """Select an object's row (and start editing a cell)."""
        index = self.model.index_of(obj, edit_column or 0)
        if index.isValid():
            self.view.selectRow(index.row())
            self.view.scrollTo(index)
            if edit_column is not None:
                self.view.setCurrentIndex(index)
                self.view.edit(index)

    def remove_selected(self) -> None:
        """Remove the selected row."""
        obj = self.selected()
        if obj is not None:
            self._remove(obj)

    def move_selected(self, step: int) -> None:
        """Move the selected row up or down, keeping it selected."""
        obj = self.selected()
        if obj is not None and self._move(obj, step):
            self.select(obj)


# -- editors ----------------------------------------------------------------------------------

class Editor(QWidget):
    """A tab editing one model, endpoint or action, found by id on every refresh."""

    section = ""
    titleChanged = Signal()
    runRequested = Signal(str)  # endpoint name: open the Run panel for it
    runNowRequested = Signal(str)  # action name: run a scheduled action once, now

    def __init__(self, document: Document, item_id: str, prompts: Prompts, theme=None,
                 parent=None):
        super().__init__(parent)
        self.document = document
        self.item_id = item_id
        self.prompts = prompts
        self.theme = theme
        self.bound = self.item
        self._updating = False
        self.setProperty("role", "form")
        # Ctrl+R (RUN_SHORTCUT) is the main window's Run action: it calls click_run from any
        # widget of the editor and from the project tree (a shortcut here would be ambiguous).

    def run_buttons(self) -> list[QPushButton]:
        """The editor's Run buttons (the shortcut clicks the one showing)."""
        return []

    def click_run(self) -> bool:
        """Click the visible, enabled Run button (Ctrl+R); False when there is none."""
        for button in self.run_buttons():
            if button.isVisibleTo(self) and button.isEnabled():
                button.click()
                return True
        return False

    @property
    def item(self) -> Any:
        """The edited object as the project holds it now (None once deleted)."""
        return ops.find(self.document.project, self.section, self.item_id)

    @property
    def stale(self) -> bool:
        """Whether the item is gone or was replaced (the tab must close or be rebuilt)."""
        return self.item is None or self.item is not self.bound

    def title(self) -> str:
        """The tab's text."""
        return self.item.name if self.item is not None else ""

    def refresh(self) -> None:
        """Show the item as it is now (after an edit, undo or redo)."""

    def restyle(self) -> None:
        """Pick up icons of the current colour scheme."""

    def _set_text(self, widget: QLineEdit, text: str) -> None:
        if widget.text() != text:
            widget.setText(text)
            if not widget.hasFocus():
                widget.setCursorPosition(0)  # show the start of long paths and names

    def _name_row(self, heading: str) -> tuple[QWidget, QLineEdit]:
        name = QLineEdit()
        name.setObjectName("name")
        name.editingFinished.connect(lambda: self._rename(name.text().strip()))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(heading)
        label.setProperty("role", "section")
        layout.addWidget(label)
        layout.addWidget(name, 1)
        return row, name

    def _rename(self, name: str) -> None:
        item = self.item
        if item is None or self._updating or not name or name == item.name:
            return
        ops.rename(self.document, self.section, item, name)


def _run_button(text: str, tip: str, theme) -> QPushButton:
    """A Run button, with the play icon when resources/icons has one."""
    button = QPushButton(text)
    button.setObjectName("run")
    button.setToolTip(tip)
    _run_icon(button, theme)
    return button


def _run_icon(button: QPushButton, theme) -> None:
    """The play icon in the current colour scheme (none when the icon set has no play.svg)."""
    if theme is not None and (ICONS / "play.svg").exists():
        button.setIcon(theme.icon("play"))


def _card(*widgets: QWidget, layout=None) -> QFrame:
    frame = QFrame()
    frame.setProperty("role", "card")
    box = layout or QVBoxLayout()
    box.setContentsMargins(14, 12, 14, 12)
    box.setSpacing(8)
    for w in widgets:
        box.addWidget(w)
    frame.setLayout(box)
    return frame


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


def fit_to_text(edit: QLineEdit, least: int = 160, most: int = 480) -> None:
    """Make a line edit at least as wide as its text (within bounds), so a name is not clipped."""
    margins = edit.textMargins()
    room = edit.fontMetrics().horizontalAdvance(edit.text() or edit.placeholderText()) + 24 \
        + margins.left() + margins.right()
    edit.setMinimumWidth(max(least, min(most, room)))


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "muted")
    return label


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
        splitter.setSizes([206, 600])
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
            self.globals.model.refresh()
        finally:
            self._updating = False

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


EDITORS: dict[str, type[Editor]] = {"models": ModelEditor, "endpoints": EndpointEditor,
                                    "actions": ActionEditor}

# The Settings tab builds on the helpers above, so it is imported once they exist.
from app.settingseditor import SettingsEditor  # noqa: E402

EDITORS[SettingsEditor.section] = SettingsEditor
