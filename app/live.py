"""The live server: the runtime's aiohttp application inside the editor, on qasync's loop.

No second thread: the server, the Run panel's HTTP client and the data browser all run on the
one asyncio loop that qasync drives from Qt's event loop. The server is a `runtime.host.Host`,
as `serve` is: every edit is a new revision handed to `Host.deploy`, so the next request
follows it; while the project has problems the last good revision keeps serving and
`status()` says so. The plan served is the one the document compiled for its Problems list
(`Document.checked`, a copy of the project nobody edits): each revision is compiled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import errno
import socket
import tempfile
from collections import deque
from pathlib import Path

from aiohttp import web
from PySide6.QtCore import QObject, Signal
from shiboken6 import Shiboken

from runtime.compiler import Checked, CompiledProject, check, compile_project
from runtime.errors import MigrationError, ProjectError, StaleRevision
from runtime.host import Host, ServeConfig, StartupError
from runtime.mail import Mail, Outbox, SmtpMailer
from runtime.project import MailSettings, Project
from runtime.runs import RunRecord
from runtime.scheduler import Scheduler
from runtime.seed import seed_new_tables, table_names
from runtime.server import ServerState
from runtime.store import Store, default_url

DEFAULT_PORT = 8765
HOST = "127.0.0.1"
MAX_RECORDS = 500


class LiveMail:
    """Mail during live testing: every message lands in the Outbox; it is also sent through
    the project's SMTP server only when the user turns real sending on."""

    def __init__(self, outbox: Outbox):
        self.outbox = outbox
        self.real = False
        self.smtp = SmtpMailer(MailSettings())

    def use(self, settings: MailSettings) -> None:
        self.smtp.use(settings)

    async def send(self, mail: Mail) -> None:
        if not mail.sender:  # show who it would come from
            mail = dataclasses.replace(mail, sender=self.smtp.settings.sender)
        if self.real:  # first: a refused mail is retried by the outbox, and shown once it left
            await self.smtp.send(mail)
        await self.outbox.send(mail)


class PortInUse(Exception):
    """The port asked for is taken; `free` is the next free one."""

    def __init__(self, port: int, free: int | None):
        super().__init__(f"port {port} is in use" + (f"; port {free} is free" if free else ""))
        self.port, self.free = port, free


