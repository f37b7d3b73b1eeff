"""The action graph: a runtime Action shown in NodeGraphQt, each user edit an undo command.

The runtime model is the truth. User gestures in the scene (add, move, connect, delete, paste)
become `document.edit(...)` commands that change the Action; `refresh` then brings the scene in
line with the Action, so undo and redo need no scene bookkeeping of their own. NodeGraphQt's
own undo stack is never used for the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from NodeGraphQt import NodeGraph
from NodeGraphQt.base.commands import PortConnectedCmd, PortDisconnectedCmd
from NodeGraphQt.constants import PortTypeEnum
from NodeGraphQt.widgets.viewer import NodeViewer
from PySide6.QtCore import QEvent, QLineF, QMimeData, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QCursor, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMenu,
    QSplitter,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.graphmodel import (
    GAP,
    PLACEHOLDER,
    closure,
    describe,
    events_from_text,
    events_to_text,
    fallback_positions,
    first_sentence,
    fresh_ids,
    layered_layout,
    next_event_id,
    paste_events,
    reaches,
    restore,
    snapshot,
)
from app.nodeclasses import (
    FLOW_IN,
    RUN_PILL_SPACE,
    TRIGGER_OUT,
    EventNodeItem,
    GraphNode,
    LeanPipe,
    LeanPort,
    TriggerNode,
    flow_port,
    is_flow,
    node_class,
    theme,
    unknown_class,
    use_theme,
)
from app.palette import KIND_MIME, KindPicker, Palette, unique_kinds
from app.properties import PropertiesPanel, trigger_summary
from nodes import catalogue
from nodes.kind import EventKind, compatible
from runtime.project import TRIGGER_NODE, Action, Event

EVENTS_MIME = "application/x-actiongraph-events"
GRID = 40  # scene units between background grid lines (every fifth is stronger)
_clipboard: list[str] = []  # the last copy, for when the system clipboard is not there


class Refused(Exception):
    """A wiring the graph does not accept; the message says why."""


@dataclass(frozen=True)
class Link:
    """A connection in the scene, by event ids and NodeGraphQt port names (flow ones prefixed)."""

    source: str
    output: str
    target: str
    input: str

    @property
    def flow(self) -> bool:
        """Whether this is a flow link (else a data wire)."""
        return is_flow(self.output)


# -- the NodeGraphQt parts, told to hand user gestures to the ActionGraph -------------------------

class _Viewer(NodeViewer):
    """NodeGraphQt's view without its own undo actions, taking our drops, keys and menu."""

    def __init__(self, owner: ActionGraph):
        super().__init__(undo_stack=None)
        self._owner = owner

    def drawBackground(self, painter, rect):
        # a quiet grid in the theme's colours (NodeGraphQt's major lines are harsh on light)
        painter.fillRect(rect, QColor(*theme["background"]))
        scale = self.transform().m11()
        for step, color in ((GRID, theme["grid"]), (GRID * 5, theme["grid_major"])):
            if step * scale < 10:
                continue
            painter.setPen(QPen(QColor(*color), 0))  # cosmetic: one pixel at any zoom
            left = int(rect.left()) - int(rect.left()) % step
            top = int(rect.top()) - int(rect.top()) % step
            lines = [QLineF(x, rect.top(), x, rect.bottom())
                     for x in range(left, int(rect.right()) + 1, step)]
            lines += [QLineF(rect.left(), y, rect.right(), y)
                      for y in range(top, int(rect.bottom()) + 1, step)]
            painter.drawLines(lines)

    def wheelEvent(self, event):
        self._owner.auto_fit = False  # the user chose a zoom: keep it when the view resizes
        super().wheelEvent(event)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self._owner.auto_fit and self.isVisible():
            self._owner.fit_soon()

    def _update_scene(self):
        # every zoom and pan ends here; zoomed out, smoothing a thousand wires costs most of a
        # repaint and shows little, so only nearer views draw them smoothed (nodes always are)
        super()._update_scene()
        self.setRenderHint(QPainter.RenderHint.Antialiasing, self.transform().m11() >= 0.6)

    def establish_connection(self, start_port, end_port):
        pipe = LeanPipe()
        self.scene().addItem(pipe)
        pipe.set_connections(start_port, end_port)
        pipe.style_from_ports()
        pipe.draw_path(pipe.input_port, pipe.output_port)
        if start_port.node.selected or end_port.node.selected:
            pipe.highlight()

    def event(self, event):
        # claim our keys before window shortcuts see them (as a text field claims Ctrl+C)
        if event.type() == QEvent.Type.ShortcutOverride and self._owner._command_for(event):
            event.accept()
            return True
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab:
            self._owner.open_picker()
            return True
        return super().event(event)

    def keyPressEvent(self, event):
        command = self._owner._command_for(event)
        if command:
            command()
            return
        super().keyPressEvent(event)

    def viewportEvent(self, event):
        # tooltips are made when asked for: setting one on each item slows building a graph
        if event.type() == QEvent.Type.ToolTip:
            text = ""
            for item in self.items(event.pos()):
                if isinstance(item, LeanPort):
                    text = item.tooltip
                    break
                if isinstance(item, EventNodeItem):
                    text = item.tooltip()
                    break
            if text:
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def mouseMoveEvent(self, event):
        super().mouseMoveEvent(event)
        if self.LMB_state and not self._LIVE_PIPE.isVisible() and not self._rubber_band.isActive:
            for item in self.scene().selectedItems():
                if isinstance(item, EventNodeItem):
                    item.redraw_pipes()

    def dragEnterEvent(self, event):
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def contextMenuEvent(self, event):
        self.RMB_state = False
        self._owner._context_menu(event.globalPos(), self.mapToScene(event.pos()))


