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
`order_items` give `/v1/order-items`). It also adds tests of the endpoints it creates (the
file's `tests`, run by `actiongraph test`): create, read, list sorted and filtered, replace,
update, delete, 404 and 422, each on rows of its own. Running it again adds nothing: an operation whose
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
    tests: list[str] = field(default_factory=list)  # names of the tests added

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
        if self.tests:
            out.append(f"  added {len(self.tests)} test{'s' if len(self.tests) != 1 else ''} "
                       "(run them: actiongraph test FILE)")
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
    operations = _operations(model, names, report)
    for operation in operations:
        _add(project, operation, report)
    created = {item.name for item in report.created if item.what == "endpoint"}
    _add_tests(project, model, [op for op in operations if op.name in created], report)
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


# -- tests of what was created ----------------------------------------------------------------

SAMPLES: dict[str, Any] = {
    "Text": lambda name, n: f"{name} {n}", "Integer": lambda name, n: n,
    "Decimal": lambda name, n: n + 0.5, "Boolean": lambda name, n: n % 2 == 1,
    "Date": lambda name, n: f"2026-01-{n:02d}", "DateTime": lambda name, n: f"2026-01-{n:02d}T10:00:00Z",
    "JSON": lambda name, n: {"n": n}, "Link": lambda name, n: 1,
}
CHECKED = ("Text", "Integer", "Boolean")  # kinds whose answer is the value sent, as JSON
BAD = {"Integer": "not a number", "Decimal": "not a number", "Boolean": "not a boolean",
       "Date": "not a date", "DateTime": "not a date"}


def _sample(model: Model, n: int, project: Project) -> dict[str, Any] | None:
    """Values of a record numbered n; links to record 1 of the linked model (None: a required
    link to a model whose own rows would need links too)."""
    row = {}
    for f in model.fields:
        if f.kind == "Link":
            if not f.required:
                continue
            linked = project.model(f.link or "")
            if linked is None or linked is model or any(x.kind == "Link" and x.required
                                                        for x in linked.fields):
                return None
        row[f.name] = SAMPLES[f.kind](f.name, n)
    return row


def _checked(row: dict[str, Any], model: Model) -> dict[str, Any]:
    kinds = {f.name: f.kind for f in model.fields}
    return {k: v for k, v in row.items() if kinds.get(k) in CHECKED}


def _add_tests(project: Project, model: Model, created: list[_Operation],
               report: GenerateReport) -> None:
    """Tests of the created endpoints, each on two rows of its own (ids 1 and 2)."""
    if not created:
        return
    rows = [_sample(model, 1, project), _sample(model, 2, project)]
    if rows[0] is None or rows[1] is None:
        report.notes.append(f"no tests were added: {model.name} has a required link to a model "
                            "whose records need links too")
        return
    fixtures = {model.name: rows}
    for f in model.fields:
        if f.kind == "Link" and f.required:
            linked = project.model(f.link)
            fixtures.setdefault(linked.name, [_sample(linked, 1, project)])
    ops = {(op.method, "{" in op.path): op.name for op in created}  # (method, an item path)
    item, collection = True, False
    tests: list[tuple[str, str, dict, dict]] = []
    one = _checked(rows[0], model)
    if ("POST", collection) in ops:
        body = _sample(model, 3, project)
        tests.append((f"{ops['POST', collection]} answers 201 and the new record",
                      ops["POST", collection], {"body": body},
                      {"status": 201, "paths": {"id": 3, **_checked(body, model)},
                       "rows": [{"model": model.name, "op": "inserted", "count": 1,
                                 "values": _checked(body, model)}]}))
        bad = next((f for f in model.fields if f.kind in BAD), None)
        needed = next((f for f in model.fields if f.required and f.kind != "Link"), None)
        if bad is not None:
            wrong = (f"with a wrong {bad.name}", {**body, bad.name: BAD[bad.kind]}, bad.name)
        elif needed is not None:
            wrong = (f"without {needed.name}",
                     {k: v for k, v in body.items() if k != needed.name}, needed.name)
        if bad is not None or needed is not None:
            tests.append((f"{ops['POST', collection]} {wrong[0]} answers 422",
                          ops["POST", collection], {"body": wrong[1]},
                          {"status": 422, "paths": {"error": {"$contains": wrong[2]}},
                           "rows": [{"model": model.name, "op": "inserted", "count": 0}]}))
    if ("GET", item) in ops:
        tests.append((f"{ops['GET', item]} answers the record", ops["GET", item],
                      {"params": {"id": 1}}, {"status": 200, "paths": {"id": 1, **one}}))
        tests.append((f"{ops['GET', item]} of an unknown id answers 404", ops["GET", item],
                      {"params": {"id": 99}}, {"status": 404}))
    if ("GET", collection) in ops:
        name = ops["GET", collection]
        tests.append((f"{name} sorted by -id answers the newest first", name,
                      {"query": {"sort": "-id"}},
                      {"status": 200, "body": [{"$contains": {"id": 2}}, {"$contains": {"id": 1}}]}))
        by = next((f for f in model.fields if f.kind in FILTER_KINDS and f.kind != "Link"
                   and f.name not in PAGING and f.name in rows[1]), None)
        if by is not None:
            tests.append((f"{name} filtered by {by.name} answers the records that fit", name,
                          {"query": {by.name: rows[1][by.name], "sort": "id"}},
                          {"status": 200, "body": [{"$contains": {"id": 2}}]}))
        else:
            tests.append((f"{name} with a wrong limit answers 400", name,
                          {"query": {"limit": "many"}}, {"status": 400}))
    if ("PUT", item) in ops:
        body = _sample(model, 4, project)
        tests.append((f"{ops['PUT', item]} replaces every field", ops["PUT", item],
                      {"params": {"id": 1}, "body": body},
                      {"status": 200, "paths": {"id": 1, **_checked(body, model)},
                       "rows": [{"model": model.name, "op": "updated", "count": 1,
                                 "values": {"id": 1, **_checked(body, model)}}]}))
    if ("PATCH", item) in ops:
        changed = next((f for f in model.fields if f.kind in CHECKED), None)
        body = {changed.name: SAMPLES[changed.kind](changed.name, 5)} if changed else {}
        expect = _checked(rows[0], model) | body
        tests.append((f"{ops['PATCH', item]} changes only the fields given", ops["PATCH", item],
                      {"params": {"id": 1}, "body": body},
                      {"status": 200, "paths": {"id": 1, **expect},
                       "rows": [{"model": model.name, "op": "updated", "count": 1,
                                 "values": {"id": 1, **expect}}]}))
    if ("DELETE", item) in ops:
        tests.append((f"{ops['DELETE', item]} answers 204 and removes it", ops["DELETE", item],
                      {"params": {"id": 2}},
                      {"status": 204, "rows": [{"model": model.name, "op": "deleted", "count": 1,
                                                "values": {"id": 2}}]}))
    for name, endpoint, request, expect in tests:
        if project.test(name) is None:
            project.add_test(name, endpoint, request=request, expect=expect, seed=False,
                             rows=copy.deepcopy(fixtures))
            report.tests.append(name)


def _flow(action: Action) -> list[str]:
    """The events in flow order from the trigger (left to right on the graph)."""
    order, current = [], action.start
    while current is not None and current not in order:
        order.append(current)
        current = action.events[current].next.get("next")
    return order


__all__ = ["GenerateError", "GenerateReport", "GeneratedItem", "generate_api"]
