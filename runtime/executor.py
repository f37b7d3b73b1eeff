"""Run a compiled action: one transaction, events in flow order, everything undone on failure."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from nodes.kind import Flow
from runtime.compiler import ActionPlan, Step
from runtime.errors import ActionError
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


class Context:
    """What events may use: the transaction, model fields, responding and typed errors."""

    __slots__ = ("db", "step", "response", "logs", "action", "_fields")

    def __init__(self, db, fields: dict[str, frozenset[str]], action: str = ""):
        self.db = db
        self.step: Step | None = None
        self.response: tuple[Any, int] | None = None
        self.logs: list[tuple[str, str, str]] = []  # (event id, level, message)
        self.action = action
        self._fields = fields

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

    def respond(self, value: Any, status: int = 200) -> None:
        """Set the action's response value and status."""
        self.response = (value, status)

    def error(self, message: str, status: int = 500) -> ActionError:
        """An error for the running event (raise it)."""
        return ActionError(message, status=status)


async def run_action(plan: ActionPlan, store: Store, inputs: dict[str, Any], *,
                     timeout: float = DEFAULT_TIMEOUT, trace: bool = False,
                     dry_run: bool = False) -> RunResult:
    """Run an action with the request's variables; raises ActionError (all writes undone)."""
    try:
        async with asyncio.timeout(timeout):
            return await _run(plan, store, inputs, trace, dry_run)
    except TimeoutError:
        raise ActionError(f'action "{plan.action.name}" took longer than {timeout:g} s and was '
                          "stopped; nothing it wrote was kept", status=504,
                          action=plan.action.name) from None


async def _run(plan: ActionPlan, store: Store, inputs: dict[str, Any], trace: bool,
               dry_run: bool) -> RunResult:
    scope = dict(inputs)
    steps: list[StepTrace] | None = [] if trace else None
    async with store.transaction(writes=plan.writes) as tx:
        ctx = Context(tx, store.fields, plan.action.name)
        for g in plan.globals:
            scope[g.name] = await _load_global(g, tx, scope, plan)
        step = plan.start
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
                error = ActionError(f"{type(e).__name__}: {e}", status=500)
                if trace:
                    steps.append(StepTrace(step.id, step.kind.id, ins, None, None,
                                           _ms(started), error.message, tx.changes[mark:]))
                _locate(error, step, plan)
                error.trace = steps
                raise error from e
            port = "next"
            if type(out) is Flow:
                port, out = out.port, out.outputs
            if out:
                for output, slot in step.outputs:
                    scope[slot] = out.get(output)
            if trace:
                steps.append(StepTrace(step.id, step.kind.id, ins, out, port, _ms(started),
                                       changes=tx.changes[mark:]))
            step = step.next.get(port)
        if ctx.response is not None:
            value, status = ctx.response
        else:
            value, status = plan.response(scope), plan.status
        changes = list(tx.changes)
        if dry_run:
            await tx.rollback()
    return RunResult(status, value, steps, changes)


async def _load_global(g, tx, scope: dict, plan: ActionPlan) -> Any:
    if g.model and g.kind in ("Model", "Custom Model") and g.where is not None:
        rows = await tx.select(g.model, g.where(scope, tx.table(g.model)), limit=1)
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
    if not error.message.startswith(step.label):
        error.message = f"{step.label}: {error.message}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
