"""Debugging in the main window: pinned outputs, breakpoints with stepping, run from here.

Pins are part of the project (undoable edits, saved in its file); breakpoints are editor state
kept while the project is open, in a `runtime.debugger.Debugger` handed to the live server, so
runs started from the editor (the Run panel's requests, manual runs) pause at them. The Debug
panel shows the paused run; the Run menu has Toggle Breakpoint (F9), Step (F10), Continue (F5)
and Stop (Shift+F5)."""

from __future__ import annotations

import asyncio
import http
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

from app.debugpanel import DebugPanel
from app.pins import PinDialog, pin_from_step, set_pin
from app.runpanel import Answer
from runtime.debugger import Debugger
from runtime.renderer import render, to_json
from runtime.runs import RunRecord


class Debugging(QObject):
    """Owns the window's Debugger, the Debug panel and the debugging commands."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.live = window.live
        self.debugger = Debugger(on_change=self._changed_soon)
        self._update = QTimer(self, singleShot=True, interval=0)
        self._update.timeout.connect(self.show_paused)
        self.shown_pause = None  # the Paused the panel and graph show
        self.dock: QDockWidget | None = None
        self.ask_pin = self._ask_pin  # (kind, event, start pin) -> pin or None; a dialog
        a = self.actions = {
            "breakpoint": self._action("Toggle &Breakpoint", self.toggle_breakpoint, "F9",
                                       "Pause runs from the editor at the selected event"),
            "step": self._action("&Step", self.step, "F10",
                                 "Run the paused event and pause at the next one"),
            "continue": self._action("&Continue", self.resume, "F5",
                                     "Let the paused run go on to the next breakpoint or the end"),
            "stop": self._action("S&top", self.stop, "Shift+F5",
                                 "Fail the paused run (409): everything it wrote is rolled back"),
            "run_from_here": self._action("Run from &Here", self.run_from_selected, None,
                                          "Run the action from the selected event, with the "
                                          "scope of its last recorded run"),
        }
        for name in ("step", "continue", "stop"):
            a[name].setEnabled(False)
        self.panel = DebugPanel(a["step"], a["continue"], a["stop"])
        self.widgets = {"debug": self.panel}
        self.live.server.statusChanged.connect(self._attach)

    def _action(self, text: str, slot, key: str | None, tip: str) -> QAction:
        action = QAction(text, self.window)
        if key:
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def add_menu(self, menu: QMenu) -> None:
        """The Run menu's debugging part."""
        menu.addSeparator()
        for name in ("breakpoint", "step", "continue", "stop"):
            menu.addAction(self.actions[name])
        menu.addSeparator()
        menu.addAction(self.actions["run_from_here"])

    def set_dock(self, dock: QDockWidget) -> None:
        """The panel's dock: hidden until a run pauses, then shown beside Properties."""
        self.dock = dock
        dock.hide()

    def set_document(self, _document) -> None:
        """A project opens or closes: its breakpoints go, paused runs go on."""
        self.debugger.breakpoints.clear()
        self.debugger.release_all()
        self.show_paused()

    def release(self) -> None:
        """The window closes: no run stays paused (the server could not stop)."""
        self.debugger.breakpoints.clear()
        self.debugger.release_all()

    def _attach(self) -> None:
        state = self.live.server.state
        if state is not None and state.debugger is not self.debugger:
            state.debugger = self.debugger  # a new Host after a restart

    # -- the graph and the properties panel ----------------------------------------------------
    def connect_graph(self, graph) -> None:
        """Give a new action graph its event menu entries and current marks."""
        graph.event_menu = lambda menu, eid, g=graph: self.fill_event_menu(g, menu, eid)
        self._mark(graph)

    def fill_event_menu(self, graph, menu: QMenu, eid: str) -> None:
        """An event's own entries in the graph's context menu."""
        event = graph.action.events.get(eid)
        if event is None:
            return
        last = self.last_step(graph.action.name, eid, graph)
        menu.addAction("Pin Output…", lambda: self.pin_output(graph, eid))
        menu.addAction("Pin from Last Run", lambda: self.pin_from_last_run(graph, eid)
                       ).setEnabled(pin_from_step(last) is not None)
        menu.addAction("Unpin", lambda: self.unpin(graph, eid)).setEnabled(bool(event.pin))
        menu.addSeparator()
        on = eid in graph.breakpoints
        toggle = menu.addAction("Clear Breakpoint" if on else "Set Breakpoint",
                                lambda: self.toggle_breakpoint(graph, [eid]))
        toggle.setShortcut(QKeySequence("F9"))
        menu.addAction("Run from Here", lambda: self.start_run_from_here(graph, eid)
                       ).setEnabled(self.last_record(graph.action.name) is not None)

    def properties_part(self, panel, layout, event) -> None:
        """The Properties panel's "Pinned output" part of an event."""
        graph = panel.graph or self.window.current_graph()
        if graph is None or graph.action.events.get(event.id) is not event:
            return
        box = QWidget()
        box.setObjectName("pinPart")
        inner = QVBoxLayout(box)
        inner.setContentsMargins(0, 8, 0, 0)
        inner.addWidget(QLabel("<b>Pinned output</b>"))
        if event.pin:
            text = QLabel(f"Editor runs return {_short(event.pin.get('outputs'))}"
                          + (f", leaving by {event.pin['port']}" if event.pin.get("port") else "")
                          + "; the event does not run.")
        else:
            text = QLabel("Not pinned: the event runs.")
        text.setWordWrap(True)
        text.setEnabled(False)
        inner.addWidget(text)
        buttons = [("Pin Output…", lambda: self.pin_output(graph, event.id), True),
                   ("Pin from Last Run", lambda: self.pin_from_last_run(graph, event.id),
                    pin_from_step(self.last_step(graph.action.name, event.id, graph)) is not None),
                   ("Unpin", lambda: self.unpin(graph, event.id), bool(event.pin))]
        for label, slot, enabled in buttons:
            button = QPushButton(label)
            button.setEnabled(enabled)
            button.clicked.connect(lambda _c=False, s=slot: s())
            inner.addWidget(button)
        layout.addWidget(box)

    # -- pins ---------------------------------------------------------------------------------
    def pin_output(self, graph, eid: str) -> bool:
        """Pin an event's output as typed (pre-filled from its pin or its last run)."""
        event = graph.action.events.get(eid)
        if event is None:
            return False
        start = event.pin or pin_from_step(self.last_step(graph.action.name, eid, graph))
        pin = self.ask_pin(graph.kinds.get(event.kind), event, start)
        if pin is None:
            return False
        set_pin(self.window.document, event, pin)
        return True

    def _ask_pin(self, kind, event, start) -> dict | None:
        dialog = PinDialog(kind, event, start, self.window)
        self.pin_dialog = dialog
        try:
            return dialog.pin if dialog.exec() else None
        finally:
            self.pin_dialog = None
            dialog.deleteLater()

    def pin_from_last_run(self, graph, eid: str) -> bool:
        """Pin what the event returned in the last run the editor has of its action."""
        event = graph.action.events.get(eid)
        pin = pin_from_step(self.last_step(graph.action.name, eid, graph))
        if event is None or pin is None:
            self._say(f"No run of {eid} to pin from yet: send a request first.")
            return False
        set_pin(self.window.document, event, pin)
        return True

    def unpin(self, graph, eid: str) -> None:
        """Let the event run again."""
        event = graph.action.events.get(eid)
        if event is not None and event.pin:
            set_pin(self.window.document, event, None)

    # -- runs the editor has ---------------------------------------------------------------------
    def last_record(self, action: str) -> RunRecord | None:
        """The newest traced run of an action the live server reported."""
        for record in reversed(self.live.server.records):
            if record.action == action and record.trace:
                return record
        return None

    def last_step(self, action: str, eid: str, graph=None):
        """What an event did in the run shown on its graph, else in its action's last run."""
        steps = graph.trace_of(eid) if graph is not None else []
        if not steps:
            record = self.last_record(action)
            steps = [s for s in (record.trace if record else []) if s.id == eid]
        return steps[-1] if steps else None

    # -- breakpoints and stepping ----------------------------------------------------------------
    def toggle_breakpoint(self, graph=None, ids: list[str] | None = None) -> None:
        """F9: set or clear a breakpoint on the selected events of the current graph."""
        graph = graph or self.window.current_graph()
        if graph is None:
            self._say("Open an action and select an event to set a breakpoint (F9).")
            return
        ids = ids if ids is not None else graph.selected_events()
        if not ids:
            self._say("Select an event to set a breakpoint on it (F9).")
            return
        for eid in ids:
            on = self.debugger.toggle(graph.action.name, eid)
        self._say(f"Breakpoint {'set' if on else 'cleared'}: runs from the editor "
                  f"{'pause' if on else 'no longer pause'} at {', '.join(ids)}.")
        for g in self._graphs():
            self._mark(g)

    def step(self) -> bool:
        """F10: run the paused event, pause at the next one."""
        return self.debugger.step(self._live_pause())

    def resume(self) -> bool:
        """F5: go on to the next breakpoint or the end."""
        return self.debugger.resume(self._live_pause())

    def stop(self) -> bool:
        """Shift+F5: fail the paused run (409), rolling back what it wrote."""
        return self.debugger.stop(self._live_pause())

    def _live_pause(self):
        paused = self.shown_pause
        return paused if paused in self.debugger.paused else None

    def _changed_soon(self) -> None:
        # called from inside the paused run's task: the window updates from Qt's dispatch
        self._update.start()

    def show_paused(self) -> None:
        """Show the oldest paused run (or none): the panel, the buttons, the graph's mark."""
        paused = self.debugger.paused[0] if self.debugger.paused else None
        self.shown_pause = paused
        for name in ("step", "continue", "stop"):
            self.actions[name].setEnabled(paused is not None)
        self.panel.show_paused(paused, max(len(self.debugger.paused) - 1, 0))
        if paused is not None:
            if self.dock is not None:
                properties = self.window.docks.get("properties")
                fresh = not self.dock.isVisible()
                if properties is not None and properties.isVisible() and fresh:
                    self.window.tabifyDockWidget(properties, self.dock)
                self.dock.show()
                self.dock.raise_()
                if fresh:  # the scope needs room: the right side's height, once laid out
                    QTimer.singleShot(0, self._make_room)
            self._open_action(paused.action, paused.event)
        for g in self._graphs():
            self._mark(g)

    def _make_room(self) -> None:
        palette, run = self.window.docks.get("palette"), self.window.docks.get("run")
        if self.dock is None or palette is None or not palette.isVisible():
            return
        if run is not None and run.isVisible() and not run.isFloating():
            # the graph and the scope matter more than the waiting request: a lower strip
            self.window.resizeDocks([run], [max(160, int(self.window.height() * 0.24))],
                                    Qt.Orientation.Vertical)
        total = palette.height() + self.dock.height()
        self.window.resizeDocks([palette, self.dock], [90, max(total - 90, 200)],
                                Qt.Orientation.Vertical)

    def _open_action(self, name: str, eid: str) -> None:
        document = self.window.document
        action = document.project.action(name) if document is not None else None
        if action is None:
            return
        editor = self.window.open_item("actions", action.id)
        graph = getattr(editor, "graph", None) if getattr(editor, "has_graph", False) else None
        if graph is not None:
            graph.select_event(eid)

    def _mark(self, graph) -> None:
        name = graph.action.name
        paused = self.shown_pause
        graph.show_debug({eid for a, eid in self.debugger.breakpoints if a == name},
                         paused.event if paused is not None and paused.action == name else "")

    def _graphs(self) -> list:
        return [e.graph for e in self.window.editors() if getattr(e, "has_graph", False)]

    # -- run from here ---------------------------------------------------------------------------
    def run_from_selected(self) -> None:
        """Run menu: run the current graph's action from its selected event."""
        graph = self.window.current_graph()
        ids = graph.selected_events() if graph is not None else []
        if len(ids) != 1:
            self._say("Select one event to run the action from it.")
            return
        self.start_run_from_here(graph, ids[0])

    def start_run_from_here(self, graph, eid: str) -> None:
        """Start `run_from_here` on the loop (from a menu)."""
        asyncio.ensure_future(self.run_from_here(graph.action.name, eid))

    async def run_from_here(self, action: str, eid: str,
                            source: RunRecord | dict | None = None) -> RunRecord | None:
        """Run an action from one event with the scope of a recorded run (the last traced one
        of the action by default; or a RunRecord, or a run history entry with its "inputs" and
        "trace"), and show the answer in the Run panel like a Send."""
        server = self.live.server
        source = source if source is not None else self.last_record(action)
        if server.host is None or source is None:
            self._say("Run from here needs a recorded run of this action: send a request first.")
            return None
        inputs, recorded = _scope_of(source)
        await server.settled()
        record = await server.host.run(action, inputs, start_at=eid, recorded=recorded)
        self.show_in_run_panel(record)
        when = time.strftime("%H:%M:%S", time.localtime(_started(source)))
        self._say(f"Ran {action} from {eid} with the scope of the run at {when}: "
                  f"{record.status}.")
        return record

    def show_in_run_panel(self, record: RunRecord) -> None:
        """A run's answer in the Run panel, as a Send shows it."""
        document = self.window.document
        project = document.project if document is not None else None
        action = project.action(record.action) if project and record.action else None
        endpoint = project.endpoint(action.trigger.endpoint or "") if action else None
        if record.failure is not None:
            e = record.failure
            body = {k: v for k, v in {"error": e.message, "action": e.action, "event": e.event,
                                      "event_kind": e.kind}.items() if v is not None}
            text, content_type = to_json(body), "application/json"
        elif record.response is None:
            text, content_type = "", "application/json"
        else:
            text, content_type = render(record.response,
                                        endpoint.response_type if endpoint else "json")
        try:
            reason = http.HTTPStatus(record.status).phrase
        except ValueError:
            reason = ""
        answer = Answer(record.status, reason, [("Content-Type", content_type)],
                        text.encode("utf-8"), content_type, record.ms, record)
        self.live.show_dock("run")
        self.live.run_panel.show_answer(answer)

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)


def _scope_of(source: RunRecord | dict) -> tuple[dict, dict[str, Any]]:
    """(inputs, event id -> outputs) of a recorded run: a RunRecord or a history entry."""
    if isinstance(source, RunRecord):
        inputs, steps = source.inputs, [(s.id, s.outputs) for s in source.trace or []]
    else:
        inputs = source.get("inputs")
        steps = [(s.get("id"), s.get("outputs")) for s in source.get("trace") or []]
    # inside a loop an event ran several times: its last outputs are the ones in scope after it
    return inputs or {}, {eid: outputs for eid, outputs in steps if outputs is not None}


def _started(source: RunRecord | dict) -> float:
    return source.started if isinstance(source, RunRecord) else float(source.get("started") or 0)


def _short(value: Any, limit: int = 120) -> str:
    text = to_json(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"
