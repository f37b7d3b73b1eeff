"""The palette of event kinds by category, with search; and the add-by-name popup (Tab)."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.nodeclasses import category_color
from nodes.kind import EventKind

KIND_MIME = "application/x-actiongraph-kind"  # a drag from the palette: the kind id
KIND_ROLE = Qt.ItemDataRole.UserRole


def unique_kinds(kinds: dict[str, EventKind]) -> list[EventKind]:
    """Each kind once (a catalogue also lists kinds under their old ids)."""
    seen: dict[str, EventKind] = {}
    for kind in kinds.values():
        seen.setdefault(kind.id, kind)
    return list(seen.values())


def search(kinds: list[EventKind], text: str) -> list[EventKind]:
    """The kinds a search text finds by name, id or category; failing those, by their docs."""
    words = text.lower().split()

    def found(hay: str) -> bool:
        return all(word in hay.lower() for word in words)

    named = [k for k in kinds if found(f"{k.name} {k.id} {k.category}")]
    return named or [k for k in kinds if found(k.doc)]


def category_icon(category: str) -> QIcon:
    """A round swatch in the category's accent colour (the colour of its nodes' title bars)."""
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(*category_color(category)))
    painter.drawRoundedRect(4, 4, 24, 24, 7, 7)
    painter.end()
    return QIcon(pixmap)


# What each flow port means, for the documentation tooltips (other names are shown as they are).
FLOW_WORDS = {
    "next": "after it ran",
    "true": "when the value is true",
    "false": "when the value is false",
    "each": "once per item, with the item and its index",
    "done": "after the last item",
    "error": "when it fails",
}
TOOLTIP_WIDTH = 380  # pixels: long docs wrap into a readable column


def _inline(text: str) -> str:
    """Doc text as rich text: escaped, with `code` in a fixed-width font."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def _ports(title: str, ports) -> str:
    if not ports:
        return ""
    rows = "".join(
        f"<li><b>{html.escape(p.name)}</b> <span style='color:gray'>{html.escape(p.kind)}"
        f"{', required' if p.required else ''}</span>"
        + (f" &ndash; {_inline(p.doc)}" if p.doc else "") + "</li>"
        for p in ports)
    return f"<p style='margin-top:6px; margin-bottom:0'><b>{title}</b></p>" \
           f"<ul style='margin-top:2px; margin-left:-24px'>{rows}</ul>"


def documentation(kind: EventKind) -> str:
    """An event kind's whole documentation as rich text: title, doc, ports and flow."""
    flows = []
    for name in kind.flow_out:
        words = FLOW_WORDS.get(name, "")
        if name == kind.fail_port:
            words = f"{words or 'on failure'} (left unwired, the action fails instead)"
        flows.append(f"<li><b>{html.escape(name)}</b>" + (f" &ndash; {words}" if words else "")
                     + "</li>")
    flow = ("<p style='margin-top:6px; margin-bottom:0'><b>Flow out</b></p>"
            f"<ul style='margin-top:2px; margin-left:-24px'>{''.join(flows)}</ul>") if flows \
        else ("<p style='margin-top:6px'><b>Flow out</b>: none &ndash; "
              + ("the loop stops and goes on by its <code>done</code> port" if kind.breaks
                 else "the run stops here") + ".</p>")
    notes = []
    if kind.writes:
        notes.append("Writes to the database (undone if the action fails).")
    if kind.breaks:
        notes.append("Only inside a Loop's <code>each</code> branch.")
    note = "".join(f"<p style='color:gray; margin-top:4px'>{n}</p>" for n in notes)
    return (f"<table width='{TOOLTIP_WIDTH}' cellspacing='0' cellpadding='0'><tr><td>"
            f"<p style='margin-bottom:4px'><b style='font-size:large'>{html.escape(kind.name)}"
            f"</b>&nbsp;&nbsp;<span style='color:gray'>{html.escape(kind.category)}</span></p>"
            f"<p>{_inline(kind.doc)}</p>"
            f"{_ports('Inputs', kind.inputs)}{_ports('Outputs', kind.outputs)}{flow}{note}"
            "</td></tr></table>")


def _tooltip(kind: EventKind) -> str:
    return documentation(kind)


class _KindTree(QTreeWidget):
    """The tree of kinds; dragging an item carries its kind id."""

    def mimeData(self, items):
        mime = QMimeData()
        ids = [item.data(0, KIND_ROLE) for item in items if item.data(0, KIND_ROLE)]
        if ids:
            mime.setData(KIND_MIME, ids[0].encode())
        return mime

    def mimeTypes(self):
        return [KIND_MIME]


