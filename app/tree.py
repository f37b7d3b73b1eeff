"""The project tree (Data Models, Endpoints, Actions, Settings) and the project-level edits."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import theme as looks
from app.document import Document
from nodes import catalogue
from runtime.generate import GenerateError, generate_api
from runtime.project import (
    Action,
    Endpoint,
    Field,
    Model,
    Project,
    Trigger,
    _next_id,
)

SECTIONS = ("models", "endpoints", "actions")
TITLES = {"models": "Data Models", "endpoints": "Endpoints", "actions": "Actions"}
SINGULAR = {"models": "model", "endpoints": "endpoint", "actions": "action"}
ID_PREFIX = {"models": "m", "endpoints": "e", "actions": "a"}
SETTINGS = "settings"  # the section (and id) of the project's one Settings entry
SECTION_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1


class Prompts:
    """Every question the editor asks the user, in one place so tests can answer them."""

    def __init__(self, parent: QWidget | None = None):
        self.parent = parent

    def text(self, title: str, label: str, value: str = "") -> str | None:
        """A line of text, or None when cancelled."""
        text, ok = QInputDialog.getText(self.parent, title, label, QLineEdit.EchoMode.Normal,
                                        value)
        return text.strip() if ok and text.strip() else None

    def choice(self, title: str, label: str, items: list[str], current: str = "") -> str | None:
        """One of `items`, or None when cancelled."""
        if not items:
            return None
        index = items.index(current) if current in items else 0
        item, ok = QInputDialog.getItem(self.parent, title, label, items, index, False)
        return item if ok else None

    def confirm(self, title: str, text: str, action: str = "Delete") -> bool:
        """Whether the user goes ahead with a destructive step."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.parent)
        go = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is go

    def save_changes(self, name: str) -> str:
        """'save', 'discard' or 'cancel' for a project with unsaved edits."""
        answer = QMessageBox.question(
            self.parent, "Unsaved changes", f"Save the changes to {name}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(answer, "cancel")

    def recover(self, name: str, when: str) -> bool:
        """Whether to restore the edits autosaved before a crash."""
        answer = QMessageBox.question(
            self.parent, "Recover unsaved changes",
            f"Actiongraph closed without saving {name}. Its edits were kept at {when}.\n\n"
            "Recover them? (Nothing is written until you save.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def open_path(self, folder: str = "") -> str | None:
        """A project file to open."""
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open project", folder,
                                              "Actiongraph projects (*.actiongraph.json);;"
                                              "JSON files (*.json);;All files (*)")
        return path or None

    def save_path(self, title: str, suggested: str) -> str | None:
        """Where to save a project file."""
        path, _ = QFileDialog.getSaveFileName(self.parent, title, suggested,
                                              "Actiongraph projects (*.actiongraph.json)")
        if path and not path.endswith(".json"):
            path += ".actiongraph.json"
        return path or None

    def info(self, title: str, text: str, details: list[str] | None = None) -> None:
        """Tell the user what a command did."""
        box = QMessageBox(QMessageBox.Icon.Information, title, text, parent=self.parent)
        if details:
            box.setDetailedText("\n".join(details))
        box.exec()

    def folder(self, title: str, suggested: str = "") -> str | None:
        """A folder to write into (created when it does not exist)."""
        path, _ = QFileDialog.getSaveFileName(self.parent, title, suggested, "Folders (*)")
        return path or None

    def error(self, title: str, text: str, details: list[str] | None = None) -> None:
        """Tell the user something went wrong, with the located problems when there are any."""
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, parent=self.parent)
        if details:
            box.setInformativeText("\n".join(details[:12])
                                   + (f"\n... and {len(details) - 12} more"
                                      if len(details) > 12 else ""))
            box.setDetailedText("\n".join(details))
        box.exec()


# -- finding things ---------------------------------------------------------------------------

def items(project: Project, section: str) -> list:
    """The models, endpoints or actions of a project."""
    return getattr(project, section)


def find(project: Project, section: str, item_id: str) -> Any:
    """The model/endpoint/action with this id, or None (deleted, or undone).

    The "settings" section has one item, the project's Settings (whatever the id)."""
    if section == SETTINGS:
        return project.settings
    return next((x for x in items(project, section) if x.id == item_id), None)


