"""The rows-table kit: a table over a list of the project (fields, variables), edits undoable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyledItemDelegate,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.qtsafe import qt_safe


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
