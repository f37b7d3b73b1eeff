"""The Data browser: the rows of each data model, paged, sorted and filtered in SQL, editable."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from PySide6.QtCore import QAbstractTableModel, Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import Shiboken

from app.theme import LIGHT
from runtime.dummy import Dummy, fill_rows
from runtime.errors import ActionError
from runtime.kinds import KindError, convert_field, json_default
from runtime.project import Model, Project
from runtime.store import AUTOMATIC, Change, Store, Transaction
from runtime.where import FilterError, literal_clause, parse_filter_text

PAGE_SIZE = 50
WIDE_KINDS = ("Text", "JSON")  # columns that share the grid's spare width
PROGRESS_FROM = 200  # fills of at least this many rows show a progress bar
EMPTY = "No rows yet. Run an endpoint or fill with dummy data."
NO_MATCH = "No rows match the filter."
JSON_WIDTH = 60
AUTOMATIC_KINDS = {"id": "Integer", "created_at": "DateTime"}

# -- values as text ---------------------------------------------------------------------------

def cell_text(value: Any, compact: bool = True) -> str:
    """A stored value as the table shows it: JSON compact, dates in ISO form, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=json_default,
                          separators=(",", ":") if compact else (", ", ": "))
        return text if not compact or len(text) <= JSON_WIDTH else text[:JSON_WIDTH - 1] + "…"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def parse_cell(model: str, field: str, kind: str, text: str) -> Any:
    """Typed cell text as a value of the field's kind; raises FilterError naming the field."""
    stripped = text.strip()
    if kind == "Text":
        return text
    if not stripped or stripped.lower() == "null":
        return None
    if kind == "JSON":
        try:
            return json.loads(stripped)
        except ValueError as e:
            raise FilterError(f"{model}.{field}: not valid JSON ({e.msg}, column {e.colno})") \
                from None
    try:
        return convert_field(kind, stripped)
    except KindError as e:
        raise FilterError(f"{model}.{field}: {e}") from None


# -- the table model --------------------------------------------------------------------------