class _Graph(NodeGraph):
    """NodeGraphQt's controller with user gestures handed to the ActionGraph."""

    def __init__(self, owner: ActionGraph, viewer: _Viewer):
        super().__init__(viewer=viewer)
        self._owner = owner

    def _on_connection_changed(self, disconnected, connected):
        if disconnected or connected:
            self._owner._user_connections(disconnected, connected)

    def _on_connection_sliced(self, ports):
        if ports:
            self._owner._user_connections(ports, [])

    def _on_nodes_moved(self, node_data):
        self._owner._user_moved(node_data)

    def _on_node_data_dropped(self, mimedata, pos):
        self._owner._dropped(mimedata, QPointF(pos))

    def _on_insert_node(self, pipe, node_id, prev_node_pos):
        pass  # dropping a node onto a wire does not splice it in: wiring stays explicit

    def _on_search_triggered(self, node_type, pos):
        pass  # adding by name goes through our own picker (Tab)

    def _on_node_name_changed(self, node_id, name):
        pass  # titles are kind names

    def get_unique_name(self, name):
        return name  # nodes are told apart by event id; NodeGraphQt's check is quadratic

    def add_lean(self, node: GraphNode, pos: tuple[float, float]) -> None:
        """Put a node in the scene without NodeGraphQt's per-node undo, property and size work."""
        model = node.model
        for temp in ("_TEMP_property_widget_types", "_TEMP_property_attrs",
                     "_TEMP_accept_connection_types", "_TEMP_reject_connection_types"):
            model.__dict__.pop(temp, None)
        node._graph = self
        model._graph_model = self.model
        model.pos = [pos[0], pos[1]]
        self.model.nodes[node.id] = node
        node.view.setPos(pos[0], pos[1])
        self.scene().addItem(node.view)

    def remove_lean(self, node: GraphNode) -> None:
        """Take a node (already without connections) out of the scene."""
        self.model.nodes.pop(node.id, None)
        node.view.setSelected(False)
        if node.view.scene():
            node.view.scene().removeItem(node.view)


# -- the widget -----------------------------------------------------------------------------------

