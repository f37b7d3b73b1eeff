"""Compile a project into plans: every check once per revision, no graph walking per request."""

from __future__ import annotations

import ast
import copy
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nodes import catalogue, missing
from nodes.kind import ERROR, ERROR_FIELDS, EventKind, Flow, Placed, compatible, record_model
from runtime import cors, expressions, testcases
from runtime.errors import ActionError, Problem, ProjectError
from runtime.kinds import KindError, convert_field
from runtime.paths import path_template
from runtime.project import (
    FIELD_KINDS,
    LOCATIONS,
    METHODS,
    NAME_RE,
    ON_DELETE,
    VARIABLE_KINDS,
    Action,
    Endpoint,
    Event,
    Project,
)
from runtime.schedule import parse_schedule
from runtime.where import compile_where, describe, field_kinds

# The endpoint's variables, auth.user when logged in, and the project's environment values.
NAMESPACES = LOCATIONS + ("auth", "env")
RESERVED = set(NAMESPACES) | {"id", "created_at"}
# Paths the server answers itself (API docs, health checks): no endpoint may take them.
RESERVED_PATHS = {"/openapi.json": "the OpenAPI document", "/docs": "the API docs page",
                  "/healthz": "the health check", "/readyz": "the readiness check"}

Evaluator = Callable[[dict], Any]


def constant(value: Any) -> Evaluator:
    """An evaluator that gives a literal (a fresh copy when it could be changed)."""
    if isinstance(value, (dict, list)):
        return lambda scope: copy.deepcopy(value)
    return lambda scope: value


@dataclass
class Step:
    """One compiled event: how to compute its inputs and settings, and where each port leads."""

    id: str
    kind: EventKind
    inputs: tuple[tuple[str, Evaluator], ...]
    static: dict[str, Any]
    dynamic: tuple[tuple[str, Callable[[dict, Any], Any]], ...]
    outputs: tuple[tuple[str, str], ...]  # (output port, scope slot)
    next: dict[str, Step | None] = field(default_factory=dict)
    label: str = ""
    pin: Any = None  # what the event returns when pins apply (editor runs): outputs or a Flow
    # Its `error` port is wired and it may touch the database: the run takes a savepoint before
    # it, so a failure undoes only its writes (nothing is taken on any other step).
    savepoint: bool = False

    def settings(self, scope: dict, tx) -> dict[str, Any]:
        """The settings for this run: static ones shared, expression ones evaluated."""
        if not self.dynamic:
            return self.static
        values = dict(self.static)
        for name, resolve in self.dynamic:
            values[name] = resolve(scope, tx)
        return values


@dataclass
class GlobalLoader:
    """How a global variable gets its value at the start of a run."""

    name: str
    kind: str
    model: str | None
    where: Callable | None
    value: Evaluator | None
    required: bool
    where_text: str = ""


NONE, READS, WRITES = "none", "reads", "writes"  # ActionPlan.database, least to most
_LEVEL = {NONE: 0, READS: 1, WRITES: 2}


@dataclass
class ActionPlan:
    """A compiled action: its globals, first step and response."""

    action: Action
    globals: tuple[GlobalLoader, ...]
    start: Step | None
    steps: dict[str, Step]
    response: Evaluator
    status: int
    # What the run does with tables, including the actions it calls: NONE (no transaction is
    # opened), READS (a read-only transaction, no write lock) or WRITES (the write transaction).
    database: str
    calls: tuple[str | None, ...] = ()  # actions its Call Action events run (None: not known)

    @property
    def writes(self) -> bool:
        """Whether a run may write (and so takes the write lock)."""
        return self.database == WRITES


@dataclass
class EndpointPlan:
    """A compiled endpoint: the endpoint and the action it triggers (if any)."""

    endpoint: Endpoint
    action: ActionPlan | None


@dataclass
class CompiledProject:
    """A project revision ready to serve."""

    project: Project
    revision: int
    actions: dict[str, ActionPlan]
    endpoints: list[EndpointPlan]
    auth_rules: dict[str, Evaluator] = field(default_factory=dict)


@dataclass
class Checked:
    """One compile of a project: every problem (warnings included) and, when none of them is
    an error, the plan to serve (the editor's Problems list and its live server share it)."""

    project: Project
    compiled: CompiledProject | None  # None when a problem is an error
    problems: list[Problem]


def check(project: Project, revision: int = 0,
          kinds: dict[str, EventKind] | None = None) -> Checked:
    """Check and compile a project once: its problems and, when it has no error, its plan.
    The plan refers to `project`'s objects (compile a copy that nobody edits to serve it)."""
    compiler = Compiler(project, kinds or catalogue())
    compiled = compiler.run(revision)
    # warnings (events the flow never reaches) do not stop a project from being served
    if any(p.severity == "error" for p in compiler.problems):
        compiled = None
    return Checked(project, compiled, compiler.problems)


def compile_project(project: Project, revision: int = 1,
                    kinds: dict[str, EventKind] | None = None) -> CompiledProject:
    """Check and compile a project; raises ProjectError listing every problem."""
    checked = check(project, revision, kinds)
    if checked.compiled is None:
        raise ProjectError(checked.problems)
    return checked.compiled


def check_project(project: Project, kinds: dict[str, EventKind] | None = None) -> list[Problem]:
    """Every problem of a project, warnings included (empty when there is nothing to say)."""
    return check(project, 0, kinds).problems