def free_port(start: int, host: str = HOST, tries: int = 50) -> int | None:
    """The first port from `start` on that nothing listens on."""
    for port in range(start, min(start + tries, 65536)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    return None


def _folder_of(db_url: str) -> str | None:
    """The folder of a SQLite file URL (the project's folder: its database sits beside it)."""
    if not db_url.startswith("sqlite"):
        return None
    path = db_url.split("///", 1)[1] if "///" in db_url else ""
    return str(Path(path).parent) if path and path != ":memory:" else None


def database_url(project_path: Path | None) -> str:
    """The project's SQLite file (beside the project, as `serve` uses), or a scratch file for
    a project not saved yet."""
    if project_path is not None:
        return default_url(project_path)
    folder = Path(tempfile.gettempdir()) / "actiongraph-unsaved"
    folder.mkdir(exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / 'untitled.db'}"


class LiveServer(QObject):
    """The embedded server of one editor window: a Host on 127.0.0.1 and its log."""

    requestLogged = Signal(object)  # a RunRecord: every HTTP request and every schedule run
    statusChanged = Signal()
    mailSent = Signal(object)  # a runtime.mail.Mail that went to the Outbox
    storeChanged = Signal()  # a new Store or new models (the data browser reloads)
    outboxChanged = Signal()  # the sender delivered, retried or gave up a mail (the Outbox reads)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.outbox = Outbox()
        self.outbox.listeners.append(self.mailSent.emit)
        self.mail = LiveMail(self.outbox)
        self.host: Host | None = None
        self.port: int | None = None
        self.revision = 0  # the newest revision handed in
        self.served = 0  # the revision answering requests
        self.project: Project | None = None  # the snapshot being served
        self.problems: list = []  # why the newest revision is not served
        self.error: str | None = None  # why the server is not running / not migrated
        self.records: deque[RunRecord] = deque(maxlen=MAX_RECORDS)
        self._tags: dict[str, RunRecord] = {}
        self.seeded: dict[str, int] = {}  # seed rows added to tables the last open created
        self._latest: Checked | None = None
        self._deploying: asyncio.Task | None = None

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> ServerState | None:
        return self.host.state if self.host is not None else None

    @property
    def store(self) -> Store | None:
        """The live database (the data browser reads it)."""
        return self.host.store if self.host is not None else None

    @property
    def scheduler(self) -> Scheduler | None:
        return self.host.scheduler if self.host is not None else None

    @property
    def app(self) -> web.Application | None:
        return self.host.app() if self.host is not None else None

    @property
    def runner(self) -> web.AppRunner | None:
        return self.host.runner if self.host is not None else None

    @property
    def running(self) -> bool:
        return self.host is not None

    @property
    def base_url(self) -> str | None:
        """e.g. http://127.0.0.1:8765 while listening, else None."""
        return f"http://{HOST}:{self.port}" if self.running else None

    @property
    def current(self) -> bool:
        """Whether the newest revision is the one answering."""
        return self.running and self.served == self.revision

    def status(self) -> tuple[str, str]:
        """(level, text) for the status bar; level is ok, stale, stopped or error."""
        if not self.running:
            return ("error" if self.error else "stopped",
                    self.error or "Server stopped")
        if self.current:
            return "ok", f"Serving at {self.base_url}"
        if self.problems:
            n = len(self.problems)
            last = f"revision {self.served}" if self.served else "nothing"
            return "stale", (f"Serving the last good version ({last}) at {self.base_url}: "
                             f"the project has {n} problem{'s' if n != 1 else ''}")
        if self.error:
            return "stale", f"Serving the last good version at {self.base_url}: {self.error}"
        return "stale", f"Updating... ({self.base_url})"

    def record(self, tag: str) -> RunRecord | None:
        """The record of a request the Run panel tagged."""
        return self._tags.get(tag)

    # -- start and stop ---------------------------------------------------------------------
    async def start(self, project: Project | Checked, db_url: str,
                    port: int = DEFAULT_PORT) -> None:
        """Open the database and listen on 127.0.0.1:port; raises PortInUse (nothing started).

        `project` is a Project (copied and compiled here) or the document's compile of its
        revision (`Document.checked`), served as it is."""
        await self.stop()
        checked = _checked(project)
        snapshot = checked.project
        self.revision += 1
        compiled, self.problems = _servable(checked, self.revision)
        config = ServeConfig(db=db_url, host=HOST, port=port, trace=True, dry_run_header=True,
                             pins=True, history="full",  # every run kept in NAME.runs.db
                             local_origins=True,  # a front end on its dev server may call it
                             # env.NAME values: .env.development, then .env, beside the project
                             environment="development", env_dir=_folder_of(db_url))
        services = {"mail": self.mail}
        self.error = None
        before = await _tables(db_url)
        try:
            host = await Host.open(config, compiled.project, compiled=compiled,
                                   revision=self.revision, services=services)
        except StartupError as e:
            if e.migration is None:
                raise
            self.error = f"the database was not changed: {e.migration}"
            compiled = compile_project(Project(name=snapshot.name), self.revision)
            host = await Host.open(config, compiled.project, compiled=compiled,
                                   revision=self.revision, services=services, migrate=False)
        else:
            self.seeded = await self._seed(host.store, compiled.project, before)
        host.listeners.append(self._logged)
        host.sender.listeners.append(self._outbox_changed)
        try:
            await host.listen()
        except OSError as e:  # the Host is closed already
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(port, free_port(port + 1)) from None
            raise
        self.host, self.port = host, port
        self.served = self.revision if not self.problems else 0
        self.project = compiled.project
        self.storeChanged.emit()
        self.statusChanged.emit()

    async def stop(self) -> None:
        """Stop listening and close the database (the window is closing, or a new project)."""
        if self._deploying is not None:
            self._deploying.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._deploying
            self._deploying = None
        host, self.host = self.host, None
        if host is not None:
            await host.close()
            if Shiboken.isValid(self):  # the window may be gone already (closing)
                self.storeChanged.emit()
                self.statusChanged.emit()

    # -- hot reload -------------------------------------------------------------------------
    def update(self, project: Project | Checked) -> None:
        """Serve this version of the project from the next request on (deployed in the
        background; a version with problems leaves the last good one serving). `project` is
        a Project (copied now) or the document's compile of its revision (`Document.checked`)."""
        if not self.running:
            return
        self._latest = (project if isinstance(project, Checked)
                        else Checked(copy.deepcopy(project), None, []))
        self.revision += 1
        if self._deploying is None or self._deploying.done():
            self._deploying = asyncio.ensure_future(self._deploy_latest())
        self.statusChanged.emit()

    async def settled(self) -> None:
        """Wait until the newest version handed in is served (or refused)."""
        while self._deploying is not None and not self._deploying.done():
            await asyncio.shield(self._deploying)

    async def _deploy_latest(self) -> None:
        while self._latest is not None and self.running:
            latest, revision, self._latest = self._latest, self.revision, None
            if latest.compiled is None and not latest.problems:  # a copy not compiled yet
                latest = check(latest.project, revision)
            self.problems = [] if latest.compiled is not None else latest.problems
            if latest.compiled is None:
                self.statusChanged.emit()
                continue
            compiled = _as_revision(latest.compiled, revision)
            host = self.host
            models_changed = host.project.models != compiled.project.models
            try:
                before = await table_names(host.store) if models_changed else set()
                await host.deploy(compiled.project, revision, compiled=compiled)
                if models_changed:  # a model added with seed rows starts with them
                    self.seeded = await self._seed(host.store, compiled.project, before)
            except MigrationError as e:
                self.error = f"the database was not changed: {e}"
            except StaleRevision:  # a newer one is served already
                pass
            else:
                self.error = None
                self.served, self.project = revision, compiled.project
                if models_changed:
                    self.storeChanged.emit()
            self.statusChanged.emit()

    async def _seed(self, store: Store, project: Project, before: set[str]) -> dict[str, int]:
        """Add the seed rows of the tables just created; a refused row is said in the status."""
        try:
            return await seed_new_tables(store, project, before)
        except ProjectError as e:
            self.error = f"the seed rows were not added: {e.problems[0]}"
            return {}

    def _outbox_changed(self) -> None:
        if Shiboken.isValid(self):  # the sender may outlive a closed window by a moment
            self.outboxChanged.emit()

    # -- the log ----------------------------------------------------------------------------
    def _logged(self, record: RunRecord) -> None:
        self.records.append(record)
        if record.tag:
            self._tags[record.tag] = record
            if len(self._tags) > MAX_RECORDS:
                self._tags.pop(next(iter(self._tags)))
        self.requestLogged.emit(record)

    async def run_now(self, action: str) -> RunRecord:
        """Run a scheduled (or any) action by hand; it is logged like a request."""
        if self.host is None:
            raise RuntimeError("the live server is not running")
        await self.settled()
        return await self.host.scheduler.run_now(action)


def _checked(project: Project | Checked) -> Checked:
    """The compile of a snapshot: the document's (as it is), else of a copy made now."""
    if isinstance(project, Checked):
        return project
    return check(copy.deepcopy(project))


def _as_revision(compiled: CompiledProject, revision: int) -> CompiledProject:
    """The same plan numbered as the server's revision (no second compile)."""
    if compiled.revision == revision:
        return compiled
    return dataclasses.replace(compiled, revision=revision)


def _servable(checked: Checked, revision: int) -> tuple[CompiledProject, list]:
    """(the plan, []) or, when the project has problems, (the best part that compiles: its
    models alone, else nothing; the problems)."""
    if checked.compiled is not None:
        return _as_revision(checked.compiled, revision), []
    project = checked.project
    for fallback in (Project(name=project.name, models=project.models), Project(name=project.name)):
        try:
            return compile_project(fallback, revision), list(checked.problems)
        except ProjectError:
            continue
    raise AssertionError("an empty project always compiles")


async def _tables(db_url: str) -> set[str]:
    """The tables the database holds before the live server opens it (to seed the new ones);
    none when it cannot be read (opening it says why)."""
    try:
        store = Store(db_url, Project(name="probe"))
    except Exception:  # noqa: BLE001 - the Host's open says why the URL is unusable
        return set()
    try:
        return await table_names(store)
    except Exception:  # noqa: BLE001 - the Host's open says why the database is unusable
        return set()
    finally:
        await store.close()