def unique_name(project: Project, section: str, base: str) -> str:
    """`base`, or `base 2`, `base 3`... whichever is free in the section.

    Model names are names in expressions, so there the number follows without a space
    (`Posts2`)."""
    taken = {x.name for x in items(project, section)}
    if base not in taken:
        return base
    joiner = "" if section == "models" else " "
    n = 2
    while f"{base}{joiner}{n}" in taken:
        n += 1
    return f"{base}{joiner}{n}"


def copy_name(project: Project, section: str, name: str) -> str:
    """A free name for a copy: `Posts_copy`, `Posts_copy2` for a model (a name the compiler
    accepts); `Create post copy`, `Create post copy 2` for endpoints and actions."""
    return unique_name(project, section, f"{name}_copy" if section == "models"
                       else f"{name} copy")


def _check_name(name: Any, what: str) -> None:
    """Refuse a name that is not text (a signal's `checked` once slipped in as a field name)."""
    if not isinstance(name, str):
        raise TypeError(f"the name of a {what} is text, not {type(name).__name__} {name!r}")


def _model_settings(event) -> list[str]:
    """The names of an event's settings that hold a model name."""
    kind = catalogue().get(event.kind)
    if kind is None:
        return ["model"] if "model" in event.settings else []
    return [s.name for s in kind.settings if s.kind == "model"]


def _uses(project: Project, section: str, name: str) -> Iterator[tuple[str, Any, str]]:
    """Everything that names a model/endpoint/action: (description, object, attribute)."""
    if section == "models":
        for m in project.models:
            for f in m.fields:
                if f.kind == "Link" and f.link == name:
                    yield f'field "{f.name}" of model "{m.name}" links to it', f, "link"
        for e in project.endpoints:
            for v in e.variables:
                if v.model == name:
                    yield f'variable "{v.name}" of endpoint "{e.name}"', v, "model"
        for a in project.actions:
            for g in a.variables:
                if g.model == name:
                    yield f'variable "{g.name}" of action "{a.name}"', g, "model"
            for eid, event in sorted(a.events.items()):
                for key in _model_settings(event):
                    if event.settings.get(key) == name:
                        yield f'event {eid} of action "{a.name}"', event, f"settings.{key}"
        for t in project.tests:
            if name in t.rows or any(r.get("model") == name for r in t.expect.get("rows") or []):
                yield f'test "{t.name}"', t, "model rows"
    elif section == "endpoints":
        for a in project.actions:
            if a.trigger.type == "endpoint" and a.trigger.endpoint == name:
                yield f'action "{a.name}" is triggered by it', a.trigger, "endpoint"
        for t in project.tests:
            if t.endpoint == name:
                yield f'test "{t.name}"', t, "endpoint"
    else:
        for a in project.actions:
            if a.trigger.type == "action" and a.trigger.action == name:
                yield f'action "{a.name}" is triggered by it', a.trigger, "action"
            if a.on_failure == name and a.name != name:
                yield f'action "{a.name}" runs it on failure', a, "on_failure"


def references(project: Project, section: str, name: str) -> list[str]:
    """What refers to an item by name, in users' words (asked about before deleting)."""
    return [text for text, _, _ in _uses(project, section, name)]


# -- project-level edits (each one step on the undo stack) -----------------------------------

def insert(document: Document, section: str, item: Any, index: int | None = None,
           label: str | None = None) -> Any:
    """Add a model/endpoint/action (undoable); returns it."""
    _check_name(item.name, SINGULAR[section])
    target = items(document.project, section)
    at = len(target) if index is None else index

    def apply(forward: bool) -> None:
        if forward:
            target.insert(at, item)
        else:
            target.remove(item)

    document.edit(label or f"Add {SINGULAR[section]} {item.name}", apply)
    return item


def new_item(document: Document, section: str, name: str) -> Any:
    """A new empty model, endpoint or action with a fresh id, added to the project."""
    project = document.project
    item_id = _next_id(ID_PREFIX[section], [x.id for x in items(project, section)])
    if section == "models":
        item = Model(name=name, id=item_id)
    elif section == "endpoints":
        item = Endpoint(name=name, method="GET", path="/v1/", id=item_id)
    else:
        # An endpoint of the same name is most likely the one that triggers it.
        endpoint = project.endpoint(name)
        trigger = Trigger(type="endpoint", endpoint=endpoint.name if endpoint else None)
        item = Action(name=name, id=item_id, trigger=trigger, positions={"trigger": (0, 0)})
    return insert(document, section, item)


