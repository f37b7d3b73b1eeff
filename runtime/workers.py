"""Serving a project with several worker processes: gunicorn with aiohttp's GunicornWebWorker.

`actiongraph serve FILE --workers N` (N > 1) and a user's own gunicorn command
(`gunicorn -c python:runtime.gunicorn_conf runtime.gunicorn_app:app`) share this module:

- the master loads, resolves `${NAME}` references, compiles, and migrates the database once,
  before any worker is forked; every error is a clear message and exit status 1, no traceback;
- each worker builds its own application (`build_app`): its own engine and connection pool (never
  shared across a fork), its own Scheduler. A scheduled slot runs once across workers because the
  worker that runs it first inserts (action, slot) into `_actiongraph_schedule`, whose primary
  key refuses the others (runtime.scheduler);
- each worker migrates again under a lock (a PostgreSQL advisory lock, a file lock beside a
  SQLite database): after the master did it this finds nothing to do, and a gunicorn command
  without the master's hook still never runs two migrations at once;
- SIGTERM stops accepting connections and finishes the requests in flight (gunicorn's
  graceful timeout) before the store closes;
- on Linux each worker listens on a socket of its own with SO_REUSEPORT (gunicorn's
  `reuse_port`), so the kernel spreads new connections across the workers. With one shared
  socket the worker that wins the accept race takes most keep-alive connections (one worker
  accepted all 32 of a benchmark's while the other idled). Elsewhere SO_REUSEPORT does not
  balance, and the shared socket stays. ACTIONGRAPH_REUSE_PORT=0 turns it off.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web

from runtime import logs
from runtime.compiler import CompiledProject
from runtime.environ import DB_ENV, PROJECT_ENV, SECRET_ENV
from runtime.host import Host, ServeConfig, StartupError, load_project, open_store, safe_url
from runtime.project import Project
from runtime.schedule import parse_schedule

WORKER_CLASS = "aiohttp.GunicornWebWorker"
REUSE_PORT_ENV = "ACTIONGRAPH_REUSE_PORT"


def reuse_port(environ=os.environ) -> bool:
    """Whether each worker binds a socket of its own (SO_REUSEPORT): on Linux, which balances
    connections across such sockets, unless ACTIONGRAPH_REUSE_PORT is 0."""
    wanted = environ.get(REUSE_PORT_ENV, "").strip().lower() not in ("0", "false", "no", "off")
    return wanted and sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def own_sockets_possible(addresses, environ=os.environ) -> bool:
    """Whether gunicorn's workers can each bind the addresses themselves: TCP addresses only
    (a worker binding a Unix socket path removes the one before it), and no sockets handed in
    (systemd socket activation, gunicorn's USR2 re-exec), which reuse_port would ignore."""
    return (all(isinstance(a, tuple) for a in addresses) and not environ.get("LISTEN_FDS")
            and "GUNICORN_FD" not in environ)


# Environment variables of a gunicorn deployment (besides ACTIONGRAPH_PROJECT and _DB).
ENV = {
    PROJECT_ENV: "the project file (required)",
    DB_ENV: "SQLAlchemy database URL (default: NAME.db beside the project file)",
    "ACTIONGRAPH_TIMEOUT": "seconds an action run may take (default 5)",
    "ACTIONGRAPH_MAX_BODY": "largest request body in bytes (default 1048576)",
    "ACTIONGRAPH_ALLOW_DATA_LOSS": "1: let a model change drop fields or tables that hold data",
    "ACTIONGRAPH_LOG_FORMAT": "json (default) or text",
    "ACTIONGRAPH_DOCS": "0: do not serve /docs and /openapi.json",
    "ACTIONGRAPH_HISTORY": "run history: errors (default: failed runs), full or off",
    "ACTIONGRAPH_ENVIRONMENT": "which .env.NAME file beside the project gives its env.NAME "
                               "values after the process environment (default production)",
    "ACTIONGRAPH_HISTORY_DB": "where the run history goes (default: NAME.runs.db beside the "
                              "project, or the _actiongraph_runs table of a PostgreSQL database)",
    REUSE_PORT_ENV: "0: workers share one listening socket (default on Linux: one each, "
                    "SO_REUSEPORT, so connections spread across workers)",
    "ACTIONGRAPH_DB_POOL_SIZE": "PostgreSQL connections each worker keeps open (default 32)",
    "ACTIONGRAPH_DB_MAX_OVERFLOW": "more PostgreSQL connections a worker may open for a burst "
                                   "(default 32, closed again when returned)",
}


# -- a worker's application --------------------------------------------------------------

async def build_app(config: ServeConfig) -> web.Application:
    """The application of one worker: a Host of its own (compiled project, migrated store, its
    own Scheduler); everything it opened closes with the application, after the requests in
    flight have finished."""
    logs.setup(config.log_format)
    host = await Host.open(config)
    return host.app()


# -- the master ------------------------------------------------------------------------------

@dataclass
class Prepared:
    """What the master learnt before forking (for its banner)."""

    project: Project
    compiled: CompiledProject
    url: str
    changes: list[str]


def prepare(config: ServeConfig) -> Prepared:
    """In the master, before any worker exists: load, compile, migrate once, close again.

    Also gives every worker the same token secret when the project has none (a secret made up
    per worker would refuse the tokens the others issue)."""
    project, compiled = load_project(config.project, config.environ)

    async def migrate() -> list[str]:
        store, changes = await open_store(config.url, project, config.allow_data_loss)
        await store.close()  # the workers open their own pools: nothing crosses the fork
        return changes

    changes = asyncio.run(migrate())
    if not project.settings.secret and not os.environ.get(SECRET_ENV):
        os.environ[SECRET_ENV] = secrets.token_urlsafe(32)
    return Prepared(project, compiled, config.url, changes)


def banner(prepared: Prepared, file: str, base: str, workers: int = 1, docs: bool = True
           ) -> list[str]:
    """The lines `serve` prints once it listens (one process, or a gunicorn master)."""
    project, compiled = prepared.project, prepared.compiled
    how = f" with {workers} workers (gunicorn, {WORKER_CLASS})" if workers > 1 else ""
    lines = [f'Actiongraph serving "{project.name}" ({Path(file).name}) at {base}{how}',
             f"Database: {safe_url(prepared.url)}"]
    lines += [f"  migrated: {line}" for line in prepared.changes]
    for plan in compiled.endpoints:
        e = plan.endpoint
        target = f"-> {plan.action.action.name}" if plan.action else "(no action)"
        lines.append(f"  {e.method:<6} {base}{e.path}  {e.name} {target}")
    now = datetime.now().astimezone()
    once = " (once across workers)" if workers > 1 else ""
    for action in project.actions:
        if action.trigger.type == "schedule" and action.name in compiled.actions:
            schedule = parse_schedule(action.trigger.schedule or "")
            lines.append(f"  SCHEDULE {action.name}: {schedule.describe()}, next run "
                         f"{schedule.next_after(now):%Y-%m-%d %H:%M:%S %Z}{once}")
    if docs:
        lines.append(f"API docs: {base}/docs  (OpenAPI: {base}/openapi.json)")
    lines.append(f"Health: {base}/healthz  {base}/readyz")
    lines.append("Press Ctrl+C to stop.")
    return lines


def base_url(host: str, port: int) -> str:
    """The address to show for a bind address (localhost for loopback)."""
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_port(host: str, port: int) -> None:
    """StartupError when host:port cannot be bound (gunicorn would retry for 5 s, then exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise StartupError(f"cannot listen on {host}:{port}: {e.strerror} "
                               f"(try another --port)") from None


def gunicorn_options(*, bind: str, workers: int, graceful_timeout: int) -> dict:
    """The gunicorn settings `serve --workers` uses (gunicorn_conf has the same defaults)."""
    return {
        "bind": [bind],
        "workers": workers,
        "worker_class": WORKER_CLASS,
        "graceful_timeout": graceful_timeout,
        "proc_name": "actiongraph",
        "control_socket_disable": True,  # its default path is shared by every gunicorn of a user
        "loglevel": "info",
        "accesslog": None,  # our own JSON access lines (runtime.logs)
        "reuse_port": reuse_port(),  # a socket per worker: connections spread across them
    }


def serve_workers(config: ServeConfig) -> int:
    """`actiongraph serve FILE --workers N`: gunicorn in this process, N forked workers."""
    try:
        from gunicorn.app.base import BaseApplication  # needed only with several workers
    except ImportError:
        print("--workers needs gunicorn: pip install gunicorn", file=sys.stderr)
        return 1
    try:
        check_port(config.host, config.port)
        prepared = prepare(config)
    except StartupError as e:
        print(e, file=sys.stderr)
        return 1
    logs.setup(config.log_format)
    lines = banner(prepared, config.project, base_url(config.host, config.port), config.workers,
                   docs=config.docs)
    options = gunicorn_options(bind=_bind(config.host, config.port), workers=config.workers,
                               graceful_timeout=config.graceful_timeout)

    def when_ready(server) -> None:  # the master listens; the workers boot next
        print("\n".join(lines), flush=True)

    options["when_ready"] = when_ready

    async def factory() -> web.Application:
        return await worker_app(config)

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return factory

    try:
        Gunicorn().run()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


async def worker_app(config: ServeConfig) -> web.Application:
    """build_app for a gunicorn worker: a StartupError becomes gunicorn's AppImportError, which
    the master prints without a traceback before it stops ("App failed to load")."""
    try:
        return await build_app(config)
    except StartupError as e:
        from gunicorn.errors import AppImportError  # only ever raised inside gunicorn

        raise AppImportError(f"actiongraph worker {os.getpid()}: {e}") from None
