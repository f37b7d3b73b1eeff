"""Structured Where filters: checked at compile time, turned into SQL clauses per run.

A filter is a condition `{"field": "id", "op": "=", "value": "=path.id"}`, a text search
`{"search": "hello"}` (found in any Text or JSON field, ignoring case), or a group
`{"and": [...]}` / `{"or": [...]}` / `{"not": filter}`. Values are literals or expressions;
they always reach the database as bound parameters, never as SQL text.

The Data browser's filter line (`likes > 10`, `caption contains hello`, plain text) is read
into this form by `parse_filter_text` and built by `literal_clause`.

A condition with `"optional": true` is left out when its value is null (e.g. a query variable
the request did not give): `{"field": "colour", "op": "=", "value": "=query.colour",
"optional": true}` filters by colour only when `?colour=` is given. A group whose conditions
are all left out is left out too, and a filter left with nothing is no filter: Query reads
every record and Update changes every record, as with an empty filter (Delete refuses unless
`all` is set), while a Model variable's filter left with nothing loads no record (404 when the
variable is required).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import visitors

from runtime.errors import ActionError, Problem
from runtime.kinds import KindError, convert_field
from runtime.project import Model

OPS = ("=", "!=", "<", "<=", ">", ">=", "contains", "starts_with", "ends_with", "in", "not_in",
       "is_null", "not_null")
UNARY = ("is_null", "not_null")

SEARCHED_KINDS = ("Text", "JSON")  # the fields a text search looks in

class Where:
    """A filter as one run resolved it: its shape and its values.

    The shape (`key`) is the same for every run of one step unless optional conditions come and
    go, so the statement around it is built and compiled once per shape (runtime.store);
    `build(table)` makes the SQL clause with a bound parameter named by each value of
    `values`. Values never become SQL text."""

    __slots__ = ("key", "build", "values")

    def __init__(self, key: Any, build: Callable[[sa.Table], Any], values: dict[str, Any]):
        self.key = key
        self.build = build
        self.values = values

    def clause(self, table: sa.Table) -> Any:
        """The SQL clause with its values bound (for statements not cached by shape)."""
        values = self.values

        def bind(parameter):
            if parameter.key in values:
                parameter.value, parameter.required = values[parameter.key], False

        return visitors.cloned_traverse(self.build(table), {"maintain_key": True},
                                        {"bindparam": bind})


Resolver = Callable[[dict, Any], Where | None]
# Each compiled condition's number, unique in the process: a filter's shape (Where.key) is the
# numbers of its conditions, so statements cached by shape never mix two filters up.
_NUMBERS = itertools.count()
ValueCompiler = Callable[[Any, str], Callable[[dict], Any] | None]


def field_kinds(model: Model) -> dict[str, str]:
    """Every field a Where can name, with its kind (automatic fields included)."""
    kinds = {"id": "Integer", "created_at": "DateTime"}
    kinds.update({f.name: ("Integer" if f.kind == "Link" else f.kind) for f in model.fields})
    return kinds


def compile_where(data: Any, model: Model, where: str, compile_value: ValueCompiler,
                  problems: list[Problem]) -> Resolver | None:
    """Check a filter against the model; return a resolver `(scope, table) -> Where`, which is
    None when every condition was left out (optional conditions without a value)."""
    if data in (None, {}, []):
        return None
    return _compile(data, field_kinds(model), model.name, where, compile_value, problems,
                    _NUMBERS)


def _compile(data, kinds, model_name, where, compile_value, problems, numbers) -> Resolver | None:
    if not isinstance(data, dict):
        problems.append(Problem(where, "expected a condition or an and/or group"))
        return None
    for group in ("and", "or"):
        if group in data:
            items = data[group]
            if not isinstance(items, list):
                problems.append(Problem(f"{where}.{group}", "expected a list of conditions"))
                return None
            parts = [_compile(item, kinds, model_name, f"{where}.{group}[{i}]", compile_value,
                              problems, numbers) for i, item in enumerate(items)]
            parts = [p for p in parts if p is not None]
            return _group(group, parts)
    if "not" in data:
        inner = _compile(data["not"], kinds, model_name, f"{where}.not", compile_value, problems,
                         numbers)
        return None if inner is None else _negate(inner)
    if "search" in data:
        return _search(data, kinds, model_name, where, compile_value, problems, next(numbers))
    name, op = data.get("field"), data.get("op", "=")
    optional = data.get("optional", False)
    bad = False
    if not isinstance(optional, bool):
        problems.append(Problem(f"{where}.optional", "expected true or false"))
        bad = True
    elif optional and op in UNARY:
        problems.append(Problem(f"{where}.optional", f'"{op}" has no value to leave out; '
                                                     "optional is for conditions with a value"))
        bad = True
    if name not in kinds:
        problems.append(Problem(f"{where}.field",
                                f'{model_name} has no field "{name}" (fields: {", ".join(kinds)})'))
        bad = True
    if op not in OPS:
        problems.append(Problem(f"{where}.op", f'unknown operator "{op}" (use one of {", ".join(OPS)})'))
        bad = True
    value = None if op in UNARY else compile_value(data.get("value"), f"{where}.value")
    if bad or (value is None and op not in UNARY):
        return None
    number = next(numbers)
    param = f"w{number}"  # the bound parameter's name: unique within the filter
    if op in UNARY:
        unary = Where((number, op), (lambda table: table.c[name].is_(None)) if op == "is_null"
                      else (lambda table: table.c[name].is_not(None)), {})
        return lambda scope, table=None: unary
    kind = kinds[name]
    label = _caller_label(data.get("value")) or f"{where}.value"
    shapes = _condition_shapes(name, op, kind, param)

    def resolve(scope, table=None):
        raw = value(scope)
        if raw is None and optional:
            return None  # left out: the filter is as if this condition were not written
        if op in ("in", "not_in"):
            if not isinstance(raw, (list, tuple)):
                raise ActionError(f"{label}: expected a list for {op}", status=422)
            return Where((number, op), shapes["value"],
                         {param: [_convert(kind, v, label) for v in raw]})
        if op in ("contains", "starts_with", "ends_with"):
            text = "" if raw is None else str(raw)
            return Where((number, op), shapes["value"], {param: _escape_like(text)})
        if raw is None:
            return Where((number, op, None), shapes["null"], {})
        return Where((number, op), shapes["value"], {param: _convert(kind, raw, label)})

    return resolve


_REQUEST_VALUE = re.compile(r"=\s*((?:path|query|header|body)\.[A-Za-z_][A-Za-z0-9_]*)\s*")


def _caller_label(value: Any) -> str | None:
    """`path.id` for a value that is the request's `=path.id`: what a bad value is called in
    the answer, rather than where the filter sits in the project."""
    found = _REQUEST_VALUE.fullmatch(value) if isinstance(value, str) else None
    return found[1] if found else None


LIKE_ESCAPE = "/"


def _escape_like(text: str) -> str:
    """A text matched literally by LIKE (with ESCAPE '/'): its % and _ are not wildcards."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _condition_shapes(name: str, op: str, kind: str, param: str) -> dict[str, Callable]:
    """How one condition becomes SQL, with its value as the bound parameter `param`."""
    def value(table):
        column = table.c[name]
        if op in ("in", "not_in"):
            bound = sa.bindparam(param, expanding=True, type_=column.type)
            return column.in_(bound) if op == "in" else column.not_in(bound)
        if op in ("contains", "starts_with", "ends_with"):
            # Ignoring case (ASCII) as SQLite's LIKE does, on PostgreSQL too (ILIKE); fields of
            # other kinds are searched as text, which SQLite does by itself.
            searched = column if kind == "Text" else sa.cast(column, sa.Text)
            method = {"contains": "icontains", "starts_with": "istartswith",
                      "ends_with": "iendswith"}[op]
            return getattr(searched, method)(sa.bindparam(param, type_=sa.Text()),
                                             escape=LIKE_ESCAPE)
        bound = sa.bindparam(param, type_=column.type)
        if kind == "JSON":  # compared as the stored text (PostgreSQL has no `json = json`)
            column, bound = sa.cast(column, sa.Text), sa.cast(bound, sa.Text)
        return {"=": column.__eq__, "!=": column.__ne__, "<": column.__lt__, "<=": column.__le__,
                ">": column.__gt__, ">=": column.__ge__}[op](bound)

    def null(table):
        column = table.c[name]
        return column.is_(None) if op == "=" else column.is_not(None)

    return {"value": value, "null": null}