class Compiler:
    """Walks a project once, collecting located problems and building plans."""

    def __init__(self, project: Project, kinds: dict[str, EventKind]):
        self.project = project
        self.kinds = kinds
        self.problems: list[Problem] = []
        self.scopes: dict[tuple[str, str], set[str]] = {}  # (action, event) -> names it can read

    def problem(self, where: str, message: str) -> None:
        """Record a problem at a place."""
        self.problems.append(Problem(where, message))

    # -- whole project -----------------------------------------------------
    def run(self, revision: int) -> CompiledProject:
        """Check models and endpoints, compile actions, bind endpoints to actions."""
        p = self.project
        self._unique(p.models, "models", "model")
        self._unique(p.endpoints, "endpoints", "endpoint")
        self._unique(p.actions, "actions", "action")
        for m in p.models:
            self._check_model(m)
        routes: dict[tuple[str, str], str] = {}
        for e in p.endpoints:
            self._check_endpoint(e)
            key = (e.method, _route_shape(e.path))
            if key in routes:
                self.problem(f'endpoints["{e.name}"].path',
                             f'{e.method} {e.path} is also served by endpoint "{routes[key]}"')
            routes.setdefault(key, e.name)
        actions: dict[str, ActionPlan] = {}
        by_endpoint: dict[str, ActionPlan] = {}
        for a in p.actions:
            plan = self._compile_action(a)
            if plan is None:
                continue
            actions[a.name] = plan
            if a.trigger.type == "endpoint" and a.trigger.endpoint:
                if a.trigger.endpoint in by_endpoint:
                    other = by_endpoint[a.trigger.endpoint].action.name
                    self.problem(f'actions["{a.name}"].trigger.endpoint',
                                 f'endpoint "{a.trigger.endpoint}" already triggers action "{other}"')
                by_endpoint.setdefault(a.trigger.endpoint, plan)
        _settle_database(actions)
        self.problems += testcases.problems(p)  # warnings: a test of something deleted
        self._check_environment()
        self.problems += cors.problems(p.settings.cors)
        endpoints = [EndpointPlan(e, by_endpoint.get(e.name)) for e in p.endpoints]
        return CompiledProject(p, revision, actions, endpoints, self._auth_profiles())

    def _check_environment(self) -> None:
        """The declared environment values: names as variables have them, each once."""
        seen: set[str] = set()
        for i, v in enumerate(self.project.environment):
            where = f"environment[{i}].name"
            if not NAME_RE.match(v.name or ""):
                self.problem(where, "a name starts with a letter or _ and has only letters, "
                                    "digits and _ (as environment variables have)")
            elif v.name in seen:
                self.problem(where, f'"{v.name}" is declared twice')
            seen.add(v.name)

    def _auth_profiles(self) -> dict[str, Evaluator]:
        """Check the auth profiles; compile their rules (which see `user`)."""
        rules = {}
        values = _Values(self, {})
        values.all_names = {"user"}
        seen = set()
        for profile in self.project.settings.auth_profiles:
            where = f'settings.auth_profiles["{profile.name}"]'
            if profile.name in seen:
                self.problem(where, f'two auth profiles are called "{profile.name}"')
            seen.add(profile.name)
            model = self.project.model(profile.model)
            if model is None:
                self.problem(f"{where}.model", f'unknown model "{profile.model}"')
            else:
                for key in ("identifier", "password"):
                    name = getattr(profile, key)
                    if not model.field(name):
                        self.problem(f"{where}.{key}", f'{model.name} has no field "{name}"')
            if profile.rule:
                rule = profile.rule if profile.rule.startswith("=") else "=" + profile.rule
                evaluator = values.compile(rule, f"{where}.rule", {"user"},
                                           context="in a rule (only user is there)")
                if evaluator is not None:
                    rules[profile.name] = evaluator
        return rules

    def _unique(self, items, where: str, what: str) -> None:
        seen = set()
        for item in items:
            if item.name in seen:
                self.problem(f'{where}["{item.name}"]', f'two {what}s are called "{item.name}"')
            seen.add(item.name)

    # -- models --------------------------------------------------------------
    def _check_model(self, m) -> None:
        where = f'models["{m.name}"]'
        if not NAME_RE.match(m.name):
            self.problem(f"{where}.name", "a model name starts with a letter and has only "
                                          "letters, digits and _")
        seen = set()
        for f in m.fields:
            fw = f'{where}.fields["{f.name}"]'
            if not NAME_RE.match(f.name):
                self.problem(f"{fw}.name", "a field name starts with a letter and has only "
                                           "letters, digits and _")
            if f.name in ("id", "created_at"):
                self.problem(f"{fw}.name", f'"{f.name}" is added automatically; pick another name')
            if f.name in seen:
                self.problem(f"{fw}.name", f'two fields are called "{f.name}"')
            seen.add(f.name)
            if f.kind not in FIELD_KINDS:
                self.problem(f"{fw}.kind", f'unknown kind "{f.kind}" (one of {", ".join(FIELD_KINDS)})')
                continue
            if f.kind == "Link" and not self.project.model(f.link or ""):
                self.problem(f"{fw}.link", f'unknown model "{f.link}"')
            if f.on_delete not in ON_DELETE:
                self.problem(f"{fw}.on_delete", f'unknown rule "{f.on_delete}" (one of '
                                                f'{", ".join(ON_DELETE)})')
            elif f.on_delete == "clear" and f.required:
                self.problem(f"{fw}.on_delete", 'a required link cannot be cleared when the '
                                                'record it links to is deleted: use "refuse" or '
                                                '"cascade"')
            if f.default is not None:
                try:
                    convert_field(f.kind, f.default)
                except KindError as e:
                    self.problem(f"{fw}.default", str(e))

    # -- endpoints -------------------------------------------------------------
    def _check_endpoint(self, e: Endpoint) -> None:
        where = f'endpoints["{e.name}"]'
        if e.method not in METHODS:
            self.problem(f"{where}.method", f'unknown method "{e.method}" (one of {", ".join(METHODS)})')
        if not e.path.startswith("/"):
            self.problem(f"{where}.path", 'a path starts with "/", e.g. /v1/posts/{id}')
        reserved = RESERVED_PATHS.get(e.path.rstrip("/") or "/")
        if reserved:
            self.problem(f"{where}.path", f'endpoint "{e.name}" cannot use {e.path}: the server '
                                          f"answers it with {reserved}; pick another path")
        if e.auth and not self.project.settings.auth_profile(e.auth):
            self.problem(f"{where}.auth", f'unknown auth profile "{e.auth}"' + _did_you_mean(
                e.auth, [p.name for p in self.project.settings.auth_profiles]))
        in_path = path_template(e.path).variables
        for name in in_path:
            if not NAME_RE.match(name):
                self.problem(f"{where}.path", f'"{{{name}}}" is not a valid variable name')
        declared = [v.name for v in e.variables if v.location == "path"]
        for name in in_path:
            if name not in declared:
                near = _near(name, declared)
                self.problem(f"{where}.path", f'"{{{name}}}" in the path has no path variable'
                             + (f' (there is "{near}": names must match in spelling and '
                                'capitalisation)' if near else ""))
        seen = set()
        for v in e.variables:
            vw = f'{where}.variables["{v.name}"]'
            if (v.location, v.name) in seen:
                self.problem(vw, f'two {v.location} variables are called "{v.name}"')
            seen.add((v.location, v.name))
            if not NAME_RE.match(v.name) and v.location != "header":
                self.problem(f"{vw}.name", "a variable name starts with a letter and has only "
                                           "letters, digits and _")
            if v.location not in LOCATIONS:
                self.problem(f"{vw}.in", f'unknown place "{v.location}" (one of {", ".join(LOCATIONS)})')
            if v.kind not in VARIABLE_KINDS:
                self.problem(f"{vw}.kind", f'unknown kind "{v.kind}"')
            if v.location == "path" and v.name not in in_path:
                near = _near(v.name, in_path)
                self.problem(vw, f'path variable "{v.name}" is not in the path {e.path}'
                             + (f' (the path has "{{{near}}}": names must match in spelling and '
                                'capitalisation)' if near else ""))
            if v.location != "body" and v.kind in ("Model", "Custom Model", "JSON", "List", "File"):
                self.problem(f"{vw}.kind", f"a {v.location} variable cannot be of kind {v.kind}; "
                                           "use a body variable")
            if v.kind in ("Model", "Custom Model"):
                model = self.project.model(v.model or "")
                if model is None:
                    self.problem(f"{vw}.model", f'unknown model "{v.model}"')
                elif v.kind == "Custom Model":
                    if not v.fields:
                        self.problem(f"{vw}.fields", "choose at least one field of "
                                                     f"{model.name}")
                    for name in v.fields:
                        if not model.field(name):
                            self.problem(f"{vw}.fields", f'{model.name} has no field "{name}"')
            if v.kind == "File" and e.request_type != "multipart":
                self.problem(f"{vw}.kind", "a File variable needs the multipart request type")

    # -- actions -------------------------------------------------------------------
    def _compile_action(self, a: Action) -> ActionPlan | None:
        where = f'actions["{a.name}"]'
        before = len(self.problems)
        endpoint = None
        t = a.trigger
        if t.type == "endpoint":
            endpoint = self.project.endpoint(t.endpoint or "")
            if endpoint is None:
                self.problem(f"{where}.trigger.endpoint", f'unknown endpoint "{t.endpoint}"'
                             + _did_you_mean(t.endpoint, [e.name for e in self.project.endpoints]))
        elif t.type == "action" and t.action and not self.project.action(t.action):
            self.problem(f"{where}.trigger.action", f'unknown action "{t.action}"')
        elif t.type == "schedule":
            try:
                parse_schedule(t.schedule or "")
            except ValueError as e:
                self.problem(f"{where}.trigger.schedule", str(e))
        elif t.type != "action":
            self.problem(f"{where}.trigger.type", f'unknown trigger "{t.type}"')

        fields_of = {loc: {v.name for v in endpoint.variables if v.location == loc}
                     for loc in LOCATIONS} if endpoint else {loc: set() for loc in LOCATIONS}
        fields_of["auth"] = {"user"} if endpoint and endpoint.auth else set()
        fields_of["env"] = {v.name for v in self.project.environment}
        scope_names: set[str] = set(NAMESPACES)
        values = _Values(self, fields_of, _body_records(self.project, endpoint))

        loaders = []
        for g in a.variables:
            gw = f'{where}.variables["{g.name}"]'
            if not NAME_RE.match(g.name):
                self.problem(f"{gw}.name", "a variable name starts with a letter and has only "
                                           "letters, digits and _")
            if g.name in scope_names:
                self.problem(f"{gw}.name", f'"{g.name}" is already a variable of this action')
            if g.kind not in VARIABLE_KINDS:
                self.problem(f"{gw}.kind", f'unknown kind "{g.kind}"')
            resolver = None
            if g.kind in ("Model", "Custom Model"):
                model = self.project.model(g.model or "")
                if model is None:
                    self.problem(f"{gw}.model", f'unknown model "{g.model}"')
                elif g.where:
                    resolver = compile_where(g.where, model, f"{gw}.where",
                                             lambda raw, w, names=scope_names: values.compile(raw, w, names),
                                             self.problems)
            value = values.compile(g.value, f"{gw}.value", scope_names) \
                if g.value is not None else None
            loaders.append(GlobalLoader(g.name, g.kind, g.model, resolver, value, g.required,
                                        describe(g.where)))
            scope_names = scope_names | {g.name}

        if a.on_failure:
            target = self.project.action(a.on_failure)
            if target is None:
                self.problem(f"{where}.on_failure", f'unknown action "{a.on_failure}"'
                             + _did_you_mean(a.on_failure, [x.name for x in self.project.actions]))
            elif target is a:
                self.problem(f"{where}.on_failure", "an action cannot be its own on-failure "
                                                    "action")
        if any(x.on_failure == a.name for x in self.project.actions):
            scope_names = scope_names | {ERROR}  # the failure it runs for (runtime.failures)

        graph = _Graph(self, a, where)
        steps: dict[str, Step] = {}
        order = graph.order()
        variables = {eid: self._variables(e) for eid, e in a.events.items()}
        values.all_names = set(scope_names).union(*variables.values())
        if any(e.next.get(ERROR) for e in a.events.values()):
            values.all_names.add(ERROR)  # there on its error branches only
        bodies = graph.bodies(order)
        defined_after: dict[str, set[str]] = {}
        dominators_after: dict[str, set[str]] = {}
        failed_after: dict[str, set[str]] = {}  # events that failed on every path (error branch)
        database = READS if any(g.where is not None for g in loaders) else NONE
        calls: list[str | None] = []

        def caught(p: str, eid: str) -> bool:
            # Whether `eid` follows `p` only by p's error port and p's outputs are not given
            # then (an event that raised; HTTP Request gives its outputs on `error`).
            event, kind = a.events[p], self.kinds.get(a.events[p].kind)
            return (kind is not None and kind.error_port and event.next.get(ERROR) == eid
                    and kind.output(ERROR) is None
                    and not any(t == eid for port, t in event.next.items() if port != ERROR))

        def edge(p: str, eid: str) -> set[str]:
            # After a loop's `done`, its item and index are gone.
            if p in bodies and a.events[p].next.get("done") == eid:
                return defined_after[p] - variables[p]
            event, kind = a.events[p], self.kinds.get(a.events[p].kind)
            if kind is not None and kind.error_port and event.next.get(ERROR) == eid:
                # On the error branch the failure is `error`; a failed event's outputs are not.
                names = self.scopes[(a.name, p)] | {ERROR}
                if not caught(p, eid):
                    names |= variables[p] if kind.output(ERROR) is not None else set()
                    if any(t == eid for port, t in event.next.items() if port != ERROR):
                        names &= defined_after[p]
                return names
            return defined_after[p]

        for eid in order:
            event = a.events[eid]
            preds = graph.preds[eid]
            if preds:
                defined = set.intersection(*(edge(p, eid) for p in preds))
                dominators = set.intersection(*(dominators_after[p] for p in preds))
                failed = set.intersection(*(failed_after[p] | ({p} if caught(p, eid) else set())
                                            for p in preds))
            else:
                defined, dominators, failed = set(scope_names), set(), set()
            kind = self.kinds.get(event.kind)
            inside = {loop for loop, body in bodies.items() if eid in body}
            step = self._compile_event(a, event, kind, defined, dominators, values, bodies,
                                       inside, failed)
            defined_after[eid] = defined | variables[eid]
            dominators_after[eid] = dominators | {eid}
            failed_after[eid] = failed
            self.scopes[(a.name, eid)] = defined
            if step is not None:
                steps[eid] = step
                if step.kind.calls:  # counts as what the called action does
                    target = step.static.get(step.kind.calls)
                    calls.append(target if isinstance(target, str) else None)
                elif step.kind.writes:
                    database = WRITES
                elif step.kind.reads and database == NONE:
                    database = READS
        self._check_unreached(a, order, scope_names, variables, values)
        for eid, step in steps.items():
            step.next = {port: steps.get(target) if target else None
                         for port, target in a.events[eid].next.items()}
            step.savepoint = step.kind.error_port and step.next.get(ERROR) is not None and (
                step.kind.writes or step.kind.reads or step.kind.calls is not None)
        for i, w in enumerate(a.wires):  # a wire to an event that is gone (an edited file);
            if w.target in a.events:  # one from a missing event is reported at its target
                continue
            self.problem(f"{where}.wires[{i}].to", f'a wire to event "{w.target}", which does '
                                                   "not exist")
            if w.source not in a.events:
                self.problem(f"{where}.wires[{i}].from", f'a wire from event "{w.source}", '
                                                         "which does not exist")
        exits = graph.exits(defined_after, set().union(*bodies.values()))
        response_names = set.intersection(*exits) if exits else set(scope_names)
        if a.start is not None and not exits:
            # Every path ends in a Response or a Raise Error: the response value is never used,
            # so it is not held to names that no path sets.
            response_names = set(values.all_names) | set(scope_names)
        response = values.compile(a.response_value, f"{where}.response.value", response_names,
                                  context="at the end of every path that sets no Response")
        if not 100 <= int(a.response_status or 200) <= 599:
            self.problem(f"{where}.response.status", "a status code is between 100 and 599")
        if any(p.severity == "error" for p in self.problems[before:]):
            return None
        return ActionPlan(a, tuple(loaders), steps.get(a.start) if a.start else None, steps,
                          response or constant(None), int(a.response_status or 200), database,
                          tuple(calls))

    def _check_unreached(self, a: Action, order: list[str], scope_names: set[str],
                         variables: dict[str, set[str]], values: _Values) -> None:
        """Check the events the trigger never leads to as well, reporting what is found as
        warnings: they never run, so they must not stop the rest of the project from serving."""
        reached = set(order)
        unreached = [eid for eid in a.events if eid not in reached]
        if not unreached or not order and a.start in a.events:
            return  # nothing left out, or the flow is broken (a circle): already reported
        mark = len(self.problems)
        preds: dict[str, list[str]] = {eid: [] for eid in unreached}
        for eid in unreached:
            for target in a.events[eid].next.values():
                if target in preds:
                    preds[target].append(eid)
        defined_after: dict[str, set[str]] = {}
        dominators_after: dict[str, set[str]] = {}
        waiting = list(unreached)
        while waiting:
            # each event after the unreached ones that lead to it (a circle among them: any)
            eid = next((e for e in waiting if all(p in defined_after for p in preds[e])),
                       waiting[0])
            waiting.remove(eid)
            done = [p for p in preds[eid] if p in defined_after]
            if done:
                defined = set.intersection(*(defined_after[p] for p in done))
                dominators = set.intersection(*(dominators_after[p] for p in done))
            else:
                defined, dominators = set(scope_names), set()
            where = f'actions["{a.name}"].events["{eid}"]'
            if not done:
                self.problem(where, "not connected to the trigger, so it never runs: link a "
                                    "flow port (▸) that runs to it")
            self._compile_event(a, a.events[eid], self.kinds.get(a.events[eid].kind), defined,
                                dominators, values, {}, set())
            defined_after[eid] = defined | variables[eid]
            dominators_after[eid] = dominators | {eid}
            self.scopes[(a.name, eid)] = defined
        self.problems[mark:] = [Problem(p.where, p.message, "warning")
                                for p in self.problems[mark:]]

    def _variables(self, event: Event) -> set[str]:
        """The variables an event defines (its outputs named by `as` and `<output>_as`)."""
        kind = self.kinds.get(event.kind)
        if kind is None:
            return set()
        names = (event.settings.get(kind.variable_setting(p.name)) for p in kind.outputs)
        return {n for n in names if isinstance(n, str) and n}

    def _compile_event(self, a: Action, event: Event, kind: EventKind | None, defined: set[str],
                       dominators: set[str], values: _Values, bodies: dict[str, set[str]],
                       inside: set[str], failed: set[str] = frozenset()) -> Step | None:
        where = f'actions["{a.name}"].events["{event.id}"]'
        if kind is None:
            why = missing(event.kind)  # a plug-in's kind: which package, and why it is absent
            self.problem(f"{where}.kind", f'unknown event kind "{event.kind}"'
                         + (f": {why}" if why else _did_you_mean(event.kind, list(self.kinds))))
            return None
        if kind.breaks and not inside:
            self.problem(where, f"{kind.name} only works inside a loop's each branch")
        settings = dict(event.settings)
        if event.version > kind.version:
            self.problem(f"{where}.version", f"made by a newer Actiongraph ({kind.name} version "
                                             f"{event.version}; this one knows {kind.version})")
            return None
        settings = kind.settings_at(event.version, settings)
        known = {s.name for s in kind.settings} | {p.name for p in kind.inputs}
        for key in settings:
            if key not in known:
                self.problem(f"{where}.settings.{key}", f'{kind.name} has no setting "{key}"'
                             + _did_you_mean(key, sorted(known)))
        for port in event.next:
            if port not in kind.flow_out:
                self.problem(f"{where}.next.{port}", f'{kind.name} has no flow port "{port}"')
        model = None
        static: dict[str, Any] = {}
        dynamic = []
        for s in kind.settings:
            sw = f"{where}.settings.{s.name}"
            raw = settings.get(s.name, s.default)
            if s.required and raw in (None, "", {}, []):
                self.problem(sw, f"{kind.name} needs a {s.name}")
                continue
            if s.kind == "model":
                model = self.project.model(raw or "")
                if model is None:
                    self.problem(sw, f'unknown model "{raw}"'
                                 + _did_you_mean(raw, [m.name for m in self.project.models]))
                static[s.name] = raw
            elif s.kind == "auth_profile":
                if not self.project.settings.auth_profile(raw or ""):
                    self.problem(sw, f'unknown auth profile "{raw}"' + _did_you_mean(
                        raw, [x.name for x in self.project.settings.auth_profiles]))
                static[s.name] = raw
            elif s.kind == "action":
                called = self.project.action(raw or "")
                if called is None:
                    self.problem(sw, f'unknown action "{raw}"'
                                 + _did_you_mean(raw, [x.name for x in self.project.actions]))
                elif called is a:
                    self.problem(sw, "an action cannot call itself")
                static[s.name] = raw
            elif s.kind == "variable":
                if raw and not NAME_RE.match(str(raw)):
                    self.problem(sw, "a variable name starts with a letter and has only letters, "
                                     "digits and _")
                elif raw in RESERVED:
                    self.problem(sw, f'"{raw}" is reserved; pick another name')
                static[s.name] = raw
            elif s.kind == "choice":
                if raw not in s.choices:
                    self.problem(sw, f'"{raw}" is not one of {", ".join(s.choices)}')
                static[s.name] = raw
            elif s.kind == "integer":
                if not isinstance(raw, int) or isinstance(raw, bool):
                    self.problem(sw, "expected a whole number")
                static[s.name] = raw
            elif s.kind == "boolean":
                static[s.name] = bool(raw)
            elif s.kind in ("field_map", "where", "order"):
                pass  # needs the model; below
            else:
                static[s.name] = raw
        for s in kind.settings:
            sw = f"{where}.settings.{s.name}"
            raw = settings.get(s.name, s.default)
            if s.kind == "field_map":
                mapping = raw or {}
                if not isinstance(mapping, dict):
                    self.problem(sw, "expected an object of field: value")
                    continue
                compiled = []
                for name, value in mapping.items():
                    if model is not None and not model.field(name):
                        self.problem(f"{sw}.{name}", f'{model.name} has no field "{name}"'
                                     + _did_you_mean(name, [f.name for f in model.fields]))
                    ev = values.compile(value, f"{sw}.{name}", defined)
                    if ev is not None:
                        compiled.append((name, ev))
                dynamic.append((s.name, _field_map(tuple(compiled))))
            elif s.kind == "where" and model is not None:
                resolver = compile_where(raw, model, sw,
                                         lambda r, w: values.compile(r, w, defined), self.problems)
                if resolver is None:
                    static[s.name] = None
                else:
                    dynamic.append((s.name, _where(resolver, model.name)))
            elif s.kind == "order" and model is not None:
                order = []
                for i, item in enumerate(raw or []):
                    name = item.get("field") if isinstance(item, dict) else item
                    if name not in field_kinds(model):
                        self.problem(f"{sw}[{i}]", f'{model.name} has no field "{name}"')
                        continue
                    descending = isinstance(item, dict) and item.get("dir") == "desc"
                    order.append((name, descending))
                static[s.name] = tuple(order)
        inputs = []
        wired = {w.input: w for w in a.wires if w.target == event.id}
        for port in kind.inputs:
            iw = f"{where}.settings.{port.name}"
            wire = wired.get(port.name)
            if wire is not None:
                source = a.events.get(wire.source)
                sk = self.kinds.get(source.kind) if source else None
                out = sk.output(wire.output) if sk else None
                ww = f'{where}.inputs.{port.name}'
                if source is None or out is None:
                    self.problem(ww, f'wired from "{wire.source}.{wire.output}", which does not exist')
                elif wire.source in failed:
                    self.problem(ww, f'wired from event "{wire.source}", which failed on this '
                                     "path (its error branch): read error.message, error.status "
                                     "or error.event instead")
                elif wire.source not in dominators:
                    self.problem(ww, f'wired from event "{wire.source}", which does not run before '
                                     'this event on every path')
                elif wire.source in bodies and wire.source not in inside:
                    self.problem(ww, f'the item of loop "{wire.source}" is only there inside its '
                                     'each branch')
                elif not compatible(out.kind, port.kind):
                    self.problem(ww, f"a {out.kind} output cannot feed a {port.kind} input")
                else:
                    slot = f"#{wire.source}.{wire.output}"
                    inputs.append((port.name, lambda scope, slot=slot: scope.get(slot)))
                continue
            raw = settings.get(port.name, port.default)
            if raw is None:
                if port.required:
                    self.problem(iw, f"{kind.name} needs a {port.name} (wire it, or give a value)")
                continue
            ev = values.compile(raw, iw, defined)
            if ev is not None:
                inputs.append((port.name, ev))
        for w in a.wires:
            if w.target == event.id and not kind.input(w.input):
                self.problem(f"{where}.inputs.{w.input}", f'{kind.name} has no input "{w.input}"')
        outputs = [(p.name, f"#{event.id}.{p.name}") for p in kind.outputs]
        for p in kind.outputs:
            target = settings.get(kind.variable_setting(p.name))
            if isinstance(target, str) and target:
                outputs.append((p.name, target))
        label = f"{kind.name} event {event.id}" + (f" ({event.description})"
                                                   if event.description else "")
        return Step(event.id, kind, tuple(inputs), static, tuple(dynamic), tuple(outputs),
                    label=label, pin=self._pin(event, kind, where))

    def _pin(self, event: Event, kind: EventKind, where: str) -> Any:
        """An event's pinned output as the executor returns it: the outputs, or a Flow when
        the pin takes another port than `next`; None (with a problem) when it does not fit."""
        if event.pin is None:
            return None
        pin, pw = event.pin, f"{where}.pin"
        outputs = pin.get("outputs") if isinstance(pin, dict) else None
        if not isinstance(outputs, dict):
            self.problem(pw, "expected {\"outputs\": {...}, \"port\": ...}")
            return None
        known = [p.name for p in kind.outputs]
        for name in outputs:
            if name not in known:
                self.problem(f"{pw}.outputs.{name}", f'{kind.name} has no output "{name}"'
                             + (f" (outputs: {', '.join(known)})" if known else ""))
        port = pin.get("port", "next")
        ports = kind.flow_out or ("next",)
        if port not in ports:
            self.problem(f"{pw}.port", f'{kind.name} has no port "{port}" (ports: '
                                       f'{", ".join(ports)})')
            return None
        return dict(outputs) if port == "next" else Flow(port, dict(outputs))


