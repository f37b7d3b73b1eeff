"""Run a compiled action: one transaction, events in flow order, everything undone on failure."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nodes.kind import BREAK, ERROR, MAX_ITEMS, Each, Flow
from nodes.values import CLOCK
from runtime import outbox
from runtime.compiler import NONE, WRITES, ActionPlan, Step
from runtime.errors import ActionError, new_reference
from runtime.mail import Mail
from runtime.store import Change, Store

DEFAULT_TIMEOUT = 5.0
action_log = logging.getLogger("actiongraph.actions")


@dataclass
class StepTrace:
    """What one event did in a traced run."""

    id: str
    kind: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    port: str | None
    ms: float
    error: str | None = None
    changes: list[Change] = field(default_factory=list)
    pinned: bool = False  # the event did not run: its pinned output was used (editor runs)


@dataclass
class RunResult:
    """The outcome of one action run."""

    status: int
    value: Any
    trace: list[StepTrace] | None = None
    changes: list[Change] = field(default_factory=list)
    mails: list[Mail] = field(default_factory=list)


class Context:
    """What events may use (nodes.kind.Context): the transaction, model fields, responding,
    typed errors, the log, the clock, mail and the run's services."""

    __slots__ = ("db", "step", "response", "logs", "action", "runner", "_fields")

    async def send_mail(self, **fields: Any) -> None:
        """Write a mail (to, cc, subject, text, html) into the outbox in this run's transaction
        (runtime.outbox): it leaves after the commit, and never when the run is undone."""
        mail = Mail(**fields)
        await outbox.queue(self.db, mail, self.action)
        self.runner.mails.append(mail)

    def __init__(self, db, fields: dict[str, frozenset[str]], action: str = ""):
        self.db = db
        self.step: Step | None = None
        self.response: tuple[Any, int] | None = None
        self.logs: list[tuple[str, str, str]] = []  # (event id, level, message)
        self.action = action
        self.runner = None
        self._fields = fields

    async def call_action(self, name: str, values: dict[str, Any]) -> Any:
        """Run another action in this run's transaction; returns its response value."""
        return await self.runner.call(name, values)

    def service(self, name: str) -> Any:
        """A service given to the run (e.g. "mail", "http", "auth", "clock"), or None."""
        return self.runner.services.get(name) if self.runner else None

    def now(self) -> datetime:
        """The current time: a "clock" service given to the run (a test freezing time), or
        the wall clock in UTC."""
        clock = self.service("clock")
        return clock() if clock is not None else datetime.now(UTC)

    def remaining(self) -> float | None:
        """Seconds left before the run's time limit stops it (None: no limit)."""
        limit = self.runner.start.limit if self.runner is not None else None
        deadline = limit.when() if limit is not None else None
        return None if deadline is None else deadline - asyncio.get_running_loop().time()

    def log(self, message: str, level: str = "info") -> None:
        """Write to the server log (and the run's trace), naming the action and event."""
        event = self.step.id if self.step else ""
        self.logs.append((event, level, message))
        action_log.log(logging.getLevelName(level.upper()) if level.upper() in
                       ("DEBUG", "INFO", "WARNING", "ERROR") else logging.INFO,
                       "[%s %s] %s", self.action, event, message)

    def fields(self, model: str) -> frozenset[str]:
        """The writable field names of a model."""
        return self._fields.get(model, frozenset())

    def columns(self, model: str) -> dict[str, str]:
        """Every column of a model with its field kind (`id`, `created_at`, then the fields)."""
        store = self.runner.store if self.runner is not None else getattr(self.db, "store", None)
        return store.columns.get(model, {}) if store is not None else {}

    def respond(self, value: Any, status: int = 200) -> None:
        """Set the action's response value and status."""
        self.response = (value, status)

    def error(self, message: str, status: int = 500, exact: bool = False) -> ActionError:
        """An error for the running event (raise it); `exact` keeps the message for clients
        as it is, without the event's name in front (the event is still named in the body)."""
        error = ActionError(message, status=status)
        error.exact = exact
        return error


MAX_CALL_DEPTH = 8