def _search(data, kinds, model_name, where, compile_value, problems, number) -> Resolver | None:
    """`{"search": text}`: any Text or JSON field contains the text, ignoring case."""
    fields = [n for n, k in kinds.items() if k in SEARCHED_KINDS]
    if not fields:
        problems.append(Problem(f"{where}.search", f"{model_name} has no text fields to search"))
        return None
    value = compile_value(data["search"], f"{where}.search")
    if value is None:
        return None
    param = f"w{number}"

    def build(table):
        bound = sa.bindparam(param, type_=sa.Text())
        return sa.or_(*(sa.cast(table.c[n], sa.Text).icontains(bound, escape=LIKE_ESCAPE)
                        for n in fields))

    def resolve(scope, table=None):
        raw = value(scope)
        return Where((number, "search"), build, {param: _escape_like("" if raw is None
                                                                     else str(raw))})

    return resolve


def _group(group: str, parts: list[Resolver]) -> Resolver:
    """An and/or group; conditions left out (optional, no value) drop out of it, and a group
    left with none is left out itself."""
    combine = sa.and_ if group == "and" else sa.or_

    def resolve(scope, table=None):
        found = [w for w in (p(scope, table) for p in parts) if w is not None]
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        values: dict[str, Any] = {}
        for w in found:
            values.update(w.values)
        return Where((group, *(w.key for w in found)),
                     lambda t: combine(*(w.build(t) for w in found)), values)
    return resolve