def _settle_database(actions: dict[str, ActionPlan]) -> None:
    """Raise each plan's database use to the most any action it calls (at any depth) needs; a
    call whose target is not known writes. Repeats until nothing changes (calls may cycle)."""
    changed = True
    while changed:
        changed = False
        for plan in actions.values():
            for name in plan.calls:
                called = actions.get(name) if name is not None else None
                need = WRITES if name is None else called.database if called else NONE
                if _LEVEL[need] > _LEVEL[plan.database]:
                    plan.database = need
                    changed = True


def _field_map(compiled):
    def resolve(scope, tx):
        return {name: ev(scope) for name, ev in compiled}
    return resolve


def _where(resolver, model):
    def resolve(scope, tx):
        return resolver(scope, tx.table(model))
    return resolve


class _Values:
    """Compiles literal-or-expression values, checking the variables they read."""

    def __init__(self, compiler: Compiler, fields_of: dict[str, set[str]],
                 records: dict[str, tuple[str, ...]] | None = None):
        self.compiler = compiler
        self.fields_of = fields_of
        self.records = records or {}  # "body.post" -> the fields its record has
        self.all_names: set[str] = set()

    def compile(self, raw: Any, where: str, available: set[str],
                context: str = "before this event on every path") -> Evaluator | None:
        """An evaluator for a literal (objects and lists may hold "=expressions")."""
        if isinstance(raw, str):
            if raw.startswith("=="):
                return constant(raw[1:])
            if raw.startswith("="):
                return self._expression(raw[1:].strip(), where, available, context)
            return constant(raw)
        if isinstance(raw, dict):
            parts = {k: self.compile(v, f"{where}.{k}", available, context) for k, v in raw.items()}
            if not _has_expression(raw):
                return constant(raw)
            return lambda scope: {k: ev(scope) if ev else None for k, ev in parts.items()}
        if isinstance(raw, list):
            items = [self.compile(v, f"{where}[{i}]", available, context) for i, v in enumerate(raw)]
            if not _has_expression(raw):
                return constant(raw)
            return lambda scope: [ev(scope) if ev else None for ev in items]
        return constant(raw)

    def _expression(self, source: str, where: str, available: set[str],
                    context: str) -> Evaluator | None:
        try:
            expr = expressions.parse(source)
        except expressions.ExpressionError as e:
            self.compiler.problem(where, f"in {source!r}: {e}")
            return None
        ok = True
        for name in sorted(expr.names):
            if name in available:
                continue
            ok = False
            if name in self.all_names:
                self.compiler.problem(where, f'variable "{name}" is not defined {context}')
            else:
                known = sorted(available)
                self.compiler.problem(where, f'unknown variable "{name}"'
                                      + _did_you_mean(name, known))
        for namespace, attr in _namespace_reads(source):
            declared = self.fields_of.get(namespace, set())
            if attr not in declared:
                ok = False
                if namespace == "env":
                    self.compiler.problem(where, f'env.{attr} is not one of the project\'s '
                                          "environment values (add it under Environment)"
                                          + _did_you_mean(attr, sorted(declared)))
                    continue
                self.compiler.problem(where, f'the endpoint has no {namespace} variable "{attr}"'
                                      + _did_you_mean(attr, sorted(declared)))
        for variable, name in _record_reads(source):
            fields = self.records.get(variable)
            if fields is not None and name not in fields:
                ok = False
                self.compiler.problem(where, f'{variable} has no field "{name}" (it has '
                                      f'{", ".join(fields) or "none"})'
                                      + _did_you_mean(name, list(fields)))
        if not ok:
            return None
        evaluate = expr.evaluate

        def run(scope):
            try:
                return evaluate(scope)
            except expressions.EvaluationError as e:
                raise ActionError(f"{where}: {e}", status=500) from None
        return run


