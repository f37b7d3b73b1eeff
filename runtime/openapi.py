"""OpenAPI 3.1 for a project: what every endpoint accepts and answers, read off the project.

The document follows what the server really does, so a fuzzer can hold the server to it:

- inputs are described as the binder (runtime.binder, runtime.kinds) accepts them. The canonical
  form comes first; the lenient forms the binder also takes (a whole number sent as text, "yes"
  for true ...) are extra `anyOf` branches marked `deprecated` (accepted, not recommended), which
  the docs page leaves out of its type labels;
- a JSON body is an object with the endpoint's body variables (a Model or Custom Model variable
  spreads its fields at the top level) and nothing else (`additionalProperties: false`);
- the success answer is inferred from the action's response value: `=newShoe`, the `as` of a
  Create of model Shoes, is a Shoes record; a Query list is an array of them; anything not
  known is left open (`{}`);
- every 4xx an endpoint can answer (binding, login, the events of its action and of the
  actions it calls) is listed with the shared Error body of runtime.server.error_response;
  the failure of an event whose `error` port is wired is not: its branch answers instead, and
  what the branch raises or answers (Raise Error, Response) is listed as any event's.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from http import HTTPStatus
from typing import Any

from nodes import catalogue
from nodes.kind import ERROR, NULL, EventKind, nullable
from runtime import kinds as _kinds
from runtime.cors import CorsPolicy
from runtime.paths import path_template
from runtime.project import Action, Endpoint, Model, Project, Variable

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
FORM = "multipart/form-data"
RESPONSE_MEDIA = {"json": JSON, "csv": "text/csv", "html": "text/html"}
NAMESPACES = ("path", "query", "header", "body", "auth")

# What an Integer field holds (runtime.kinds), and the bound of a Decimal field: NUMERIC(28, 10).
MIN_INTEGER = getattr(_kinds, "MIN_INTEGER", -(2**63))
MAX_INTEGER = getattr(_kinds, "MAX_INTEGER", 2**63 - 1)
MAX_DECIMAL = int(getattr(_kinds, "MAX_DECIMAL", 10**18))

# Lenient text forms the binder accepts. Each pattern is a subset of what is accepted (so data
# made from the pattern is never refused), kept simple rather than exhaustive.
WHOLE_TEXT = r"^[+-]?[0-9]{1,18}$"
DECIMAL_TEXT = r"^[+-]?[0-9]{1,17}(\.[0-9]{1,10})?$"
NUMBER_TEXT = r"^[+-]?[0-9]{1,30}(\.[0-9]{1,30})?$"
BOOLEAN_TEXT = r"^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Yy][Ee][Ss]|[Nn][Oo]|[Oo][Nn]|[Oo][Ff][Ff]|1|0)$"
# A path variable is one segment: no "/", and not "." or ".." (which URLs fold away).
SEGMENT = r"^(?!\.\.?$)[^/]+$"

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
INPUT_RE = re.compile(r"^=\s*(path|query|header|body)\.([A-Za-z_][A-Za-z0-9_]*)\s*$")

ERROR_RESPONSES = {  # status -> the name in components/responses
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "ContentTooLarge",
    415: "UnsupportedMediaType",
    422: "UnprocessableContent",
}
ERROR_TEXT = {
    400: "A path, query or header value does not fit its kind, a required one is missing, or "
         "the body is not valid JSON (or not a valid form). `fields` names each bad value.",
    401: "No login token, or one that is not valid or has expired (send "
         "`Authorization: Bearer TOKEN`), or a wrong login.",
    403: "Logged in, but the auth profile's rule does not allow this user.",
    404: "No record matches (e.g. no record with this id), or no endpoint at this path.",
    405: "Another endpoint's path takes this request, and it does not answer this method "
         "(the `Allow` header lists the methods it does).",
    409: "A record with this value already exists (a unique field), or the action refused it.",
    413: "The request body is larger than the server's limit.",
    415: "The body is not of the endpoint's content type.",
    422: "The body does not fit the endpoint's variables (`fields` names each bad or unknown "
         "field), or the action could not use a value (e.g. it does not fit a field).",
}
SERVER_ERRORS = "5XX"


def build_openapi(project: Project, server_url: str | None = None,
                  kinds: dict[str, EventKind] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of a project's endpoints (it need not compile: what cannot be
    known is left open). `server_url` (e.g. http://localhost:8080) goes into `servers`."""
    return _Builder(project, kinds or catalogue()).document(server_url)


def dumps(spec: dict[str, Any]) -> str:
    """The document as JSON text, as /openapi.json serves it and the CLI writes it."""
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


# -- schema helpers ----------------------------------------------------------------------------

def _lenient(title: str, schema: dict) -> dict:
    """A form the binder also accepts, kept out of the docs' type labels."""
    return {**schema, "title": title, "deprecated": True}


