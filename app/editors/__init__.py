"""The form editors of the centre tabs: data model, endpoint, action and settings; every change undoable.

Imports flow one way: `values` (text <-> value, Qt-free) <- `rows` (the rows-table kit) and
`base` (the Editor class, shared small widgets) <- one module per editor <- this package, which
builds `EDITORS` (section -> editor class) in one place."""

from __future__ import annotations

from app.editors.action import ActionEditor, GraphPlaceholder, WhereDialog, make_graph, schedule_explanation
from app.editors.base import RUN_SHORTCUT, Editor, fit_to_text
from app.editors.endpoint import EndpointEditor
from app.editors.model import ModelEditor
from app.editors.rows import CellDelegate, Column, RowsModel, RowsTable
from app.editors.settings import SettingsEditor, format_lifetime, parse_lifetime
from app.editors.values import (
    format_value,
    format_where,
    parse_default,
    parse_value,
    parse_where,
    path_mismatches,
    sync_path_variables,
)

EDITORS: dict[str, type[Editor]] = {
    editor.section: editor for editor in (ModelEditor, EndpointEditor, ActionEditor, SettingsEditor)}

__all__ = [
    "EDITORS",
    "RUN_SHORTCUT",
    "ActionEditor",
    "CellDelegate",
    "Column",
    "Editor",
    "EndpointEditor",
    "GraphPlaceholder",
    "ModelEditor",
    "RowsModel",
    "RowsTable",
    "SettingsEditor",
    "WhereDialog",
    "fit_to_text",
    "format_lifetime",
    "format_value",
    "format_where",
    "make_graph",
    "parse_default",
    "parse_lifetime",
    "parse_value",
    "parse_where",
    "path_mismatches",
    "schedule_explanation",
    "sync_path_variables",
]
