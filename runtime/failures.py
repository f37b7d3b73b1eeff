"""On-failure actions: what the action an action names in `on_failure` is given when a run of
that action fails (runtime.server.ServerState.run runs it, in a transaction of its own)."""

from __future__ import annotations

from typing import Any

from nodes.kind import ERROR
from runtime.errors import ActionError
from runtime.runs import no_inputs

ON_FAILURE = "on_failure"  # the source of a run started because another run failed


def failure_inputs(action: str, failure: ActionError, inputs: dict[str, Any] | None) -> dict:
    """The inputs of an on-failure run: the variable `error` holds the failure (message,
    status, event, action) and the failed run's path, query and body inputs (never its headers
    or logged-in user, which may hold credentials)."""
    given = inputs or {}
    error = {"message": failure.message, "status": failure.status, "event": failure.event,
             "action": failure.action or action,
             "inputs": {k: given.get(k) or {} for k in ("path", "query", "body")}}
    return {**no_inputs(), ERROR: error}
