"""The live server: the runtime's aiohttp application inside the editor, on qasync's loop.

No second thread: the server, the Run panel's HTTP client and the data browser all run on the
one asyncio loop that qasync drives from Qt's event loop. Every edit is compiled as a new
revision and swapped in whole (`ServerState.deploy`), so the next request follows it; while
the project has problems the last good revision keeps serving and `status()` says so.
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

from runtime.compiler import compile_project
from runtime.errors import MigrationError, ProjectError
from runtime.mail import Mail, Outbox, SmtpMailer
from runtime.project import MailSettings, Project
from runtime.scheduler import Scheduler
from runtime.seed import seed_new_tables, table_names
from runtime.server import STATE, RequestRecord, ServerState, create_app
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
        await self.outbox.send(mail)
        if self.real:
            await self.smtp.send(mail)


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


def database_url(project_path: Path | None) -> str:
    """The project's SQLite file (beside the project, as `serve` uses), or a scratch file for
    a project not saved yet."""
    if project_path is not None:
        return default_url(project_path)
    folder = Path(tempfile.gettempdir()) / "actiongraph-unsaved"
    folder.mkdir(exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / 'untitled.db'}"


class LiveServer(QObject):
    """The embedded server of one editor window."""

    requestLogged = Signal(object)  # a RequestRecord: every HTTP request and every schedule run
    statusChanged = Signal()
    mailSent = Signal(object)  # a runtime.mail.Mail that went to the Outbox
    storeChanged = Signal()  # a new Store or new models (the data browser reloads)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.outbox = Outbox()
        self.outbox.listeners.append(self.mailSent.emit)
        self.mail = LiveMail(self.outbox)
        self.app: web.Application | None = None
        self.runner: web.AppRunner | None = None
        self.store: Store | None = None
        self.scheduler: Scheduler | None = None
        self.port: int | None = None
        self.revision = 0  # the newest revision handed in
        self.served = 0  # the revision answering requests
        self.project: Project | None = None  # the snapshot being served
        self.problems: list = []  # why the newest revision is not served
        self.error: str | None = None  # why the server is not running / not migrated
        self.records: deque[RequestRecord] = deque(maxlen=MAX_RECORDS)
        self._tags: dict[str, RequestRecord] = {}
        self.seeded: dict[str, int] = {}  # seed rows added to tables the last open created
        self._latest: Project | None = None
        self._deploying: asyncio.Task | None = None

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> ServerState | None:
        return self.app[STATE] if self.app is not None else None

    @property
    def running(self) -> bool:
        return self.runner is not None

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

    def record(self, tag: str) -> RequestRecord | None:
        """The record of a request the Run panel tagged."""
        return self._tags.get(tag)

    # -- start and stop ---------------------------------------------------------------------
    async def start(self, project: Project, db_url: str, port: int = DEFAULT_PORT) -> None:
        """Open the database and listen on 127.0.0.1:port; raises PortInUse (nothing started)."""
        await self.stop()
        snapshot = copy.deepcopy(project)
        self.revision += 1
        compiled, self.problems = _compile(snapshot, self.revision)
        served = compiled.project
        store = Store(db_url, served)
        self.error = None
        try:
            before = await table_names(store)
            await store.open(served)
            self.seeded = await self._seed(store, served, before)
        except MigrationError as e:
            self.error = f"the database was not changed: {e}"
            compiled = compile_project(Project(name=snapshot.name), self.revision)
            served = compiled.project
            store.use(served)
        app = create_app(compiled, store, services={"mail": self.mail}, trace=True)
        app[STATE].dry_run_header = True
        app[STATE].listeners.append(self._logged)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, HOST, port).start()
        except OSError as e:
            await runner.cleanup()  # closes the store too
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(port, free_port(port + 1)) from None
            raise
        self.app, self.runner, self.store, self.port = app, runner, store, port
        self.served = self.revision if not self.problems else 0
        self.project = served
        self.scheduler = Scheduler(app[STATE])
        self.scheduler.start()
        self.storeChanged.emit()
        self.statusChanged.emit()

    async def stop(self) -> None:
        """Stop listening and close the database (the window is closing, or a new project)."""
        if self._deploying is not None:
            self._deploying.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._deploying
            self._deploying = None
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.scheduler = None
        runner, self.runner, self.app, self.store = self.runner, None, None, None
        if runner is not None:
            await runner.cleanup()
            if Shiboken.isValid(self):  # the window may be gone already (closing)
                self.storeChanged.emit()
                self.statusChanged.emit()

    # -- hot reload -------------------------------------------------------------------------
    def update(self, project: Project) -> None:
        """Serve this version of the project from the next request on (compiled in the
        background; a version with problems leaves the last good one serving)."""
        if not self.running:
            return
        self._latest = copy.deepcopy(project)
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
            project, revision, self._latest = self._latest, self.revision, None
            compiled, problems = _compile(project, revision)
            self.problems = problems
            if problems:
                self.statusChanged.emit()
                continue
            models_changed = self.project is None or self.project.models != project.models
            try:
                if models_changed:
                    before = await table_names(self.store)
                    await self.store.open(project)
                self.state.swap(compiled)
                if models_changed:  # a model added with seed rows starts with them
                    self.seeded = await self._seed(self.store, compiled.project, before)
            except MigrationError as e:
                self.error = f"the database was not changed: {e}"
            else:
                self.error = None
                self.served, self.project = revision, project
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

    # -- the log ----------------------------------------------------------------------------
    def _logged(self, record: RequestRecord) -> None:
        self.records.append(record)
        if record.tag:
            self._tags[record.tag] = record
            if len(self._tags) > MAX_RECORDS:
                self._tags.pop(next(iter(self._tags)))
        self.requestLogged.emit(record)

    async def run_now(self, action: str) -> RequestRecord:
        """Run a scheduled (or any) action by hand; it is logged like a request."""
        if self.scheduler is None:
            raise RuntimeError("the live server is not running")
        await self.settled()
        return await self.scheduler.run_now(action)


def _compile(project: Project, revision: int):
    """(compiled, []) or, when the project has problems, (the best part that compiles: its
    models alone, else nothing; the problems)."""
    try:
        return compile_project(project, revision), []
    except ProjectError as e:
        problems = list(e.problems)
    for fallback in (Project(name=project.name, models=project.models), Project(name=project.name)):
        try:
            return compile_project(fallback, revision), problems
        except ProjectError:
            continue
    raise AssertionError("an empty project always compiles")