class RecordsModel(QAbstractTableModel):
    """One page of a model's rows; edits are handed to the browser (which writes them)."""

    def __init__(self, browser: DataBrowser):
        super().__init__(browser)
        self.browser = browser
        self.columns: list[tuple[str, str]] = []  # (field, kind)
        self.records: list[dict] = []
        self.marks: dict[int, str] = {}  # id -> "insert" | "update"

    def show(self, columns: list[tuple[str, str]], records: list[dict]) -> None:
        """Show a new page."""
        self.beginResetModel()
        self.columns = columns
        self.records = records
        self.endResetModel()

    def replace(self, record: dict) -> None:
        """Show a record's new values, if it is on this page."""
        for r, old in enumerate(self.records):
            if old.get("id") == record.get("id"):
                self.records[r] = record
                self.dataChanged.emit(self.index(r, 0), self.index(r, len(self.columns) - 1))

    def record(self, row: int) -> dict | None:
        return self.records[row] if 0 <= row < len(self.records) else None

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.records)

    def columnCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            name, kind = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return name
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{name} ({kind}): click to sort"
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record = self.records[index.row()]
        name, kind = self.columns[index.column()]
        value = record.get(name)
        colors = self.browser.colors
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(value) if value is not None else "null"
        if role == Qt.ItemDataRole.EditRole:
            return cell_text(value, compact=False)
        if role == Qt.ItemDataRole.ToolTipRole and isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False, indent=2, default=json_default)
        if role == Qt.ItemDataRole.ForegroundRole and (value is None or name in AUTOMATIC):
            return QColor(colors["faint"] if value is None else colors["muted"])
        if role == Qt.ItemDataRole.FontRole and value is None:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and kind in ("Integer", "Decimal", "Link"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            mark = self.marks.get(record.get("id"))
            if mark:
                color = QColor(colors["ok"] if mark == "insert" else colors["warning"])
                color.setAlpha(60)
                return color
        return None

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.isValid() and self.columns[index.column()][0] not in AUTOMATIC:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        record = self.records[index.row()]
        name, _kind = self.columns[index.column()]
        if cell_text(record.get(name), compact=False) == str(value):
            return False
        # Written in the browser's transaction; the cell shows the stored value once it is done.
        self.browser._spawn(self.browser.set_cell(record["id"], name, str(value)))
        return False


# -- the browser ------------------------------------------------------------------------------

class DataBrowser(QWidget):
    """Rows of the project's data models in the live database: browse, filter, sort, edit,
    add, delete, fill with dummy data and reset. The live server owns the Store."""

    def __init__(self, theme=None, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.project: Project | None = None
        self.store: Store | None = None
        self.model_name: str | None = None
        self.filter_text = ""
        self._where: Callable[[sa.Table], Any] | None = None
        self.sort: tuple[str, bool] | None = None  # (field, descending)
        self.page = 1
        self.total = 0
        self.highlights: dict[str, dict[int, str]] = {}  # model -> id -> op
        self.deleted: dict[str, list[int]] = {}
        self.confirm: Callable[[str, str], bool] = self._ask
        self._generation = 0
        self._tasks: set[asyncio.Future] = set()
        self._busy = False

        self.records = RecordsModel(self)
        self._build()
        self._debounce = QTimer(self, singleShot=True, interval=120)
        self._debounce.timeout.connect(lambda: self._spawn(self.refresh()))
        if theme is not None and hasattr(theme, "changed"):
            theme.changed.connect(self.restyle)
        self.restyle()
        self._show_state()

    # -- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(12)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model_combo.setToolTip("The data model whose rows are shown")
        self.model_combo.currentTextChanged.connect(self._model_chosen)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(filter_hint(None))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.returnPressed.connect(
            lambda: self._spawn(self.set_filter(self.filter_edit.text())))
        self.filter_edit.textChanged.connect(self._filter_cleared)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(8)
        top.addWidget(self.model_combo)
        top.addWidget(self.filter_edit, 1)

        self.view = QTableView()
        self.view.setModel(self.records)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(28)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        header = self.view.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)  # the spare width goes to text columns instead
        header.sectionClicked.connect(self._header_clicked)
        self.empty = QLabel(EMPTY)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setProperty("role", "muted")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty)

        self.add_button = QPushButton("Add row")
        self.add_button.setToolTip("Insert a row (required fields get dummy values) and edit it")
        self.add_button.clicked.connect(lambda: self._spawn(self._add_clicked()))
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected rows")
        self.delete_button.clicked.connect(lambda: self._spawn(self._delete_clicked()))
        self.fill_count = QSpinBox()
        self.fill_count.setRange(1, 100_000)
        self.fill_count.setValue(20)
        self.fill_count.setToolTip("How many dummy rows to add")
        self.fill_count.setMaximumWidth(90)
        self.fill_button = QPushButton("Fill with dummy rows")
        self.fill_button.setToolTip("Add this many rows of dummy data (one transaction)")
        self.fill_button.clicked.connect(lambda: self._spawn(self.fill(self.fill_count.value())))
        self.reset_button = QPushButton("Reset database")
        self.reset_button.setToolTip("Delete every row of every model")
        self.reset_button.clicked.connect(lambda: self._spawn(self._reset_clicked()))
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.previous_button = QToolButton(toolTip="Previous page")
        self.previous_button.setAutoRaise(True)
        self.previous_button.clicked.connect(lambda: self._spawn(self.go_to_page(self.page - 1)))
        self.next_button = QToolButton(toolTip="Next page")
        self.next_button.setAutoRaise(True)
        self.next_button.clicked.connect(lambda: self._spawn(self.go_to_page(self.page + 1)))
        self.count_label = QLabel("")
        self.count_label.setProperty("role", "muted")
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.setSpacing(6)
        for w in (self.add_button, self.delete_button, self.fill_count, self.fill_button,
                  self.reset_button, self.progress):
            bottom.addWidget(w)
        bottom.addStretch(1)
        bottom.addWidget(self.count_label)
        bottom.addWidget(self.previous_button)
        bottom.addWidget(self.next_button)

        self.message = QLabel("")
        self.message.setProperty("role", "problem")
        self.message.setWordWrap(True)
        self.message.hide()
        self.note = QLabel("")
        self.note.setProperty("role", "muted")
        self.note.setWordWrap(True)
        self.note.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.note)
        layout.addLayout(bottom)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.records.columnCount():
            self._size_columns()  # the text columns follow the grid's width

    @property
    def colors(self) -> dict[str, str]:
        if self.theme is not None and hasattr(self.theme, "colors"):
            return self.theme.colors
        return LIGHT

    def restyle(self) -> None:
        """Icons and tints for the current colour scheme."""
        if self.theme is not None and hasattr(self.theme, "icon"):
            self.previous_button.setIcon(_mirrored(self.theme.icon("chevron-right")))
            self.next_button.setIcon(self.theme.icon("chevron-right"))
            self.add_button.setIcon(self.theme.icon("add"))
            self.delete_button.setIcon(self.theme.icon("delete"))
        else:
            self.previous_button.setText("<")
            self.next_button.setText(">")
        self.records.layoutChanged.emit()

    # -- the source ---------------------------------------------------------------------------
    def set_source(self, project: Project | None, store: Store | None) -> None:
        """Browse `store` (the live server's) with `project`'s models; call again whenever the
        project revision or the store changes. Keeps the chosen model, filter and sort when
        they still exist."""
        self.project, self.store = project, store
        names = [m.name for m in project.models] if project is not None else []
        current = self.model_name if self.model_name in names else (names[0] if names else None)
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems(names)
        if current is not None:
            self.model_combo.setCurrentText(current)
        self.model_combo.blockSignals(False)
        if current != self.model_name:
            self._switch_model(current)
        elif self.sort and self.sort[0] not in self._kinds():
            self.sort = None
        if self.filter_text and current is not None:
            try:
                self._where = self._parse_filter(self.filter_text)
            except FilterError:
                self._where, self.filter_text = None, ""
                self.filter_edit.clear()
        self._show_state()
        self.schedule_refresh()

    def schedule_refresh(self) -> None:
        """Reload soon (calls within a moment are merged into one reload)."""
        self._debounce.start()

    async def refresh(self) -> None:
        """Reload the current page from the database."""
        self._generation += 1
        generation = self._generation
        model, store = self._model(), self.store
        if model is None or store is None:
            self.total = 0
            self.records.show([], [])
            self._show_state()
            return
        columns = self._columns(model)
        order = self._order()
        try:
            async with store.transaction(writes=False) as tx:
                where = self._clause(tx)
                total = await tx.count(model.name, where)
                pages = max(1, -(-total // PAGE_SIZE))
                page = min(max(1, self.page), pages)
                rows = await tx.select(model.name, where, order=order, limit=PAGE_SIZE,
                                       offset=(page - 1) * PAGE_SIZE)
        except (ActionError, sa.exc.SQLAlchemyError, OSError) as e:
            if generation == self._generation:
                self._error(f"Could not read {model.name}: {_short_error(e)}")
            return
        if generation != self._generation or model is not self._model():
            return  # a newer refresh (or another model) has taken over
        self.page, self.total = page, total
        self.records.marks = self.highlights.get(model.name, {})
        self.records.show(columns, rows)
        self._size_columns()
        self._show_state()

    # -- public operations (awaitable; the buttons call them) ---------------------------------
    async def set_filter(self, text: str) -> bool:
        """Filter rows: `field = value` (also != < <= > >=), `field contains text`,
        `field starts with text`, or plain text found in any text field. A bad filter shows
        a message naming the field and keeps the rows as they were."""
        if self.filter_edit.text() != text:
            self.filter_edit.blockSignals(True)
            self.filter_edit.setText(text)
            self.filter_edit.blockSignals(False)
        try:
            where = self._parse_filter(text)
        except FilterError as e:
            self._error(str(e))
            self._mark_filter(True)
            return False
        self._mark_filter(False)
        self._clear_message()
        self.filter_text, self._where, self.page = text.strip(), where, 1
        await self.refresh()
        return True

    async def sort_by(self, field: str | None, descending: bool = False) -> bool:
        """Sort by a field (in SQL); None goes back to the id order."""
        if field is not None and field not in self._kinds():
            model = self._model()
            self._error(f'No field "{field}" in {model.name if model else "this model"}')
            return False
        self.sort = None if field is None else (field, descending)
        self.page = 1
        self._update_sort_indicator()
        await self.refresh()
        return True

    async def go_to_page(self, n: int) -> None:
        """Show page `n` (counted from 1; clamped to the pages there are)."""
        self.page = min(max(1, n), self.pages)
        await self.refresh()

    async def add_row(self, values: dict[str, Any] | None = None) -> dict | None:
        """Insert a row with these values (field -> value or typed text); returns it, or None
        after showing what is wrong."""
        model = self._model()
        if model is None or self.store is None:
            return None
        try:
            converted = self._convert(model, values or {})
        except FilterError as e:
            self._error(str(e))
            return None
        record = await self._write(lambda tx: tx.insert(model.name, converted))
        if record is not None:
            self._clear_message()
            self.total += 1
            self.page = self.pages  # new rows come last in id order
            await self.refresh()
        return record

    async def delete_rows(self, ids: list[int]) -> int:
        """Delete rows by id; returns how many were deleted."""
        model = self._model()
        if model is None or self.store is None or not ids:
            return 0

        async def delete(tx: Transaction) -> list[dict]:
            return await tx.delete(model.name, tx.table(model.name).c.id.in_(list(ids)))

        deleted = await self._write(delete)
        if deleted is None:
            return 0
        self._clear_message()
        await self.refresh()
        return len(deleted)

    async def fill(self, n: int, seed: int | None = None) -> int:
        """Add `n` rows of dummy data in one transaction (links point at existing rows);
        returns how many were added."""
        model = self._model()
        if model is None or self.store is None or n <= 0:
            return 0
        dummy = Dummy(seed=seed)
        show = n >= PROGRESS_FROM
        if show:
            self.progress.setRange(0, n)
            self.progress.setValue(0)
            self.progress.setFormat(f"%v of {n}")
            self.progress.show()

        async def progress(i: int) -> None:
            if show:
                self.progress.setValue(i)
                await asyncio.sleep(0)  # let the progress bar paint

        async def insert(tx: Transaction) -> int:
            return await fill_rows(tx, model, self.project, n, dummy, progress)

        try:
            added = await self._write(insert, busy=True)
        finally:
            self.progress.hide()
        if added is None:
            return 0
        self._clear_message()
        self.note.setText(f"Added {n} dummy {'row' if n == 1 else 'rows'} to {model.name}.")
        self.note.show()
        await self.refresh()
        return added

    async def reset(self) -> dict[str, int] | None:
        """Delete every row of every model (one transaction); returns rows deleted per model."""
        if self.store is None:
            return None
        counts = await self._write(lambda tx: tx.clear(), busy=True)
        if counts is None:
            return None
        self.highlights.clear()
        self.deleted.clear()
        self._clear_message()
        total = sum(counts.values())
        self.note.setText(f"Reset: deleted {total} {'row' if total == 1 else 'rows'}.")
        self.note.show()
        self.page = 1
        await self.refresh()
        return counts

    async def set_cell(self, row_id: int, field: str, text: str) -> dict | None:
        """Set one field of one row from typed text; a bad value shows a message naming the
        field and writes nothing. Returns the updated row, or None."""
        model = self._model()
        if model is None or self.store is None:
            return None
        kinds = self._kinds()
        if field in AUTOMATIC or field not in kinds:
            self._error(f'{model.name}.{field} cannot be edited' if field in AUTOMATIC
                        else f'No field "{field}" in {model.name}')
            return None
        try:
            value = parse_cell(model.name, field, kinds[field], text)
        except FilterError as e:
            self._error(str(e))
            return None

        async def update(tx: Transaction) -> dict | None:
            rows = await tx.update(model.name, tx.by_id(model.name, row_id), {field: value})
            return rows[0] if rows else None

        record = await self._write(update)
        if record is None:
            if not self.message.isVisible():
                self._error(f"{model.name} #{row_id} no longer exists")
            await self.refresh()
            return None
        self._clear_message()
        self.records.replace(record)
        return record

    def show_model(self, name: str) -> None:
        """Show the rows of the model called `name` (after a run changed some of them)."""
        if name != self.model_name and self.model_combo.findText(name) >= 0:
            self.model_combo.setCurrentText(name)  # switches and reloads

    def highlight(self, changes: list[Change]) -> None:
        """Mark the rows a run inserted or updated (tinted) and note the ids it deleted."""
        self.highlights, self.deleted = {}, {}
        for change in changes:
            if change.op == "delete" and change.before:
                self.deleted.setdefault(change.model, []).append(change.before.get("id"))
                self.highlights.get(change.model, {}).pop(change.before.get("id"), None)
            elif change.after:
                marks = self.highlights.setdefault(change.model, {})
                # a row inserted then updated in the same run stays "inserted"
                if marks.get(change.after.get("id")) != "insert":
                    marks[change.after.get("id")] = change.op
        model = self._model()
        self.records.marks = self.highlights.get(model.name, {}) if model else {}
        if self.records.rowCount():
            self.records.dataChanged.emit(
                self.records.index(0, 0),
                self.records.index(self.records.rowCount() - 1, self.records.columnCount() - 1))
        self._show_note()
        self.schedule_refresh()

    async def wait_idle(self) -> None:
        """Wait until scheduled reloads and started operations have finished (also safe once
        Qt has deleted the widget)."""
        while self._tasks or (Shiboken.isValid(self._debounce) and self._debounce.isActive()):
            if Shiboken.isValid(self._debounce) and self._debounce.isActive():
                self._debounce.stop()
                self._spawn(self.refresh())
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- state --------------------------------------------------------------------------------
    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    def count_text(self) -> str:
        """`rows 1-50 of 123`, or `0 rows`."""
        if not self.total:
            return "0 rows"
        first = (self.page - 1) * PAGE_SIZE + 1
        last = min(self.total, first + PAGE_SIZE - 1)
        return f"rows {first}-{last} of {self.total}"

    def selected_ids(self) -> list[int]:
        """The ids of the selected rows."""
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [r["id"] for r in (self.records.record(i) for i in rows) if r is not None]

    def _model(self) -> Model | None:
        if self.project is None or self.model_name is None:
            return None
        if self.store is not None and self.model_name in self.store.models:
            return self.store.models[self.model_name]
        return self.project.model(self.model_name)

    def _kinds(self) -> dict[str, str]:
        model = self._model()
        kinds = dict(AUTOMATIC_KINDS)
        if model is not None:
            kinds.update({f.name: f.kind for f in model.fields})
        return kinds

    def _columns(self, model: Model) -> list[tuple[str, str]]:
        return [("id", "Integer")] + [(f.name, f.kind) for f in model.fields] \
            + [("created_at", "DateTime")]

    def _order(self) -> list[tuple[str, bool]]:
        if self.sort is None:
            return [("id", False)]
        field, descending = self.sort
        return [(field, descending)] + ([("id", descending)] if field != "id" else [])

    def _show_state(self) -> None:
        model = self._model()
        ready = model is not None and self.store is not None
        for w in (self.add_button, self.fill_button, self.fill_count, self.filter_edit):
            w.setEnabled(ready and not self._busy)
        self.reset_button.setEnabled(self.store is not None and self.project is not None
                                     and not self._busy)
        self.delete_button.setEnabled(ready and not self._busy and self.records.rowCount() > 0)
        self.model_combo.setEnabled(self.project is not None and bool(self.project.models))
        self.filter_edit.setPlaceholderText(filter_hint(model))
        if self.store is None or self.project is None:
            self.empty.setText("No database yet: open a project to browse its data.")
        elif model is None:
            self.empty.setText("This project has no data models yet.")
        elif self.total == 0 and self._where is not None:
            self.empty.setText(NO_MATCH)
        else:
            self.empty.setText(EMPTY)
        self.stack.setCurrentWidget(self.view if self.records.rowCount() else self.empty)
        self.count_label.setText(self.count_text() if ready else "")
        self.previous_button.setEnabled(ready and self.page > 1)
        self.next_button.setEnabled(ready and self.page < self.pages)
        self._show_note()

    def _show_note(self) -> None:
        if not self.deleted:
            if self.note.text().startswith("Deleted by the run"):
                self.note.hide()
            return
        parts = [f"{name} " + ", ".join(f"#{i}" for i in ids[:20]) + (" …" if len(ids) > 20 else "")
                 for name, ids in self.deleted.items()]
        self.note.setText("Deleted by the run: " + "; ".join(parts))
        self.note.show()

    def _switch_model(self, name: str | None) -> None:
        self.model_name = name
        self.sort, self._where, self.filter_text, self.page, self.total = None, None, "", 1, 0
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)
        self._mark_filter(False)
        self._clear_message()
        self.records.show([], [])
        self._update_sort_indicator()

    def _model_chosen(self, name: str) -> None:
        if name and name != self.model_name:
            self._switch_model(name)
            self._show_state()
            self._spawn(self.refresh())

    def _filter_cleared(self, text: str) -> None:
        if not text.strip() and self.filter_text:
            self._spawn(self.set_filter(""))

    def _header_clicked(self, section: int) -> None:
        if not 0 <= section < len(self.records.columns):
            return
        name = self.records.columns[section][0]
        descending = self.sort is not None and self.sort[0] == name and not self.sort[1]
        self._spawn(self.sort_by(name, descending))

    def _update_sort_indicator(self) -> None:
        header = self.view.horizontalHeader()
        if self.sort is None:
            header.setSortIndicatorShown(False)
            return
        names = [c[0] for c in self.records.columns] or [c[0] for c in self._columns(self._model())]
        if self.sort[0] in names:
            header.setSortIndicatorShown(True)
            header.setSortIndicator(names.index(self.sort[0]),
                                    Qt.SortOrder.DescendingOrder if self.sort[1]
                                    else Qt.SortOrder.AscendingOrder)

    def _size_columns(self) -> None:
        self._update_sort_indicator()
        header = self.view.horizontalHeader()
        wide = []
        for i, (_name, kind) in enumerate(self.records.columns):
            self.view.resizeColumnToContents(i)
            header.resizeSection(i, min(max(header.sectionSize(i), 60), 320))
            if kind in WIDE_KINDS:
                wide.append(i)
        # Ids, numbers and dates keep their content's width; text gets the room that is left.
        spare = self.view.viewport().width() - header.length()
        for i in wide if spare > 0 else []:
            header.resizeSection(i, header.sectionSize(i) + spare // len(wide))

    def _error(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _clear_message(self) -> None:
        self.message.clear()
        self.message.hide()

    def _mark_filter(self, bad: bool) -> None:
        self.filter_edit.setProperty("problem", bad)
        self.filter_edit.style().unpolish(self.filter_edit)
        self.filter_edit.style().polish(self.filter_edit)

    # -- filters ------------------------------------------------------------------------------
    def _parse_filter(self, text: str) -> Callable[[sa.Table], Any] | None:
        """A filter's text as a function building the SQL clause for a table (runtime.where
        reads the text into a Where and builds the clause)."""
        model = self._model()
        if model is None:
            return None
        return literal_clause(parse_filter_text(text, model), model)

    def _clause(self, tx: Transaction):
        if self._where is None or self.model_name is None:
            return None
        return self._where(tx.table(self.model_name))

    # -- writing ------------------------------------------------------------------------------
    def _convert(self, model: Model, values: dict[str, Any]) -> dict[str, Any]:
        kinds = self._kinds()
        out = {}
        for name, value in values.items():
            if name not in kinds:
                raise FilterError(f'No field "{name}" in {model.name} (fields: '
                                  f'{", ".join(kinds)})')
            out[name] = parse_cell(model.name, name, kinds[name], value) \
                if isinstance(value, str) else value
        return out

    async def _write(self, work: Callable[[Transaction], Any], busy: bool = False) -> Any:
        """Run `work` in one write transaction; on failure show why and return None."""
        if self.store is None:
            return None
        if busy:
            self._busy = True
            self._show_state()
        try:
            async with self.store.transaction(writes=True) as tx:
                return await work(tx)
        except ActionError as e:
            self._error(str(e))
        except KindError as e:
            self._error(str(e))
        except (sa.exc.SQLAlchemyError, OSError) as e:
            self._error(f"The database refused the change: {_short_error(e)}")
        finally:
            if busy:
                self._busy = False
                self._show_state()
        return None

    async def _add_clicked(self) -> None:
        model = self._model()
        if model is None:
            return
        dummy = Dummy()
        values = {f.name: dummy.value(f.kind, f.name, f) for f in model.fields
                  if f.required and f.default is None and f.kind != "Link"}
        record = await self.add_row(values)
        if record is None:
            return
        for r, shown in enumerate(self.records.records):
            if shown["id"] == record["id"]:
                self.view.selectRow(r)
                column = 1 if self.records.columnCount() > 2 else 0
                index = self.records.index(r, column)
                self.view.scrollTo(index)
                self.view.setCurrentIndex(index)
                if self.records.flags(index) & Qt.ItemFlag.ItemIsEditable:
                    self.view.edit(index)

    async def _delete_clicked(self) -> None:
        ids = self.selected_ids()
        model = self._model()
        if not ids or model is None:
            return
        what = f"row #{ids[0]}" if len(ids) == 1 else f"{len(ids)} rows"
        if self.confirm(f"Delete {what}", f"Delete {what} of {model.name}? This cannot be undone."):
            await self.delete_rows(ids)

    async def _reset_clicked(self) -> None:
        if self.confirm("Reset database", "Delete every row of every data model? "
                        "This cannot be undone."):
            await self.reset()

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _spawn(self, coro) -> asyncio.Future:
        """Run a coroutine on the running loop (qasync's in the app), keeping a reference."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def filter_hint(model: Model | None) -> str:
    """The filter's placeholder, with examples made of this model's fields."""
    if model is None:
        return "Filter: field > 10, field contains text, or any text"
    number = next((f.name for f in model.fields if f.kind in ("Integer", "Decimal")), "id")
    text = next((f.name for f in model.fields if f.kind == "Text"), None)
    return f"Filter: {number} > 10, " + (f"{text} contains hello, " if text else "") + "or any text"


def _short_error(e: BaseException) -> str:
    text = str(getattr(e, "orig", None) or e).splitlines()[0] if str(e) else type(e).__name__
    return text[:200]


def _mirrored(icon):
    """An icon flipped left to right (a "previous" arrow from the "next" one)."""
    from PySide6.QtGui import QIcon, QTransform

    out = QIcon()
    for size in (16, 20, 24, 32):
        pixmap = icon.pixmap(size, size)
        out.addPixmap(pixmap.transformed(QTransform().scale(-1, 1)))
    return out
