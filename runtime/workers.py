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
  graceful timeout) before the store closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy import exc as sa_exc
from sqlalchemy.schema import CreateTable

from runtime import logs
from runtime.compiler import CompiledProject, compile_project
from runtime.environ import DB_ENV, PROJECT_ENV, SECRET_ENV, resolve
from runtime.errors import MigrationError, ProjectError
from runtime.executor import DEFAULT_TIMEOUT
from runtime.project import Project
from runtime.projectfile import load
from runtime.scheduler import SLOTS, Scheduler, parse_schedule
from runtime.server import MAX_BODY, STATE, create_app
from runtime.store import Store, default_url

WORKER_CLASS = "aiohttp.GunicornWebWorker"
GRACEFUL_TIMEOUT = 30  # seconds a stopping worker has to finish its requests (gunicorn's default)
MIGRATION_LOCK_KEY = 0x4163_7447_7261_7068  # "AcGraph": the PostgreSQL advisory lock of migrations
SCHEDULER = web.AppKey("scheduler", Scheduler)

# Environment variables of a gunicorn deployment (besides ACTIONGRAPH_PROJECT and _DB).
ENV = {
    PROJECT_ENV: "the project file (required)",
    DB_ENV: "SQLAlchemy database URL (default: NAME.db beside the project file)",
    "ACTIONGRAPH_TIMEOUT": "seconds an action run may take (default 5)",
    "ACTIONGRAPH_MAX_BODY": "largest request body in bytes (default 1048576)",
    "ACTIONGRAPH_ALLOW_DATA_LOSS": "1: let a model change drop fields or tables that hold data",
    "ACTIONGRAPH_LOG_FORMAT": "json (default) or text",
    "ACTIONGRAPH_DOCS": "0: do not serve /docs and /openapi.json",
}


class StartupError(Exception):
    """Why a server cannot start, in words for the terminal (no traceback)."""


@dataclass
class ServeConfig:
    """What a server (or each worker) needs to start: the file, the database, the run options."""

    project: str
    db: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_body: int = MAX_BODY
    allow_data_loss: bool = False
    log_format: str = "json"
    docs: bool = True  # serve /docs and /openapi.json
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    @property
    def url(self) -> str:
        """The database URL: --db, else $ACTIONGRAPH_DB, else NAME.db beside the file."""
        return self.db or self.environ.get(DB_ENV) or default_url(self.project)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServeConfig:
        """The configuration of a gunicorn worker, from ACTIONGRAPH_* variables."""
        env = os.environ if environ is None else environ
        project = env.get(PROJECT_ENV)
        if not project:
            raise StartupError(f"{PROJECT_ENV} is not set: set it to the project file "
                               f"(NAME.actiongraph.json) to serve")

        def number(name: str, kind, default):
            text = env.get(name)
            if text in (None, ""):
                return default
            try:
                value = kind(text)
            except ValueError:
                raise StartupError(f"{name}={text!r} is not a number") from None
            if value <= 0:
                raise StartupError(f"{name}={text!r} must be more than 0")
            return value

        log_format = env.get("ACTIONGRAPH_LOG_FORMAT") or "json"
        if log_format not in logs.FORMATS:
            raise StartupError(f"ACTIONGRAPH_LOG_FORMAT={log_format!r}: choose json or text")
        return cls(project=project, db=env.get(DB_ENV) or None,
                   timeout=number("ACTIONGRAPH_TIMEOUT", float, DEFAULT_TIMEOUT),
                   max_body=number("ACTIONGRAPH_MAX_BODY", int, MAX_BODY),
                   allow_data_loss=env.get("ACTIONGRAPH_ALLOW_DATA_LOSS", "") in ("1", "true", "yes"),
                   log_format=log_format,
                   docs=env.get("ACTIONGRAPH_DOCS", "1").lower() not in ("0", "false", "no"),
                   environ=env)


# -- starting: the project, the database -----------------------------------------------

def load_project(path: str, environ: Mapping[str, str] | None = None
                 ) -> tuple[Project, CompiledProject]:
    """Load, resolve `${NAME}` references, compile; StartupError lists every problem."""
    try:
        project = resolve(load(path), environ, path)
        return project, compile_project(project)
    except ProjectError as e:
        e.path = e.path or path
        raise StartupError(e.describe()) from None


