"""Live testing in the main window: the embedded server, its status, and the Run, Data,
History and Outbox docks, wired to the open project and its action graphs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import time
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMenu, QToolButton
from shiboken6 import Shiboken

from app.databrowser import DataBrowser
from app.history import HistoryPanel
from app.live import DEFAULT_PORT, LiveServer, PortInUse, database_url
from app.outbox import OutboxPanel
from app.replay import Replayer
from app.runpanel import RunPanel
from runtime.executor import StepTrace
from runtime.host import StartupError
from runtime.replaydiff import action_digests, path_changes
from runtime.runs import RunRecord
from runtime.runsnapshots import EventSnapshots
from runtime.store import Change

SHOW_EVERY = 150  # ms between updates of the log and graph while requests keep coming
RELOAD_EVERY = 1000  # ms between reloads of the data browser while requests keep coming
STATUS_COLORS = {"ok": "#2eaa5a", "stale": "#d8962a", "stopped": "#8a8a96", "error": "#eb4040"}


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop driving Qt (qasync), or None (e.g. a plain QApplication in a test)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class LiveTesting(QObject):
    """Owns the live server of a main window and the docks that show what it does."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.server = LiveServer(self)
        self.document = None
        self._starting: asyncio.Task | None = None
        self._closing: asyncio.Task | None = None
        self._restarting = asyncio.Lock()
        # Under load (a front end or a load test hitting the server) the docks are updated
        # in batches; a lone request is shown at once.
        self._unshown: list[RunRecord] = []
        self._changes: list = []
        self._show_soon = Throttle(self, SHOW_EVERY, self._show_unshown)
        self._reload_soon = Throttle(self, RELOAD_EVERY, self._reload_data)

        self.run_panel = RunPanel(window.theme)
        self.run_panel.set_server(self.server)
        self.data = DataBrowser(window.theme)
        self.log = HistoryPanel()
        self.replayer = Replayer(self.server)
        self.log.replayer = self.replayer
        self.snapshots: EventSnapshots | None = None  # event digests per revision that ran
        self.outbox = OutboxPanel()
        # The window makes their docks from its table of panels (app/panels.py).
        self.widgets = {"run": self.run_panel, "data": self.data, "log": self.log,
                        "outbox": self.outbox}
        self.docks: dict[str, QDockWidget] = {}

        self.status = QToolButton()
        self.status.setObjectName("serverStatus")
        self.status.setAutoRaise(True)
        self.status.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.status.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.status)
        menu.addAction("Copy Base URL", self.copy_url)
        menu.addAction("Restart Server", lambda: self.restart())
        menu.addAction("Change Port...", self.change_port)
        menu.addSeparator()
        menu.addAction("Show Run Panel", lambda: self.show_dock("run"))
        menu.addAction("Show History", lambda: self.show_dock("log"))
        self.status.setMenu(menu)
        window.statusBar().addPermanentWidget(self.status)

        s = self.server
        s.statusChanged.connect(self._update_status)
        s.requestLogged.connect(self._logged)
        s.mailSent.connect(self._mail)
        s.storeChanged.connect(lambda: self.data.set_source(s.project, s.store))
        s.storeChanged.connect(self._history_source)
        self.outbox.realSendingChanged.connect(lambda on: setattr(s.mail, "real", on))
        self.log.recordActivated.connect(self.show_record)
        self.log.runOpened.connect(lambda run: asyncio.ensure_future(self.show_run(run)))
        self.log.requestWanted.connect(self.open_request)
        self.run_panel.ran.connect(lambda record: None)  # the log's listener shows every run
        self.run_panel.filled.connect(self._filled)
        self._update_status()

    # -- the project ------------------------------------------------------------------------
    def set_document(self, document) -> None:
        """Serve this project (None: stop). Needs qasync's loop; without one it stays stopped."""
        if self.document is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self.document.changed.disconnect(self._changed)
        self.document = document
        self.run_panel.set_document(document)
        self.log.clear()
        self.outbox.clear()
        if document is not None:
            document.changed.connect(self._changed)
        self._endpoints_changed()
        if running_loop() is not None:
            self._starting = asyncio.ensure_future(self.restart())
        else:  # opened before the loop runs (a file named on the command line): start then
            QTimer.singleShot(0, self._start_when_running)

    def _start_when_running(self) -> None:
        if running_loop() is not None and not self.server.running and self.document is not None:
            self._starting = asyncio.ensure_future(self.restart())

    async def restart(self, port: int | None = None) -> bool:
        """(Re)start the server on the project; a taken port asks to use the next free one.
        Restarts run one after another (opening a project closes the previous one first)."""
        async with self._restarting:
            return await self._restart(port)

    def _changed(self) -> None:
        if self.document is not None:
            self.server.update(self.document.checked())  # the Problems list's compile
            self._endpoints_changed()

    def _endpoints_changed(self) -> None:
        project = self.document.project if self.document is not None else None
        self.log.set_endpoints([e.name for e in project.endpoints] if project else [])

    def _history_source(self) -> None:
        """The History dock reads the run history of the server now running (none: stopped)."""
        host = self.server.host
        history = host.history if host is not None else None
        if history is not None and history is not self.log.history:
            self.snapshots = EventSnapshots(history.url.split(":///", 1)[1], time.time()) \
                if history.url.startswith("sqlite") else None
        self.log.set_history(history)
        self.log._selection_changed()

    async def _restart(self, port: int | None) -> bool:
        document = self.document
        if document is None:
            await self.server.stop()
            self.data.set_source(None, None)
            return False
        port = port or int(QSettings().value("live/port", DEFAULT_PORT))
        url = database_url(Path(document.path) if document.path else None)
        try:
            await self.server.start(document.checked(), url, port)
        except PortInUse as e:
            self.server.error = f"Port {e.port} is in use"
            self._update_status()
            if e.free and self.window.prompts.confirm(
                    "Port in use", f"Port {e.port} is in use by another program. "
                    f"Serve on port {e.free} instead?", "Use port " + str(e.free)):
                QSettings().setValue("live/port", e.free)
                return await self._restart(e.free)
            return False
        except OSError as e:
            self.server.error = f"The server could not start: {e.strerror or e}"
            self._update_status()
            return False
        except StartupError as e:  # the database cannot be used
            self.server.error = f"The server could not start: {e}"
            self._update_status()
            return False
        return True

    def close(self) -> None:
        """Stop the server soon (from a close event, which cannot wait); `shutdown` awaits."""
        self._stop_timers()
        if running_loop() is not None:
            self._closing = asyncio.ensure_future(self.shutdown())

    def _stop_timers(self) -> None:
        """No dock updates after the window closed (their widgets are about to go)."""
        if Shiboken.isValid(self._show_soon.timer):
            self._show_soon.timer.stop()
            self._reload_soon.timer.stop()
        self._show_soon.pending = self._reload_soon.pending = False

    async def shutdown(self) -> None:
        """Stop the server and close the database (the window is closing)."""
        self._stop_timers()
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._starting
        await self.log.stop()
        await self.server.stop()
        await self.run_panel.close_client()  # a Python object: fine after the window is gone
        await self.replayer.close()

    # -- showing runs -----------------------------------------------------------------------
    def _logged(self, record: RunRecord) -> None:
        self._unshown.append(record)
        if record.tag:  # the Run panel's own request: its trace is what the user waits for
            self._show_unshown()
        else:
            self._show_soon()

    def _show_unshown(self) -> None:
        records, self._unshown = self._unshown, []
        if not records:
            return
        self.log.add_many(records)
        self._keep_digests(records)
        self.show_record(records[-1], open_editor=False)
        self._changes += [c for r in records if not r.dry_run and not r.error for c in r.changes]
        self._reload_soon()

    def _reload_data(self) -> None:
        changes, self._changes = self._changes, []
        if changes:
            written = [c for c in changes if c.op != "delete"] or changes
            self.data.show_model(written[-1].model)  # the model the last run changed
            self.data.highlight(changes)  # tints the rows and reloads
        else:
            self.data.schedule_refresh()

    def show_record(self, record: RunRecord, open_editor: bool = True) -> None:
        """Paint a run's path on its action's graph (opening the action when asked)."""
        if not record.action or self.document is None:
            return
        action = self.document.project.action(record.action)
        if action is None:
            return
        editor = self._editor_of(action, open_editor)
        if editor is None:
            return
        graph = editor.graph.graph if hasattr(editor.graph, "graph") else editor.graph
        graph.show_trace(record.trace, failed=record.event, error=record.error)

    def _keep_digests(self, records: list[RunRecord]) -> None:
        """Remember what each event was in the revisions these runs ran (for History's
        "changed since" marks), off the loop."""
        host, snapshots = self.server.host, self.snapshots
        if host is None or snapshots is None or running_loop() is None:
            return
        for r in records:
            key = (r.revision, r.action)
            if r.action and r.revision == host.revision and key not in snapshots.saved:
                action = host.project.action(r.action)
                if action is not None:
                    snapshots.saved.add(key)
                    asyncio.ensure_future(asyncio.to_thread(
                        _save_quietly, snapshots, r.revision, r.action, action_digests(action)))

    async def show_run(self, run: dict) -> tuple[list[str], list[str]]:
        """Paint a recorded run's path on its action's graph (opening the action), marking the
        events changed since; returns (events no longer there, events changed since)."""
        if not run.get("action") or self.document is None:
            return [], []
        action = self.document.project.action(run["action"])
        digests = None
        if self.snapshots is not None:
            started = _epoch(run["started"])
            with contextlib.suppress(OSError, ValueError, sqlite3.Error):
                digests = await asyncio.to_thread(self.snapshots.find, run.get("revision"),
                                                  run["action"], started)
        if self.document is None or not Shiboken.isValid(self.log):
            return [], []
        missing, changed = path_changes(run.get("trace"), action, digests)
        self.log.show_details(run, missing, changed)
        if action is None:
            self.window.statusBar().showMessage(
                f'The action "{run["action"]}" of run #{run["id"]} no longer exists', 8000)
            return missing, changed
        editor = self._editor_of(action, open_editor=True)
        if editor is None:
            return missing, changed
        graph = editor.graph.graph if hasattr(editor.graph, "graph") else editor.graph
        graph.show_trace([_step(s) for s in run.get("trace") or []], failed=run.get("event"),
                         error=run.get("error"))
        for eid in changed:
            node = graph.node(eid)
            if node is not None and node.view.run is not None:
                badge, error = node.view.run
                node.view.set_run((f"{badge} · changed since", error))
        if missing:
            self.window.statusBar().showMessage(
                f"Run #{run['id']}: no longer in the graph: {', '.join(missing)}", 8000)
        return missing, changed

    def _editor_of(self, action, open_editor: bool):
        editor = None
        for e in self.window.editors():
            if e.section == "actions" and e.item is action:
                editor = e
        if editor is None and open_editor:
            editor = self.window.open_item("actions", action.id)
        if editor is None or not getattr(editor, "has_graph", False):
            return None
        return editor

    def open_request(self, run: dict) -> bool:
        """Put a recorded run's request in the Run panel (its endpoint selected)."""
        request = run.get("request")
        if not request:
            self.window.statusBar().showMessage(
                f"Run #{run['id']} was not an HTTP request: nothing to open", 5000)
            return False
        self.show_dock("run")
        return self.run_panel.fill_recorded(run.get("endpoint"), request)

    def _filled(self, model: str) -> None:
        """The Run panel filled an empty table: show it in the Data dock."""
        self.data.show_model(model)
        self.data.schedule_refresh()

    def _mail(self, mail) -> None:
        self.outbox.add(mail)

    # -- commands ---------------------------------------------------------------------------
    def run_endpoint(self, name: str) -> None:
        """Open the Run panel on an endpoint, with its example or fresh dummy data."""
        self.show_dock("run")
        self.run_panel.show_endpoint(name)

    def run_now(self, action: str) -> None:
        """Run a scheduled action by hand; it appears in the server log."""
        if running_loop() is None or not self.server.running:
            self.window.statusBar().showMessage("The live server is not running", 5000)
            return
        self.show_dock("log")
        asyncio.ensure_future(self.server.run_now(action))

    def show_dock(self, name: str) -> None:
        dock = self.docks[name]
        dock.show()
        dock.raise_()

    def copy_url(self) -> None:
        if self.server.base_url:
            QGuiApplication.clipboard().setText(self.server.base_url)

    def change_port(self) -> None:
        port, ok = QInputDialog.getInt(self.window, "Server port", "Serve on port:",
                                       self.server.port or DEFAULT_PORT, 1024, 65535)
        if ok:
            QSettings().setValue("live/port", port)
            asyncio.ensure_future(self.restart(port))

    def _update_status(self) -> None:
        level, text = self.server.status()
        color = STATUS_COLORS[level]
        self.status.setText(f"● {text}")
        self.status.setStyleSheet(f"QToolButton#serverStatus {{ color: {color}; }}")
        self.status.setToolTip(
            {"ok": "Every edit is served from the next request on; no restart needed.",
             "stale": "Fix the problems listed in Problems; until then the last good version "
                      "answers requests.",
             "stopped": "The live server starts when a project is open.",
             "error": text}[level])


