"""One served project: its compiled revision, its store, the server state and the scheduler.

Every way of serving builds on a Host: `actiongraph serve`, each gunicorn worker
(runtime.workers), the editor's live server and the test fixtures.

    host = await Host.open(ServeConfig(project="shoes.actiongraph.json"))
    await host.listen()                       # or: host.app() for gunicorn / a TestServer
    await host.deploy(new_project, revision=2)  # the only way to swap; a stale one is refused
    record = await host.run("Nightly report")   # the only way to run an action (-> RunRecord)
    await host.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy import exc as sa_exc
from sqlalchemy.schema import CreateTable

from runtime import logs, outbox
from runtime.compiler import ActionPlan, CompiledProject, compile_project
from runtime.environ import DB_ENV, PROJECT_ENV, environment_values, resolve
from runtime.errors import MigrationError, ProjectError, StaleRevision
from runtime.executor import DEFAULT_TIMEOUT
from runtime.history import DAYS, KEEP, MODES, RunHistory, for_server
from runtime.project import Project
from runtime.projectfile import load
from runtime.runs import RunRecord
from runtime.scheduler import SLOTS, Clock, Scheduler
from runtime.server import MAX_BODY, EndpointTable, ServerState, server_app
from runtime.store import Store, default_url

GRACEFUL_TIMEOUT = 30  # seconds a stopping server has to finish its requests (gunicorn's default)
MIGRATION_LOCK_KEY = 0x4163_7447_7261_7068  # "AcGraph": the PostgreSQL advisory lock of migrations


class StartupError(Exception):
    """Why a server cannot start, in words for the terminal (no traceback).

    `migration` is the refused model change when that is the reason (the editor then serves an
    empty project and says why)."""

    def __init__(self, message: str, migration: MigrationError | None = None):
        super().__init__(message)
        self.migration = migration


@dataclass
class ServeConfig:
    """How to serve a project: the file, the database, the address and the run options.

    Built from the command line's arguments (runtime.cli) or from ACTIONGRAPH_* variables
    (`from_env`, for gunicorn workers); the editor builds its own."""

    project: str | None = None  # the project file; None when the caller hands a Project in
    db: str | None = None  # SQLAlchemy URL (default: $ACTIONGRAPH_DB, else NAME.db beside the file)
    host: str = "127.0.0.1"
    port: int = 8080
    timeout: float = DEFAULT_TIMEOUT  # seconds one action run may take
    max_body: int = MAX_BODY
    allow_data_loss: bool = False
    log_format: str = "json"
    docs: bool = True  # serve /docs and /openapi.json
    workers: int = 1
    graceful_timeout: int = GRACEFUL_TIMEOUT
    trace: bool = False  # record every run's steps (the editor's live server)
    dry_run_header: bool = False  # honour X-Actiongraph-Dry-Run (the editor's live server)
    pins: bool = False  # pinned events return their pinned output (the editor's live server)
    # Browsers on http://localhost:* and http://127.0.0.1:* may call it (the editor's live server)
    local_origins: bool = False
    schedules: bool = True  # run scheduled actions while the application runs
    # Deliver the outbox's mail while the application runs (runtime.outbox); the retry timing
    # comes from ACTIONGRAPH_MAIL_RETRY / ACTIONGRAPH_MAIL_ATTEMPTS in `environ`.
    send_mail: bool = True
    history: str = "off"  # which runs the run history records: off, errors or full (runtime.history)
    history_db: str | None = None  # where: a file or URL (default: NAME.runs.db, or a PostgreSQL --db)
    history_keep: int = KEEP  # runs kept
    history_days: float = DAYS  # days a run is kept
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # Which `.env.NAME` file gives the project's env.NAME values (after the process
    # environment), and the folder it is in (default: the project file's).
    environment: str = "production"
    env_dir: str | None = None

    @property
    def url(self) -> str:
        """The database URL: --db, else $ACTIONGRAPH_DB, else NAME.db beside the file."""
        url = self.db or self.environ.get(DB_ENV)
        if url:
            return url
        if self.project is None:
            raise StartupError("no database: give a database URL or a project file")
        return default_url(self.project)

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
        history = env.get("ACTIONGRAPH_HISTORY") or "errors"
        if history not in MODES:
            raise StartupError(f"ACTIONGRAPH_HISTORY={history!r}: choose full, errors or off")
        if log_format not in logs.FORMATS:
            raise StartupError(f"ACTIONGRAPH_LOG_FORMAT={log_format!r}: choose json or text")
        return cls(project=project, db=env.get(DB_ENV) or None,
                   timeout=number("ACTIONGRAPH_TIMEOUT", float, DEFAULT_TIMEOUT),
                   max_body=number("ACTIONGRAPH_MAX_BODY", int, MAX_BODY),
                   allow_data_loss=env.get("ACTIONGRAPH_ALLOW_DATA_LOSS", "") in ("1", "true", "yes"),
                   log_format=log_format,
                   docs=env.get("ACTIONGRAPH_DOCS", "1").lower() not in ("0", "false", "no"),
                   history=history, history_db=env.get("ACTIONGRAPH_HISTORY_DB") or None,
                   environment=env.get("ACTIONGRAPH_ENVIRONMENT") or "production", environ=env)


class Host:
    """One served project. `open` it, then serve it (`listen`, or `app()` for gunicorn and test
    servers), `deploy` new revisions, `run` actions, and `close` it."""

    def __init__(self, config: ServeConfig, compiled: CompiledProject, store: Store,
                 changes: list[str], services: dict[str, Any] | None = None,
                 clock: Clock | None = None):
        self.config = config
        self.store = store
        self.changes = changes  # what opening the store migrated (for the banner)
        self.state = ServerState(store, EndpointTable.build(compiled), compiled, config.timeout,
                                 trace=config.trace or config.history == "full",
                                 services=dict(services or {}),
                                 dry_run_header=config.dry_run_header, pins=config.pins,
                                 history=config.history, local_origins=config.local_origins)
        self.state.swap(compiled)
        # The run history, when on: a listener like the editor's server log ("off" adds nothing).
        self.history: RunHistory | None = None
        if config.history != "off":
            self.history = RunHistory(
                for_server(config.history_db, config.url, config.project), mode=config.history,
                project=compiled.project, keep=config.history_keep, days=config.history_days)
            self.state.listeners.append(self.history.add)
        self.scheduler = Scheduler(self, clock)
        first_retry, attempts = outbox.settings_from(config.environ)
        self.sender = outbox.Sender(store, lambda: self.state.services["mail"],
                                    first_retry=first_retry, attempts=attempts)
        self.state.services["outbox"] = self.sender  # runs that queued mail wake it
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._deploying = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, config: ServeConfig, project: Project | None = None, *,
                   compiled: CompiledProject | None = None, revision: int = 1,
                   services: dict[str, Any] | None = None, clock: Clock | None = None,
                   migrate: bool = True) -> Host:
        """Load (from `config.project`, `${NAME}` resolved) or take a project, compile it unless
        `compiled` is given, and open its store with the tables migrated.

        StartupError says why it cannot (problems of the file, the database); a project handed
        in that does not compile raises its ProjectError. `services` may set the mail service
        (the editor's Outbox); `clock` is the scheduler's (tests move it by hand).
        `migrate=False` serves on the database as it is: the editor's stand-in while a model
        change is refused must not drop the tables it leaves out."""
        if project is None:
            if config.project is None:
                raise StartupError("nothing to serve: give a project file or a project")
            project, compiled = load_project(config.project, config.environ)
        elif compiled is None:
            compiled = compile_project(project, revision)
        folder = config.env_dir or (os.path.dirname(os.path.abspath(config.project))
                                    if config.project else None)
        try:
            env = environment_values(compiled.project, folder, config.environment,
                                     config.environ)
        except ProjectError as e:
            raise StartupError("; ".join(p.message for p in e.problems)) from None
        services = {**(services or {}), "env": env}
        store, changes = await open_store(config.url, compiled.project, config.allow_data_loss,
                                          migrate)
        try:  # also on a database taken as it is: the table is ours, not the project's
            await outbox.ensure_table(store)
        except (OSError, sa_exc.SQLAlchemyError, TimeoutError) as e:
            await store.close()
            raise StartupError(f"cannot prepare the mail outbox in {safe_url(config.url)}: "
                               f"{_reason(e)}") from None
        return cls(config, compiled, store, changes, services, clock)

    # -- what is served -----------------------------------------------------------------------
    @property
    def compiled(self) -> CompiledProject:
        """The compiled revision answering now."""
        return self.state.compiled

    @property
    def project(self) -> Project:
        """The project of the revision answering now."""
        return self.state.compiled.project

    @property
    def revision(self) -> int:
        """The revision answering now."""
        return self.state.compiled.revision

    @property
    def runner(self) -> web.AppRunner | None:
        """The runner of `listen` while it answers (its sites and addresses), else None."""
        return self._runner

    @property
    def listeners(self) -> list[Callable[[RunRecord], None]]:
        """Called with every finished run's record (the editor's server log)."""
        return self.state.listeners

    async def deploy(self, project: Project, revision: int, *,
                     compiled: CompiledProject | None = None,
                     allow_data_loss: bool | None = None) -> CompiledProject:
        """Serve `project` as `revision` from the next request on: compile it (unless `compiled`,
        its plan for this revision, is given), migrate the database when its models changed,
        then swap in one step. A revision not newer than the one served raises StaleRevision;
        a ProjectError or MigrationError leaves the old revision serving."""
        async with self._deploying:  # one at a time: a slow migration cannot reorder revisions
            if revision <= self.revision:
                raise StaleRevision(f"revision {revision} is not newer than the one served "
                                    f"({self.revision})")
            if compiled is None:
                compiled = compile_project(project, revision)
            elif compiled.revision != revision:
                raise ValueError(f"the plan handed in is of revision {compiled.revision}, "
                                 f"not {revision}")
            if compiled.project.models != self.project.models:
                lose = self.config.allow_data_loss if allow_data_loss is None else allow_data_loss
                await self.store.open(compiled.project, allow_data_loss=lose)
            self.state.swap(compiled)
            if self.history is not None:
                self.history.use(compiled.project)
            return compiled

    async def run(self, action: str | ActionPlan, inputs: dict[str, Any] | None = None,
                  source: str = "manual", *, dry_run: bool = False, start_at: str | None = None,
                  recorded: dict[str, dict] | None = None) -> RunRecord:
        """Run an action of the revision served now (`inputs`: path/query/header/body/auth
        groups, empty by default) and report its record to the log and the listeners. A failed
        run is a record with `error` and `failure`, never an exception. `start_at`: from that
        event on, with a recorded run's outputs (`recorded`: event id -> outputs) in scope."""
        return await self.state.run(action, inputs, source, dry_run=dry_run, start_at=start_at,
                                    recorded=recorded)

    def report(self, record: RunRecord) -> None:
        """Log a record of something that did not run (a schedule slot that could not be claimed)."""
        self.state.report(record)

    # -- serving ------------------------------------------------------------------------------
    def app(self) -> web.Application:
        """The aiohttp application (made once): it starts the scheduler when it starts and
        closes the Host when it stops."""
        if self._app is None:
            self._app = server_app(self.state, max_body=self.config.max_body,
                                   docs=self.config.docs)
            self._app[HOST] = self
            self._app.cleanup_ctx.append(self._lifetime)
        return self._app

    async def listen(self, host: str | None = None, port: int | None = None, *,
                     handle_signals: bool = False) -> None:
        """Answer HTTP on host:port (default: the config's). An OSError (port in use) closes
        the Host, as a server that never started."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=handle_signals,
                               shutdown_timeout=self.config.graceful_timeout)
        await runner.setup()
        try:
            await web.TCPSite(runner, host or self.config.host,
                              self.config.port if port is None else port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner

    async def _lifetime(self, app: web.Application) -> AsyncIterator[None]:
        if self.config.schedules:
            self.scheduler.start()
        if self.config.send_mail:
            self.sender.start()
        yield
        await self._release()

    async def close(self) -> None:
        """Stop listening (finishing the requests in flight), stop the scheduler and wait for
        its runs, close the outgoing HTTP clients and the store. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()  # the application's clean-up releases the rest
        await self._release()

    async def _release(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.scheduler.stop()
        await self.sender.stop()
        await self.state.close()
        if self.history is not None:  # writes what is queued, off the loop
            await asyncio.to_thread(self.history.close)
        logs.flush_access_lines()


HOST = web.AppKey("host", Host)  # the Host of an application made by Host.app()


# -- opening: the project, the database ---------------------------------------------------

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


async def open_store(url: str, project: Project, allow_data_loss: bool = False,
                     migrate: bool = True) -> tuple[Store, list[str]]:
    """A store on `url` with its tables migrated (under the migration lock) and the schedule
    claims table made; returns it and what the migration changed. StartupError says why not.

    `migrate=False` takes the database as it is (nothing is made or dropped)."""
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
    if not migrate:
        return store, []
    try:
        async with migration_lock(store):
            changes = await store.open(project, allow_data_loss=allow_data_loss)
            async with store.transaction() as tx:  # before the workers' schedulers race for it
                await tx.conn.execute(CreateTable(SLOTS, if_not_exists=True))
    except MigrationError as e:
        await store.close()
        raise StartupError(f"The database {safe_url(url)} was not changed:\n{e}", e) from None
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
    import fcntl  # POSIX only; imported where it is used so the module loads everywhere

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