def safe_url(url: str) -> str:
    """A database URL without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: show it as given
        return url


async def open_store(url: str, project: Project, allow_data_loss: bool = False
                     ) -> tuple[Store, list[str]]:
    """A store on `url` with its tables migrated (under the migration lock) and the schedule
    claims table made; returns it and what the migration changed. StartupError says why not."""
    try:
        store = Store(url, project)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ValueError, ImportError) as e:
        raise StartupError(f"cannot use the database URL {safe_url(url)}: {_reason(e)}") from None
    try:
        async with store.engine.connect():  # the server, the credentials, the file's folder
            pass
    except (OSError, sa_exc.SQLAlchemyError, TimeoutError, ImportError) as e:
        await store.close()
        raise StartupError(f"cannot reach the database {safe_url(url)}: {_reason(e)}") from None
    try:
        async with migration_lock(store):
            changes = await store.open(project, allow_data_loss=allow_data_loss)
            async with store.transaction() as tx:  # before the workers' schedulers race for it
                await tx.conn.execute(CreateTable(SLOTS, if_not_exists=True))
    except MigrationError as e:
        await store.close()
        raise StartupError(f"The database {safe_url(url)} was not changed:\n{e}") from None
    except (OSError, sa_exc.SQLAlchemyError, TimeoutError, ImportError) as e:
        await store.close()
        raise StartupError(f"cannot prepare the database {safe_url(url)}: {_reason(e)}") from None
    return store, changes


def _reason(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if isinstance(orig, ImportError) or "No module named" in text:
        text += (" (the server needs an asyncio driver: postgresql+asyncpg://... for PostgreSQL, "
                 "sqlite+aiosqlite:///... for SQLite)")
    return text


@contextlib.asynccontextmanager
async def migration_lock(store: Store) -> AsyncIterator[None]:
    """Hold the lock that keeps two processes from migrating one database at once."""
    dialect = store.engine.dialect.name
    if dialect == "postgresql":
        async with store.engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"),
                               {"key": _signed64(MIGRATION_LOCK_KEY)})
            try:
                yield
            finally:
                await conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": _signed64(MIGRATION_LOCK_KEY)})
                await conn.commit()
        return
    database = store.engine.url.database if dialect == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # no file to lock beside (other databases: the migration's transaction)
        return
    import fcntl

    path = Path(database).with_name(Path(database).name + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # an OSError: cannot reach the database
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _signed64(n: int) -> int:
    return n - (1 << 64) if n >= 1 << 63 else n


# -- a worker's application --------------------------------------------------------------

async def build_app(config: ServeConfig) -> web.Application:
    """The application of one worker: compiled project, migrated store, its own Scheduler.

    Everything opened here is closed by the application's cleanup (after the requests in
    flight have finished)."""
    logs.setup(config.log_format)
    project, compiled = load_project(config.project, config.environ)
    store, _ = await open_store(config.url, project, config.allow_data_loss)
    app = create_app(compiled, store, timeout=config.timeout, max_body=config.max_body,
                     docs=config.docs)
    app.cleanup_ctx.append(_scheduling)  # after close_store: stops before the store closes
    return app


async def _scheduling(app: web.Application) -> AsyncIterator[None]:
    scheduler = Scheduler(app[STATE])
    app[SCHEDULER] = scheduler
    scheduler.start()
    yield
    await scheduler.stop()


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
    }


def serve_workers(args) -> int:
    """`actiongraph serve FILE --workers N`: gunicorn in this process, N forked workers."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        print("--workers needs gunicorn: pip install gunicorn", file=sys.stderr)
        return 1
    config = ServeConfig(project=args.file, db=args.db, timeout=args.timeout,
                         max_body=args.max_body, allow_data_loss=args.allow_data_loss,
                         log_format=getattr(args, "log_format", "json"),
                         docs=not getattr(args, "no_docs", False))
    try:
        check_port(args.host, args.port)
        prepared = prepare(config)
    except StartupError as e:
        print(e, file=sys.stderr)
        return 1
    logs.setup(config.log_format)
    lines = banner(prepared, args.file, base_url(args.host, args.port), args.workers,
                   docs=config.docs)
    options = gunicorn_options(bind=_bind(args.host, args.port), workers=args.workers,
                               graceful_timeout=int(getattr(args, "graceful_timeout",
                                                            GRACEFUL_TIMEOUT)))

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
        from gunicorn.errors import AppImportError

        raise AppImportError(f"actiongraph worker {os.getpid()}: {e}") from None