class Throttle:
    """Calls `function` at once, then at most once per `interval` ms while calls keep coming
    (the last of them is never lost)."""

    def __init__(self, parent: QObject, interval: int, function):
        self.function = function
        self.pending = False
        self.timer = QTimer(parent)
        self.timer.setSingleShot(True)
        self.timer.setInterval(interval)
        self.timer.timeout.connect(self._fire)

    def __call__(self) -> None:
        if self.timer.isActive():
            self.pending = True
            return
        self.function()
        self.timer.start()

    def _fire(self) -> None:
        if self.pending:
            self.pending = False
            self.function()
            self.timer.start()


def _step(data: dict) -> StepTrace:
    """A recorded step (the run history's dict) as the graph and Properties panel read it."""
    return StepTrace(data["id"], data["kind"], data.get("inputs") or {}, data.get("outputs"),
                     data.get("port"), data.get("ms") or 0.0, data.get("error"),
                     [Change(c["op"], c["model"], c.get("before"), c.get("after"))
                      for c in data.get("changes") or []])


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _save_quietly(snapshots: EventSnapshots, revision: int, action: str, digests: dict) -> None:
    """Keep digests; a history file that cannot be written only loses the "changed" marks."""
    with contextlib.suppress(OSError, sqlite3.Error):
        snapshots.save(revision, action, digests)