def _negate(inner: Resolver) -> Resolver:
    def resolve(scope, table=None):
        found = inner(scope, table)
        if found is None:
            return None
        return Where(("not", found.key), lambda t: sa.not_(found.build(t)), found.values)
    return resolve


def _convert(kind: str, value: Any, label: str) -> Any:
    try:
        return convert_field(kind, value)
    except KindError as e:
        raise ActionError(f"{label}: {e}", status=422) from None


def describe(data: Any) -> str:
    """A short human text for a filter, e.g. `id = path.id`."""
    if not data:
        return "all"
    for group in ("and", "or"):
        if group in data:
            return f" {group} ".join(f"({describe(d)})" for d in data[group])
    if "not" in data:
        return f"not ({describe(data['not'])})"
    if "search" in data:
        return f"any text contains {data['search']!r}"
    value = data.get("value")
    shown = value[1:] if isinstance(value, str) and value.startswith("=") else repr(value)
    if data.get("op") in UNARY:
        return f"{data.get('field')} {data.get('op').replace('_', ' ')}"
    text = f"{data.get('field')} {data.get('op', '=')} {shown}"
    return f"{text} (if given)" if data.get("optional") is True else text


# -- the Data browser's filter line ---------------------------------------------------------------

class FilterError(ValueError):
    """A filter line that cannot be used; the message names the field."""


_FILTER = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|<=|>=|=|<|>|~|\bcontains\b|\bstarts[ _]with\b|"
    r"\bends[ _]with\b)\s*(.*?)\s*$", re.IGNORECASE)
_COMPARE = ("=", "!=", "<", "<=", ">", ">=")


def parse_filter_text(text: str, model: Model) -> dict | None:
    """A filter line as a Where: `field = value` (also != < <= > >=, `= null`), `field contains
    text` (`~`, starts with, ends with), or plain text searched in every text field; None when
    empty. Values are literals (checked against the field's kind here); FilterError if unusable."""
    text = text.strip()
    if not text:
        return None
    kinds = field_kinds(model)
    m = _FILTER.match(text)
    if m and (m.group(1) in kinds or m.group(2) in _COMPARE):
        name, op, raw = m.group(1), m.group(2).lower().replace(" ", "_"), m.group(3)
        if name not in kinds:
            raise FilterError(f'No field "{name}" in {model.name} (fields: {", ".join(kinds)})')
        return _filter_condition(model.name, name, kinds[name], op, raw)
    words = text.split(None, 1)
    if words[0].lower() == "contains" and len(words) == 2:
        text = words[1]
    if not any(k in SEARCHED_KINDS for k in kinds.values()):
        raise FilterError(f"{model.name} has no text fields to search: filter with a "
                          f'field, like "id = 1"')
    return {"search": _unquote(text)}


def _filter_condition(model: str, name: str, kind: str, op: str, raw: str) -> dict:
    if op == "~":
        op = "contains"
    if op in ("contains", "starts_with", "ends_with"):
        if not raw:
            raise FilterError(f'{name}: say what to look for after "{op.replace("_", " ")}"')
        return {"field": name, "op": op, "value": _unquote(raw)}
    if raw.lower() == "null":
        if op not in ("=", "!="):
            raise FilterError(f"{name}: only = null and != null make sense")
        return {"field": name, "op": "is_null" if op == "=" else "not_null"}
    if not raw:
        raise FilterError(f"{name}: a value is needed after {op}")
    if kind == "JSON":
        raise FilterError(f'{name}: a JSON field can only be searched, like '
                          f'"{name} contains text"')
    value = _unquote(raw) if kind == "Text" else raw
    try:
        convert_field(kind, value)  # refused here, with the field named, not when reading rows
    except KindError as e:
        raise FilterError(f"{model}.{name}: {e}") from None
    return {"field": name, "op": op, "value": value}


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def literal_clause(data: Any, model: Model) -> Callable[[sa.Table], Where | None] | None:
    """A Where whose values are all literals (none is an expression) as a function giving the
    filter for the model's table (what `Transaction.select` takes); None for no filter;
    FilterError if unusable."""
    problems: list[Problem] = []
    resolver = compile_where(data, model, "filter", lambda value, _where: lambda _scope: value,
                             problems)
    if problems:
        raise FilterError(problems[0].message)
    if resolver is None:
        return None
    return lambda table: resolver({}, table)