def _has_expression(raw: Any) -> bool:
    if isinstance(raw, str):
        return raw.startswith("=") and not raw.startswith("==")
    if isinstance(raw, dict):
        return any(_has_expression(v) for v in raw.values())
    if isinstance(raw, list):
        return any(_has_expression(v) for v in raw)
    return False


def _namespace_reads(source: str) -> list[tuple[str, str]]:
    """`path.id`, `body.shoe` ... read in an expression (to check against the endpoint)."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return []
    return [(n.value.id, n.attr) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id in NAMESPACES]


def _record_reads(source: str) -> list[tuple[str, str]]:
    """`body.post.caption` read in an expression, as ("body.post", "caption")."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return []
    return [(f"{n.value.value.id}.{n.value.attr}", n.attr) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)
            and isinstance(n.value.value, ast.Name) and n.value.value.id in NAMESPACES]


def _body_records(project: Project, endpoint: Endpoint | None) -> dict[str, tuple[str, ...]]:
    """The fields a Model or Custom Model body variable really carries (as the binder reads
    them: the model's fields, or the chosen ones; never id or created_at)."""
    records = {}
    for v in endpoint.variables if endpoint else ():
        model = project.model(v.model or "") if v.kind in ("Model", "Custom Model") else None
        if model is not None:
            records[f"{v.location}.{v.name}"] = tuple(
                f.name for f in model.fields if v.kind == "Model" or f.name in v.fields)
    return records