def union(schemas: list[dict]) -> dict:
    """A schema any of the given ones satisfies ({} when one of them is open)."""
    unique: list[dict] = []
    for s in schemas:
        for branch in (s["anyOf"] if set(s) == {"anyOf"} else [s]):
            if branch not in unique:
                unique.append(branch)
    if not unique or {} in unique:
        return {}
    if len(unique) == 1:
        return unique[0]
    if NULL in unique and len(unique) == 2:
        return nullable(next(u for u in unique if u != NULL))
    return {"anyOf": unique}


def accepted(kind: str, *, required: bool = True, form: bool = False) -> dict:
    """The schema of what the binder accepts for a field kind (Text, Integer, ...) or a variable
    kind (Number, List, File ...); `form` for a multipart field or a path/query/header value,
    which is text on the wire (a number there is its text)."""
    if kind == "Text":
        schema: dict = {"type": "string"}
        if not form:  # a JSON number is kept as its text
            schema = {"anyOf": [schema, _lenient("a number, kept as text", {"type": "number"})]}
    elif kind in ("Integer", "Link"):
        schema = {"type": "integer", "format": "int64", "minimum": MIN_INTEGER, "maximum": MAX_INTEGER}
        if not form:
            schema = {"anyOf": [schema, _lenient("a whole number as text",
                                                 {"type": "string", "pattern": WHOLE_TEXT})]}
    elif kind == "Decimal":
        schema = {"type": "number", "exclusiveMinimum": -MAX_DECIMAL, "exclusiveMaximum": MAX_DECIMAL}
        if not form:
            schema = {"anyOf": [schema, _lenient("a number as text",
                                                 {"type": "string", "pattern": DECIMAL_TEXT})]}
    elif kind == "Number":
        schema = {"type": "number"}
        if not form:
            schema = {"anyOf": [schema, _lenient("a number as text",
                                                 {"type": "string", "pattern": NUMBER_TEXT})]}
    elif kind == "Boolean":  # on the wire (a form, a query) 1/0, yes/no ... are text too
        text = _lenient("true/false, yes/no, on/off or 1/0 as text (any case)",
                        {"type": "string", "pattern": BOOLEAN_TEXT})
        schema = {"anyOf": [{"type": "boolean"}, text] if form else
                  [{"type": "boolean"}, _lenient("1 or 0", {"type": "integer", "enum": [0, 1]}), text]}
    elif kind == "Date":
        schema = {"type": "string", "format": "date"}
    elif kind == "DateTime":
        schema = {"type": "string", "format": "date-time"}
    elif kind == "JSON":
        if form:  # a form field is text: the variable gets it as it is
            schema = {"type": "string"}
        else:
            schema = {} if not required else {
                "type": ["object", "array", "string", "number", "boolean"]}
    elif kind == "List":
        schema = {"type": "array"}
    elif kind == "File":
        schema = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
    else:  # Model, Custom Model as a value, or a kind this version does not know
        schema = {}
    return schema if required else nullable(schema)


def narrowed(kind: str, field_kind: str | None, *, form: bool, required: bool = True) -> dict | None:
    """What a variable of `kind` accepts when every run also converts it to `field_kind` (see
    _Builder.narrowing), or None when that changes nothing known."""
    schema = None
    if field_kind in ("Integer", "Link") and kind == "Number":
        schema = accepted("Integer", form=form)
    elif field_kind in ("Integer", "Link") and kind == "Text":
        schema = {"type": "string", "pattern": WHOLE_TEXT}
    elif field_kind == "Decimal" and kind == "Number":
        schema = accepted("Decimal", form=form)
    if schema is None:
        return None
    return schema if required else nullable(schema)


def _field_kinds(model: Model) -> dict[str, str]:
    kinds = {"id": "Integer", "created_at": "DateTime"}
    kinds.update({f.name: f.kind for f in model.fields})
    return kinds


def _conditions(where: Any):
    """The (field, op, value) leaves of a Where filter (runtime.where), groups included."""
    if not isinstance(where, dict):
        return
    for group in ("and", "or"):
        if group in where:
            for item in where[group] if isinstance(where[group], list) else []:
                yield from _conditions(item)
            return
    if "not" in where:
        yield from _conditions(where["not"])
        return
    yield where.get("field"), where.get("op", "="), where.get("value")


def stored(kind: str) -> dict:
    """The schema of a field's value in a record the server answers with."""
    return {
        "Text": {"type": "string"},
        "Integer": {"type": "integer", "format": "int64"},
        "Link": {"type": "integer", "format": "int64"},
        "Decimal": {"type": "number"},
        "Boolean": {"type": "boolean"},
        "Date": {"type": "string", "format": "date"},
        "DateTime": {"type": "string", "format": "date-time"},
    }.get(kind, {})


FILE_VALUE = {  # a File variable inside the action (runtime.binder._form_value)
    "type": "object",
    "properties": {"filename": {"type": ["string", "null"]}, "content_type": {"type": "string"},
                   "size": {"type": "integer"}, "content": {"type": "string"}},
    "required": ["filename", "content_type", "size", "content"],
}


