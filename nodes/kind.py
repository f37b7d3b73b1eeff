"""How an event kind is declared: ports, settings, documentation and its `run` coroutine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

# Setting kinds the compiler knows how to check and the editor how to show.
SETTING_KINDS = (
    "model",      # the name of a data model
    "field_map",  # {field: literal or "=expression"} for the chosen model
    "where",      # a structured Where filter on the chosen model (see runtime.where)
    "order",      # [{"field": name, "dir": "asc"|"desc"}]
    "variable",   # the name of the variable the event's main output is stored as
    "text",
    "integer",
    "boolean",
    "choice",
    "action",     # the name of another action of the project
    "auth_profile",  # the name of one of the project's auth profiles
)

# Kinds of data ports; a wire is accepted when the kinds are compatible.
PORT_KINDS = ("Any", "Record", "Records", "Number", "Text", "Boolean", "List")


class Flow(NamedTuple):
    """What `run` returns to leave by a flow port other than `next` (e.g. Condition's `false`)."""

    port: str
    outputs: dict[str, Any] | None = None


class Each(NamedTuple):
    """What `run` returns to run the `each` branch once per item, then leave by `done`."""

    items: list


BREAK = Flow("break")  # what Break returns: leave the innermost loop's `each` branch

MAX_ITEMS = 10_000  # a loop runs its branch at most this many times per run


class Database(Protocol):
    """The run's database transaction, as events see it (`ctx.db`); rows are plain dicts."""

    def by_id(self, model: str, record_id: Any) -> Any:
        """A filter matching the record with this id."""

    def by_field(self, model: str, field_name: str, value: Any) -> Any:
        """A filter matching the records whose field has this value."""

    async def insert(self, model: str, values: dict[str, Any]) -> dict:
        """Insert a record; the new record with its id."""

    async def select(self, model: str, where: Any = None, order: Any = (),
                     limit: int | None = None, offset: int = 0) -> list[dict]:
        """The records matching a filter (a compiled `where` setting, or by_id/by_field)."""

    async def update(self, model: str, where: Any, values: dict[str, Any]) -> list[dict]:
        """Change the matching records; the records as they now are."""

    async def delete(self, model: str, where: Any) -> list[dict]:
        """Delete the matching records; the records as they were."""


class Context(Protocol):
    """What `run(ctx, inputs, settings)` receives: the only way an event reaches the world.

    The executor (runtime.executor.Context) provides it; a test may pass anything with these
    members. The database is the run's one transaction, so an event never commits."""

    db: Database
    action: str  # the name of the running action

    def fields(self, model: str) -> frozenset[str]:
        """The writable field names of a model."""

    def columns(self, model: str) -> dict[str, str]:
        """Every column of a model with its field kind (`id`, `created_at`, then the fields)."""

    def error(self, message: str, status: int = 500, exact: bool = False) -> Exception:
        """An error to raise: the run fails with this status, everything written is undone;
        `exact` keeps the message for clients as it is (without the event's name in front)."""

    def respond(self, value: Any, status: int = 200) -> None:
        """Set the action's response value and status."""

    def log(self, message: str, level: str = "info") -> None:
        """Write to the server log and the run's trace, naming the action and event."""

    def now(self) -> datetime:
        """The current time, timezone-aware (the run's clock: tests may freeze it)."""

    def remaining(self) -> float | None:
        """Seconds left before the run's time limit stops it (None: no limit)."""

    async def send_mail(self, **fields: Any) -> None:
        """Write a mail (to, cc, subject, text, html) into the outbox in the run's transaction;
        it leaves only after the commit (a kind that sends mail declares `writes=True`)."""

    async def call_action(self, name: str, values: dict[str, Any]) -> Any:
        """Run another action of the project in this transaction; its response value."""

    def service(self, name: str) -> Any:
        """A service of the runtime, or None when this run has none: "http" (the outgoing
        HTTP client), "auth" (login tokens), "mail" (the mailer), "clock"."""


class Placement(Protocol):
    """An event as placed in a project, as its kind's output schemas and errors see it (the
    API docs and the editor ask; nothing runs)."""

    settings: Mapping[str, Any]

    def given(self, name: str) -> bool:
        """Whether an input is wired or set, so the event always has a value for it."""

    def record(self, model: Any) -> dict:
        """The JSON schema of one record of a model (an object when there is no such model)."""

    def user(self, profile: Any) -> dict:
        """The JSON schema of the logged-in user of an auth profile."""

    def unique(self, model: Any) -> bool:
        """Whether a model has a unique field (so a write may conflict with a record)."""


Schema = Callable[[Placement], dict]


@dataclass(frozen=True)
class Port:
    """A data port. An unwired input takes its value from the setting of the same name."""

    name: str
    kind: str = "Any"
    doc: str = ""
    default: Any = None  # literal or "=expression" used when unwired and unset
    required: bool = False
    # An output's JSON schema for the API docs, e.g. a record of the `model` setting's model;
    # None leaves it open ({}).
    schema: Schema | None = None


@dataclass(frozen=True)
class Raises:
    """An error status an event may answer, and when (for the API docs)."""

    status: int | Callable[[Placement], int | None]  # a function when a setting chooses it
    when: str = ""
    only: Callable[[Placement], bool] | None = None  # None: wherever the event is

    def at(self, placement: Placement) -> int | None:
        """The status this event answers where it is placed, or None when it cannot."""
        if self.only is not None and not self.only(placement):
            return None
        status = self.status(placement) if callable(self.status) else self.status
        return status if isinstance(status, int) and not isinstance(status, bool) else None


@dataclass(frozen=True)
class Answer:
    """How a Response-like event sets the action's answer: the input holding the body and the
    setting holding the status. A flow that passed such an event has answered."""

    value: str = "value"
    status: str = "status"
    default_status: int = 200

    def status_at(self, settings: Mapping[str, Any]) -> Any:
        """The status the event answers with these settings (not checked: a setting may be off)."""
        return settings.get(self.status) or self.default_status


@dataclass(frozen=True)
class Setting:
    """A setting of an event, edited in the properties panel."""

    name: str
    kind: str
    doc: str = ""
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()


Run = Callable[[Any, dict[str, Any], dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class EventKind:
    """The one declaration of an event kind, shared by the runtime and the editor."""

    id: str
    name: str
    category: str
    doc: str
    run: Run
    inputs: tuple[Port, ...] = ()
    outputs: tuple[Port, ...] = ()
    settings: tuple[Setting, ...] = ()
    flow_out: tuple[str, ...] = ("next",)
    version: int = 1
    writes: bool = False  # whether it may write to the database (takes the write lock at start)
    # Whether it may read the database (`ctx.db`). True unless declared otherwise, so a plug-in's
    # kind keeps its transaction; an action whose events neither read nor write runs without one.
    reads: bool = True
    # The setting naming another action this event runs in the same transaction (Call Action):
    # the compiler counts that action's database use instead of this kind's `reads`/`writes`.
    calls: str | None = None
    loops: bool = False  # returns Each: runs its `each` branch per item, then leaves by `done`
    breaks: bool = False  # returns BREAK: only allowed inside a loop's `each` branch
    fail_port: str | None = None  # a flow port that, left unwired, fails the run instead
    # Whether the event has an `error` flow port (see ERROR); None: decided from the rest of the
    # declaration by `can_fail`, the one place that says which events can fail.
    error_port: bool | None = None
    # The error statuses a run of this event may answer, with when; a plain int is an
    # error it may answer anywhere. The API docs list the 4xx.
    errors: tuple[Raises | int, ...] = ()
    answers: Answer | None = None  # set for an event that sets the action's response
    legacy_ids: tuple[str, ...] = ()
    summary: Callable[[dict[str, Any]], str] | None = None  # the node's face, e.g. "-> Shoes"
    upgrade: Callable[[int, dict[str, Any]], dict[str, Any]] | None = None  # old settings -> new

    def __post_init__(self):
        if self.error_port is None:
            object.__setattr__(self, "error_port", self.fail_port == ERROR or (
                self.fail_port is None and can_fail(self)))
        if self.error_port and ERROR not in self.flow_out:
            object.__setattr__(self, "flow_out", (*self.flow_out, ERROR))
            object.__setattr__(self, "fail_port", ERROR)

    def setting(self, name: str) -> Setting | None:
        """The setting called `name`, or None."""
        return next((s for s in self.settings if s.name == name), None)

    def input(self, name: str) -> Port | None:
        """The input port called `name`, or None."""
        return next((p for p in self.inputs if p.name == name), None)

    def variable_setting(self, output: str) -> str:
        """The setting naming the variable an output is stored as: `as` for the first."""
        return "as" if self.outputs and self.outputs[0].name == output else f"{output}_as"

    def output(self, name: str) -> Port | None:
        """The output port called `name`, or None."""
        return next((p for p in self.outputs if p.name == name), None)

    def describe(self, settings: dict[str, Any]) -> str:
        """The short text on the node's face."""
        return self.summary(settings) if self.summary else ""

    def output_schema(self, name: str, placement: Placement) -> dict:
        """The JSON schema of an output where the event is placed ({} when not declared)."""
        port = self.output(name)
        return port.schema(placement) if port is not None and port.schema else {}

    def statuses(self, placement: Placement) -> set[int]:
        """The error statuses the event may answer where it is placed."""
        found = (e.at(placement) if isinstance(e, Raises) else e for e in self.errors)
        return {status for status in found if status is not None}

    def settings_at(self, version: int, settings: dict[str, Any]) -> dict[str, Any]:
        """Settings saved by an older version of the kind, as this version reads them."""
        return self.upgrade(version, settings) if version < self.version and self.upgrade \
            else settings


# The flow port a failed event leaves by when it is wired. The event's own writes are undone (a
# savepoint), the rest of the run's stand, and the branch reads the failure as the variable
# `error`: {message, status, event, action}. Left unwired, the failure fails the run as before.
ERROR = "error"
ERROR_FIELDS = ("message", "status", "event", "action")


def can_fail(kind: EventKind) -> bool:
    """Whether an event of this kind can fail so that catching it makes sense: it declares the
    errors it answers, writes or calls an action (a plug-in's kind declares `errors`, or sets
    `error_port`). Not an event that answers or raises (Response, Raise Error), a loop, Break,
    nor one that only routes the flow or computes (Condition, Assign, Math, Text)."""
    if kind.answers is not None or kind.loops or kind.breaks or kind.flow_out == ():
        return False
    return bool(kind.errors) or kind.writes or kind.calls is not None


class InputProblem(Exception):
    """Bad input for an event's operation; the event turns it into its error (with a status)."""

    def __init__(self, message: str, status: int = 500):
        super().__init__(message)
        self.status = status


def describe_value(value: Any) -> str:
    """The kind of a value in the user's words ("a number", "text", "a list" ...)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    return {str: "text", list: "a list", dict: "an object", type(None): "null"}.get(
        type(value), type(value).__name__)


def compatible(output_kind: str, input_kind: str) -> bool:
    """Whether a wire from an output of one kind to an input of another is allowed."""
    if "Any" in (output_kind, input_kind) or output_kind == input_kind:
        return True
    return (output_kind, input_kind) in {("Records", "List"), ("List", "Records"),
                                         ("Number", "Text"), ("Boolean", "Text")}


NULL: dict = {"type": "null"}


def nullable(schema: dict) -> dict:
    """The schema, or null."""
    if not schema or schema == NULL:
        return schema
    if "anyOf" in schema and len(schema) == 1:
        branches = schema["anyOf"]
        return schema if NULL in branches else {"anyOf": [*branches, NULL]}
    kind = schema.get("type")
    if kind is not None and not {"const", "enum", "anyOf", "allOf", "oneOf", "$ref", "not"} & set(schema):
        types = kind if isinstance(kind, list) else [kind]
        return schema if "null" in types else {**schema, "type": [*types, "null"]}
    return {"anyOf": [schema, NULL]}


@dataclass(frozen=True)
class Placed:
    """A Placement from settings alone (the editor's, and tests'): an input is given when its
    setting is set or it is in `wired`; a record's schema names its model under "x-model"."""

    settings: Mapping[str, Any]
    wired: frozenset[str] = frozenset()

    def given(self, name: str) -> bool:
        """Whether an input is wired or set."""
        return name in self.wired or self.settings.get(name) not in (None, "")

    def record(self, model: Any) -> dict:
        """An object naming its model (see record_model)."""
        return {"type": "object", "x-model": model} if isinstance(model, str) and model else \
            {"type": "object"}

    def user(self, profile: Any) -> dict:
        """An object: settings alone do not tell the user's model."""
        return {"type": "object"}

    def unique(self, model: Any) -> bool:
        """Settings alone do not tell: assume a model may have a unique field."""
        return True


def record_model(schema: dict) -> str | None:
    """The model whose record (or null) a schema from Placed.record describes, or None."""
    branches = [b for b in schema.get("anyOf", [schema]) if b != NULL]
    model = branches[0].get("x-model") if len(branches) == 1 else None
    return model if isinstance(model, str) else None


def model_summary(prefix: str) -> Callable[[dict[str, Any]], str]:
    """A face like `-> Shoes` from the `model` setting."""
    def summary(settings: dict[str, Any]) -> str:
        model = settings.get("model") or "?"
        target = settings.get("as")
        return f"{prefix} {model}" + (f" as {target}" if target else "")
    return summary