class ActionGraph(QWidget):
    """The event graph of one action: shows the runtime model and turns gestures into edits."""

    eventSelected = Signal(str)  # the one selected node's id ("trigger" for the trigger), or ""
    message = Signal(str)  # why a gesture was refused, and other notes for the status bar
    traceChanged = Signal()  # a run's path was shown or cleared

    def __init__(self, document, action: Action, parent: QWidget | None = None,
                 kinds: dict[str, EventKind] | None = None, auto_problems: bool = True):
        super().__init__(parent)
        self.document = document
        self.action = action
        self.kinds = kinds if kinds is not None else catalogue()
        self.last_message = ""
        self._nodes: dict[str, GraphNode] = {}
        self._faces: dict[str, tuple] = {}
        self._links: set[Link] = set()
        self._auto: dict[str, tuple[float, float]] = {}  # where unplaced events are drawn
        self._selected = ""
        self._highlighted: set = set()
        self._problems: dict[str, tuple[str, ...]] = {}
        self._trace: dict[str, list] = {}  # event id -> its StepTraces in the last shown run
        self.breakpoints: set[str] = set()  # events with a breakpoint (app.debugging sets them)
        self.paused_at = ""  # the event a run is paused at, if one of this action is
        # Adds entries for an event to its context menu (menu, event id): app.debugging's pins,
        # breakpoints and run from here.
        self.event_menu: Callable[[QMenu, str], None] | None = None
        self._ran_pipes: list[LeanPipe] = []
        self._sizes: dict[str, tuple[float, float]] = {}  # a new node's size, by kind
        self._fitted = False
        # Until the user zooms, the graph is fitted again when its view changes size (a dock
        # growing below it would otherwise shrink the nodes with it).
        self.auto_fit = True
        self._fit_timer = QTimer(self, singleShot=True, interval=0)
        self._fit_timer.timeout.connect(self.fit)

        self._viewer = _Viewer(self)
        self._graph = _Graph(self, self._viewer)
        self._graph.set_acyclic(False)  # we check order and cycles ourselves, with messages
        self._graph.set_pipe_collision(False)
        self._graph.register_nodes([node_class(k) for k in unique_kinds(self.kinds)]
                                   + [TriggerNode])
        self._status = QLabel(self)
        self._status.setObjectName("graphStatus")
        self._status.setWordWrap(True)
        self._status.setContentsMargins(8, 4, 8, 4)
        self._status.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._viewer, 1)
        layout.addWidget(self._status)
        self._status_timer = QTimer(self, singleShot=True, interval=8000)
        self._status_timer.timeout.connect(self._status.hide)
        self._problem_timer = QTimer(self, singleShot=True, interval=250)
        if auto_problems:
            self._problem_timer.timeout.connect(lambda: self.show_problems(document.problems()))

        self.apply_theme()
        self._build()
        self._viewer.scene().selectionChanged.connect(self._selection_changed)
        document.changed.connect(self.refresh)
        self.fit()
        self._problem_timer.start()

    # -- public API -------------------------------------------------------------------------------
    @property
    def viewer(self) -> NodeViewer:
        """The QGraphicsView showing the graph."""
        return self._viewer

    @property
    def node_graph(self) -> NodeGraph:
        """The NodeGraphQt controller (for reading; edits go through this widget)."""
        return self._graph

    def node(self, event_id: str) -> GraphNode | None:
        """The node of an event (or of the trigger, id "trigger")."""
        return self._nodes.get(event_id)

    def links(self) -> set[Link]:
        """The connections drawn in the scene."""
        return set(self._links)

    def refresh(self) -> None:
        """Bring the scene in line with the Action (after undo, redo or an edit made elsewhere)."""
        a = self.action
        for eid in [k for k in self._nodes if k != TRIGGER_NODE and k not in a.events]:
            self._remove(eid)
        new = []
        for eid, event in a.events.items():
            node = self._nodes.get(eid)
            if node is not None and node.kind_id != event.kind:
                self._remove(eid)
                node = None
            if node is None:
                node = self._make(eid, event)
                new.append(eid)
            self._update_face(eid)
        self._update_face(TRIGGER_NODE)
        self._place(new)
        for eid, node in self._nodes.items():
            pos = self._position(eid)
            if pos is not None and (node.view.x(), node.view.y()) != pos:
                node.view.setPos(*pos)
                node.view.redraw_pipes()
        self._sync_links()
        self._update_marks()
        if self._selected and self._selected not in self._nodes:
            self._selection_changed()
        self._problem_timer.start()

    def show_debug(self, breakpoints: set[str], paused: str = "") -> None:
        """Mark the events with a breakpoint, and the one a run is paused at ("" for none)."""
        self.breakpoints, self.paused_at = set(breakpoints), paused
        self._update_marks()

    def _update_marks(self) -> None:
        """Pins (from the model, so undo shows), breakpoints and the paused event on the nodes."""
        for eid, node in self._nodes.items():
            event = self.action.events.get(eid)
            node.view.set_marks(bool(event is not None and event.pin), eid in self.breakpoints,
                                eid == self.paused_at)

    def show_problems(self, problems) -> None:
        """Outline in red, with the message on hover, each node a compiler problem is about."""
        prefix = f'actions["{self.action.name}"].'
        found: dict[str, list[str]] = {}
        errors: set[str] = set()
        for p in problems:
            if not p.where.startswith(prefix):
                continue
            rest = p.where[len(prefix):]
            if rest.startswith('events["') and '"]' in rest:
                eid = rest[8:rest.index('"]')]
            elif rest.startswith("start"):
                eid = TRIGGER_NODE
            else:
                continue
            found.setdefault(eid, []).append(p.message)
            if p.severity != "warning":
                errors.add(eid)
        self._problems = {k: tuple(v) for k, v in found.items()}
        for eid, node in self._nodes.items():
            node.set_problems(self._problems.get(eid, ()), warning=eid not in errors)

    def show_trace(self, steps: list | None, failed: str | None = None,
                   error: str | None = None) -> None:
        """Show the path of a run: the events that ran numbered in order with their time, the
        wires taken in green, and the event that failed (`failed`, with `error`) in red."""
        self.clear_trace(emit=False)
        steps = list(steps or [])
        for i, step in enumerate(steps, 1):
            self._trace.setdefault(step.id, []).append((i, step))
        if failed and failed not in self._trace and failed in self.action.events:
            self._trace[failed] = []  # failed before it could be traced (e.g. a bad input)
        if not self._trace:
            self.traceChanged.emit()
            return
        for eid, runs in self._trace.items():
            node = self._nodes.get(eid)
            if node is None:
                continue
            ms = sum(s.ms for _i, s in runs)
            order = f"#{runs[0][0]}" + (f" ×{len(runs)}" if len(runs) > 1 else "") if runs else "#?"
            message = next((s.error for _i, s in runs if s.error), None)
            if eid == failed and not message:
                message = error or "failed"
            pinned = bool(runs) and all(getattr(s, "pinned", False) for _i, s in runs)
            took = "pinned" if pinned else f"{ms:.1f} ms"  # a pinned event did not run
            node.view.set_run((f"{order} · {took}" if runs else order, message))
        trigger = self._nodes.get(TRIGGER_NODE)
        if trigger is not None:
            trigger.view.set_run(("start", None))
        for pipe in self._taken_pipes():
            pipe.set_ran(True)
            pipe.update()
            self._ran_pipes.append(pipe)
        self.traceChanged.emit()

    def clear_trace(self, emit: bool = True) -> None:
        """Forget the last run's path."""
        for eid in [*self._trace, TRIGGER_NODE]:
            node = self._nodes.get(eid)
            if node is not None:
                node.view.set_run(None)
        for pipe in self._ran_pipes:
            pipe.set_ran(False)
            pipe.update()
        self._trace, self._ran_pipes = {}, []
        if emit:
            self.traceChanged.emit()

    def trace_of(self, event_id: str) -> list:
        """The StepTraces of an event in the run shown (several inside a loop)."""
        return [step for _i, step in self._trace.get(event_id, [])]

    @property
    def traced(self) -> list[str]:
        """The events of the run shown, in the order they first ran."""
        return [eid for eid, runs in sorted(self._trace.items(),
                                            key=lambda kv: kv[1][0][0] if kv[1] else 1 << 30)]

    def _taken_pipes(self) -> list[LeanPipe]:
        """The drawn wires the shown run went along: flow links out of the port each event
        left by into an event that ran, and data wires between events that both ran."""
        ran = self._trace
        taken: set[Link] = set()
        a = self.action
        if a.start in ran:
            taken.add(Link(TRIGGER_NODE, TRIGGER_OUT, a.start, FLOW_IN))
        for eid, runs in ran.items():
            event = a.events.get(eid)
            if event is None:
                continue
            ports = {s.port for _i, s in runs if s.port}
            if "each" in ports:
                ports.add("done")
            for port in ports:
                target = event.next.get(port)
                if target in ran:
                    taken.add(Link(eid, flow_port(port), target, FLOW_IN))
        for w in a.wires:
            if w.source in ran and w.target in ran:
                taken.add(Link(w.source, w.output, w.target, w.input))
        pipes = []
        for link in taken & self._links:
            out, in_ = self._ports(link)
            if out is None or in_ is None:
                continue
            pipes += [p for p in out.view.connected_pipes if p.input_port is in_.view]
        return pipes

    def problems_of(self, event_id: str) -> tuple[str, ...]:
        """The problem messages shown on a node."""
        return self._problems.get(event_id, ())

    def selected_ids(self) -> list[str]:
        """Ids of the selected nodes ("trigger" included when selected), in model order."""
        nodes = self._graph.model.nodes
        chosen = {nodes[item.id].event_id for item in self._viewer.scene().selectedItems()
                  if isinstance(item, EventNodeItem) and item.id in nodes}
        return [eid for eid in (TRIGGER_NODE, *self.action.events) if eid in chosen]

    def selected_events(self) -> list[str]:
        """Ids of the selected events (never the trigger)."""
        return [eid for eid in self.selected_ids() if eid != TRIGGER_NODE]

    def select_event(self, event_id: str, center: bool = True) -> None:
        """Select one node (and bring it into view); "" clears the selection."""
        scene = self._viewer.scene()
        with _Blocked(scene):
            scene.clearSelection()
            node = self._nodes.get(event_id)
            if node is not None:
                node.view.setSelected(True)
        if node is not None and center:
            x, y, w, h = self._viewer.scene_rect()
            bounds = node.view.sceneBoundingRect()
            if not QRectF(x, y, w, h).contains(bounds):  # pan only to what is out of view
                c = bounds.center()
                self._viewer.set_scene_rect([c.x() - w / 2, c.y() - h / 2, w, h])
        self._selection_changed()

    def select_all(self) -> None:
        """Select every node."""
        scene = self._viewer.scene()
        with _Blocked(scene):
            for node in self._nodes.values():
                node.view.setSelected(True)
        self._selection_changed()

    def fit_soon(self) -> None:
        """Fit once the current burst of resizes is over."""
        self._fit_timer.start()

    def fit(self) -> None:
        """Zoom and pan so every node shows (never zooming in past 100%)."""
        self.auto_fit = True
        views = [n.view for n in self._nodes.values()]
        if not views:
            return
        # from positions and sizes we know: NodeGraphQt's fit groups every item, which is slow
        left = min(v.x() for v in views)
        top = min(v.y() for v in views)
        right = max(v.x() + v.width for v in views)
        bottom = max(v.y() + v.height for v in views)
        rect = QRectF(left, top, right - left, bottom - top).adjusted(-60, -60, 60, 60)
        port = self._viewer.viewport().size()
        if rect.width() < port.width() and rect.height() < port.height():
            center = rect.center()
            rect = QRectF(0, 0, port.width(), port.height())
            rect.moveCenter(center)
        self._viewer.set_scene_rect([rect.x(), rect.y(), rect.width(), rect.height()])

    def add_event(self, kind_id: str, pos: QPointF | tuple[float, float] | None = None) -> str:
        """Add an event of a kind at a scene point (default: the middle of the view); its id."""
        kind = self.kinds.get(kind_id)
        if kind is None:
            raise KeyError(f'unknown event kind "{kind_id}"')
        pointed = pos is not None or self._cursor_point() is not None
        if pos is None:
            pos = self._cursor_point() or self._viewer.mapToScene(
                self._viewer.viewport().rect().center())
        if isinstance(pos, QPointF):
            pos = (pos.x(), pos.y())
        # the point is where the title bar's middle lands, as with a dragged palette item; the
        # whole node is kept inside the view, so it never lands half hidden
        width, height = self._kind_size(kind)
        rect = QRectF(pos[0] - width / 2, pos[1] - 14, width, height)
        if not pointed:  # nobody chose the spot (a palette double-click): one no node is on
            rect = self._free_spot(rect)
        left, top = self._into_view(rect)
        at = (float(round(left)), float(round(top)))
        eid = next_event_id(self.action)
        event = Event(kind=kind.id, version=kind.version, id=eid)
        a = self.action

        def apply(forward: bool) -> None:
            if forward:
                a.events[eid] = event
                a.positions[eid] = at
            else:
                a.events.pop(eid, None)
                a.positions.pop(eid, None)

        self.document.edit(f"Add {kind.name} event", apply)
        self.select_event(eid, center=False)
        return eid

    def connect_ports(self, source: str, output: str, target: str, input: str) -> bool:
        """Connect two ports as a user would (flow port names without prefix: "next", "in").

        `output` "next"/"true"/... and `input` "in" are flow ports when the kinds say so; the
        trigger's output is "start". Refused wirings leave the model alone and say why."""
        link = self._link_from_names(source, output, target, input)
        if link is None:
            return False
        return self._apply_links([], [link])

    def disconnect_ports(self, source: str, output: str, target: str, input: str) -> bool:
        """Remove a connection (names as for `connect_ports`)."""
        link = self._link_from_names(source, output, target, input)
        return link is not None and self._apply_links([link], [])

    def move_event(self, event_id: str, x: float, y: float) -> None:
        """Move a node as a user would (one undoable edit)."""
        node = self._nodes[event_id]
        old = [node.view.x(), node.view.y()]
        node.view.setPos(x, y)
        node.view.redraw_pipes()
        self._user_moved({node.view: old})

    def delete_selected(self) -> None:
        """Delete the selected events (the trigger stays; saying so when it was selected)."""
        ids = self.selected_events()
        if TRIGGER_NODE in self.selected_ids():
            self._say("The trigger starts the action and cannot be deleted.")
        if ids:
            self.delete_events(ids)

    def delete_events(self, ids: list[str]) -> None:
        """Delete events with their links and wires (one undoable edit)."""
        if TRIGGER_NODE in ids:
            self._say("The trigger starts the action and cannot be deleted.")
        gone = {i for i in ids if i in self.action.events}
        if not gone:
            return
        a = self.action

        def mutate() -> None:
            for eid in gone:
                del a.events[eid]
                a.positions.pop(eid, None)
            if a.start in gone:
                a.start = None
            for event in a.events.values():
                if any(t in gone for t in event.next.values()):
                    event.next = {p: t for p, t in event.next.items() if t not in gone}
            a.wires[:] = [w for w in a.wires if w.source not in gone and w.target not in gone]

        self._change(f"Delete {self._describe_ids(gone)}", mutate)

    def copy(self) -> bool:
        """Copy the selected events (with the links and wires among them) to the clipboard."""
        ids = self.selected_events()
        if not ids:
            return False
        text = events_to_text(self.action, ids, self._view_positions(ids))
        _clipboard[:] = [text]
        mime = QMimeData()
        mime.setData(EVENTS_MIME, text.encode())
        mime.setText(text)
        QApplication.clipboard().setMimeData(mime)
        return True

    def cut(self) -> None:
        """Copy the selected events, then delete them."""
        if self.copy():
            self.delete_events(self.selected_events())

    def paste(self) -> list[str]:
        """Paste events copied here or in another action (new ids); returns the new ids."""
        mime = QApplication.clipboard().mimeData()
        if mime is not None and mime.hasFormat(EVENTS_MIME):
            text = bytes(mime.data(EVENTS_MIME)).decode()
        elif _clipboard and (mime is None or not mime.formats()):  # no system clipboard
            text = _clipboard[0]
        else:
            self._say("There are no copied events to paste.")
            return []
        at = None
        if self._viewer.underMouse():
            at = self._viewer.mapToScene(self._viewer.mapFromGlobal(QCursor.pos()))
        return self._insert(text, "Paste", at)

    def duplicate(self) -> list[str]:
        """Duplicate the selected events next to themselves; returns the new ids."""
        ids = self.selected_events()
        if not ids:
            return []
        return self._insert(events_to_text(self.action, ids, self._view_positions(ids)),
                            "Duplicate", None)

    def tidy(self) -> None:
        """Lay the graph out in left-to-right layers (one undoable edit)."""
        sizes = {eid: (n.view.width, n.view.height) for eid, n in self._nodes.items()}
        trigger = self._nodes[TRIGGER_NODE].view
        positions = layered_layout(self.action, sizes, origin=(trigger.x(), trigger.y()))
        new = {k: (float(round(x)), float(round(y))) for k, (x, y) in positions.items()}
        a = self.action
        old = dict(a.positions)
        if new == old:
            return

        def apply(forward: bool) -> None:
            a.positions.clear()
            a.positions.update(new if forward else old)

        self.document.edit("Tidy layout", apply)

    def visible_rect(self) -> QRectF:
        """The part of the scene the view shows."""
        return self._viewer.mapToScene(self._viewer.viewport().rect()).boundingRect()

    def _cursor_point(self) -> QPointF | None:
        """The scene point under the mouse cursor, when the cursor is over the graph."""
        port = self._viewer.viewport()
        local = port.mapFromGlobal(QCursor.pos())
        if not port.rect().contains(local) or not port.isVisible():
            return None
        under = QApplication.widgetAt(QCursor.pos())
        if under is not None and under is not port and not port.isAncestorOf(under):
            return None  # another window (a popup, the palette's drag image) is in front
        return self._viewer.mapToScene(local)

    def _free_spot(self, rect: QRectF) -> QRectF:
        """`rect` moved right past the nodes it would cover (below them once it would leave
        the view), so an event added without a chosen spot hides none."""
        taken = [n.view.sceneBoundingRect().adjusted(-GAP[0], -GAP[1] / 2, GAP[0], GAP[1] / 2)
                 for n in self._nodes.values()]
        view = self.visible_rect()
        spot = QRectF(rect)
        for _ in range(4 * len(taken) + 1):
            hit = next((t for t in taken if t.intersects(spot)), None)
            if hit is None:
                return spot
            if hit.right() + spot.width() < view.right():
                spot.moveLeft(hit.right() + 1)
            else:
                spot.moveTopLeft(QPointF(rect.left(), hit.bottom() + 1))
        return rect

    def _into_view(self, rect: QRectF) -> tuple[float, float]:
        """The top-left corner that moves `rect` the least to put it wholly inside the view
        (its top-left part when it is larger than the view)."""
        view = self.visible_rect().adjusted(12, 12 + RUN_PILL_SPACE, -12, -12)
        x = max(min(rect.left(), view.right() - rect.width()), view.left())
        y = max(min(rect.top(), view.bottom() - rect.height()), view.top())
        return x, y

    def _kind_size(self, kind: EventKind) -> tuple[float, float]:
        """How large a new node of a kind is drawn (settings not made yet)."""
        size = self._sizes.get(kind.id)
        if size is None:
            view = node_class(kind)().view
            view.set_face(kind.name, "n00", (describe(kind, {}), ""), "", True)
            view.draw_node()
            size = self._sizes[kind.id] = (view.width, view.height)
        return size

    def open_picker(self) -> None:
        """Open the add-by-name popup at the cursor (Tab)."""
        view = self._viewer
        local = view.mapFromGlobal(QCursor.pos())
        if not view.rect().contains(local):
            local = view.rect().center()
        scene_pos = view.mapToScene(local)
        picker = KindPicker(self.kinds, view)
        picker.picked.connect(lambda kind_id: self.add_event(kind_id, scene_pos))
        picker.popup(view.mapToGlobal(local))
        self._picker = picker

    def apply_theme(self, name: str | None = None) -> None:
        """Use the dark or light colours (default: whichever the application palette is)."""
        if name is None:
            window = QApplication.palette().window().color()
            name = "dark" if window.lightness() < 128 else "light"
        use_theme(name)
        self._graph.set_background_color(*theme["background"])
        self._graph.set_grid_color(*theme["grid"])
        for item in self._viewer.scene().items():
            if isinstance(item, LeanPipe):
                item.style_from_ports()
            item.update()

    # -- building the scene -----------------------------------------------------------------------
    def _build(self) -> None:
        trigger = TriggerNode()
        trigger.kind_id = TRIGGER_NODE
        self._nodes[TRIGGER_NODE] = trigger
        self._update_face(TRIGGER_NODE)
        new = [TRIGGER_NODE]
        for eid, event in self.action.events.items():
            self._make(eid, event)
            self._update_face(eid)
            new.append(eid)
        self._place(new)
        self._sync_links()
        self._update_marks()

    def _make(self, eid: str, event: Event) -> GraphNode:
        kind = self.kinds.get(event.kind)
        cls = node_class(kind) if kind else unknown_class(event.kind, tuple(sorted(event.next)))
        node = cls()
        node.event_id = eid
        node.kind_id = event.kind
        self._nodes[eid] = node
        return node

    def _place(self, ids: list[str]) -> None:
        """Add new nodes to the scene where the model puts them, else where a layout would."""
        if not ids:
            return
        for eid in ids:
            self._nodes[eid].view.draw_node()  # sizes first: the layout needs them
        unplaced = [eid for eid in ids if self._position(eid) is None]
        if unplaced:
            self._auto.update(self._fallback(unplaced))
        for eid in ids:
            self._graph.add_lean(self._nodes[eid], self._position(eid) or (0.0, 0.0))

    def _fallback(self, unplaced: list[str]) -> dict[str, tuple[float, float]]:
        """Where to draw events the file does not place (see `fallback_positions`)."""
        sizes = {eid: (n.view.width, n.view.height) for eid, n in self._nodes.items()}
        everything = [eid for eid in (TRIGGER_NODE, *self.action.events) if eid in self._nodes]
        known = {eid: self._position(eid) for eid in everything if eid not in unplaced}
        return fallback_positions(self.action, sizes, everything, unplaced, known,
                                  self._position(TRIGGER_NODE) or (0.0, 0.0))

    def _position(self, eid: str) -> tuple[float, float] | None:
        pos = self.action.positions.get(eid)
        return (float(pos[0]), float(pos[1])) if pos is not None else self._auto.get(eid)

    def _remove(self, eid: str) -> None:
        node = self._nodes.pop(eid)
        for link in [k for k in self._links if eid in (k.source, k.target)]:
            self._disconnect(link)
        self._faces.pop(eid, None)
        self._graph.remove_lean(node)

    def _update_face(self, eid: str) -> None:
        face = self._face(eid)
        if self._faces.get(eid) != face:
            self._faces[eid] = face
            self._nodes[eid].set_face(*face)

    def _face(self, eid: str) -> tuple:
        if eid == TRIGGER_NODE:
            t = self.action.trigger
            detail = t.endpoint if t.type == "endpoint" else ""
            return ("", (trigger_summary(self.document.project, self.action), detail or ""),
                    "What starts this action", False)
        event = self.action.events[eid]
        kind = self.kinds.get(event.kind)
        if kind is None:
            return (eid, (f'unknown event kind "{event.kind}"', event.description), "", False)
        wired = {w.input: f"{w.source}.{w.output}" for w in self.action.wires if w.target == eid}
        text = describe(kind, event.settings, wired)
        # an event with nothing set yet says so in a muted line, not "if None"
        return (eid, (text, event.description), first_sentence(kind.doc), PLACEHOLDER in text)

    def _wanted_links(self) -> set[Link]:
        a = self.action
        links = set()
        if a.start in a.events:
            links.add(Link(TRIGGER_NODE, TRIGGER_OUT, a.start, FLOW_IN))
        for eid, event in a.events.items():
            for port, target in event.next.items():
                if target in a.events:
                    links.add(Link(eid, flow_port(port), target, FLOW_IN))
        for w in a.wires:
            if w.source in a.events and w.target in a.events:
                links.add(Link(w.source, w.output, w.target, w.input))
        return links

    def _sync_links(self) -> None:
        wanted = self._wanted_links()
        for link in self._links - wanted:
            self._disconnect(link)
        for link in wanted - self._links:
            self._connect(link)

    def _ports(self, link: Link):
        source, target = self._nodes.get(link.source), self._nodes.get(link.target)
        if source is None or target is None:
            return None, None
        return source.out_ports.get(link.output), target.in_ports.get(link.input)

    def _connect(self, link: Link) -> None:
        out, in_ = self._ports(link)
        if out is None or in_ is None:
            return  # a wire naming a port its kind lacks: the compiler reports it
        PortConnectedCmd(out, in_, False).redo()
        self._links.add(link)

    def _disconnect(self, link: Link) -> None:
        out, in_ = self._ports(link)
        if out is not None and in_ is not None:
            PortDisconnectedCmd(out, in_, False).redo()
        self._links.discard(link)

    def _repair_pipes(self, nodes: set[str]) -> None:
        """Make the pipes at these nodes match `_links` (the viewer may have moved some)."""
        for eid in nodes:
            node = self._nodes.get(eid)
            if node is None:
                continue
            for out in node.out_ports.values():
                for pipe in list(out.view.connected_pipes):
                    target = pipe.input_port
                    link = Link(eid, out.name(), self._graph.model.nodes[target.node.id].event_id,
                                target.name) if target is not None else None
                    if link not in self._links:
                        pipe.delete()
        for link in self._links:
            if link.source in nodes or link.target in nodes:
                out, in_ = self._ports(link)
                if not any(p.input_port is in_.view for p in out.view.connected_pipes):
                    out.view.connect_to(in_.view)
        for eid in nodes:
            node = self._nodes.get(eid)
            if node is not None:
                for port in (*node.in_ports.values(), *node.out_ports.values()):
                    port.view.update()

    # -- gestures ---------------------------------------------------------------------------------
    def _link_of(self, a, b) -> Link:
        out, in_ = (a, b) if a.port_type == PortTypeEnum.OUT.value else (b, a)
        nodes = self._graph.model.nodes
        return Link(nodes[out.node.id].event_id, out.name, nodes[in_.node.id].event_id, in_.name)

    def _link_from_names(self, source, output, target, input) -> Link | None:
        src, dst = self._nodes.get(source), self._nodes.get(target)
        if src is None or dst is None:
            self._say(f'There is no event "{source if src is None else target}" in this action.')
            return None
        out = output if output in src.out_ports else flow_port(output)
        in_ = input if input in dst.in_ports else FLOW_IN if input == "in" else input
        if out not in src.out_ports or in_ not in dst.in_ports:
            missing = output if out not in src.out_ports else input
            self._say(f'{self._name(source if out not in src.out_ports else target)} has no '
                      f'port "{missing}".')
            return None
        return Link(source, out, target, in_)

    def _user_connections(self, disconnected, connected) -> None:
        off = [self._link_of(a, b) for a, b in disconnected]
        on = [self._link_of(a, b) for a, b in connected]
        touched = {x for link in off + on for x in (link.source, link.target)}
        self._apply_links(off, on)
        self._repair_pipes(touched)

    def _apply_links(self, off: list[Link], on: list[Link]) -> bool:
        """Take links off and put links on as one edit; False when refused or a no-op."""

        def mutate() -> None:
            for link in off:
                self._unlink(link)
            for link in on:
                self._check(link)
                self._link(link)

        if on and off:
            label = f"Reconnect {self._describe_link(on[0])}"
        elif on:
            label = f"Connect {self._describe_link(on[0])}"
        else:
            label = f"Disconnect {self._describe_link(off[0])}"
        changed = self._change(label, mutate)
        if not changed:
            self._sync_links()
        return changed

    def _link(self, link: Link) -> None:
        a = self.action
        if link.flow:
            port = link.output[len("flow:"):]
            if link.source == TRIGGER_NODE:
                a.start = link.target
            else:
                a.events[link.source].next[port] = link.target
        else:
            a.wire(link.source, link.output, link.target, link.input)

    def _unlink(self, link: Link) -> None:
        a = self.action
        if link.flow:
            port = link.output[len("flow:"):]
            if link.source == TRIGGER_NODE:
                if a.start == link.target:
                    a.start = None
            elif a.events[link.source].next.get(port) == link.target:
                del a.events[link.source].next[port]
        else:
            a.wires[:] = [w for w in a.wires if (w.source, w.output, w.target, w.input)
                          != (link.source, link.output, link.target, link.input)]

    def _check(self, link: Link) -> None:
        """Raise Refused, saying why, for a connection the graph does not take."""
        a = self.action
        src, dst = self._name(link.source), self._name(link.target)
        if link.flow != is_flow(link.input):
            raise Refused("A flow port (▸) connects only to a flow port, and a data port (●) "
                          "only to a data port.")
        if link.source == link.target:
            raise Refused(f"{src} cannot be connected to itself.")
        if link.flow:
            if reaches(a, link.target, link.source):
                raise Refused(f"Linking {src} to {dst} would make the flow go round in a circle: "
                              f"{dst} already leads to {src}.")
            before = closure(a, link.source, forward=False)
            after = closure(a, link.target, forward=True)
            for w in a.wires:
                if w.target in before and w.source in after:
                    raise Refused(
                        f"Linking {src} to {dst} would make {self._name(w.target)} run before "
                        f"{self._name(w.source)}, whose {w.output} it reads.")
            return
        out_kind = self._port_kind(link.source, link.output, output=True)
        in_kind = self._port_kind(link.target, link.input, output=False)
        if not compatible(out_kind, in_kind):
            raise Refused(f"{src}'s {link.output} is {_a(out_kind)}, and {dst}'s {link.input} "
                          f"takes {_a(in_kind)}: the kinds do not match.")
        if reaches(a, link.target, link.source):
            raise Refused(f"{dst} runs before {src}, so it cannot read {src}'s {link.output}: "
                          "a wire goes from an earlier event to a later one.")

    def _port_kind(self, eid: str, port: str, output: bool) -> str:
        event = self.action.events.get(eid)
        kind = self.kinds.get(event.kind) if event else None
        found = (kind.output(port) if output else kind.input(port)) if kind else None
        return found.kind if found else "Any"

    def _user_moved(self, node_data: dict) -> None:
        nodes = self._graph.model.nodes
        a = self.action
        new, old = {}, {}
        for view in node_data:
            if view.id not in nodes:
                continue
            eid = nodes[view.id].event_id
            new[eid] = (float(round(view.x())), float(round(view.y())))
            old[eid] = a.positions.get(eid)
        if not new or all(new[k] == old[k] for k in new):
            self.refresh()
            return

        def apply(forward: bool) -> None:
            for eid in new:
                value = new[eid] if forward else old[eid]
                if value is None:
                    a.positions.pop(eid, None)
                else:
                    a.positions[eid] = value

        self.document.edit(f"Move {self._describe_ids(new)}", apply)

    def _dropped(self, mime: QMimeData, pos: QPointF) -> None:
        if mime.hasFormat(KIND_MIME):
            self.add_event(bytes(mime.data(KIND_MIME)).decode(), pos)

    def _insert(self, text: str, verb: str, at: QPointF | None) -> list[str]:
        try:
            source = events_from_text(text)
        except ValueError as e:
            self._say(str(e))
            return []
        a = self.action
        ids = fresh_ids(a, source)
        points = [source.positions[k] for k in source.events if k in source.positions]
        if at is not None and points:
            dx = at.x() - min(p[0] for p in points)
            dy = at.y() - min(p[1] for p in points)
        else:
            dx = dy = 40.0
        if points:  # the pasted events land wholly inside the view
            sizes = [self._kind_size(self.kinds[e.kind]) if e.kind in self.kinds else (160, 80)
                     for k, e in source.events.items() if k in source.positions]
            left = min(p[0] for p in points) + dx
            top = min(p[1] for p in points) + dy
            right = max(p[0] + w for p, (w, _h) in zip(points, sizes, strict=True)) + dx
            bottom = max(p[1] + h for p, (_w, h) in zip(points, sizes, strict=True)) + dy
            x, y = self._into_view(QRectF(left, top, right - left, bottom - top))
            dx, dy = dx + x - left, dy + y - top

        def mutate() -> None:
            paste_events(a, source, ids, (dx, dy))

        self._change(f"{verb} {self._describe_ids(ids.values(), named=False)}", mutate)
        scene = self._viewer.scene()
        with _Blocked(scene):
            scene.clearSelection()
            for new in ids.values():
                if new in self._nodes:
                    self._nodes[new].view.setSelected(True)
        self._selection_changed()
        return list(ids.values())

    def _change(self, label: str, mutate: Callable[[], None]) -> bool:
        """Run `mutate` on the Action as one undoable edit; refused or no-op: nothing happens."""
        a = self.action
        before = snapshot(a)
        try:
            mutate()
        except Refused as refusal:
            restore(a, before)
            self._say(str(refusal))
            return False
        after = snapshot(a)
        if after == before:
            return False
        restore(a, before)  # the edit below applies it again, as redo will
        self.document.edit(label, lambda forward: restore(a, after if forward else before))
        return True

    # -- selection, keys, menu, messages -----------------------------------------------------------
    def _selection_changed(self) -> None:
        views = {item for item in self._viewer.scene().selectedItems()
                 if isinstance(item, EventNodeItem)}
        for view in self._highlighted - views:
            view.highlight(False)
        for view in views - self._highlighted:
            view.highlight(True)
        self._highlighted = views
        ids = self.selected_ids()
        current = ids[0] if len(ids) == 1 else ""
        if current != self._selected:
            self._selected = current
            self.eventSelected.emit(current)

    def _command_for(self, event) -> Callable[[], object] | None:
        """The graph command a key press stands for, if any."""
        if event.type() not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            return None
        # Before the standard keys: on X11, Qt's Delete key binding includes Ctrl+D (Emacs style).
        if (event.modifiers() == Qt.KeyboardModifier.ControlModifier
                and event.key() == Qt.Key.Key_D):
            return self.duplicate
        for key, command in (
            (QKeySequence.StandardKey.Copy, self.copy),
            (QKeySequence.StandardKey.Cut, self.cut),
            (QKeySequence.StandardKey.Paste, self.paste),
            (QKeySequence.StandardKey.SelectAll, self.select_all),
            (QKeySequence.StandardKey.Delete, self.delete_selected),
        ):
            if event.matches(key):
                return command
        plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                      Qt.KeyboardModifier.KeypadModifier)
        if plain and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            return self.delete_selected
        if plain and event.key() == Qt.Key.Key_F:
            return self.fit
        return None

    def _context_menu(self, global_pos, scene_pos: QPointF) -> None:
        self.context_menu(scene_pos, self._event_at(scene_pos)).exec(global_pos)

    def _event_at(self, scene_pos: QPointF) -> str:
        """The event whose node is under a scene point ("" for none, or the trigger)."""
        for item in self._viewer.scene().items(scene_pos):
            if not isinstance(item, EventNodeItem):
                continue
            node = self._graph.model.nodes.get(item.id)
            if node is not None:
                return node.event_id if node.event_id in self.action.events else ""
        return ""

    def context_menu(self, scene_pos: QPointF, event_id: str = "") -> QMenu:
        """The graph's context menu at a scene point; with an event's own entries (pins,
        breakpoint, run from here) when `event_id` is the node clicked."""
        menu = QMenu(self)
        if event_id and self.event_menu is not None:
            self.event_menu(menu, event_id)
            menu.addSeparator()
        add = menu.addMenu("Add event")
        by_category: dict[str, list[EventKind]] = {}
        for kind in unique_kinds(self.kinds):
            by_category.setdefault(kind.category, []).append(kind)
        for category in sorted(by_category):
            sub = add.addMenu(category)
            for kind in sorted(by_category[category], key=lambda k: k.name):
                sub.addAction(kind.name, lambda k=kind.id: self.add_event(k, scene_pos))
        menu.addSeparator()
        has = bool(self.selected_events())
        for text, shortcut, command, enabled in (
            ("Cut", QKeySequence.StandardKey.Cut, self.cut, has),
            ("Copy", QKeySequence.StandardKey.Copy, self.copy, has),
            ("Paste", QKeySequence.StandardKey.Paste, self.paste, True),
            ("Duplicate", QKeySequence("Ctrl+D"), self.duplicate, has),
            ("Delete", QKeySequence.StandardKey.Delete, self.delete_selected, has),
            ("Select all", QKeySequence.StandardKey.SelectAll, self.select_all, True),
            (None, None, None, None),
            ("Tidy layout", None, self.tidy, True),
            ("Zoom to fit", QKeySequence("F"), self.fit, True),
        ):
            if text is None:
                menu.addSeparator()
                continue
            action = menu.addAction(text, command)
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            action.setEnabled(enabled)
        return menu

    def _say(self, text: str) -> None:
        self.last_message = text
        self._status.setText(text)
        self._status.show()
        self._status_timer.start()
        self.message.emit(text)

    def _name(self, eid: str) -> str:
        if eid == TRIGGER_NODE:
            return "the trigger"
        event = self.action.events.get(eid)
        kind = self.kinds.get(event.kind) if event else None
        return f"{kind.name if kind else (event.kind if event else '?')} {eid}"

    def _describe_link(self, link: Link) -> str:
        if link.flow:
            return f"{self._name(link.source)} to {self._name(link.target)}"
        return (f"{self._name(link.source)}.{link.output} to "
                f"{self._name(link.target)}.{link.input}")

    def _describe_ids(self, ids, named: bool = True) -> str:
        ids = list(ids)
        if len(ids) == 1:
            return self._name(ids[0]) if named else "1 event"
        return f"{len(ids)} events"

    def _view_positions(self, ids: list[str]) -> dict[str, tuple[float, float]]:
        return {eid: (self._nodes[eid].view.x(), self._nodes[eid].view.y()) for eid in ids}

    def showEvent(self, event):
        super().showEvent(event)
        if not self._fitted:  # the viewport gets its real size once layouts have run
            self._fitted = True
            QTimer.singleShot(0, self.fit)


class _Blocked:
    """Block an object's signals for a `with` block."""

    def __init__(self, obj):
        self.obj = obj

    def __enter__(self):
        self.was = self.obj.blockSignals(True)

    def __exit__(self, *exc):
        self.obj.blockSignals(self.was)


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "AEIOU" else f"a {kind}"


class ActionGraphEditor(QSplitter):
    """Palette, graph and properties side by side: what the action editor embeds."""

    def __init__(self, document, action: Action, parent: QWidget | None = None,
                 kinds: dict[str, EventKind] | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.graph = ActionGraph(document, action, self, kinds=kinds)
        self.palette = Palette(self.graph, self)
        self.properties = PropertiesPanel(self.graph, parent=self)
        self.addWidget(self.palette)
        self.addWidget(self.graph)
        self.addWidget(self.properties)
        self.setStretchFactor(1, 1)
        self.setSizes([180, 700, 320])
