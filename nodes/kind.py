"""How an event kind is declared: ports, settings, documentation and its `run` coroutine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

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


@dataclass(frozen=True)
class Port:
    """A data port. An unwired input takes its value from the setting of the same name."""

    name: str
    kind: str = "Any"
    doc: str = ""
    default: Any = None  # literal or "=expression" used when unwired and unset
    required: bool = False


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
    loops: bool = False  # returns Each: runs its `each` branch per item, then leaves by `done`
    breaks: bool = False  # returns BREAK: only allowed inside a loop's `each` branch
    fail_port: str | None = None  # a flow port that, left unwired, fails the run instead
    # The 4xx statuses a run of this event may answer (5xx aside), for the API docs
    # (runtime.openapi refines some by settings, e.g. Query's 404 only with if_none=404).
    errors: tuple[int, ...] = ()
    legacy_ids: tuple[str, ...] = ()
    summary: Callable[[dict[str, Any]], str] | None = None  # the node's face, e.g. "-> Shoes"
    upgrade: Callable[[int, dict[str, Any]], dict[str, Any]] | None = None  # old settings -> new

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


def model_summary(prefix: str) -> Callable[[dict[str, Any]], str]:
    """A face like `-> Shoes` from the `model` setting."""
    def summary(settings: dict[str, Any]) -> str:
        model = settings.get("model") or "?"
        target = settings.get("as")
        return f"{prefix} {model}" + (f" as {target}" if target else "")
    return summary