def converted(kind: str) -> dict:
    """The schema of a variable's value once bound (what `=path.id` answers with)."""
    return {
        "Text": {"type": "string"},
        "Integer": {"type": "integer", "format": "int64"},
        "Number": {"type": "number"},
        "Boolean": {"type": "boolean"},
        "Date": {"type": "string", "format": "date"},
        "DateTime": {"type": "string", "format": "date-time"},
        "List": {"type": "array"},
        "Model": {"type": "object"},
        "Custom Model": {"type": "object"},
        "File": FILE_VALUE,
    }.get(kind, {})


ERROR_SCHEMA = {
    "type": "object",
    "description": "What every error answer holds: a message, and where it came from.",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for people."},
        "fields": {
            "type": "array",
            "description": "Each input value that was refused (400 and 422 on input).",
            "items": {"type": "object", "required": ["field", "message"],
                      "properties": {"field": {"type": "string", "description": "e.g. body.price"},
                                     "message": {"type": "string"}}},
        },
        "action": {"type": "string", "description": "The action that failed."},
        "event": {"type": "string", "description": "The event of the action that failed."},
        "event_kind": {"type": "string", "description": "That event's kind, e.g. create."},
        "reference": {"type": "string",
                      "description": "Names an unexpected error in the server log."},
    },
    "examples": [{"error": "body.price: expected a number, got \"cheap\"",
                  "fields": [{"field": "body.price",
                              "message": "expected a number, got \"cheap\""}]}],
}


def _operation_id(name: str, taken: set[str]) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    base = (words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])) if words else "op"
    if base[0].isdigit():
        base = "op" + base
    result, n = base, 2
    while result in taken:
        result, n = f"{base}{n}", n + 1
    taken.add(result)
    return result


def _component_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "Schema"
    result, n = base, 2
    while result in taken:
        result, n = f"{base}_{n}", n + 1
    taken.add(result)
    return result


# -- the document ------------------------------------------------------------------------------