async def run_action(plan: ActionPlan, store: Store, inputs: dict[str, Any], *,
                     timeout: float = DEFAULT_TIMEOUT, trace: bool = False,
                     dry_run: bool = False, plans: dict[str, ActionPlan] | None = None,
                     services: dict[str, Any] | None = None, start_at: str | None = None,
                     recorded: dict[str, dict] | None = None) -> RunResult:
    """Run an action with the request's variables; raises ActionError (all writes undone).

    `plans` are the project's other actions (for Call Action); `services` are what events
    may reach besides the database (mail, HTTP client, auth, and "clock": a function giving
    the current time, which replaces the wall clock), and what the editor adds to its runs:
    "pins" (true: pinned events return their pinned output instead of running) and
    "debugger" (runtime.debugger.Debugger: breakpoints and stepping; time spent paused does
    not count against `timeout`).

    `start_at` runs the action from that event on ("run from here"), with the outputs a
    recorded run's earlier events gave (`recorded`: event id -> outputs) in scope."""
    clock = CLOCK.set((services or {}).get("clock"))  # now() in expressions: the run's clock
    try:
        async with asyncio.timeout(timeout) as limit:
            return await _run(plan, store, inputs, trace, dry_run, plans or {}, services or {},
                              _Start(start_at, recorded or {}, limit))
    except TimeoutError:
        raise ActionError(f'action "{plan.action.name}" took longer than {timeout:g} s and was '
                          "stopped; nothing it wrote was kept", status=504,
                          action=plan.action.name) from None
    finally:
        CLOCK.reset(clock)


@dataclass
class _Start:
    """Where a run starts (None: at the trigger) and what runs it: its time limit."""

    at: str | None
    recorded: dict[str, dict]
    limit: Any  # the run's asyncio.Timeout, moved on by the time spent paused in the debugger


async def _run(plan: ActionPlan, store: Store, inputs: dict[str, Any], trace: bool,
               dry_run: bool, plans: dict[str, ActionPlan], services: dict[str, Any],
               start: _Start) -> RunResult:
    steps: list[StepTrace] | None = [] if trace else None
    if plan.database == NONE:  # no event of the run (nor of an action it calls) uses a table
        runner = _Runner(NoDatabase(), store, steps, plans, services, start)
        value, status = await runner.action(plan, inputs)
        changes: list[Change] = []
    else:
        async with store.run_transaction(writes=plan.database == WRITES) as tx:
            runner = _Runner(tx, store, steps, plans, services, start)
            value, status = await runner.action(plan, inputs)
            changes = list(tx.changes)
            if dry_run:
                await tx.rollback()
    sender = services.get("outbox")
    if runner.mails and sender is not None and not dry_run:
        sender.wake()  # committed: deliver now, not at the sender's next poll
    return RunResult(status, value, steps, changes, runner.mails)


class NoDatabase:
    """`ctx.db` of a run compiled as touching no table: no transaction was opened, so any use
    is an internal error (the compiler decided wrongly, or a kind's `reads` is wrong)."""

    __slots__ = ("changes",)

    def __init__(self):
        self.changes: list[Change] = []

    def __getattr__(self, name: str):
        raise RuntimeError(f"internal error: this run was compiled as using no table, so it has "
                           f"no database transaction (an event asked for db.{name}); the "
                           f"event kind should not declare reads=False")