def delete(document: Document, section: str, item: Any) -> None:
    """Remove an item (undoable)."""
    target = items(document.project, section)
    index = target.index(item)

    def apply(forward: bool) -> None:
        if forward:
            target.remove(item)
        else:
            target.insert(index, item)

    document.edit(f"Delete {SINGULAR[section]} {item.name}", apply)


def duplicate(document: Document, section: str, item: Any) -> Any:
    """A copy named by `copy_name` right after the original (fresh ids for it and its fields)."""
    project = document.project
    clone = copy.deepcopy(item)
    clone.name = copy_name(project, section, item.name)
    clone.id = _next_id(ID_PREFIX[section], [x.id for x in items(project, section)])
    if section == "models":
        taken = [f.id for m in project.models for f in m.fields]
        for f in clone.fields:
            f.id = _next_id("f", taken)
            taken.append(f.id)
    index = items(project, section).index(item) + 1
    return insert(document, section, clone, index, f"Duplicate {SINGULAR[section]} {item.name}")


def rename(document: Document, section: str, item: Any, name: str) -> None:
    """Rename an item and everything that names it, as one undoable step."""
    old = item.name
    if not name or name == old:
        return
    uses = list(_uses(document.project, section, old))
    document.undo.beginMacro(f"Rename {SINGULAR[section]} {old} to {name}")
    try:
        document.set_attr(item, "name", name)
        for _, target, attr in uses:
            if attr == "model rows":  # a test's fixture rows and expected rows
                document.set_attr(target, "rows", {(name if k == old else k): v
                                                   for k, v in target.rows.items()})
                expect = dict(target.expect)
                if expect.get("rows"):
                    expect["rows"] = [{**r, "model": name} if r.get("model") == old else r
                                      for r in expect["rows"]]
                document.set_attr(target, "expect", expect)
            elif attr.startswith("settings."):
                settings = dict(target.settings)
                settings[attr.split(".", 1)[1]] = name
                document.set_attr(target, "settings", settings)
            else:
                document.set_attr(target, attr, name)
    finally:
        document.undo.endMacro()


def rename_field(document: Document, model: Model, f: Field, name: str) -> None:
    """Rename a field and the places that name it (Custom Model choices, Where filters, events,
    seed rows)."""
    old = f.name
    if not name or name == old:
        return
    project = document.project
    document.undo.beginMacro(f"Rename field {old} to {name}")
    try:
        document.set_attr(f, "name", name)
        if any(old in row for row in model.seed):  # seed rows follow, as one undo step
            document.set_attr(model, "seed", [{(name if k == old else k): v for k, v in row.items()}
                                              for row in model.seed])
        for e in project.endpoints:
            for v in e.variables:
                if v.model == model.name and old in v.fields:
                    document.set_attr(v, "fields", [name if x == old else x for x in v.fields])
        for a in project.actions:
            for g in a.variables:
                if g.model == model.name and g.where:
                    document.set_attr(g, "where", _rename_in_where(g.where, old, name))
            for event in a.events.values():
                if any(event.settings.get(k) == model.name for k in _model_settings(event)):
                    document.set_attr(event, "settings",
                                      _rename_in_settings(event.settings, old, name))
    finally:
        document.undo.endMacro()


def _rename_in_where(where: Any, old: str, new: str) -> Any:
    if isinstance(where, list):
        return [_rename_in_where(x, old, new) for x in where]
    if not isinstance(where, dict):
        return where
    out = {k: _rename_in_where(v, old, new) if k in ("and", "or", "not") else v
           for k, v in where.items()}
    if out.get("field") == old:
        out["field"] = new
    return out


def _rename_in_settings(settings: dict, old: str, new: str) -> dict:
    out = dict(settings)
    for key, value in settings.items():
        if isinstance(value, dict) and key in ("values", "source") and old in value:
            out[key] = {(new if k == old else k): v for k, v in value.items()}
        elif key == "where":
            out[key] = _rename_in_where(value, old, new)
        elif key == "order" and isinstance(value, list):
            out[key] = [dict(o, field=new) if isinstance(o, dict) and o.get("field") == old
                        else o for o in value]
    return out


