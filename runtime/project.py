"""The project model: data models, endpoints and actions, built in code or loaded from a file."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from runtime.errors import Problem, ProjectError
from runtime.paths import path_template

FORMAT = 1

FIELD_KINDS = ("Text", "Integer", "Decimal", "Boolean", "Date", "DateTime", "JSON", "Link")
VARIABLE_KINDS = (
    "Text", "Integer", "Number", "Boolean", "Date", "DateTime", "JSON", "List", "Model",
    "Custom Model", "File",
)
LOCATIONS = ("path", "query", "header", "body")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REQUEST_TYPES = ("json", "multipart")
RESPONSE_TYPES = ("json", "csv", "html")
TRIGGER_TYPES = ("endpoint", "schedule", "action")
TRIGGER_NODE = "trigger"

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def path_variables(path: str) -> list[str]:
    """The names inside `{}` in an endpoint path, in order."""
    return list(path_template(path).variables)


@dataclass
class Field:
    """One column of a data model (besides the automatic `id` and `created_at`)."""

    name: str
    kind: str = "Text"
    required: bool = False
    unique: bool = False
    default: Any = None
    link: str | None = None  # the linked model's name when kind is "Link"
    id: str = ""
    # A Link's rule when the record it links to is deleted: "refuse" (409 naming the records
    # that link to it), "cascade" (delete them too) or "clear" (empty the link; not for a
    # required link). See runtime.store.Transaction.delete.
    on_delete: str = "refuse"


ON_DELETE = ("refuse", "cascade", "clear")


@dataclass
class Model:
    """A data model: one table."""

    name: str
    fields: list[Field] = field(default_factory=list)
    id: str = ""
    # Rows (field name -> value) a fresh database starts with: the file's `seed` section.
    seed: list[dict[str, Any]] = field(default_factory=list)

    def field(self, name: str) -> Field | None:
        """The field called `name`, or None."""
        return next((f for f in self.fields if f.name == name), None)


@dataclass
class Variable:
    """An endpoint variable: where it comes from (path/query/header/body), its kind, required."""

    name: str
    kind: str = "Text"
    location: str = "body"
    required: bool = True
    model: str | None = None  # for Model and Custom Model
    fields: list[str] = field(default_factory=list)  # chosen fields of a Custom Model
    description: str = ""


@dataclass
class Example:
    """A saved request of an endpoint (the Run panel's examples): its path, query, header, body."""

    name: str
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    body: Any = None


@dataclass
class Endpoint:
    """An HTTP endpoint: method, path, content types and the variables it accepts."""

    name: str
    method: str = "GET"
    path: str = "/"
    description: str = ""
    request_type: str = "json"
    response_type: str = "json"
    auth: str = ""
    variables: list[Variable] = field(default_factory=list)
    id: str = ""
    examples: list[Example] = field(default_factory=list)

    def example(self, name: str) -> Example | None:
        """The example called `name`, or None."""
        return next((x for x in self.examples if x.name == name), None)


@dataclass
class GlobalVariable:
    """A variable of an action, visible everywhere in it; a Model one may load a record by a Where."""

    name: str
    kind: str = "JSON"
    model: str | None = None
    where: Any = None  # a Where filter (see runtime.where) for Model variables
    value: Any = None  # initial literal, or "=expression"
    required: bool = True  # a Model variable whose Where finds nothing answers 404 when required


@dataclass
class Trigger:
    """What starts an action: an endpoint, a schedule or another action."""

    type: str = "endpoint"
    endpoint: str | None = None
    schedule: str | None = None
    action: str | None = None


@dataclass
class Event:
    """One node of an action graph: an event kind with its settings and flow links."""

    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    next: dict[str, str | None] = field(default_factory=dict)
    description: str = ""
    version: int = 1
    id: str = ""
    # A pinned output (a mock): {"outputs": {port: value}, "port": flow port}. Editor runs and
    # replays return it instead of running the event; `actiongraph serve` never uses it.
    pin: dict[str, Any] | None = None


@dataclass
class Wire:
    """A data wire from an event's output port to a later event's input port."""

    source: str  # event id
    output: str
    target: str  # event id
    input: str


@dataclass
class Action:
    """An action: a trigger, global variables, an event graph and a response."""

    name: str
    trigger: Trigger = field(default_factory=Trigger)
    variables: list[GlobalVariable] = field(default_factory=list)
    response_value: Any = None  # literal or "=expression"
    response_status: int = 200
    start: str | None = None  # the event the trigger leads to
    events: dict[str, Event] = field(default_factory=dict)
    wires: list[Wire] = field(default_factory=list)
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    id: str = ""
    # The action run, in a transaction of its own, when a run of this one fails (after its
    # rollback), with the failure as its variables (runtime.failures); "" for none.
    on_failure: str = ""

    def add_event(self, kind: str, *, after: str | None = None, port: str = "next",
                  description: str = "", **settings: Any) -> Event:
        """Add an event; link it after `after` (or from the trigger when the graph is empty)."""
        event = Event(kind=kind, settings=settings, description=description,
                      id=_next_id("n", self.events))
        self.events[event.id] = event
        if after is not None:
            self.link(after, event.id, port)
        elif self.start is None:
            self.start = event.id
        return event

    def link(self, source: str, target: str | None, port: str = "next") -> None:
        """Connect the flow port `port` of `source` (or the trigger) to `target`."""
        if source == TRIGGER_NODE:
            self.start = target
        else:
            self.events[source].next[port] = target

    def wire(self, source: str, output: str, target: str, input: str) -> Wire:
        """Wire an output port of one event to an input port of another."""
        self.wires = [w for w in self.wires if not (w.target == target and w.input == input)]
        wire = Wire(source, output, target, input)
        self.wires.append(wire)
        return wire


@dataclass
class AuthProfile:
    """Who may call an endpoint: a user of `model` with a valid token, passing `rule` if set."""

    name: str
    model: str = "Users"
    identifier: str = "email"  # the field a user logs in with
    password: str = "password"  # the field holding the password hash
    lifetime: int = 3600  # seconds a token stays valid
    rule: str | None = None  # e.g. "=user.role == 'admin'"; failing it answers 403


@dataclass
class MailSettings:
    """The SMTP server Send Email uses when serving (the editor delivers to its Outbox)."""

    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none, starttls, tls
    username: str = ""
    password: str = ""
    sender: str = "actiongraph@localhost"


@dataclass
class CorsSettings:
    """Which browser origins may call the API (runtime.cors answers for it); none by default."""

    origins: list[str] = field(default_factory=list)  # "https://app.example.com", or "*"
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    headers: list[str] = field(default_factory=lambda: ["Authorization", "Content-Type"])
    credentials: bool = False  # cookies and Authorization from the browser ("*" then refused)
    max_age: int = 600  # seconds a browser may keep a preflight answer


@dataclass
class HistorySettings:
    """What the run history (runtime.history) masks besides passwords, hashes and tokens."""

    mask: list[str] = field(default_factory=list)  # field/variable/header names, e.g. "ssn"


def new_secret() -> str:
    """A fresh secret for signing this project's login tokens."""
    return secrets.token_urlsafe(32)


@dataclass
class TestCase:
    """A test of an endpoint (the file's `tests`): the request to send, what it must answer and
    change, and the fixtures it starts with. runtime.testcases describes the keys; runtime.testing
    runs them."""

    __test__ = False  # not a pytest test class

    name: str
    endpoint: str = ""  # the endpoint's name (its method and path unless the request says)
    request: dict[str, Any] = field(default_factory=dict)  # method, path, params, query, ...
    expect: dict[str, Any] = field(default_factory=dict)  # status, body, paths, rows, mails, ...
    seed: bool = True  # start with the project's seed rows
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # model -> extra rows
    now: str | None = None  # a frozen clock (ISO date-time)
    mocks: list[dict[str, Any]] = field(default_factory=list)  # HTTP Request answers
    id: str = ""


@dataclass
class Settings:
    """Project-wide settings: login tokens, auth profiles, mail, outgoing HTTP."""

    secret: str = field(default_factory=new_secret)
    auth_profiles: list[AuthProfile] = field(default_factory=list)
    mail: MailSettings = field(default_factory=MailSettings)
    allow_private_http: bool = False  # let HTTP Request reach link-local/metadata addresses
    history: HistorySettings = field(default_factory=HistorySettings)
    cors: CorsSettings = field(default_factory=CorsSettings)

    def auth_profile(self, name: str) -> AuthProfile | None:
        """The auth profile called `name`, or None."""
        return next((p for p in self.auth_profiles if p.name == name), None)


@dataclass
class EnvVar:
    """An environment value the project's expressions read as `env.NAME` (an API key, a URL).
    Its value is never in the project file: the process environment or a `.env` file beside the
    project gives it (runtime.environ.environment_values)."""

    name: str
    description: str = ""
    secret: bool = False  # masked in the editor and the run history


@dataclass
class Project:
    """A whole back end: models, endpoints, actions, settings."""

    name: str = "Untitled"
    models: list[Model] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    tests: list[TestCase] = field(default_factory=list)
    environment: list[EnvVar] = field(default_factory=list)

    # -- lookups -------------------------------------------------------------
    def model(self, name: str) -> Model | None:
        """The model called `name`, or None."""
        return next((m for m in self.models if m.name == name), None)

    def endpoint(self, name: str) -> Endpoint | None:
        """The endpoint called `name`, or None."""
        return next((e for e in self.endpoints if e.name == name), None)

    def action(self, name: str) -> Action | None:
        """The action called `name`, or None."""
        return next((a for a in self.actions if a.name == name), None)

    # -- building ------------------------------------------------------------
    def add_model(self, name: str, fields: list[Field] | None = None) -> Model:
        """Add a data model; fields get stable ids."""
        model = Model(name=name, id=_next_id("m", [m.id for m in self.models]))
        for f in fields or []:
            self.add_field(model, f)
        self.models.append(model)
        return model

    def add_field(self, model: Model, f: Field) -> Field:
        """Add a field to a model, giving it a stable id unique in the project."""
        if not f.id:
            f.id = _next_id("f", [x.id for m in self.models + [model] for x in m.fields])
        model.fields.append(f)
        return f

    def add_endpoint(self, name: str, method: str, path: str,
                     variables: list[Variable] | None = None, **options: Any) -> Endpoint:
        """Add an endpoint."""
        endpoint = Endpoint(name=name, method=method, path=path, variables=list(variables or []),
                            id=_next_id("e", [e.id for e in self.endpoints]), **options)
        self.endpoints.append(endpoint)
        return endpoint

    def test(self, name: str) -> TestCase | None:
        """The test called `name`, or None."""
        return next((t for t in self.tests if t.name == name), None)

    def add_test(self, name: str, endpoint: str = "", **options: Any) -> TestCase:
        """Add a test case with a stable id."""
        test = TestCase(name=name, endpoint=endpoint,
                        id=_next_id("t", [t.id for t in self.tests]), **options)
        self.tests.append(test)
        return test

    def add_action(self, name: str, trigger: Trigger | None = None, **options: Any) -> Action:
        """Add an action."""
        action = Action(name=name, trigger=trigger or Trigger(),
                        id=_next_id("a", [a.id for a in self.actions]), **options)
        self.actions.append(action)
        return action


def _next_id(prefix: str, taken) -> str:
    """One more than the highest `prefix + n` taken, so a deleted id is not handed out again."""
    numbers = [int(t[len(prefix):]) for t in taken
               if t.startswith(prefix) and t[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


# -- to and from plain JSON data ---------------------------------------------

def to_data(project: Project) -> dict[str, Any]:
    """The project as JSON-ready data, keys in the file's stable order."""
    layout = {}
    for a in project.actions:
        if a.positions:
            layout[a.id] = {k: [_num(x), _num(y)] for k, (x, y) in sorted(a.positions.items(),
                                                                         key=_node_order)}
    data: dict[str, Any] = {
        "format": FORMAT,
        "name": project.name,
        "models": [_model_data(m) for m in project.models],
    }
    seed = {m.name: [_seed_row(m, row) for row in m.seed] for m in project.models if m.seed}
    if seed:  # absent when empty, so files without seed rows keep their bytes
        data["seed"] = seed
    data |= {
        "endpoints": [_endpoint_data(e) for e in project.endpoints],
        "actions": [_action_data(a) for a in project.actions],
    }
    if project.tests:  # absent when empty, so files without tests keep their bytes
        data["tests"] = [_test_data(t) for t in project.tests]
    if project.environment:  # absent when empty, as tests
        data["environment"] = [{"name": v.name, "description": v.description,
                                "secret": v.secret} for v in project.environment]
    return data | {
        "settings": _settings_data(project.settings),
        "layout": layout,
    }


def _test_data(t: TestCase) -> dict:
    """A test in the file: fixtures only when set, so a plain test is a short diff."""
    data: dict[str, Any] = {"id": t.id, "name": t.name}
    if t.endpoint:
        data["endpoint"] = t.endpoint
    data["request"] = dict(t.request)
    data["expect"] = dict(t.expect)
    if not t.seed:
        data["seed"] = False
    if t.rows:
        data["rows"] = {name: [dict(r) for r in rows] for name, rows in t.rows.items()}
    if t.now is not None:
        data["now"] = t.now
    if t.mocks:
        data["mocks"] = [dict(m) for m in t.mocks]
    return data


def _test_from(td: dict) -> TestCase:
    return TestCase(name=td["name"], endpoint=td.get("endpoint") or "",
                    request=dict(td.get("request") or {}), expect=dict(td.get("expect") or {}),
                    seed=td.get("seed", True),
                    rows={k: [dict(r) for r in v] for k, v in (td.get("rows") or {}).items()},
                    now=td.get("now"), mocks=[dict(m) for m in td.get("mocks") or []],
                    id=td.get("id", ""))


def _settings_data(s: Settings) -> dict:
    m = s.mail
    return {
        "secret": s.secret,
        "auth_profiles": [
            {"name": p.name, "model": p.model, "identifier": p.identifier, "password": p.password,
             "lifetime": p.lifetime, "rule": p.rule}
            for p in s.auth_profiles
        ],
        "mail": {"host": m.host, "port": m.port, "security": m.security, "username": m.username,
                 "password": m.password, "sender": m.sender},
        "allow_private_http": s.allow_private_http,
        # absent when empty, so files that mask nothing more keep their bytes
        **({"history": {"mask": list(s.history.mask)}} if s.history.mask else {}),
        **({"cors": _cors_data(s.cors)} if s.cors != CorsSettings() else {}),
    }


def _cors_data(c: CorsSettings) -> dict:
    return {"origins": list(c.origins), "methods": list(c.methods), "headers": list(c.headers),
            "credentials": c.credentials, "max_age": c.max_age}


def _cors_from(data: dict | None) -> CorsSettings:
    data, cors = data or {}, CorsSettings()
    for key in ("origins", "methods", "headers"):
        if key in data:
            setattr(cors, key, list(data[key]))
    cors.credentials = bool(data.get("credentials", cors.credentials))
    cors.max_age = data.get("max_age", cors.max_age)
    return cors


def _settings_from(data: dict) -> Settings:
    mail = data.get("mail") or {}
    defaults = MailSettings()
    return Settings(
        secret=data.get("secret") or "",
        auth_profiles=[AuthProfile(**{k: v for k, v in p.items()})
                       for p in data.get("auth_profiles") or []],
        mail=MailSettings(**{k: mail.get(k, getattr(defaults, k)) for k in
                             ("host", "port", "security", "username", "password", "sender")}),
        allow_private_http=bool(data.get("allow_private_http", False)),
        history=HistorySettings(mask=list((data.get("history") or {}).get("mask") or [])),
        cors=_cors_from(data.get("cors")),
    )


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(float(x), 2)


def _node_order(item) -> tuple:
    key = item[0]
    m = re.match(r"^([A-Za-z]*)(\d*)$", key)
    if key == TRIGGER_NODE:
        return (0, "", 0, key)
    if m:
        return (1, m.group(1), int(m.group(2) or 0), key)
    return (2, key, 0, key)


def _model_data(m: Model) -> dict:
    return {
        "id": m.id,
        "name": m.name,
        "fields": [
            {"id": f.id, "name": f.name, "kind": f.kind, "required": f.required,
             "unique": f.unique, "default": f.default, "link": f.link,
             **({"on_delete": f.on_delete} if f.kind == "Link" and f.on_delete != "refuse"
                else {})}
            for f in m.fields
        ],
    }


def _seed_row(m: Model, row: dict[str, Any]) -> dict[str, Any]:
    """A seed row in the model's field order; values of fields the model no longer has (renamed
    or removed in the editor) are left out, so a saved file always loads."""
    return {f.name: row[f.name] for f in m.fields if f.name in row}


def _endpoint_data(e: Endpoint) -> dict:
    data = {
        "id": e.id,
        "name": e.name,
        "method": e.method,
        "path": e.path,
        "description": e.description,
        "request_type": e.request_type,
        "response_type": e.response_type,
        "auth": e.auth,
        "variables": [
            {"name": v.name, "in": v.location, "kind": v.kind, "required": v.required,
             "model": v.model, "fields": list(v.fields), "description": v.description}
            for v in e.variables
        ],
    }
    if e.examples:  # absent when empty, so files without examples keep their bytes
        data["examples"] = [
            {"name": x.name, "path": dict(x.path), "query": dict(x.query),
             "header": dict(x.header), "body": x.body}
            for x in e.examples
        ]
    return data


def _action_data(a: Action) -> dict:
    trigger = {"type": a.trigger.type}
    if a.trigger.type == "endpoint":
        trigger["endpoint"] = a.trigger.endpoint
    elif a.trigger.type == "schedule":
        trigger["schedule"] = a.trigger.schedule
    else:
        trigger["action"] = a.trigger.action
    return {
        "id": a.id,
        "name": a.name,
        "trigger": trigger,
        "variables": [
            {"name": v.name, "kind": v.kind, "model": v.model, "where": v.where,
             "value": v.value, "required": v.required}
            for v in a.variables
        ],
        "response": {"value": a.response_value, "status": a.response_status},
        **({"on_failure": a.on_failure} if a.on_failure else {}),
        "start": a.start,
        "events": {
            eid: {"kind": e.kind, "version": e.version, "description": e.description,
                  "settings": e.settings, "next": e.next, **({"pin": e.pin} if e.pin else {})}
            for eid, e in sorted(a.events.items(), key=_node_order)
        },
        "wires": [
            {"from": f"{w.source}.{w.output}", "to": f"{w.target}.{w.input}"}
            for w in sorted(a.wires, key=lambda w: (_node_order((w.target,)), w.input))
        ],
    }


def from_data(data: dict[str, Any]) -> Project:
    """Build a Project from data that has passed the JSON Schema."""
    project = Project(name=data.get("name", "Untitled"),
                      settings=_settings_from(data.get("settings") or {}))
    for md in data.get("models", []):
        project.models.append(Model(
            name=md["name"], id=md.get("id", ""),
            fields=[Field(name=f["name"], kind=f.get("kind", "Text"),
                          required=f.get("required", False), unique=f.get("unique", False),
                          default=f.get("default"), link=f.get("link"), id=f.get("id", ""),
                          on_delete=f.get("on_delete", "refuse"))
                    for f in md.get("fields", [])]))
    for name, rows in (data.get("seed") or {}).items():
        model = project.model(name)
        if model is not None:
            model.seed = [dict(row) for row in rows]
    for ed in data.get("endpoints", []):
        project.endpoints.append(Endpoint(
            name=ed["name"], method=ed.get("method", "GET"), path=ed.get("path", "/"),
            description=ed.get("description", ""), request_type=ed.get("request_type", "json"),
            response_type=ed.get("response_type", "json"), auth=ed.get("auth") or "",
            id=ed.get("id", ""),
            variables=[Variable(name=v["name"], kind=v.get("kind", "Text"),
                                location=v.get("in", "body"), required=v.get("required", True),
                                model=v.get("model"), fields=list(v.get("fields") or []),
                                description=v.get("description", ""))
                       for v in ed.get("variables", [])],
            examples=[Example(name=x["name"], path=dict(x.get("path") or {}),
                              query=dict(x.get("query") or {}), header=dict(x.get("header") or {}),
                              body=x.get("body"))
                      for x in ed.get("examples") or []]))
    layout = data.get("layout", {})
    for ad in data.get("actions", []):
        td = ad.get("trigger", {})
        response = ad.get("response", {})
        action = Action(
            name=ad["name"], id=ad.get("id", ""),
            trigger=Trigger(type=td.get("type", "endpoint"), endpoint=td.get("endpoint"),
                            schedule=td.get("schedule"), action=td.get("action")),
            variables=[GlobalVariable(name=v["name"], kind=v.get("kind", "JSON"),
                                      model=v.get("model"), where=v.get("where"),
                                      value=v.get("value"), required=v.get("required", True))
                       for v in ad.get("variables", [])],
            response_value=response.get("value"), response_status=response.get("status", 200),
            start=ad.get("start"), on_failure=ad.get("on_failure") or "",
        )
        for eid, ev in ad.get("events", {}).items():
            action.events[eid] = Event(kind=ev["kind"], version=ev.get("version", 1),
                                       description=ev.get("description", ""),
                                       settings=dict(ev.get("settings", {})),
                                       next=dict(ev.get("next", {})), id=eid,
                                       pin=ev.get("pin"))
        for wd in ad.get("wires", []):
            source, output = wd["from"].split(".", 1)
            target, input_ = wd["to"].split(".", 1)
            action.wires.append(Wire(source, output, target, input_))
        action.positions = {k: (v[0], v[1]) for k, v in layout.get(action.id, {}).items()}
        project.actions.append(action)
    project.tests = [_test_from(td) for td in data.get("tests") or []]
    project.environment = [EnvVar(v["name"], v.get("description", ""), bool(v.get("secret")))
                           for v in data.get("environment") or []]
    return project


def locate(data: dict[str, Any], path: list) -> str:
    """Turn a JSON path into a readable place, e.g. `actions["Create shoe"].events["n5"]`."""
    out = ""
    node: Any = data
    for step in path:
        if isinstance(node, list) and isinstance(step, int):
            item = node[step] if step < len(node) else None
            # Seed rows are numbered: a row's `name` is data, not what the row is called.
            label = item.get("name") if isinstance(item, dict) and not out.startswith("seed") \
                else None
            out += f'["{label}"]' if isinstance(label, str) and label else f"[{step}]"
        elif out.endswith(KEYED):
            out += f'["{step}"]'
        else:
            out += f".{step}" if out else str(step)
        node = node[step] if isinstance(node, (list, dict)) and _has(node, step) else None
    return out


KEYED = ("events", "layout", "seed", "rows")


def _has(node, step) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(step, int) and 0 <= step < len(node)


def check_unique(items, what: str, where: str) -> list[Problem]:
    """Problems for names used twice in a list of named things."""
    seen: set[str] = set()
    problems = []
    for item in items:
        if item.name in seen:
            problems.append(Problem(f'{where}["{item.name}"]', f'{what} name "{item.name}" is used twice'))
        seen.add(item.name)
    return problems


__all__ = [
    "Action", "Endpoint", "EnvVar", "Event", "Example", "Field", "GlobalVariable", "Model", "Project",
    "ProjectError", "TestCase", "Trigger", "Variable", "Wire", "from_data", "to_data", "path_variables",
]
