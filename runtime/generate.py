"""The API generator: ordinary REST endpoints and actions for a data model, in one call.

`generate_api(project, "Shoes")` adds to the project (and changes nothing else):

    List Shoes     GET    /v1/shoes       a page of records: ?limit= (50, at most 1000),
                                          ?offset=, ?sort=field or -field, ?<field>= filters
    Get Shoe       GET    /v1/shoes/{id}  the record (404 when there is none)
    Create Shoe    POST   /v1/shoes       201 and the new record; the body holds its fields
    Replace Shoe   PUT    /v1/shoes/{id}  every field from the body (left out: default/empty)
    Update Shoe    PATCH  /v1/shoes/{id}  only the fields the body has
    Delete Shoe    DELETE /v1/shoes/{id}  204 without a body (404 when there is none)

The path is the model's name in lower case, words joined by `-` (`OrderItems` and
`order_items` give `/v1/order-items`). Running it again adds nothing: an operation whose
endpoint (same method and path, or same name) or action (same name) exists is left alone and
reported as skipped. The project it gives passes `runtime.compiler.check_project`.
"""

from __future__ import annotations

import copy
import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from runtime import expressions
from runtime.paths import path_template
from runtime.project import (
    Action,
    Field,
    GlobalVariable,
    Model,
    Project,
    Trigger,
    Variable,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000  # the Query event's cap on a list
PAGING = ("limit", "offset", "sort")  # query variables of the list endpoint besides the filters
# Field kinds a list can be filtered on (equality), and the query variable kind for each.
FILTER_KINDS = {"Text": "Text", "Integer": "Number", "Decimal": "Number", "Boolean": "Boolean",
                "Date": "Date", "Link": "Number"}
STEP = 320  # the horizontal distance between nodes, as the examples have it


class GenerateError(ValueError):
    """The API cannot be generated (an unknown model); the message says why."""


@dataclass
class GeneratedItem:
    """One endpoint or action the generator created or left alone."""

    what: str  # "endpoint" or "action"
    name: str
    detail: str  # "GET /v1/shoes" for an endpoint, its trigger for an action; why, when skipped

    def __str__(self) -> str:
        return f'{self.what} "{self.name}": {self.detail}'


@dataclass
class GenerateReport:
    """What `generate_api` did: created and skipped endpoints and actions, and notes."""

    model: str
    path: str  # the collection's path, e.g. /v1/shoes
    created: list[GeneratedItem] = field(default_factory=list)
    skipped: list[GeneratedItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was added to the project."""
        return bool(self.created)

    def summary(self) -> str:
        """One line, e.g. `Shoes: created 6 endpoints and 6 actions, skipped nothing`."""
        def count(items: list[GeneratedItem], what: str) -> int:
            return sum(1 for i in items if i.what == what)

        def text(items: list[GeneratedItem]) -> str:
            e, a = count(items, "endpoint"), count(items, "action")
            if not e and not a:
                return "nothing"
            return (f"{e} endpoint{'s' if e != 1 else ''} and {a} action{'s' if a != 1 else ''}")
        return f"{self.model} ({self.path}): created {text(self.created)}, skipped {text(self.skipped)}"

    def lines(self) -> list[str]:
        """The summary, then one line per item and note, for a terminal or a message box."""
        out = [self.summary()]
        out += [f"  created {item}" for item in self.created]
        out += [f"  skipped {item}" for item in self.skipped]
        out += [f"  note: {note}" for note in self.notes]
        return out


def generate_api(project: Project, model_name: str) -> GenerateReport:
    """Add list/get/create/replace/update/delete endpoints and actions for a data model.

    Mutates `project` only (nothing is saved or served); raises GenerateError for an unknown
    model, naming the project's models."""
    model = project.model(model_name)
    if model is None:
        known = ", ".join(f'"{m.name}"' for m in project.models) or "none"
        raise GenerateError(f'unknown model "{model_name}" (models: {known})')
    names = _Names(model)
    report = GenerateReport(model.name, names.collection)
    for operation in _operations(model, names, report):
        _add(project, operation, report)
    return report


# -- names -----------------------------------------------------------------------------------

# The words of a name: `order_items`, `OrderItems` -> order, items; `APIKeys` -> API, Keys.
_WORD = re.compile(r"[A-Z]+[0-9]*(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")


class _Names:
    """The names the generator gives, from a model's name: `Shoes` -> `/v1/shoes`, `Shoe`."""

    def __init__(self, model: Model):
        name = model.name
        words = _WORD.findall(name) or [name]
        last = words[-1]
        singular = name[: len(name) - len(last)] + _singular(last) if name.endswith(last) else name
        self.plural_label = name.replace("_", " ")  # "List order items"
        self.singular_label = singular.replace("_", " ")  # "Get order item"
        slug = "-".join(w.lower() for w in words)
        slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-") or "records"
        self.collection = f"/v1/{slug}"
        self.item = f"{self.collection}/{{id}}"
        camel_words = _WORD.findall(singular) or [singular]
        self.camel = _identifier("".join(w[:1].upper() + w[1:] for w in camel_words), "Record")
        self.camel_plural = _identifier("".join(w[:1].upper() + w[1:] for w in words), "Records")
        self.snake = _identifier("_".join(w.lower() for w in camel_words), "_record")


def _singular(word: str) -> str:
    """A plain English singular of the last word of a model's name (`Shoes` -> `Shoe`)."""
    lower = word.lower()
    if len(word) > 3 and lower.endswith("ies"):
        return word[:-3] + ("Y" if word[-3:].isupper() else "y")
    if lower.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if len(word) > 1 and lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _identifier(name: str, suffix: str) -> str:
    """A variable name that expressions can read (not a keyword such as `class` or `None`)."""
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", name):
        name = "record" + name if name else "record"
        name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if keyword.iskeyword(name) or name in ("true", "false", "null"):
        return name + suffix
    return name


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _read(base: str, *names: str) -> str:
    """An expression reading `base.a.b`; a name that is a keyword is read as `base["class"]`."""
    out = base
    for name in names:
        out += f'["{name}"]' if keyword.iskeyword(name) or name in ("true", "false", "null") \
            else f".{name}"
    return out


def _literal(value: Any) -> str | None:
    """A field's default as expression text that gives it back, or None when it cannot."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        if expressions.parse(text).evaluate({}) == value:
            return text
    except (TypeError, ValueError, expressions.ExpressionError, expressions.EvaluationError):
        pass
    return None


# -- the operations --------------------------------------------------------------------------

@dataclass
class _Operation:
    """One endpoint and the action it triggers."""

    name: str
    method: str
    path: str
    description: str
    variables: list[Variable]
    build: Any  # (action) -> None: adds its globals, events and response


def _operations(model: Model, names: _Names, report: GenerateReport) -> list[_Operation]:
    fields = model.fields
    path_id = Variable("id", "Number", "path", description=f"The id of the {names.singular_label}.")
    ops = [_list(model, names, report), _get(model, names, path_id), _create(model, names)]
    if fields:
        ops += [_replace(model, names, path_id), _patch(model, names, path_id)]
    else:
        report.notes.append(f"{model.name} has no fields yet, so there is nothing to replace or "
                            "update: add fields and generate again for PUT and PATCH")
    ops.append(_delete(model, names, path_id))
    return ops


def _list(model: Model, names: _Names, report: GenerateReport) -> _Operation:
    sortable = ["id", "created_at"] + [f.name for f in model.fields if f.kind != "JSON"]
    filters: list[Field] = []
    for f in model.fields:
        if f.name in PAGING:
            report.notes.append(f'the list cannot be filtered on "{f.name}": ?{f.name}= is '
                                "already the paging parameter")
        elif f.kind in FILTER_KINDS:
            filters.append(f)
    variables = [
        Variable("limit", "Number", "query", required=False,
                 description=f"How many records at most (default {DEFAULT_LIMIT}, at most "
                             f"{MAX_LIMIT})."),
        Variable("offset", "Number", "query", required=False,
                 description="Skip this many records first (default 0)."),
        Variable("sort", "Text", "query", required=False,
                 description=f"Sort by a field, -field for descending: {', '.join(sortable)} "
                             "(default id)."),
    ] + [Variable(f.name, FILTER_KINDS[f.kind], "query", required=False,
                  description=f"Only records whose {f.name} equals this.") for f in filters]
    conditions = [{"field": f.name, "op": "=", "value": "=" + _read("query", f.name),
                   "optional": True} for f in filters]
    where = None if not conditions else conditions[0] if len(conditions) == 1 \
        else {"and": conditions}
    filtered = f"; filter with {', '.join(f'?{f.name}=' for f in filters)}" if filters else ""

    def build(action: Action) -> None:
        action.add_event("query", description=f"A page of {names.plural_label}", model=model.name,
                         where=where, sort="=query.sort",
                         limit=f"=coalesce(query.limit, {DEFAULT_LIMIT})",
                         offset="=coalesce(query.offset, 0)", **{"as": names.camel_plural})
        action.response_value = f"={names.camel_plural}"

    return _Operation(
        f"List {names.plural_label}", "GET", names.collection,
        f"A page of {names.plural_label} records, as a JSON list: ?limit= (default "
        f"{DEFAULT_LIMIT}, at most {MAX_LIMIT}) and ?offset= page through them, ?sort=field "
        f"or ?sort=-field orders them (default by id){filtered}.",
        variables, build)


def _loaded(model: Model, name: str) -> GlobalVariable:
    """A Model variable loaded by the path's id: a missing record answers 404."""
    return GlobalVariable(name, "Model", model=model.name,
                          where={"field": "id", "op": "=", "value": "=path.id"}, required=True)


def _get(model: Model, names: _Names, path_id: Variable) -> _Operation:
    def build(action: Action) -> None:
        action.variables.append(_loaded(model, names.camel))
        action.response_value = f"={names.camel}"

    return _Operation(f"Get {names.singular_label}", "GET", names.item,
                      f"One {names.singular_label} by its id; 404 when there is none.",
                      [path_id], build)


def _create(model: Model, names: _Names) -> _Operation:
    new = _identifier("New" + names.camel, "Record")

    def build(action: Action) -> None:
        action.add_event("create", description=f"Create the {names.singular_label}",
                         model=model.name, source="=" + _read("body", names.snake),
                         **{"as": new})
        action.response_value, action.response_status = f"={new}", 201

    required = [f.name for f in model.fields if f.required]
    needs = f" ({', '.join(required)} required)" if required else ""
    return _Operation(
        f"Create {names.singular_label}", "POST", names.collection,
        f"Add {_a(names.singular_label)}: a JSON object of its fields{needs}; answers 201 and "
        "the new record with its id.",
        [Variable(names.snake, "Model", "body", required=bool(model.fields), model=model.name,
                  description=f"The fields of the new {names.singular_label}.")], build)


def _replace(model: Model, names: _Names, path_id: Variable) -> _Operation:
    loaded = _identifier(names.camel + "ToReplace", "")
    result = _identifier("Replaced" + names.camel, "")
    values = {}
    for f in model.fields:
        read = _read("body", names.snake, f.name)
        default = _literal(f.default) if f.default is not None else None
        values[f.name] = f"=coalesce({read}, {default})" if default else f"={read}"

    def build(action: Action) -> None:
        action.variables.append(_loaded(model, loaded))
        action.add_event("update", description=f"Replace every field of the {names.singular_label}",
                         model=model.name, record=f"={loaded}", values=values,
                         **{"as": result})
        action.response_value = f"={result}"

    return _Operation(
        f"Replace {names.singular_label}", "PUT", names.item,
        f"Replace {_a(names.singular_label)}: every field from the body, as when creating one "
        "(a field left out gets its default, or none); 404 when there is none.",
        [path_id, Variable(names.snake, "Model", "body", model=model.name,
                           description=f"All the fields of the {names.singular_label}.")],
        build)


def _patch(model: Model, names: _Names, path_id: Variable) -> _Operation:
    loaded = _identifier(names.camel + "ToUpdate", "")
    result = _identifier("Updated" + names.camel, "")

    def build(action: Action) -> None:
        action.variables.append(_loaded(model, loaded))
        action.add_event("update", description="Change only the fields given", model=model.name,
                         record=f"={loaded}", source="=body.changes", **{"as": result})
        action.response_value = f"={result}"

    return _Operation(
        f"Update {names.singular_label}", "PATCH", names.item,
        f"Change some fields of {_a(names.singular_label)}: only those in the body change; "
        "404 when there is none.",
        [path_id, Variable("changes", "Custom Model", "body", required=False, model=model.name,
                           fields=[f.name for f in model.fields],
                           description="The fields to change.")], build)


def _delete(model: Model, names: _Names, path_id: Variable) -> _Operation:
    loaded = _identifier(names.camel + "ToDelete", "")

    def build(action: Action) -> None:
        action.variables.append(_loaded(model, loaded))
        action.add_event("delete", description=f"Delete the {names.singular_label}",
                         model=model.name, record=f"={loaded}")
        action.response_value, action.response_status = None, 204

    return _Operation(f"Delete {names.singular_label}", "DELETE", names.item,
                      f"Delete {_a(names.singular_label)}; answers 204 without a body, 404 when "
                      "there is none.", [path_id], build)


# -- adding them -----------------------------------------------------------------------------

def _route(path: str) -> str:
    """A path with its `{variables}` blanked, as the router matches it."""
    return path_template(path).shape


def _add(project: Project, op: _Operation, report: GenerateReport) -> None:
    """Add one operation's endpoint and action, unless either is there already."""
    route = f"{op.method} {op.path}"
    clash = next((e for e in project.endpoints if e.method == op.method
                  and _route(e.path) == _route(op.path)), None)
    skipped = None
    if clash is not None:
        skipped = (f'{route} exists (endpoint "{clash.name}")', "its endpoint was skipped")
    elif project.endpoint(op.name) is not None:
        other = project.endpoint(op.name)
        skipped = (f"the name is taken (by {other.method} {other.path})", "its endpoint was skipped")
    elif project.action(op.name) is not None:
        skipped = (f'not added for {route}: the action "{op.name}" exists', "the name is taken")
    if skipped is not None:
        report.skipped.append(GeneratedItem("endpoint", op.name, skipped[0]))
        report.skipped.append(GeneratedItem("action", op.name, skipped[1]))
        return
    project.add_endpoint(op.name, op.method, op.path, copy.deepcopy(op.variables),
                         description=op.description)
    action = project.add_action(op.name, Trigger("endpoint", endpoint=op.name))
    op.build(action)
    action.positions = {"trigger": (0.0, 0.0)}
    for index, event_id in enumerate(_flow(action), start=1):
        action.positions[event_id] = (float(STEP * index), 0.0)
    report.created.append(GeneratedItem("endpoint", op.name, route))
    report.created.append(GeneratedItem("action", op.name, f"triggered by {route}"))


def _flow(action: Action) -> list[str]:
    """The events in flow order from the trigger (left to right on the graph)."""
    order, current = [], action.start
    while current is not None and current not in order:
        order.append(current)
        current = action.events[current].next.get("next")
    return order


__all__ = ["GenerateError", "GenerateReport", "GeneratedItem", "generate_api"]
