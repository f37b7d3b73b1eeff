"""Run a compiled action: one transaction, events in flow order, everything undone on failure."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nodes.kind import BREAK, MAX_ITEMS, Each, Flow
from runtime.compiler import NONE, WRITES, ActionPlan, Step
from runtime.errors import ActionError, new_reference
from runtime.mail import Mail, MailError
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

    def send_mail(self, **fields: Any) -> None:
        """Queue a mail (to, cc, subject, text, html); it is sent after the commit."""
        self.runner.mails.append(Mail(**fields))

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
                     services: dict[str, Any] | None = None) -> RunResult:
    """Run an action with the request's variables; raises ActionError (all writes undone).

    `plans` are the project's other actions (for Call Action); `services` are what events
    may reach besides the database (mail, HTTP client, auth, and "clock": a function giving
    the current time, which replaces the wall clock)."""
    try:
        async with asyncio.timeout(timeout):
            return await _run(plan, store, inputs, trace, dry_run, plans or {}, services or {})
    except TimeoutError:
        raise ActionError(f'action "{plan.action.name}" took longer than {timeout:g} s and was '
                          "stopped; nothing it wrote was kept", status=504,
                          action=plan.action.name) from None


async def _run(plan: ActionPlan, store: Store, inputs: dict[str, Any], trace: bool,
               dry_run: bool, plans: dict[str, ActionPlan], services: dict[str, Any]) -> RunResult:
    steps: list[StepTrace] | None = [] if trace else None
    if plan.database == NONE:  # no event of the run (nor of an action it calls) uses a table
        runner = _Runner(NoDatabase(), store, steps, plans, services)
        value, status = await runner.action(plan, inputs)
        changes: list[Change] = []
    else:
        async with store.run_transaction(writes=plan.database == WRITES) as tx:
            runner = _Runner(tx, store, steps, plans, services)
            value, status = await runner.action(plan, inputs)
            changes = list(tx.changes)
            if dry_run:
                await tx.rollback()
    mailer = services.get("mail")
    if mailer is not None and not dry_run:
        for mail in runner.mails:  # only after the commit: a failed run sends nothing
            try:
                await mailer.send(mail)
            except MailError as e:
                raise ActionError(f"the action's changes were saved, but the mail to "
                                  f"{', '.join(mail.to)} could not be sent: {e}", status=502,
                                  action=plan.action.name) from None
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
                 plans: dict[str, ActionPlan], services: dict[str, Any]):
        self.tx = tx
        self.store = store
        self.steps = steps
        self.plans = plans
        self.services = services
        self.depth = 0
        self.mails: list[Mail] = []

    async def action(self, plan: ActionPlan, inputs: dict[str, Any]) -> tuple[Any, int]:
        """Load the globals, run the chain from the trigger, compute the response."""
        scope = dict(inputs)
        ctx = Context(self.tx, self.store.fields, plan.action.name)
        ctx.runner = self
        for g in plan.globals:
            if g.name in inputs:
                continue  # given by a Call Action
            scope[g.name] = await _load_global(g, self.tx, scope, plan)
        await self.chain(plan, plan.start, scope, ctx)
        if ctx.response is not None:
            return ctx.response
        return plan.response(scope), plan.status

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
            try:
                for name, evaluate in step.inputs:
                    ins[name] = evaluate(scope)
                out = await step.kind.run(ctx, ins, step.settings(scope, tx))
            except ActionError as e:
                if trace:
                    steps.append(StepTrace(step.id, step.kind.id, ins, None, None,
                                           _ms(started), e.message, tx.changes[mark:]))
                _locate(e, step, plan)
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
                _locate(error, step, plan)
                error.trace = steps
                raise error from e
            port = "next"
            kind_of = type(out)
            if kind_of is Flow:
                port, out = out.port, out.outputs
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
                                       changes=tx.changes[mark:]))
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
        for index, item in enumerate(items):
            values = {"item": item, "index": index}
            for output, slot in step.outputs:
                scope[slot] = values.get(output)
            if body is not None and await self.chain(plan, body, scope, ctx):
                break


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