class _Builder:
    """Builds the document of one project."""

    def __init__(self, project: Project, kinds: dict[str, EventKind]):
        self.project = project
        self.kinds = kinds
        self.schemas: dict[str, dict] = {}
        self.model_refs: dict[str, str] = {}  # model name -> component name
        self.user_refs: dict[str, str] = {}  # auth profile -> component of its user
        self.schemes: dict[str, str] = {}  # auth profile -> security scheme name
        self.taken: set[str] = set()
        self.error_name = ""

    def ref(self, name: str) -> dict:
        return {"$ref": f"#/components/schemas/{name}"}

    def document(self, server_url: str | None) -> dict[str, Any]:
        p = self.project
        for m in p.models:
            self.model_refs[m.name] = _component_name(m.name, self.taken)
        self.error_name = _component_name("Error", self.taken)
        for m in p.models:
            self.schemas[self.model_refs[m.name]] = self.model_schema(m)
        security_schemes = {}
        for profile in p.settings.auth_profiles:
            name = _component_name(profile.name, set(security_schemes))
            self.schemes[profile.name] = name
            rule = f" Its rule: {profile.rule.lstrip('=')} (403 when it fails)." if profile.rule else ""
            security_schemes[name] = {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": f'Auth profile "{profile.name}": log in as a {profile.model} record '
                               f"(by {profile.identifier} and password) to get a token valid for "
                               f"{profile.lifetime} s; send it as `Authorization: Bearer TOKEN`."
                               + rule,
            }
        paths: dict[str, dict] = {}
        operation_ids: set[str] = set()
        for e in p.endpoints:
            operation = self.operation(e, operation_ids)
            paths.setdefault(path_template(e.path).normal, {})[e.method.lower()] = operation
        self.schemas[self.error_name] = copy.deepcopy(ERROR_SCHEMA)
        responses = {
            name: {"description": ERROR_TEXT[status],
                   "content": {JSON: {"schema": self.ref(self.error_name)}}}
            for status, name in ERROR_RESPONSES.items()
        }
        responses["ServerError"] = {
            "description": "The action failed unexpectedly (5xx), took too long (504) or a "
                           "service it used failed (502); nothing it wrote was kept.",
            "content": {JSON: {"schema": self.ref(self.error_name)}},
        }
        components: dict[str, Any] = {"schemas": self.schemas, "responses": responses}
        if security_schemes:
            components["securitySchemes"] = security_schemes
        doc: dict[str, Any] = {
            "openapi": OPENAPI_VERSION,
            "info": {
                "title": p.name or "Untitled",
                "version": "1.0.0",
                "description": f"The HTTP API of the Actiongraph project \"{p.name}\". Errors "
                               "answer a JSON object with an `error` message (see the Error "
                               "schema).",
            },
        }
        policy = CorsPolicy.of(p.settings.cors)
        if policy is not None:  # browsers on other origins: which may call, how (runtime.cors)
            cors = doc["x-cors"] = policy.describe()
            who = "any origin" if cors["origins"] == ["*"] else ", ".join(cors["origins"])
            doc["info"]["description"] += (
                f" Browsers on {who} may call it (CORS: preflight answered, also on errors"
                + (", with credentials" if cors["credentials"] else "") + "; see `x-cors`).")
        if server_url:
            doc["servers"] = [{"url": server_url.rstrip("/")}]
        doc["paths"] = paths
        doc["components"] = components
        return doc

    # -- models --------------------------------------------------------------------------------
    def model_schema(self, m: Model, without: str | None = None) -> dict:
        properties: dict[str, dict] = {
            "id": {"type": "integer", "format": "int64", "description": "Set by the server.",
                   "readOnly": True},
            "created_at": {"type": "string", "format": "date-time",
                           "description": "When the record was created (UTC). Set by the server.",
                           "readOnly": True},
        }
        for f in m.fields:
            if f.name == without:
                continue
            schema = dict(stored(f.kind))
            notes = []
            if f.kind == "Link" and f.link:
                notes.append(f"The id of a {f.link} record.")
            if f.required:
                notes.append("Required when a record is written.")
            if f.unique:
                notes.append("Unique: no two records have the same value.")
            if f.default is not None:
                notes.append(f"Default: {json.dumps(f.default, ensure_ascii=False)}.")
            if notes:
                schema["description"] = " ".join(notes)
            properties[f.name] = nullable(schema) if schema else schema
        return {"type": "object", "title": m.name if without is None else f"{m.name} (without {without})",
                "required": list(properties), "properties": properties}

    def model_ref(self, name: str | None) -> dict:
        component = self.model_refs.get(name or "")
        return self.ref(component) if component else {"type": "object"}

    def user_ref(self, profile_name: str) -> dict:
        """The user of an auth profile as Login and auth.user give it: without its password."""
        profile = self.project.settings.auth_profile(profile_name)
        model = self.project.model(profile.model) if profile else None
        if model is None:
            return {"type": "object"}
        if profile_name not in self.user_refs:
            component = _component_name(f"{model.name}_without_{profile.password}", self.taken)
            self.schemas[component] = self.model_schema(model, without=profile.password)
            self.user_refs[profile_name] = component
        return self.ref(self.user_refs[profile_name])

    def model_fields(self, v: Variable) -> list:
        model = self.project.model(v.model or "")
        if model is None:
            return []
        return [f for f in model.fields if v.kind == "Model" or f.name in v.fields]

    # -- operations ------------------------------------------------------------------------------
    def operation(self, e: Endpoint, taken: set[str]) -> dict:
        action = next((a for a in self.project.actions
                       if a.trigger.type == "endpoint" and a.trigger.endpoint == e.name), None)
        op: dict[str, Any] = {"operationId": _operation_id(e.name, taken), "summary": e.name}
        description = e.description.strip()
        if action is None:
            description += ("\n\n" if description else "") + "No action runs for this endpoint yet " \
                                                             "(it answers 501)."
        if description:
            op["description"] = description
        narrow = self.narrowing(action) if action is not None else {}
        parameters = self.parameters(e, narrow)
        if parameters:
            op["parameters"] = parameters
        body = self.request_body(e, narrow)
        if body is not None:
            op["requestBody"] = body
        if e.auth in self.schemes:
            op["security"] = [{self.schemes[e.auth]: []}]
        op["responses"] = self.responses(e, action)
        return op

    def narrowing(self, action: Action) -> dict[tuple[str, str], str]:
        """Inputs every run puts into a field, by the field's kind: compared in the Where of a
        global Model variable (`id = path.id`, loaded before any event) or of an event that
        every run reaches, or written to a field by such an event. A value that does not fit
        the field answers 422 (a Number id of 1.5), so the document asks for what fits."""
        found: dict[tuple[str, str], str] = {}

        def note(value: Any, field_kind: str | None) -> None:
            m = INPUT_RE.match(value) if isinstance(value, str) else None
            if m and field_kind:
                found.setdefault((m.group(1), m.group(2)), field_kind)

        def compared(where: Any, model: Model) -> None:
            kinds = _field_kinds(model)
            for field, op, value in _conditions(where):
                if op in COMPARISONS:
                    note(value, kinds.get(field))

        for g in action.variables:
            model = self.project.model(g.model or "")
            if g.kind in ("Model", "Custom Model") and model is not None and g.where:
                compared(g.where, model)
        for event, kind in self.always_run(action):
            model = self.project.model(event.settings.get("model") or "")
            if model is None:
                continue
            for s in kind.settings:
                value = event.settings.get(s.name)
                if s.kind == "where" and value:
                    compared(value, model)
                elif s.kind == "field_map" and isinstance(value, dict):
                    kinds = _field_kinds(model)
                    for field, raw in value.items():
                        note(raw, kinds.get(field))
        return found

    def always_run(self, action: Action):
        """The events every run of an action reaches (unless one fails): from the trigger on,
        up to the first that branches, loops or ends the flow. An event whose failure its wired
        error branch catches is not one: a run that leaves by its error port goes on."""
        event = action.events.get(action.start or "")
        seen = set()
        while event is not None and event.id not in seen:
            seen.add(event.id)
            kind = self.kinds.get(event.kind)
            if kind is None or caught(event, kind):
                return
            yield event, kind
            if tuple(p for p in kind.flow_out if p != ERROR) != ("next",) or kind.loops:
                return
            event = action.events.get(event.next.get("next") or "")

    def parameters(self, e: Endpoint, narrow: dict[tuple[str, str], str]) -> list[dict]:
        params = []
        seen = set()
        in_path = path_template(e.path).variables
        for v in e.variables:
            if v.location not in ("path", "query", "header"):
                continue
            name = v.name.replace("_", "-") if v.location == "header" else v.name
            if (v.location, name.lower() if v.location == "header" else name) in seen:
                continue
            seen.add((v.location, name.lower() if v.location == "header" else name))
            if v.location == "path" and v.name not in in_path:
                continue  # not in the path: never given (the compiler reports it)
            required = True if v.location == "path" else v.required
            schema = narrowed(v.kind, narrow.get((v.location, v.name)), form=True)
            if schema is not None:
                pass  # a value that must also fit a field (e.g. an id)
            elif v.kind == "Text" and v.location == "path":
                schema = {**accepted(v.kind, form=True), "pattern": SEGMENT}
            elif v.kind == "Text" and required:
                schema = {**accepted(v.kind, form=True), "minLength": 1}  # empty counts as missing
            else:
                schema = accepted(v.kind, form=True)
            param: dict[str, Any] = {"name": name, "in": v.location, "required": required}
            description = v.description.strip()
            if description:
                param["description"] = description
            if v.location == "query" and not required:
                param["allowEmptyValue"] = True  # an empty value counts as not given
            param["schema"] = schema
            saved = self.saved_value(e, v, schema)
            if saved is not None:
                param["example"] = saved
            elif required:  # an optional one is best left out of an example request
                sample = example(schema, v.name, self.schemas)
                param["example"] = sample.replace(" ", "-") if isinstance(sample, str) else sample
            params.append(param)
        return params

    @staticmethod
    def saved_value(e: Endpoint, v: Variable, schema: dict) -> Any:
        """The value of a path, query or header variable in the endpoint's first saved request
        (the Run panel's examples) that has one fitting the schema, or None."""
        import jsonschema

        for x in e.examples:
            values = {"path": x.path, "query": x.query, "header": x.header}.get(v.location) or {}
            value = values.get(v.name, values.get(v.name.replace("_", "-")))
            candidates = [value]
            if isinstance(value, str):  # the Run panel keeps what was typed: "7" for 7
                try:
                    candidates.append(json.loads(value))
                except ValueError:
                    pass
            for candidate in candidates:
                if candidate is not None and jsonschema.Draft202012Validator(schema).is_valid(candidate):
                    return candidate
        return None

    def body_schema(self, e: Endpoint, form: bool,
                    narrow: dict[tuple[str, str], str]) -> tuple[dict, bool]:
        properties: dict[str, dict] = {}
        required: list[str] = []
        body_required = False
        for v in e.variables:
            if v.location != "body":
                continue
            body_required = body_required or v.required
            if v.kind in ("Model", "Custom Model"):
                items = [(f.name, f.kind, f.required and v.required,
                          f"{v.model}.{f.name}" + (f" (of {v.name})" if v.name else ""))
                         for f in self.model_fields(v)]
            else:
                items = [(v.name, v.kind, v.required, v.description.strip())]
            for name, kind, is_required, description in items:
                field_kind = narrow.get(("body", name)) if v.kind not in ("Model", "Custom Model") \
                    else None
                # A form has no null: an optional form field is one that is left out.
                no_null = is_required or form
                schema = narrowed(kind, field_kind, form=form, required=no_null) or \
                    accepted(kind, required=no_null, form=form)
                if description:
                    schema = {**schema, "description": description} if "$ref" not in schema else schema
                if name in properties:
                    properties[name] = {"allOf": [properties[name], schema]}
                else:
                    properties[name] = schema
                if is_required and name not in required:
                    required.append(name)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema, body_required

    def request_body(self, e: Endpoint, narrow: dict[tuple[str, str], str]) -> dict | None:
        if not any(v.location == "body" for v in e.variables):
            return None  # the body is not read at all
        form = e.request_type == "multipart"
        schema, body_required = self.body_schema(e, form, narrow)
        media: dict[str, Any] = {"schema": schema}
        saved = self.saved_examples(e, schema) if not form else {}
        if saved:
            media["examples"] = saved
        else:
            media["example"] = example(schema, "", self.schemas)
        if form:
            files = [name for name, s in schema["properties"].items()
                     if s.get("format") == "binary" or any(b.get("format") == "binary"
                                                           for b in s.get("anyOf", []))]
            if files:
                media["encoding"] = {name: {"contentType": "application/octet-stream"}
                                     for name in files}
        body = {"required": body_required, "content": {FORM if form else JSON: media}}
        if form:
            body["description"] = "A multipart form: each variable is a form field; files are parts."
        return body

    def saved_examples(self, e: Endpoint, schema: dict) -> dict:
        """The endpoint's saved requests (the Run panel's examples) whose body fits the schema."""
        import jsonschema

        validator = jsonschema.Draft202012Validator(schema)
        found = {}
        for x in e.examples:
            if isinstance(x.body, dict) and validator.is_valid(x.body):
                found[_component_name(x.name, set(found))] = {"summary": x.name, "value": x.body}
        return found

    # -- responses ---------------------------------------------------------------------------
    def responses(self, e: Endpoint, action: Action | None) -> dict:
        answers: dict[int, list[dict | None]] = {}  # status -> schemas of the answer (None: no body)
        errors = self.input_errors(e)
        if action is None:
            answers[501] = [self.ref(self.error_name)]
        else:
            infer = _Infer(self, action, e)
            for status, schema in infer.answers():
                answers.setdefault(status, []).append(schema)
            errors |= self.action_errors(action, set())
        out: dict[str, Any] = {}
        media = RESPONSE_MEDIA.get(e.response_type, JSON)
        for status in sorted(answers):
            schemas = answers[status]
            description = _phrase(status)
            if all(s is None for s in schemas):
                out[str(status)] = {"description": description}
                continue
            bodies = [s for s in schemas if s is not None]
            if media != JSON:
                schema = {"type": "string"}
            else:
                schema = union(bodies)
            if status in errors and status >= 400:
                schema = union([schema, self.ref(self.error_name)])
                errors.discard(status)
            response: dict[str, Any] = {"description": description,
                                        "content": {media: {"schema": schema}}}
            if media == JSON:
                response["content"][media]["example"] = example(schema, "", self.schemas)
            out[str(status)] = response
        for status in sorted(errors):
            if status >= 500:
                continue
            name = ERROR_RESPONSES.get(status)
            if name:
                out[str(status)] = {"$ref": f"#/components/responses/{name}"}
            else:
                out[str(status)] = {"description": _phrase(status),
                                    "content": {JSON: {"schema": self.ref(self.error_name)}}}
        out[SERVER_ERRORS] = {"$ref": "#/components/responses/ServerError"}
        return dict(sorted(out.items(), key=lambda kv: kv[0]))

    def input_errors(self, e: Endpoint) -> set[int]:
        """The 4xx the server answers before the action runs."""
        errors: set[int] = set()
        in_path = path_template(e.path).variables
        for v in e.variables:
            if v.location == "path" and (v.kind != "Text" or v.name not in in_path):
                errors.add(400)
            elif v.location in ("query", "header") and (v.required or v.kind != "Text"):
                errors.add(400)
        if any(v.location == "body" for v in e.variables):
            errors |= {400, 413, 415, 422}
        if e.auth:
            errors.add(401)
            profile = self.project.settings.auth_profile(e.auth)
            if profile is not None and profile.rule:
                errors.add(403)
        if in_path:
            errors.add(404)  # a path that only looks like this one (another segment count ...)
            if self.shadowed(e):
                errors.add(405)
        return errors

    def shadowed(self, e: Endpoint) -> bool:
        """Whether another endpoint's path can take a request meant for this one without
        answering its method (the server then answers 405)."""
        template = path_template(e.path)
        mine = template.normal
        order: list[str] = []
        methods: dict[str, set[str]] = {}
        for other in self.project.endpoints:
            path = path_template(other.path).normal
            if path not in methods:
                order.append(path)
            methods.setdefault(path, set()).add(other.method)
        for path in order:
            if path == mine:
                continue
            if "{" not in path:
                if template.match(path) is not None and e.method not in methods[path]:
                    return True
            elif order.index(path) < order.index(mine) and template.overlaps(path_template(path)) \
                    and e.method not in methods[path]:
                return True
        return False

    def action_errors(self, action: Action, seen: set[str]) -> set[int]:
        """The 4xx an action (and the actions it calls) may answer."""
        if action.name in seen:
            return set()
        seen.add(action.name)
        errors: set[int] = set()
        for g in action.variables:
            if g.kind in ("Model", "Custom Model") and g.where:
                errors.add(422)  # a value that does not fit the field it is compared with
                if g.required:
                    errors.add(404)
        for event in action.events.values():
            kind = self.kinds.get(event.kind)
            if kind is None or caught(event, kind):
                continue  # its branch's events are listed on their own
            at = _Placement(self, action, event, kind)
            found = kind.statuses(at)
            for setting in kind.settings:
                if setting.kind == "action":  # what the called action answers, it answers
                    called = self.project.action(at.settings.get(setting.name) or "")
                    if called is not None:
                        found |= self.action_errors(called, seen)
            errors |= {x for x in found if 400 <= x < 500}
        return errors