class _Runner:
    """Runs plans inside one transaction: chains of steps, loops and called actions."""

    def __init__(self, tx, store: Store, steps: list[StepTrace] | None,
                 plans: dict[str, ActionPlan], services: dict[str, Any], start: _Start):
        self.tx = tx
        self.store = store
        self.steps = steps
        self.plans = plans
        self.services = services
        self.depth = 0
        self.mails: list[Mail] = []
        self.start = start
        self.pins = bool(services.get("pins"))
        self.debugger = services.get("debugger")
        self.stepping = False  # the debugger said Step: pause at the next event too
        self.savepoints = 0  # how many were taken: each gets its own name

    async def action(self, plan: ActionPlan, inputs: dict[str, Any]) -> tuple[Any, int]:
        """Load the globals, run the chain from the trigger, compute the response."""
        scope = dict(inputs)
        scope["env"] = self.services.get("env") or {}  # the project's environment values
        ctx = Context(self.tx, self.store.fields, plan.action.name)
        ctx.runner = self
        for g in plan.globals:
            if g.name in inputs:
                continue  # given by a Call Action
            scope[g.name] = await _load_global(g, self.tx, scope, plan)
        first = plan.start
        if self.start.at is not None and self.depth == 0:
            first = self._from_here(plan, scope)
        await self.chain(plan, first, scope, ctx)
        if ctx.response is not None:
            return ctx.response
        return plan.response(scope), plan.status

    def _from_here(self, plan: ActionPlan, scope: dict) -> Step:
        """Run from a chosen event: the recorded outputs of the events before it in scope."""
        first = plan.steps.get(self.start.at)
        if first is None:
            raise ActionError(f'event "{self.start.at}" is not in action "{plan.action.name}" '
                              "(it was deleted, or the run is of another action)", status=404,
                              action=plan.action.name)
        for event, outputs in self.start.recorded.items():
            step = plan.steps.get(event)
            if step is not None and isinstance(outputs, dict):
                for output, slot in step.outputs:
                    scope[slot] = outputs.get(output)
        return first

    async def _pause(self, plan: ActionPlan, step: Step, scope: dict, ins: dict) -> None:
        """Wait in the debugger; the run's time limit moves on by the time spent waiting."""
        loop = asyncio.get_running_loop()
        limit = self.start.limit
        deadline = limit.when() if limit is not None else None
        if deadline is not None:
            limit.reschedule(None)  # the limit is suspended while the run waits
        paused = loop.time()
        try:
            command = await self.debugger.pause(plan.action.name, step, scope, ins)
        finally:
            if deadline is not None:
                limit.reschedule(deadline + (loop.time() - paused))
        if command == "stop":
            stop = ActionError(f"stopped in the debugger at {step.label}; nothing the run "
                               "wrote was kept", status=409)
            stop.final = True  # not a failure of the event: no error branch catches it
            raise stop
        self.stepping = command == "step"

    async def call(self, name: str, values: dict[str, Any]) -> Any:
        """Run another action of the project in this transaction; its response value."""
        plan = self.plans.get(name)
        if plan is None:
            raise ActionError(f'unknown action "{name}"', status=500)
        if self.depth >= MAX_CALL_DEPTH:
            raise ActionError(f"actions call each other more than {MAX_CALL_DEPTH} deep", status=500)
        known = {g.name for g in plan.globals}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ActionError(f'action "{name}" has no variable "{unknown[0]}" '
                              f'(its variables: {", ".join(sorted(known)) or "none"})', status=500)
        self.depth += 1
        try:
            inputs = {"path": {}, "query": {}, "header": {}, "body": {}, "auth": {}, **values}
            value, _status = await self.action(plan, inputs)
        finally:
            self.depth -= 1
        return value

    async def chain(self, plan: ActionPlan, step: Step | None, scope: dict, ctx: Context) -> bool:
        """Run steps until the flow ends; True when a Break left the enclosing loop."""
        tx, steps = self.tx, self.steps
        trace = steps is not None
        while step is not None:
            ctx.step = step
            started = time.perf_counter() if trace else 0.0
            mark = len(tx.changes)
            ins: dict[str, Any] = {}
            pinned = self.pins and step.pin is not None
            savepoint = await self._savepoint(tx) if step.savepoint else None
            try:
                for name, evaluate in step.inputs:
                    ins[name] = evaluate(scope)
                if self.debugger is not None and (
                        self.stepping or self.debugger.wants(plan.action.name, step.id)):
                    await self._pause(plan, step, scope, ins)
                    started = time.perf_counter() if trace else 0.0
                if pinned:  # a mock: the event does not run (no outgoing HTTP, no mail)
                    out = step.pin if type(step.pin) is not dict else dict(step.pin)
                else:
                    out = await step.kind.run(ctx, ins, step.settings(scope, tx))
            except ActionError as e:
                if trace:
                    steps.append(StepTrace(step.id, step.kind.id, ins, None, None,
                                           _ms(started), e.message, tx.changes[mark:]))
                message = e.message
                _locate(e, step, plan)
                if step.next.get(ERROR) is not None and not getattr(e, "final", False):
                    step = await self._caught(step, e, message, scope, savepoint, mark)
                    continue
                e.trace = steps
                raise
            except Exception as e:  # an event's own bug must still name the event
                # The client gets a generic message with a reference; the log, the trace and
                # the editor's server log get what happened (it may hold SQL or internals).
                ref = new_reference()
                error = ActionError(f"unexpected error (reference {ref})", status=500)
                error.detail, error.reference = f"{type(e).__name__}: {e}", ref
                action_log.error("[%s %s] unexpected error, reference %s", plan.action.name,
                                 step.id, error.reference, exc_info=e)
                if trace:
                    steps.append(StepTrace(step.id, step.kind.id, ins, None, None,
                                           _ms(started), error.logged, tx.changes[mark:]))
                message = error.message
                _locate(error, step, plan)
                if step.next.get(ERROR) is not None:
                    step = await self._caught(step, error, message, scope, savepoint, mark)
                    continue
                error.trace = steps
                raise error from e
            if savepoint is not None:
                await tx.release(savepoint[0])
            port = "next"
            kind_of = type(out)
            if kind_of is Flow:
                port, out = out.port, out.outputs
                if port == ERROR:  # it failed without raising (HTTP Request, a pinned failure)
                    scope[ERROR] = {"message": str((out or {}).get(ERROR) or "failed"),
                                    "status": 502, "event": step.id, "action": plan.action.name}
            if kind_of is Each:
                if trace:
                    steps.append(StepTrace(step.id, step.kind.id, ins, {"count": len(out.items)},
                                           "each", _ms(started)))
                await self.each(plan, step, out.items, scope, ctx)
                step = step.next.get("done")
                continue
            if out:
                for output, slot in step.outputs:
                    scope[slot] = out.get(output)
            if trace:
                steps.append(StepTrace(step.id, step.kind.id, ins, out, port, _ms(started),
                                       changes=tx.changes[mark:], pinned=pinned))
            if port == BREAK.port and step.kind.flow_out == ():
                return True
            following = step.next.get(port)
            if following is None and port == step.kind.fail_port:
                message = (out or {}).get("error") or "failed"
                error = ActionError(str(message), status=502)
                _locate(error, step, plan)
                error.trace = steps
                raise error
            step = following
        return False

    async def _savepoint(self, tx) -> tuple[str, int] | None:
        """A savepoint before an event whose error port is wired and that may touch the
        database, with the number of mails queued so far (None without a transaction)."""
        if type(tx) is NoDatabase:
            return None
        self.savepoints += 1
        name = f"ag_event_{self.savepoints}"
        await tx.savepoint(name)
        return name, len(self.mails)

    async def _caught(self, step: Step, error: ActionError, message: str, scope: dict,
                      savepoint: tuple[str, int] | None, mark: int) -> Step:
        """An event failed and its error port is wired: undo its writes (and the mail it
        queued), put the failure in scope as `error`, and go on with the error branch."""
        if savepoint is not None:
            await self.tx.rollback_to(savepoint[0], mark)
            del self.mails[savepoint[1]:]
        scope[ERROR] = {"message": message, "status": error.status, "event": step.id,
                        "action": error.action}
        if step.kind.output(ERROR) is not None:  # its outputs are given on failure (HTTP Request)
            for output, slot in step.outputs:
                scope[slot] = message if output == ERROR else None
        action_log.info("[%s %s] failed, caught by its error port: %s", error.action, step.id,
                        error.logged)
        return step.next[ERROR]

    async def each(self, plan: ActionPlan, step: Step, items, scope: dict, ctx: Context) -> None:
        """Run a loop's `each` branch once per item, with the item and index in scope."""
        if not isinstance(items, (list, tuple)):
            error = ActionError(f"expected a list to loop over, got {type(items).__name__}")
            _locate(error, step, plan)
            raise error
        if len(items) > MAX_ITEMS:
            error = ActionError(f"a loop runs at most {MAX_ITEMS} times; got {len(items)} items")
            _locate(error, step, plan)
            raise error
        body = step.next.get("each")
        lines = getattr(items, "lines", None)  # records parsed from CSV: their line numbers
        for index, item in enumerate(items):
            values = {"item": item, "index": index}
            for output, slot in step.outputs:
                scope[slot] = values.get(output)
            try:
                if body is not None and await self.chain(plan, body, scope, ctx):
                    break
            except ActionError as e:
                if not getattr(e, "item", None):  # the innermost loop names the item
                    e.item = (f"line {lines[index]} of the CSV" if lines and index < len(lines)
                              else f"item {index} of {step.label}")
                    e.message = f"{e.message} ({e.item})"
                raise


async def _load_global(g, tx, scope: dict, plan: ActionPlan) -> Any:
    if g.model and g.kind in ("Model", "Custom Model") and g.where is not None:
        clause = g.where(scope, tx.table(g.model))
        # A filter whose optional conditions were all left out names no record: none is loaded
        # (rather than whichever record comes first).
        rows = [] if clause is None else await tx.select(g.model, clause, limit=1)
        if rows:
            return rows[0]
        if g.required:
            raise ActionError(f"no {g.model} record where {g.where_text} (variable {g.name})",
                              status=404, action=plan.action.name)
        return None
    return g.value(scope) if g.value is not None else None


def _locate(error: ActionError, step: Step, plan: ActionPlan) -> None:
    error.event = error.event or step.id
    error.kind = error.kind or step.kind.id
    error.action = error.action or plan.action.name
    if not getattr(error, "exact", False) and not error.message.startswith(step.label):
        error.message = f"{step.label}: {error.message}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
