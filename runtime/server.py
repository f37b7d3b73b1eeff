"""The HTTP server: one dispatcher over our own endpoint table, swapped whole per revision."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from aiohttp import web, web_protocol

from runtime.auth import AuthService
from runtime.binder import MAX_BODY_KEY, Binder
from runtime.compiler import ActionPlan, CompiledProject, EndpointPlan
from runtime.cors import CorsPolicy, is_preflight
from runtime.docs import render_docs_html
from runtime.errors import ActionError, ValidationError, new_reference
from runtime.executor import DEFAULT_TIMEOUT, run_action
from runtime.failures import ON_FAILURE, failure_inputs
from runtime.http import HttpClient
from runtime.logs import write_access
from runtime.mail import SmtpMailer
from runtime.openapi import build_openapi, dumps
from runtime.paths import PathTemplate, path_template
from runtime.renderer import render, to_json
from runtime.runs import RunRecord, no_inputs
from runtime.store import Store

log = logging.getLogger("actiongraph.http")

MAX_BODY = 1024 * 1024  # bytes; larger bodies get a 413


@dataclass
class Route:
    """One endpoint as served: its plan and its binder."""

    plan: EndpointPlan
    binder: Binder


@dataclass
class EndpointTable:
    """Every route of one revision: exact paths in a dict, paths with variables as patterns."""

    revision: int
    exact: dict[str, dict[str, Route]] = field(default_factory=dict)
    patterns: list[tuple[PathTemplate, dict[str, Route]]] = field(default_factory=list)

    @classmethod
    def build(cls, compiled: CompiledProject) -> EndpointTable:
        """The table for a compiled project."""
        table = cls(compiled.revision)
        by_shape: dict[str, dict[str, Route]] = {}
        for plan in compiled.endpoints:
            e = plan.endpoint
            template = path_template(e.path)
            route = Route(plan, Binder(e, compiled.project))
            if template.variables:
                methods = by_shape.setdefault(template.normal, {})
                if not methods:
                    table.patterns.append((template, methods))
                methods[e.method] = route
            else:
                table.exact.setdefault(template.normal, {})[e.method] = route
        return table

    def match(self, method: str, path: str) -> tuple[dict[str, Route] | None, dict[str, str]]:
        """The routes for a path (by method) and the path variables."""
        methods = self.exact.get(path.rstrip("/") or "/")
        if methods is not None:
            return methods, {}
        for template, methods in self.patterns:
            found = template.match(path)
            if found is not None:
                return methods, found
        return None, {}


TAG_HEADER = "X-Actiongraph-Request"  # the editor's Run panel names its requests with this
DRY_RUN_HEADER = "X-Actiongraph-Dry-Run"  # "1": run, then roll back (only when the state allows)


@dataclass
class ServerState:
    """What the dispatcher reads: the current table, the store and the run options."""

    store: Store
    table: EndpointTable
    compiled: CompiledProject
    timeout: float = DEFAULT_TIMEOUT
    trace: bool = False
    services: dict[str, Any] = field(default_factory=dict)  # mail, http, auth for events
    retired: list[Any] = field(default_factory=list)  # clients to close when the server stops
    listeners: list[Callable[[RunRecord], None]] = field(default_factory=list)
    dry_run_header: bool = False  # honour X-Actiongraph-Dry-Run (the editor's live server only)
    # Which runs the run history records whole (runtime.history): "off", "errors" (status 400 or
    # more) or "full". The dispatcher keeps their request and response only for those.
    history: str = "off"
    pins: bool = False  # pinned events return their pinned output (the editor's live server)
    debugger: Any = None  # runtime.debugger.Debugger for runs started from the editor
    # Also allow http://localhost:* and http://127.0.0.1:* origins (the editor's live server).
    local_origins: bool = False
    cors: CorsPolicy | None = None  # the project's settings.cors, made per revision

    def report(self, record: RunRecord) -> None:
        """Log a finished run and tell the listeners (the editor's server log)."""
        # `run` lets a headless server write the record as one JSON line (runtime.logs).
        # A headless server's JSON line goes straight to its stream when nothing else listens.
        if not write_access(log, record):
            log.info("%s %s %d %.1f ms", record.method, record.path, record.status, record.ms,
                     extra={"run": record})
        for listener in self.listeners:
            listener(record)

    def swap(self, compiled: CompiledProject) -> None:
        """Serve a new revision from the next request on (one assignment, no restart)."""
        table = EndpointTable.build(compiled)
        self.store.use(compiled.project)
        self.services = {**self.services,
                         "auth": AuthService.for_project(compiled.project, compiled.auth_rules)}
        # Whoever made the state chose the mail service (SMTP by default, the editor's Outbox);
        # each revision only hands it the project's mail settings.
        self.services.setdefault("mail", SmtpMailer(compiled.project.settings.mail))
        self.services["mail"].use(compiled.project.settings.mail)
        allow = compiled.project.settings.allow_private_http
        http = self.services.get("http")
        if http is None or http.allow_private != allow:
            self.services["http"] = HttpClient(allow)
            if http is not None:
                self.retired.append(http)
        cors = CorsPolicy.of(compiled.project.settings.cors, local=self.local_origins)
        self.compiled, self.table, self.cors = compiled, table, cors

    async def close(self) -> None:
        """Close the outgoing HTTP clients and the store (the server has stopped)."""
        for client in [self.services.get("http"), *self.retired]:
            if client is not None:
                await client.close()
        await self.store.close()

    async def run(self, action: str | ActionPlan, inputs: dict[str, Any] | None = None,
                  source: str = "manual", *, record: RunRecord | None = None,
                  dry_run: bool = False, report: bool = True, start_at: str | None = None,
                  recorded: dict[str, dict] | None = None) -> RunRecord:
        """Run an action of the revision served now and fill its record: the one way an action
        runs, for HTTP, schedules and manual runs alike. Never raises for a failed run.

        A record made by the caller (HTTP: method, path, tag) is filled in place; `report=False`
        leaves reporting to the caller (HTTP reports once the response is rendered).
        `start_at` and `recorded` run from an event on with a recorded run's outputs in scope
        (runtime.executor.run_action)."""
        started = time.perf_counter()
        compiled = self.compiled
        plan = compiled.actions.get(action) if isinstance(action, str) else action
        name = action if isinstance(action, str) else action.action.name
        if record is None:
            # The server log has always named runs without a request this way.
            record = RunRecord(time.time(), "SCHEDULE" if source == "schedule" else "RUN",
                               f"schedule: {name}", 500, 0.0, source=source)
        record.action, record.revision, record.dry_run = name, compiled.revision, dry_run
        record.inputs = no_inputs() if inputs is None else inputs
        try:
            if plan is None:
                raise ActionError(f'action "{name}" is no longer in the project', status=404,
                                  action=name)
            services = self.services
            if self.pins or self.debugger is not None:
                services = dict(services, pins=self.pins)
                # Breakpoints stop runs started from the editor: the Run panel's (tagged)
                # requests and manual runs, never a front end's request or a schedule.
                if self.debugger is not None and (record.tag is not None or source == "manual"):
                    services["debugger"] = self.debugger
            result = await run_action(plan, self.store, record.inputs, timeout=self.timeout,
                                      trace=self.trace, dry_run=dry_run, plans=compiled.actions,
                                      services=services, start_at=start_at, recorded=recorded)
        except ActionError as e:
            record.status, record.error, record.event, record.trace = (e.status, e.logged,
                                                                       e.event, e.trace)
            record.changes, record.failure = list(getattr(e, "changes", None) or []), e
        except Exception as e:  # the last guard of a run: report it with a reference, go on
            reference = new_reference()
            log.exception('unexpected error in action "%s", reference %s', name, reference)
            record.status, record.error = 500, f"{type(e).__name__}: {e} (reference {reference})"
            record.failure = ActionError(f"internal error (reference {reference})")
            record.failure.reference = reference
        else:
            record.status, record.result = result.status, result
            record.trace, record.changes = result.trace, result.changes
        failure = record.failure
        if failure is not None and plan is not None and plan.action.on_failure and \
                source != ON_FAILURE and not dry_run and not getattr(failure, "final", False):
            # After the rollback, in a transaction of its own; its own failure is logged and
            # never starts another on-failure run.
            after = await self.run(plan.action.on_failure, failure_inputs(
                name, failure, record.inputs), ON_FAILURE)
            if after.failure is not None:
                log.error('on-failure action "%s" of "%s" failed: %s', after.action, name,
                          after.error)
        record.ms = (time.perf_counter() - started) * 1000
        if report:
            self.report(record)
        return record


STATE = web.AppKey("state", ServerState)


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    """A JSON error body: {"error": message, ...}."""
    body = {"error": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return web.Response(status=status, text=to_json(body), content_type="application/json")


_AIOHTTP_HANDLE_ERROR = web_protocol.RequestHandler.handle_error


def _json_parse_error(self, request, status: int = 500, exc: BaseException | None = None,
                      message: str | None = None) -> web.StreamResponse:
    """aiohttp answers a request it cannot parse (a request line or header over 8 KB, a bad
    header) itself, in plain text, before any handler runs: answer those in the documented
    JSON shape instead. Other errors keep aiohttp's own handling."""
    response = _AIOHTTP_HANDLE_ERROR(self, request, status, exc, message)
    if not 400 <= status < 500 or request.writer.output_size > 0:
        return response
    text = str(message or "")
    if "too long" in text or "Got more than" in text:
        text = ("the request line or a header is too long (at most "
                f"{LINE_LIMIT:,} bytes each)")
    error = error_response(status, f"bad request: {text}" if text else "bad request")
    error.force_close()
    return error


LINE_LIMIT = 8190  # aiohttp's limit on a request line and on a header
web_protocol.RequestHandler.handle_error = _json_parse_error  # every server of this process


@web.middleware
async def cors_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Answer preflights and add the CORS headers to every answer, errors included, so a
    browser on an allowed origin can read them (runtime.cors); unchanged without settings.cors."""
    policy = request.app[STATE].cors
    if policy is None:
        return await handler(request)
    origin = request.headers.get("Origin")
    if origin is not None and is_preflight(request):
        served = request.app[STATE].table.match("OPTIONS", request.path)[0]
        if served is None:  # /healthz, /readyz, /docs, /openapi.json answer GET
            fixed = await request.app.router.resolve(request.clone(method="GET"))
            served = None if fixed.handler is dispatch else ("GET",)
        return policy.preflight(origin, served, request.path)
    try:
        response = await handler(request)
    except web.HTTPException as e:  # aiohttp's own answers (e.g. 413 before the binder)
        policy.decorate(e.headers, origin)
        raise
    policy.decorate(response.headers, origin)
    return response


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Find the endpoint in the current table, bind its input, run its action, render."""
    state = request.app[STATE]
    started = time.perf_counter()
    record = RunRecord(time.time(), request.method, request.path_qs, 500, 0.0,
                       tag=request.headers.get(TAG_HEADER))
    try:
        response = await _handle(request, state, record)
    except Exception as e:  # the last guard: never a traceback, SQL or internals to the client
        reference = new_reference()
        log.exception("unexpected error in %s %s, reference %s", request.method, request.path,
                      reference)
        record.error = f"{type(e).__name__}: {e} (reference {reference})"
        response = error_response(500, f"internal error (reference {reference})",
                                  reference=reference)
    record.status = response.status
    record.ms = (time.perf_counter() - started) * 1000
    if state.history != "off" and (state.history == "full" or response.status >= 400):
        await _capture(request, response, record)
    state.report(record)
    return response


async def _capture(request: web.Request, response: web.StreamResponse, record: RunRecord) -> None:
    """Keep the request and the response on the record for the run history (masked there)."""
    body = None
    if request.body_exists and not request.content_type.startswith("multipart/"):
        try:  # the binder has read it already (aiohttp keeps it); else it is read now
            body = await request.read()
        except Exception:  # noqa: BLE001 - too large, cut off: the history goes without it
            body = None
    record.http_request = {"method": request.method, "path": request.path,
                           "query": list(request.query.items()),
                           "headers": list(request.headers.items()), "body": body,
                           "content_type": request.content_type}
    record.http_response = {"status": response.status, "headers": list(response.headers.items()),
                            "body": getattr(response, "body", None),
                            "content_type": response.content_type}


async def _handle(request: web.Request, state: ServerState, record: RunRecord):
    table = state.table
    methods, params = table.match(request.method, request.path)
    if methods is None:
        return error_response(404, f"no endpoint at {request.path}")
    route = methods.get(request.method)
    if route is None:
        allowed = ", ".join(sorted(methods))
        response = error_response(405, f"{request.method} is not allowed on {request.path} "
                                       f"(allowed: {allowed})")
        response.headers["Allow"] = allowed
        return response
    endpoint = route.plan.endpoint
    record.endpoint = endpoint.name
    auth = {}
    if endpoint.auth:  # who is asking comes before what they ask: 401/403 before 4xx input
        try:
            auth = {"user": await _logged_in(request, state, endpoint.auth)}
        except ActionError as e:
            record.error = e.message
            return error_response(e.status, e.message)
    try:
        inputs = await route.binder.bind(request, params)
    except ValidationError as e:
        record.error = e.message
        if auth:  # who asked, for the history (a replay signs in as the same user)
            record.inputs = {"auth": auth}
        return error_response(e.status, e.message,
                              fields=[{"field": f.field, "message": f.message} for f in e.errors])
    if route.plan.action is None:
        return error_response(501, f'endpoint "{endpoint.name}" does not trigger an action yet')
    inputs["auth"] = auth
    dry_run = state.dry_run_header and request.headers.get(DRY_RUN_HEADER) == "1"
    await state.run(route.plan.action, inputs, "http", record=record, dry_run=dry_run,
                    report=False)  # dispatch reports once the response is rendered
    e = record.failure
    if e is not None:
        return error_response(e.status, e.message, action=e.action, event=e.event,
                              event_kind=e.kind, reference=e.reference)
    result = record.result
    if result.status == 204 or result.value is None and result.status >= 300:
        return web.Response(status=result.status)
    text, content_type = render(result.value, endpoint.response_type)
    return web.Response(status=result.status, text=text, content_type=content_type)


async def _logged_in(request: web.Request, state: ServerState, profile_name: str) -> dict:
    """The user of the request's token for an auth profile (401/403 as ActionError)."""
    auth: AuthService = state.services["auth"]
    user_id = auth.user_id(profile_name, request.headers.get("Authorization"))
    profile = auth.profiles[profile_name]
    async with state.store.run_transaction(writes=False) as tx:  # the fast path, as a run's
        rows = await tx.select(profile.model, tx.by_id(profile.model, user_id), limit=1)
    if not rows:
        raise ActionError("the user of this login token no longer exists", status=401)
    user = {k: v for k, v in rows[0].items() if k != profile.password}
    auth.check_rule(profile_name, user)
    return user


READY_TIMEOUT = 2.0  # seconds /readyz waits for the database


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers, and which worker process it is (not logged, so probes do
    not fill the log)."""
    return web.Response(text=to_json({"status": "ok", "pid": os.getpid()}),
                        content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    """Readiness: a project is compiled and the database answers `SELECT 1`; else 503."""
    state = request.app[STATE]
    if state.compiled is None or state.table is None:
        return _not_ready("no compiled project")
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            async with state.store.transaction(writes=False) as tx:
                await tx.conn.execute(sa.text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 - any failure means "not ready", with the reason
        reason = f"database: {type(e).__name__}: {e}".splitlines()[0]
        if isinstance(e, TimeoutError):
            reason = f"database: no answer within {READY_TIMEOUT:g} s"
        return _not_ready(reason)
    return web.Response(text=to_json({"status": "ready", "revision": state.table.revision}),
                        content_type="application/json")


class DocsCache:
    """The document and docs page of the project being served, made once per compiled revision
    (the editor swaps revisions in; each is built on its first request) and per server URL.

    It lives here, where the server keeps it: runtime.openapi builds documents and runtime.docs
    renders them, and neither needs the other's cache."""

    LIMIT = 16  # server URLs kept per revision (each Host a client used)

    def __init__(self):
        self._compiled: Any = None
        self._spec: dict[str, Any] | None = None
        self._texts: dict[tuple[str, str], str] = {}

    def spec(self, compiled: Any, server_url: str | None = None) -> dict[str, Any]:
        """The document of a compiled project (runtime.compiler.CompiledProject)."""
        if compiled is not self._compiled or self._spec is None:
            self._spec = build_openapi(compiled.project)
            self._compiled = compiled
            self._texts = {}
        if server_url is None:
            return self._spec
        spec = {k: v for k, v in self._spec.items() if k not in ("paths", "components")}
        return {**spec, "servers": [{"url": server_url}], "paths": self._spec["paths"],
                "components": self._spec["components"]}

    def text(self, compiled: Any, server_url: str, form: str) -> str:
        """The document as JSON text (`form` "json") or the docs page ("html")."""
        spec = self.spec(compiled, server_url)
        key = (server_url, form)
        if key not in self._texts:
            if len(self._texts) >= self.LIMIT:
                self._texts.clear()
            if form == "html":
                self._texts[key] = render_docs_html(spec)
            else:
                self._texts[key] = dumps(spec)
        return self._texts[key]


DOCS = web.AppKey("docs", DocsCache)


async def _docs(request: web.Request, form: str) -> web.Response:
    state = request.app[STATE]
    if state.compiled is None:
        return error_response(503, "no compiled project to describe")
    # Made from the revision served now (the editor swaps revisions in), once per revision.
    text = request.app[DOCS].text(state.compiled, f"{request.scheme}://{request.host}", form)
    if form == "html":
        return web.Response(text=text, content_type="text/html")
    return web.Response(text=text, content_type="application/json")


async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of the endpoints served now (runtime.openapi)."""
    return await _docs(request, "json")


async def docs_page(request: web.Request) -> web.Response:
    """A readable page of the same document, for front-end developers (runtime.docs)."""
    return await _docs(request, "html")


def _not_ready(reason: str) -> web.Response:
    return web.Response(status=503, text=to_json({"status": "unavailable", "reason": reason}),
                        content_type="application/json")


def server_app(state: ServerState, *, max_body: int = MAX_BODY, docs: bool = True
               ) -> web.Application:
    """The aiohttp application answering from a server state (runtime.host.Host.app makes it).

    `docs=False` leaves out /docs and /openapi.json (they then answer 404 like any unknown
    path). Whoever owns the state closes it (`ServerState.close`)."""
    app = web.Application(client_max_size=max_body, middlewares=[cors_middleware])
    app[MAX_BODY_KEY] = max_body
    app[STATE] = state
    app.router.add_get("/healthz", healthz)  # before the catch-all, like every fixed route
    app.router.add_get("/readyz", readyz)
    if docs:
        app[DOCS] = DocsCache()
        app.router.add_get("/openapi.json", openapi_json)  # in compiler.RESERVED_PATHS
        app.router.add_get("/docs", docs_page)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app