def add_field(document: Document, model: Model, name: str, kind: str = "Text",
              link: str | None = None, index: int | None = None) -> Field:
    """Add a field to a model (undoable), with an id unique in the project."""
    _check_name(name, "field")
    taken = [f.id for m in document.project.models for f in m.fields]
    f = Field(name=name, kind=kind, link=link, id=_next_id("f", taken))
    return insert_row(document, model.fields, f, index, f"Add field {name}")


def insert_row(document: Document, rows: list, row: Any, index: int | None = None,
               label: str = "Add") -> Any:
    """Insert into a list of the project (fields, variables) as one undoable step."""
    if hasattr(row, "name"):
        _check_name(row.name, "row")
    at = len(rows) if index is None else index

    def apply(forward: bool) -> None:
        if forward:
            rows.insert(at, row)
        else:
            rows.remove(row)

    document.edit(label, apply)
    return row


def remove_row(document: Document, rows: list, row: Any, label: str = "Remove") -> None:
    """Remove from a list of the project as one undoable step."""
    at = rows.index(row)

    def apply(forward: bool) -> None:
        if forward:
            rows.remove(row)
        else:
            rows.insert(at, row)

    document.edit(label, apply)


def move_row(document: Document, rows: list, row: Any, step: int, label: str = "Move") -> bool:
    """Move a row up (-1) or down (+1) as one undoable step; False at either end."""
    at = rows.index(row)
    to = at + step
    if not 0 <= to < len(rows):
        return False

    def apply(forward: bool) -> None:
        rows.remove(row)
        rows.insert(to if forward else at, row)

    document.edit(label, apply)
    return True


# -- the widget -------------------------------------------------------------------------------