def caught(event: Any, kind: EventKind) -> bool:
    """Whether an event's failure leaves by its wired `error` port (runtime.executor) rather
    than failing the run with the event's error status."""
    return bool(kind.error_port and event.next.get(ERROR))


class _Placement:
    """An event in an action, as its kind's output schemas and errors see it
    (nodes.kind.Placement): records are references to the document's schemas."""

    def __init__(self, builder: _Builder, action: Action, event: Any, kind: EventKind):
        self.b = builder
        self.action = action
        self.event_id = event.id
        self.settings = kind.settings_at(event.version, event.settings)

    def given(self, name: str) -> bool:
        """Whether an input is wired or set."""
        return self.settings.get(name) not in (None, "") or any(
            w.target == self.event_id and w.input == name for w in self.action.wires)

    def record(self, model: Any) -> dict:
        """A reference to the model's schema."""
        return self.b.model_ref(model if isinstance(model, str) else None)

    def user(self, profile: Any) -> dict:
        """A reference to the auth profile's user schema."""
        return self.b.user_ref(profile if isinstance(profile, str) else "")

    def unique(self, model: Any) -> bool:
        """Whether the model has a unique field."""
        found = self.b.project.model(model) if isinstance(model, str) else None
        return found is not None and any(f.unique for f in found.fields)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Status {status}"