class Palette(QWidget):
    """Event kinds by category with a search box; drag one onto the graph, or double-click it."""

    kindActivated = Signal(str)  # double-click or Enter: add this kind

    def __init__(self, source, parent: QWidget | None = None):
        """`source`: the kinds by id, or an ActionGraph (its kinds; activating adds to it)."""
        super().__init__(parent)
        kinds = source if isinstance(source, dict) else source.kinds
        self.kinds = kinds
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search events")
        self.search.setClearButtonEnabled(True)
        self.tree = _KindTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(8)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._activate_first)
        self.tree.itemActivated.connect(self._activated)
        self.set_kinds(kinds)
        if not isinstance(source, dict):
            self.kindActivated.connect(lambda kind_id: source.add_event(kind_id))

    def set_kinds(self, kinds: dict[str, EventKind]) -> None:
        """Show these kinds (e.g. after a new event kind was added to the catalogue)."""
        self.kinds = kinds
        self.tree.clear()
        categories: dict[str, QTreeWidgetItem] = {}
        for kind in sorted(unique_kinds(kinds), key=lambda k: (k.category, k.name)):
            parent = categories.get(kind.category)
            if parent is None:
                parent = categories[kind.category] = QTreeWidgetItem(self.tree, [kind.category])
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
                parent.setIcon(0, category_icon(kind.category))
            item = QTreeWidgetItem(parent, [kind.name])
            item.setData(0, KIND_ROLE, kind.id)
            item.setToolTip(0, _tooltip(kind))
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                          | Qt.ItemFlag.ItemIsDragEnabled)
        self.tree.expandAll()
        self._filter(self.search.text())

    def items(self) -> dict[str, QTreeWidgetItem]:
        """The tree items by kind id."""
        out = {}
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                out[top.child(j).data(0, KIND_ROLE)] = top.child(j)
        return out

    def visible_kinds(self) -> list[str]:
        """Ids of the kinds the search leaves visible, top to bottom."""
        return [kid for kid, item in self.items().items() if not item.isHidden()]

    def categories(self) -> list[str]:
        """The category headings, top to bottom."""
        return [self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())]

    def mime_for(self, kind_id: str) -> QMimeData:
        """What dragging this kind carries (the graph accepts it as a drop)."""
        return self.tree.mimeData([self.items()[kind_id]])

    def _filter(self, text: str) -> None:
        found = {k.id for k in search(unique_kinds(self.kinds), text)}
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            shown = 0
            for j in range(top.childCount()):
                item = top.child(j)
                hide = item.data(0, KIND_ROLE) not in found
                item.setHidden(hide)
                shown += not hide
            top.setHidden(shown == 0)

    def _activate_first(self) -> None:
        visible = self.visible_kinds()
        if visible:
            self.kindActivated.emit(visible[0])

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        kind_id = item.data(0, KIND_ROLE)
        if kind_id:
            self.kindActivated.emit(kind_id)


class KindPicker(QFrame):
    """A small popup to add an event by typing its name: Enter adds the highlighted kind."""

    picked = Signal(str)

    def __init__(self, kinds: dict[str, EventKind], parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.kinds = sorted(unique_kinds(kinds), key=lambda k: (k.name, k.category))
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add event…")
        self.list = QListWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._pick_current)
        self.list.itemActivated.connect(lambda item: self._pick(item.data(KIND_ROLE)))
        self.search.installEventFilter(self)
        self._filter("")
        self.resize(260, 280)

    def popup(self, at: QPoint) -> None:
        """Show at a global position with the search box focused."""
        self.move(at)
        self.show()
        self.search.setFocus()

    def shown_kinds(self) -> list[str]:
        """Ids of the kinds listed for the current search."""
        return [self.list.item(i).data(KIND_ROLE) for i in range(self.list.count())]

    def eventFilter(self, obj, event):
        # arrow keys in the search box move through the list, as in a command palette
        if obj is self.search and event.type() == event.Type.KeyPress and \
                event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
            return True
        return super().eventFilter(obj, event)

    def _filter(self, text: str) -> None:
        self.list.clear()
        for kind in search(self.kinds, text):
            item = QListWidgetItem(category_icon(kind.category),
                                   f"{kind.name}    {kind.category}", self.list)
            item.setData(KIND_ROLE, kind.id)
            item.setToolTip(_tooltip(kind))
        if self.list.count():
            self.list.setCurrentRow(0)

    def _pick_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._pick(item.data(KIND_ROLE))

    def _pick(self, kind_id: str) -> None:
        self.close()
        self.picked.emit(kind_id)