class ProjectTree(QWidget):
    """Data Models, Endpoints and Actions with add, rename, duplicate, delete and search."""

    opened = Signal(str, str)  # section, id

    def __init__(self, document: Document, prompts: Prompts, theme=None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.prompts = prompts
        self.theme = theme
        self._shape: tuple = ()
        self.setObjectName("ProjectTree")

        self.search = QLineEdit(placeholderText="Search")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _text: self.refresh(force=True))
        self.add_button = QToolButton(toolTip="Add a model, endpoint or action")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_menu = QMenu(self)
        self.add_actions = {}
        for section in SECTIONS:
            act = self.add_menu.addAction(f"New {SINGULAR[section]}...")
            act.triggered.connect(lambda _=False, s=section: self.add(s))
            self.add_actions[section] = act
        self.add_button.setMenu(self.add_menu)

        self.tree = QTreeWidget()
        # Rows measured before the style sheet's item padding applies keep that height until
        # the next rebuild: they grew after the first edit.
        self.tree.ensurePolished()
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(16, 16))
        self.tree.setIndentation(14)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._activated)
        self.tree.itemChanged.connect(self._item_renamed)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(4)
        top.addWidget(self.search, 1)
        top.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        self.sections: dict[str, QTreeWidgetItem] = {}
        for section in SECTIONS:
            top_item = QTreeWidgetItem([TITLES[section]])
            top_item.setData(0, SECTION_ROLE, section)
            top_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = top_item.font(0)
            font.setBold(True)
            top_item.setFont(0, font)
            self.tree.addTopLevelItem(top_item)
            top_item.setExpanded(True)
            self.sections[section] = top_item
        # Project-wide settings: one entry at the bottom, opened like an item.
        self.settings_item = QTreeWidgetItem(["Settings"])
        self.settings_item.setData(0, SECTION_ROLE, SETTINGS)
        self.settings_item.setData(0, ID_ROLE, SETTINGS)
        self.settings_item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        self.settings_item.setToolTip(0, "Auth profiles, mail (SMTP), outgoing HTTP and the "
                                         "login token secret")
        font = self.settings_item.font(0)
        font.setBold(True)
        self.settings_item.setFont(0, font)
        self.tree.addTopLevelItem(self.settings_item)
        self.restyle()
        document.changed.connect(self.refresh)
        self.refresh(force=True)

    def restyle(self) -> None:
        """Pick up icons of the current colour scheme."""
        icon = (lambda name: self.theme.icon(name)) if self.theme else (
            lambda name: looks.icon(name, "#555"))
        self.add_button.setIcon(icon("add"))
        for section, top_item in self.sections.items():
            top_item.setIcon(0, looks.section_icon(section))
            self.add_actions[section].setIcon(looks.item_icon(section))
        gear = next((n for n in ("settings", "gear", "cog") if (looks.ICONS / f"{n}.svg").exists()),
                    None)
        if gear is not None:
            self.settings_item.setIcon(0, icon(gear))
        self.refresh(force=True)

    # -- contents ---------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Rebuild the items when names or the search changed."""
        project = self.document.project
        shape = tuple((s, x.id, x.name, getattr(x, "method", ""), getattr(x, "path", ""))
                      for s in SECTIONS for x in items(project, s))
        if shape == self._shape and not force:
            return
        self._shape = shape
        needle = self.search.text().strip().lower()
        current = self.current()
        self.tree.blockSignals(True)
        try:
            for section, top_item in self.sections.items():
                top_item.takeChildren()
                shown = 0
                for x in items(project, section):
                    haystack = f"{x.name} {getattr(x, 'path', '')}".lower()
                    if needle and needle not in haystack:
                        continue
                    child = QTreeWidgetItem([x.name])
                    child.setData(0, SECTION_ROLE, section)
                    child.setData(0, ID_ROLE, x.id)
                    child.setIcon(0, looks.item_icon(section))
                    child.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                                   | Qt.ItemFlag.ItemIsEditable)
                    child.setToolTip(0, f"{x.name}\n{x.method} {x.path}"
                                     if section == "endpoints" else x.name)
                    top_item.addChild(child)
                    shown += 1
                    if current == (section, x.id):
                        self.tree.setCurrentItem(child)
                count = len(items(project, section))
                top_item.setText(0, f"{TITLES[section]}  ({shown}/{count})" if needle
                                 else f"{TITLES[section]}  ({count})")
                top_item.setExpanded(True)
        finally:
            self.tree.blockSignals(False)

    def current(self) -> tuple[str, str] | None:
        """(section, id) of the selected item, or None."""
        item = self.tree.currentItem()
        if item is None or item.data(0, ID_ROLE) is None:
            return None
        return item.data(0, SECTION_ROLE), item.data(0, ID_ROLE)

    def current_section(self) -> str:
        """The section of the selected row (item or header); models when nothing is selected."""
        item = self.tree.currentItem()
        section = item.data(0, SECTION_ROLE) if item is not None else None
        return section if section in SECTIONS else "models"

    def select(self, section: str, item_id: str) -> None:
        """Select an item without opening it."""
        if section == SETTINGS:
            self.tree.setCurrentItem(self.settings_item)
            return
        top_item = self.sections[section]
        for i in range(top_item.childCount()):
            if top_item.child(i).data(0, ID_ROLE) == item_id:
                self.tree.setCurrentItem(top_item.child(i))

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        if item.data(0, ID_ROLE) is not None:
            self.opened.emit(item.data(0, SECTION_ROLE), item.data(0, ID_ROLE))

    def _item_renamed(self, item: QTreeWidgetItem, _column: int) -> None:
        section, item_id = item.data(0, SECTION_ROLE), item.data(0, ID_ROLE)
        if section not in SECTIONS:
            return  # the Settings entry (its icon changing also lands here)
        target = find(self.document.project, section, item_id) if item_id else None
        if target is not None and item.text(0).strip() and item.text(0).strip() != target.name:
            rename(self.document, section, target, item.text(0).strip())
        self.refresh(force=True)

    def _context_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        section = item.data(0, SECTION_ROLE)
        menu = QMenu(self)
        if section == SETTINGS:
            self.tree.setCurrentItem(item)
            menu.addAction("Open", lambda: self._activated(item))
            menu.exec(self.tree.viewport().mapToGlobal(pos))
            return
        menu.addAction(f"New {SINGULAR[section]}...", lambda: self.add(section))
        if item.data(0, ID_ROLE) is not None:
            self.tree.setCurrentItem(item)
            menu.addSeparator()
            menu.addAction("Open", lambda: self._activated(item))
            menu.addAction("Rename...", self.rename_current)
            menu.addAction("Duplicate", self.duplicate_current)
            menu.addAction("Delete...", self.delete_current)
            if section == "models":
                menu.addSeparator()
                menu.addAction("Generate REST API", self.generate_api_current)
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    # -- commands -----------------------------------------------------------------------------
    def add(self, section: str, name: str | None = None) -> Any:
        """Add a model/endpoint/action (asking its name unless given) and open it."""
        project = self.document.project
        if name is None:
            name = self.prompts.text(f"New {SINGULAR[section]}", "Name:",
                                     unique_name(project, section, f"New {SINGULAR[section]}"))
        if not name:
            return None
        if section == "models":
            # A model's name is used in expressions, so no spaces there.
            name = "".join(part[:1].upper() + part[1:] for part in name.split()) or name
        item = new_item(self.document, section, unique_name(project, section, name))
        self.refresh(force=True)
        self.select(section, item.id)
        self.opened.emit(section, item.id)
        return item

    def _selected_item(self) -> tuple[str, Any] | None:
        current = self.current()
        if current is None or current[0] not in SECTIONS:
            return None  # Settings cannot be renamed, duplicated or deleted
        item = find(self.document.project, *current)
        return (current[0], item) if item is not None else None

    def rename_current(self, name: str | None = None) -> None:
        """Rename the selected item (and what refers to it)."""
        selected = self._selected_item()
        if selected is None:
            return
        section, item = selected
        if name is None:
            name = self.prompts.text(f"Rename {SINGULAR[section]}", "New name:", item.name)
        if name:
            rename(self.document, section, item, name)

    def duplicate_current(self) -> Any:
        """Duplicate the selected item."""
        selected = self._selected_item()
        if selected is None:
            return None
        clone = duplicate(self.document, *selected)
        self.refresh(force=True)
        self.select(selected[0], clone.id)
        return clone

    def generate_api_current(self, model_name: str | None = None):
        """Generate list/get/create/update/delete endpoints and actions for a data model.

        Uses the selected model (or asks which one); one undoable edit; tells what it made."""
        project = self.document.project
        if model_name is None:
            selected = self._selected_item()
            if selected is not None and selected[0] == "models":
                model_name = selected[1].name
            else:
                model_name = self.prompts.choice("Generate REST API", "Data model:",
                                                 [m.name for m in project.models])
        if not model_name:
            return None
        try:
            report = generate_api_edit(self.document, model_name)
        except GenerateError as e:
            self.prompts.error("Generate REST API", str(e))
            return None
        self.refresh(force=True)
        first = next((e for e in project.endpoints
                      if any(i.what == "endpoint" and i.name == e.name for i in report.created)),
                     None)
        if first is not None:
            self.select("endpoints", first.id)
            self.opened.emit("endpoints", first.id)
        text = (report.summary() + ". Undo removes them again." if report.changed else
                f"The REST API of {report.model} is already there ({report.path}): "
                "nothing was added.")
        self.prompts.info("Generate REST API", text, report.lines()[1:])
        return report

    def delete_current(self) -> bool:
        """Delete the selected item, asking first when something refers to it."""
        selected = self._selected_item()
        if selected is None:
            return False
        section, item = selected
        uses = references(self.document.project, section, item.name)
        if uses:
            listed = "\n".join(f"  - {u}" for u in uses[:10])
            more = f"\n  ... and {len(uses) - 10} more" if len(uses) > 10 else ""
            text = (f'{SINGULAR[section].capitalize()} "{item.name}" is used by:\n{listed}{more}'
                    "\n\nDelete it anyway? (They will show up under Problems; Undo brings "
                    "it back.)")
            if not self.prompts.confirm(f"Delete {SINGULAR[section]}", text):
                return False
        delete(self.document, section, item)
        return True


def generate_api_edit(document: Document, model_name: str):
    """Run the API generator on the document's project as one undoable edit; returns its report."""
    project = document.project
    names = [f.name for f in dataclasses.fields(Project)]
    old = {n: getattr(project, n) for n in names}
    scratch = copy.deepcopy(project)
    report = generate_api(scratch, model_name)
    if not report.changed:
        return report
    new = {n: getattr(scratch, n) for n in names}

    def apply(forward: bool) -> None:
        for n in names:
            setattr(project, n, (new if forward else old)[n])

    document.edit(f"Generate REST API for {model_name}", apply)
    return report