# -- what an action answers ----------------------------------------------------------------------

class _Infer:
    """The schemas of an action's variables and response, as far as they can be known."""

    def __init__(self, builder: _Builder, action: Action, endpoint: Endpoint):
        self.b = builder
        self.action = action
        self.endpoint = endpoint
        self.definitions: dict[str, list[tuple[str, Any]]] = {}
        for g in action.variables:
            self.definitions.setdefault(g.name, []).append(("global", g))
        for event in action.events.values():
            kind = builder.kinds.get(event.kind)
            if kind is None:
                continue
            for port in kind.outputs:
                name = event.settings.get(kind.variable_setting(port.name))
                if isinstance(name, str) and name:
                    self.definitions.setdefault(name, []).append(("event", (event, kind, port.name)))
        self.resolving: set[str] = set()

    def answers(self) -> list[tuple[int, dict | None]]:
        """(status, body schema or None for no body) for the action and its Response events."""
        found = []
        for event in self.action.events.values():
            kind = self.b.kinds.get(event.kind)
            if kind is None or kind.answers is None:
                continue
            answer = kind.answers
            status = answer.status_at(event.settings)
            if not isinstance(status, int):
                continue
            if any(w.target == event.id and w.input == answer.value for w in self.action.wires):
                schema = {}
            else:
                schema = self.value(event.settings.get(answer.value))
            found.append((status, self.body(status, schema)))
        status = int(self.action.response_status or 200)
        found.append((status, self.body(status, self.value(self.action.response_value))))
        return found

    @staticmethod
    def body(status: int, schema: dict) -> dict | None:
        if status == 204 or status >= 300 and schema == NULL:
            return None
        return schema

    def value(self, raw: Any) -> dict:
        """The schema of a literal-or-expression value (runtime.compiler._Values.compile)."""
        if isinstance(raw, str):
            if raw.startswith("=="):
                return {"type": "string", "const": raw[1:]}
            if raw.startswith("="):
                return self.expression(raw[1:].strip())
            return {"type": "string", "const": raw}
        if raw is None:
            return dict(NULL)
        if isinstance(raw, bool):
            return {"type": "boolean", "const": raw}
        if isinstance(raw, int):
            return {"type": "integer", "const": raw}
        if isinstance(raw, float):
            return {"type": "number", "const": raw}
        if isinstance(raw, dict):
            return {"type": "object", "properties": {str(k): self.value(v) for k, v in raw.items()},
                    "required": [str(k) for k in raw]}
        if isinstance(raw, list):
            return {"type": "array", "items": union([self.value(v) for v in raw])} if raw else \
                {"type": "array", "maxItems": 0}
        return {}

    def expression(self, source: str) -> dict:
        try:
            node = ast.parse(source, mode="eval").body
        except (SyntaxError, ValueError):
            return {}
        return self.node(node)

    def node(self, node: ast.AST) -> dict:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return {"type": "string", "const": node.value}
            return self.value(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in NAMESPACES:
                return self.namespace(node.value.id, node.attr)
            return self.attribute(self.node(node.value), node.attr)
        if isinstance(node, ast.Compare) or isinstance(node, ast.UnaryOp) and \
                isinstance(node.op, ast.Not):
            return {"type": "boolean"}
        if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
            keys = [str(k.value) for k in node.keys]
            return {"type": "object", "properties": {k: self.node(v) for k, v in
                                                     zip(keys, node.values, strict=True)},
                    "required": keys}
        if isinstance(node, ast.List):
            return {"type": "array", "items": union([self.node(x) for x in node.elts])} \
                if node.elts else {"type": "array", "maxItems": 0}
        return {}

    def name(self, name: str) -> dict:
        if name in ("null", "None"):
            return dict(NULL)
        if name in ("true", "false"):
            return {"type": "boolean"}
        if name in NAMESPACES:
            return {"type": "object"}
        definitions = self.definitions.get(name)
        if not definitions or name in self.resolving:
            return {}
        self.resolving.add(name)
        try:
            return union([self.definition(how, what) for how, what in definitions])
        finally:
            self.resolving.discard(name)

    def definition(self, how: str, what: Any) -> dict:
        if how == "global":
            g = what
            if g.kind in ("Model", "Custom Model") and g.model and g.where:
                ref = self.b.model_ref(g.model)
                return ref if g.required else nullable(ref)
            if g.value is not None:
                return self.value(g.value)
            return dict(NULL)
        event, kind, port = what
        return self.output(event, kind, port)

    def output(self, event, kind: EventKind, port: str) -> dict:
        return kind.output_schema(port, _Placement(self.b, self.action, event, kind))

    def namespace(self, namespace: str, attr: str) -> dict:
        e = self.endpoint
        if namespace == "auth":
            return self.b.user_ref(e.auth) if attr == "user" and e.auth else {}
        variable = next((v for v in e.variables if v.location == namespace and v.name == attr), None)
        if variable is None:
            return {}
        if variable.kind in ("Model", "Custom Model") and namespace == "body":
            return {"type": "object", "properties": {
                f.name: nullable(stored(f.kind)) if stored(f.kind) else {}
                for f in self.b.model_fields(variable)}}
        schema = converted(variable.kind)
        if namespace != "path" and not variable.required:
            schema = nullable(schema)
        return schema

    def attribute(self, schema: dict, attr: str) -> dict:
        branches = schema["anyOf"] if set(schema) == {"anyOf"} else [schema]
        found = []
        for branch in branches:
            if branch == NULL:
                continue  # reading a field of null fails the run (500): no answer
            if "$ref" in branch:
                branch = self.b.schemas.get(branch["$ref"].rsplit("/", 1)[-1], {})
            properties = branch.get("properties")
            if not isinstance(properties, dict) or attr not in properties:
                return {}
            found.append(properties[attr] if attr in branch.get("required", []) else
                         nullable(properties[attr]))
        return union(found) if found else {}


# -- examples ------------------------------------------------------------------------------------

def resolve_ref(schema: dict, schemas: dict[str, dict]) -> dict:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 8:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        seen += 1
    return schema


def primary(schema: dict) -> dict:
    """The branch the docs show and examples use: the first that is not null nor deprecated."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [b for b in schema[key] if b != NULL and not b.get("deprecated")]
            if branches:
                return {**{k: v for k, v in schema.items() if k != key}, **branches[0]}
            return NULL if NULL in schema[key] else {}
    if "allOf" in schema and schema["allOf"]:
        return schema["allOf"][-1]
    return schema


def example(schema: dict, name: str = "", schemas: dict[str, dict] | None = None,
            depth: int = 0) -> Any:
    """A plausible value that fits `schema`, chosen by the name (email, price, ...)."""
    schemas = schemas or {}
    schema = primary(resolve_ref(schema, schemas))
    if "$ref" in schema:
        schema = primary(resolve_ref(schema, schemas))
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("examples"):
        return schema["examples"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    lowered = name.lower()
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {k: example(v, k, schemas, depth + 1)
                for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        if schema.get("maxItems") == 0 or depth > 4:
            return []
        return [example(schema.get("items") or {"type": "string"}, name.rstrip("s"), schemas,
                        depth + 1)]
    if kind == "integer":
        value = 42 if any(w in lowered for w in ("likes", "age", "views", "stock", "quantity")) else 1
        if "limit" in lowered:
            value = 20
        elif "offset" in lowered or lowered == "count":
            value = 0
        return max(schema.get("minimum", value), min(schema.get("maximum", value), value))
    if kind == "number":
        if lowered == "id" or lowered.endswith("_id"):
            return 1
        if "limit" in lowered:
            return 20
        if "offset" in lowered:
            return 0
        if any(w in lowered for w in ("price", "amount", "cost", "total")):
            return 19.99
        return 3
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return "2024-05-31"
        if fmt == "date-time":
            return "2024-05-31T14:30:00Z"
        if fmt == "binary":
            return "(file contents)"
        return _text_example(lowered, schema)
    return {"any": "JSON"} if not name else _text_example(lowered, {})


def _text_example(name: str, schema: dict) -> str:
    if "email" in name:
        return "ada@example.com"
    if "password" in name:
        return "correct horse battery staple"
    if "token" in name:
        return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."
    if "url" in name or "link" in name or "website" in name:
        return "https://example.com"
    if name in ("name", "full_name", "fullname", "user", "username", "author"):
        return "Ada Lovelace"
    if name in ("error", "message"):
        return "something went wrong"
    words = [w for w in re.split(r"[^a-z0-9]+", name) if w]
    return "example " + " ".join(words) if words else "text"