def _record_words(name: str, project: Project, model_name: Any,
                  fields: tuple[str, ...] | None = None) -> list[str]:
    """`name` and `name.field` for each field of a record of a model (all of a stored one)."""
    model = project.model(model_name) if isinstance(model_name, str) else None
    if fields is None:
        fields = ("id", "created_at", *(f.name for f in model.fields)) if model else ()
    return [name, *(f"{name}.{f}" for f in fields)]


def scope_at(project: Project, action: Action, event_id: str,
             kinds: dict[str, EventKind] | None = None) -> list[str]:
    """The names an expression of this event may read, as the compiler decides it: endpoint
    inputs (with the fields a Model body really has), the action's globals and the variables of
    the events before it on every path, with the fields of the records among them."""
    kinds = kinds or catalogue()
    compiler = Compiler(project, kinds)
    compiler._compile_action(action)
    defined = compiler.scopes.get((action.name, event_id))
    if defined is None:
        return []
    words: list[str] = []
    endpoint = project.endpoint(action.trigger.endpoint or "") \
        if action.trigger.type == "endpoint" else None
    records = _body_records(project, endpoint)
    for v in endpoint.variables if endpoint else ():
        name = f"{v.location}.{v.name}"
        words += _record_words(name, project, v.model, records[name]) if name in records \
            else [name]
    if endpoint is not None and endpoint.auth:
        profile = project.settings.auth_profile(endpoint.auth)
        words += _record_words("auth.user", project, profile.model if profile else None)
    for g in action.variables:
        if g.name in defined:
            words += _record_words(g.name, project, g.model) \
                if g.kind in ("Model", "Custom Model") else [g.name]
    for event in action.events.values():
        kind = kinds.get(event.kind)
        for port in kind.outputs if kind else ():
            name = event.settings.get(kind.variable_setting(port.name))
            if not isinstance(name, str) or name not in defined or name in words:
                continue
            # a record of a model, as the kind's output schema says (Create's, Query's with one)
            wired = frozenset(w.input for w in action.wires if w.target == event.id)
            model = record_model(kind.output_schema(port.name, Placed(event.settings, wired)))
            words += _record_words(name, project, model) if model else [name]
    if ERROR in defined and ERROR not in words:  # on an error branch: the failure
        words += [ERROR, *(f"{ERROR}.{f}" for f in ERROR_FIELDS)]
    seen: set[str] = set()
    return [w for w in words if not (w in seen or seen.add(w))]


