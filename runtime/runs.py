"""A run of an action as everything downstream reads it: the server log, run history, replay,
tests and the editor's trace.

`runtime.server.ServerState.run` is the one function that runs an action and fills a RunRecord;
`runtime.host.Host.run` is how callers reach it. This module sits below both the server and the
scheduler so that neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.errors import ActionError
from runtime.executor import RunResult


def no_inputs() -> dict[str, dict]:
    """The inputs of a run without a request (a schedule, a manual run): every group empty."""
    return {"path": {}, "query": {}, "header": {}, "body": {}, "auth": {}}


@dataclass
class RunRecord:
    """One run: an HTTP request, or a scheduled or manual run, with what it did."""

    started: float  # wall clock (time.time())
    method: str  # GET, POST, ... or SCHEDULE / RUN for runs without a request
    path: str
    status: int
    ms: float  # duration; for HTTP from the request's arrival to its rendered response
    endpoint: str | None = None
    action: str | None = None
    error: str | None = None  # the logged message (with an unexpected failure's detail)
    event: str | None = None  # the event that failed, when one did
    result: RunResult | None = None  # the response value and status of a finished run
    trace: list | None = None  # StepTrace list of a traced run (also of a failed one)
    changes: list = field(default_factory=list)  # rows written (rolled back when failed/dry)
    dry_run: bool = False
    tag: str | None = None  # the Run panel's X-Actiongraph-Request value
    source: str = "http"  # http, schedule or manual
    revision: int | None = None  # the project revision that ran it
    inputs: dict[str, Any] | None = None  # the bound path/query/header/body/auth variables
    failure: ActionError | None = None  # the typed error the run ended with (answered to HTTP)
    # What went over the wire, filled by the HTTP dispatcher only when the run history records
    # this run (runtime.history masks and limits them): {method, path, query, headers, body}
    # with `body` the raw bytes, and {status, headers, body}.
    http_request: dict[str, Any] | None = None
    http_response: dict[str, Any] | None = None

    @property
    def response(self) -> Any:
        """The response value of a finished run (None when it failed or did not run)."""
        return self.result.value if self.result is not None else None


class Served(Protocol):
    """What the scheduler needs of a served project (a Host, or a bare ServerState in tests)."""

    compiled: Any  # runtime.compiler.CompiledProject of the revision served now
    store: Any  # runtime.store.Store

    async def run(self, action: Any, inputs: dict[str, Any] | None = None,
                  source: str = "manual") -> RunRecord:
        """Run an action and report its record."""

    def report(self, record: RunRecord) -> None:
        """Log a record that did not come from `run` (e.g. a slot that could not be claimed)."""
