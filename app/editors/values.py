"""Text <-> value: setting values, field defaults, Where conditions, path variables."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from runtime.project import (
    NAME_RE,
    Variable,
    path_variables,
)
from runtime.where import UNARY


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