class _Graph:
    """The flow graph of one action: order, predecessors, exits; reports cycles and bad links."""

    def __init__(self, compiler: Compiler, action: Action, where: str):
        self.compiler = compiler
        self.action = action
        self.where = where
        self.preds: dict[str, list[str]] = {eid: [] for eid in action.events}
        if action.start is not None and action.start not in action.events:
            compiler.problem(f"{where}.start", f'the trigger leads to "{action.start}", '
                                               "which is not an event of this action")
        for eid, event in action.events.items():
            for port, target in event.next.items():
                if target is None:
                    continue
                if target not in action.events:
                    compiler.problem(f'{where}.events["{eid}"].next.{port}',
                                     f'leads to "{target}", which is not an event of this action')
                    continue
                self.preds[target].append(eid)

    def order(self) -> list[str]:
        """Events reachable from the trigger, each after all its reachable predecessors."""
        a = self.action
        reachable: list[str] = []
        seen: set[str] = set()
        stack = [a.start] if a.start in a.events else []
        while stack:
            eid = stack.pop()
            if eid in seen:
                continue
            seen.add(eid)
            reachable.append(eid)
            stack.extend(t for t in a.events[eid].next.values() if t in a.events)
        for eid in self.preds:
            self.preds[eid] = [p for p in self.preds[eid] if p in seen]
        order, state = [], {}

        def visit(eid: str, trail: list[str]) -> None:
            if state.get(eid) == 2:
                return
            if state.get(eid) == 1:
                loop = " -> ".join(trail[trail.index(eid):] + [eid])
                self.compiler.problem(f'{self.where}.events["{eid}"]',
                                      f"the flow goes round in a circle ({loop})")
                raise _Cycle
            state[eid] = 1
            for p in self.preds[eid]:
                visit(p, trail + [eid])
            state[eid] = 2
            order.append(eid)

        try:
            for eid in sorted(seen):
                visit(eid, [])
        except _Cycle:
            return []
        return order

    def bodies(self, order: list[str]) -> dict[str, set[str]]:
        """For each loop, the events of its `each` branch; each may be entered only from there."""
        a = self.action
        result: dict[str, set[str]] = {}
        for eid in order:
            kind = self.compiler.kinds.get(a.events[eid].kind)
            if kind is None or not kind.loops:
                continue
            body: set[str] = set()
            stack = [a.events[eid].next.get("each")]
            while stack:
                node = stack.pop()
                if node is None or node in body or node not in a.events:
                    continue
                body.add(node)
                stack.extend(a.events[node].next.values())
            for node in sorted(body):
                outside = [p for p in self.preds[node] if p not in body and p != eid]
                if outside:
                    self.compiler.problem(
                        f'{self.where}.events["{node}"]',
                        f'is inside the each branch of loop "{eid}" but also follows "{outside[0]}" '
                        "outside it; an each branch ends where its flow ends")
            result[eid] = body
        return result

    def exits(self, defined_after: dict[str, set[str]], in_loops: set[str]) -> list[set[str]]:
        """What is defined at each place the run can end, except after a Response event."""
        a = self.action
        if a.start is None:
            return []
        responded: dict[str, bool] = {}
        result = []
        for eid in defined_after:  # in flow order
            preds = self.preds[eid]
            before = all(responded[p] for p in preds) if preds else False
            kind = self.compiler.kinds.get(a.events[eid].kind)
            responded[eid] = before or kind is not None and kind.answers is not None
            if eid in in_loops or kind is None:
                continue  # an each branch's end goes back to its loop
            for port in kind.flow_out:
                if port == "each" and kind.loops or port == kind.fail_port:
                    continue  # an empty each branch returns; an unwired fail port fails
                if not a.events[eid].next.get(port) and not responded[eid]:
                    result.append(defined_after[eid])
        return result


class _Cycle(Exception):
    pass


def _route_shape(path: str) -> str:
    return path_template(path).shape


def _near(name: str, options) -> str | None:
    lowered = {o.lower(): o for o in options}
    if name.lower() in lowered:
        return lowered[name.lower()]
    close = difflib.get_close_matches(name, list(options), n=1)
    return close[0] if close else None


def _did_you_mean(name: Any, options: list[str]) -> str:
    if not isinstance(name, str) or not options:
        return ""
    near = _near(name, options)
    return f' (did you mean "{near}"?)' if near else ""
