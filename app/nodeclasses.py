"""NodeGraphQt node classes made from the event kinds in `nodes/`: one adapter, no per-event code.

The drawing items are lean on purpose: NodeGraphQt's own items give every port a rich text
item and route every item change through Python, which costs seconds on a 500-event action.
Ours draw all texts and the ports in the node's `paint`, and skip the Python item-change hook.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict

from NodeGraphQt import BaseNode
from NodeGraphQt.constants import Z_VAL_PIPE, Z_VAL_PORT, NodeEnum, PortEnum, PortTypeEnum
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.pipe import PipeItem
from NodeGraphQt.qgraphics.port import CustomPortItem
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem

from nodes.kind import EventKind

FLOW_IN = "flow:in"  # flow port names live apart from data port names, which a kind picks freely
FLOW_PREFIX = "flow:"
TRIGGER_OUT = "flow:start"

KIND_COLORS = {  # data port and wire colours by port kind
    "Any": (150, 156, 168, 255),
    "Record": (46, 184, 166, 255),
    "Records": (150, 120, 236, 255),
    "List": (150, 120, 236, 255),
    "Number": (232, 150, 50, 255),
    "Text": (110, 186, 80, 255),
    "Boolean": (222, 88, 122, 255),
}
# the category colours of app.theme (tree and palette icons), so a node is known at a glance
CATEGORY_COLORS = {"Data": (62, 142, 208), "Logic": (142, 78, 198), "Messaging": (214, 64, 159),
                   "Integrations": (18, 165, 148), "Trigger": (229, 160, 0)}
PROBLEM_COLOR = (235, 64, 64)
WARNING_COLOR = (214, 140, 20)  # a node with warnings only (e.g. one the flow never reaches)
RAN_COLOR = (46, 170, 90)  # events and wires of the last run
PIN_COLOR = (58, 120, 222)  # an event with a pinned output (a mock in editor runs)
BREAKPOINT_COLOR = (220, 38, 38)  # the dot of a breakpoint
PAUSED_COLOR = (245, 176, 20)  # the event a run is paused at in the debugger
RUN_PILL_SPACE = 20.0  # room above a node for its step number and time in the last run
SELECTED_COLOR = NodeEnum.SELECTED_BORDER_COLOR.value
FACE_WIDTH = 300.0  # longest line on a node face before it is elided (the tooltip has it all)
PORT_ROW = PortEnum.SIZE.value + 1.0

THEMES = {
    "dark": {"background": (30, 31, 36), "grid": (37, 38, 44), "node": (44, 46, 54, 255),
             "border": (74, 78, 90, 255), "text": (236, 236, 240, 255), "flow": (225, 225, 232),
             "hollow": (30, 31, 36), "flow_wire": (200, 200, 210, 255), "grid_major": (46, 48, 56)},
    "light": {"background": (243, 244, 247), "grid": (233, 235, 239), "node": (255, 255, 255, 255),
              "border": (178, 182, 192, 255), "text": (28, 30, 36, 255), "flow": (70, 72, 82),
              "hollow": (255, 255, 255), "flow_wire": (96, 98, 110, 255),
              "grid_major": (220, 223, 229)},
}
theme = dict(THEMES["dark"])  # the current one; the graph switches it with `use_theme`


def use_theme(name: str) -> None:
    """Switch the colours new and repainted items use ("dark" or "light")."""
    theme.clear()
    theme.update(THEMES[name])


def flow_port(name: str) -> str:
    """The NodeGraphQt port name of a flow output."""
    return FLOW_PREFIX + name


def is_flow(port_name: str) -> bool:
    """Whether a NodeGraphQt port name is a flow port."""
    return port_name.startswith(FLOW_PREFIX)


def port_color(kind: str) -> tuple[int, int, int, int]:
    """The colour of a data port of this kind."""
    return KIND_COLORS.get(kind, KIND_COLORS["Any"])


def category_color(category: str) -> tuple[int, int, int]:
    """The accent colour of a category (a stable made-up one for categories we do not know)."""
    if category in CATEGORY_COLORS:
        return CATEGORY_COLORS[category]
    color = QColor.fromHsv(sum(map(ord, category)) * 47 % 360, 150, 170)
    return color.red(), color.green(), color.blue()


def paint_flow_port(painter, rect: QRectF, info: dict) -> None:
    """A flow port: a chevron, filled when linked (data ports are round)."""
    painter.save()
    color = QColor(136, 230, 35) if info["hovered"] else QColor(*theme["flow"])
    w, h = rect.width(), rect.height()
    tri = QPolygonF([QPointF(rect.left() + w * 0.05, rect.top() - h * 0.1),
                     QPointF(rect.right() + w * 0.3, rect.center().y()),
                     QPointF(rect.left() + w * 0.05, rect.bottom() + h * 0.1)])
    painter.setRenderHint(painter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(color, 1.6))
    filled = info["connected"] or info["hovered"]
    painter.setBrush(color if filled else QColor(*theme["hollow"]))
    painter.drawPolygon(tri)
    painter.restore()


def paint_data_port(painter, rect: QRectF, info: dict) -> None:
    """A data port: a circle in its kind's colour, filled when wired."""
    painter.save()
    color = QColor(136, 230, 35) if info["hovered"] else QColor(*info["color"])
    painter.setRenderHint(painter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(color, 2.0))
    filled = info["connected"] or info["hovered"]
    painter.setBrush(color if filled else QColor(*theme["hollow"]))
    painter.drawEllipse(rect.adjusted(1.0, 1.0, -1.0, -1.0))
    painter.restore()


@functools.cache
def _fonts() -> dict[str, tuple[QFont, QFontMetricsF]]:
    """Fonts of a node face with their metrics, made once (after the QApplication exists)."""
    title, line, note, port = QFont(), QFont(), QFont(), QFont()
    title.setBold(True)
    note.setItalic(True)
    size = port.pointSizeF()
    if size > 0:
        port.setPointSizeF(size * 0.92)
    return {name: (font, QFontMetricsF(font))
            for name, font in (("title", title), ("line", line), ("note", note), ("port", port))}


@functools.lru_cache(maxsize=8192)
def text_width(font_name: str, text: str) -> float:
    """The width of a text in a face font (shaping text is slow; labels repeat a lot)."""
    return _fonts()[font_name][1].horizontalAdvance(text)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


PORT_MARGIN = 9.0  # how far a port's shape sticks out of the node's sides


class LeanPort(CustomPortItem):
    """A port: NodeGraphQt finds it for connections, the node paints it (with its label)."""

    # nodes redraw their pipes when they move, so ports need no Python item-change hook
    itemChange = QGraphicsItem.itemChange

    def __init__(self, parent, name: str, port_type: str, multi: bool, show: bool, painter):
        QGraphicsItem.__init__(self, parent)  # PortItem's setters would each call back into Python
        # painting thousands of small items costs a Python call each: the node draws its ports
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self.setAcceptHoverEvents(True)
        self.setZValue(Z_VAL_PORT)
        self._pipes = []
        self._width = self._height = PortEnum.SIZE.value
        self._hovered = False
        self._name = name
        self._display_name = show
        self._color = self._border_color = (150, 156, 168, 255)
        self._border_size = 1
        self._port_type = port_type
        self._multi_connection = multi
        self._locked = False
        self._port_painter = painter
        self.label = name
        self.tooltip = ""  # shown by the viewer on demand: setting it on every item costs time
        self._rect = QRectF(0.0, 0.0, self._width + PortEnum.CLICK_FALLOFF.value, self._height)

    def boundingRect(self):
        return self._rect

    def hoverEnterEvent(self, event):
        self._hovered = True
        self.parentItem().update()

    def hoverLeaveEvent(self, event):
        self._hovered = False
        self.parentItem().update()

    def update(self, *args):
        # NodeGraphQt asks a port to repaint when a wire comes or goes; the node paints it
        if self.parentItem() is not None:
            self.parentItem().update()

    def paint_on(self, painter) -> None:
        """Draw this port with its painter function (called from the node's `paint`)."""
        size = self._width / 1.8
        center = self.pos() + self._rect.center()
        rect = QRectF(center.x() - size / 2, center.y() - size / 2, size, size)
        self._port_painter(painter, rect, {
            "port_type": self._port_type, "color": self._color, "border_color": self._border_color,
            "multi_connection": self._multi_connection, "connected": bool(self._pipes),
            "hovered": self._hovered, "locked": self._locked})

    def center(self) -> QPointF:
        """Where a pipe meets this port, in scene coordinates."""
        return self.scenePos() + QPointF((self._width + PortEnum.CLICK_FALLOFF.value) / 2,
                                         self._height / 2)


class LeanPipe(PipeItem):
    """A wire: flow links solid and light, data wires in the colour of their output's kind."""

    # Qt's own painting and item-change code: no Python call per wire when the view repaints
    itemChange = QGraphicsItem.itemChange
    paint = QGraphicsPathItem.paint

    def __init__(self):
        QGraphicsPathItem.__init__(self)
        self.setZValue(Z_VAL_PIPE)
        self.setAcceptHoverEvents(True)
        self._color = (200, 200, 210, 255)
        self._style = 0
        self._width = 2.0
        self._active = False
        self._highlight = False
        self._ran = False
        self._input_port = None
        self._output_port = None

    def set_ran(self, ran: bool) -> None:
        """Emphasise the wire as taken by the last run (or plain again)."""
        if ran != self._ran:
            self._ran = ran
            self.reset()

    def style_from_ports(self) -> None:
        """Take the colour and width from the output port: flow or the data kind."""
        out = self._output_port
        if out is not None and is_flow(out.name):
            self._color, self._width = theme["flow_wire"], 2.6
        elif out is not None:
            self._color, self._width = out.color, 1.8
        self.reset()

    def set_pipe_styling(self, color, width=2, style=0):
        # a cosmetic pen keeps its width at any zoom and is much cheaper to draw
        pen = QPen(QColor(*color), max(width, self._width))
        pen.setCosmetic(True)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.setPen(pen)

    def _draw_direction_pointer(self):
        pass  # ports sit left (in) and right (out), so a wire's direction shows without arrows

    def reset(self):
        self._active = self._highlight = False
        if self._ran:
            self.set_pipe_styling(RAN_COLOR, 3.6)
        else:
            self.set_pipe_styling(self._color, self._width)

    def highlight(self):
        # a wire the last run took stays green when its event is selected: the path of the run
        # is what the user is looking at; a little wider says "selected"
        if self._ran:
            self._highlight = True
            self.set_pipe_styling(RAN_COLOR, 4.6)
            return
        super().highlight()

    def draw_path(self, start_port, end_port=None, cursor_pos=None):
        if cursor_pos is not None or end_port is None or not isinstance(start_port, LeanPort):
            super().draw_path(start_port, end_port, cursor_pos)
            return
        out, in_ = (end_port, start_port) if start_port.port_type == PortTypeEnum.IN.value \
            else (start_port, end_port)
        if in_.center().x() < out.center().x() + 2 * BACK_REACH:
            self.setPath(backward_path(out, in_))
            return
        p1, p2 = start_port.center(), end_port.center()
        # a horizontal S-curve whose bend grows with the distance (up to a point, so a wire
        # going back left loops modestly); a long one sags, so it is not taken for a wire
        # between the neighbours it passes behind
        dx = abs(p2.x() - p1.x())
        bend = min(max(dx * 0.5, 40.0), 260.0)
        sag = min(dx * 0.12, 80.0) if dx > 400 else 0.0
        sign = -1.0 if start_port.port_type == PortTypeEnum.IN.value else 1.0
        path = QPainterPath(p1)
        path.cubicTo(QPointF(p1.x() + sign * bend, p1.y() + sag),
                     QPointF(p2.x() - sign * bend, p2.y() + sag), p2)
        self.setPath(path)


BACK_REACH = 24.0  # how far a backward wire leaves its port before it turns
BACK_CLEARANCE = 18.0  # space between a backward wire and the nodes it goes around


def backward_path(out: LeanPort, in_: LeanPort) -> QPainterPath:
    """A wire from an output to an input left of it: out to the right, round below (or above)
    the nodes in its way, back in from the left, so that it never crosses a node."""
    p1, p2 = out.center(), in_.center()
    ends = [out.parentItem().sceneBoundingRect(), in_.parentItem().sceneBoundingRect()]
    x1, x2 = p1.x() + BACK_REACH, p2.x() - BACK_REACH
    below = max(r.bottom() for r in ends) + BACK_CLEARANCE
    above = min(r.top() for r in ends) - BACK_CLEARANCE
    scene = out.scene()
    for _ in range(8):  # nodes between the two ends push the way further out
        band = QRectF(min(x1, x2), min(below, above), abs(x1 - x2), abs(below - above))
        lower = QRectF(band.left(), below - 1, band.width(), 2)
        upper = QRectF(band.left(), above - 1, band.width(), 2)
        hits_low = [i.sceneBoundingRect() for i in scene.items(lower)
                    if isinstance(i, EventNodeItem)] if scene else []
        hits_up = [i.sceneBoundingRect() for i in scene.items(upper)
                   if isinstance(i, EventNodeItem)] if scene else []
        if not hits_low or not hits_up:
            break
        below = max(r.bottom() for r in hits_low) + BACK_CLEARANCE
        above = min(r.top() for r in hits_up) - BACK_CLEARANCE
    middle = (p1.y() + p2.y()) / 2
    if hits_low and not hits_up:
        y = above
    elif hits_up and not hits_low:
        y = below
    else:
        y = below if below - middle <= middle - above else above
    return _rounded([p1, QPointF(x1, p1.y()), QPointF(x1, y), QPointF(x2, y), QPointF(x2, p2.y()),
                     p2], 10.0)


def _rounded(points: list[QPointF], radius: float) -> QPainterPath:
    """A polyline with its corners rounded."""
    path = QPainterPath(points[0])
    for before, corner, after in zip(points, points[1:], points[2:], strict=False):
        into, out = corner - before, after - corner
        len_in = max(abs(into.x()) + abs(into.y()), 1e-6)
        len_out = max(abs(out.x()) + abs(out.y()), 1e-6)
        r = min(radius, len_in / 2, len_out / 2)
        path.lineTo(corner - into * (r / len_in))
        path.quadTo(corner, corner + out * (r / len_out))
    path.lineTo(points[-1])
    return path


class EventNodeItem(NodeItem):
    """The drawing of a node: a title bar (name, id), face lines, then flow and data ports."""

    def __init__(self, name="node", parent=None):
        # skip NodeItem.__init__: its title, icon and overlay items are drawn here in `paint`
        AbstractNodeItem.__init__(self, name, parent)
        self._input_items: OrderedDict = OrderedDict()  # port item -> its label
        self._output_items: OrderedDict = OrderedDict()
        self._widgets = OrderedDict()
        self._proxy_mode = False
        self._proxy_mode_threshold = 70
        self.badge = ""
        self.accent = (90, 90, 100)
        self.face: tuple[str, ...] = ()  # summary, then description (either may be "")
        self.problems: tuple[str, ...] = ()
        self.warning = False  # the problems are only warnings
        self.placeholder = False  # the face's first line stands for settings not made yet
        self.hint = ""
        self.run: tuple[str, str | None] | None = None  # (badge, error) of the last run
        # debugging marks: a pinned output, a breakpoint, a run paused here (app.debugging)
        self.pinned = self.breakpoint = self.paused = False
        self._header = 24.0

    # -- what the face says ----------------------------------------------------------------
    def set_face(self, title: str, badge: str, face: tuple[str, ...], hint: str = "",
                 placeholder: bool = False) -> None:
        """Set the title, the id badge and the face lines (the first one muted when it is a
        `placeholder`); lay out again only when they changed."""
        if (title, badge, face, hint, placeholder) == (self.name, self.badge, self.face,
                                                       self.hint, self.placeholder):
            return
        self._properties["name"] = title
        self.badge, self.face, self.hint, self.placeholder = badge, face, hint, placeholder
        if self.scene():
            self.draw_node()

    def set_problems(self, messages: tuple[str, ...], warning: bool = False) -> None:
        """Outline the node in red (amber for warnings only) and list the messages in its
        tooltip (empty: clear)."""
        if (messages, warning) == (self.problems, self.warning):
            return
        self.problems, self.warning = messages, warning
        self.update()

    def set_run(self, run: tuple[str, str | None] | None) -> None:
        """Mark the node as run by the last request: (badge such as "#2 · 0.4 ms", error or
        None); a failed one is drawn red. None: not run."""
        if run == self.run:
            return
        if (run is None) != (self.run is None):
            self.prepareGeometryChange()  # the pill above the node comes or goes
        self.run = run
        self.update()

    def set_marks(self, pinned: bool, breakpoint: bool, paused: bool) -> None:
        """Mark a pinned output (a pin pill above the node), a breakpoint (a red dot on its
        left edge) and a run paused here (an amber outline)."""
        if (pinned, breakpoint, paused) == (self.pinned, self.breakpoint, self.paused):
            return
        if pinned != self.pinned:
            self.prepareGeometryChange()  # the pill above the node comes or goes
        self.pinned, self.breakpoint, self.paused = pinned, breakpoint, paused
        self.update()

    def tooltip(self) -> str:
        """The hover text: title, face lines, the kind's summary, the problems, the last run."""
        lines = [f"<b>{_html(self.name)}</b> {_html(self.badge)}"]
        lines += [_html(text) for text in self.face if text]
        if self.hint:
            lines.append(f"<i>{_html(self.hint)}</i>")
        color = "#d68c14" if self.warning else "#eb4040"
        lines += [f'<span style="color:{color}">&#9888; {_html(m)}</span>' for m in self.problems]
        if self.run is not None:
            badge, error = self.run
            lines.append(f"Last run: {_html(badge)}")
            if error:
                lines.append(f'<span style="color:#eb4040">&#10007; {_html(error)}</span>')
        if self.pinned:
            lines.append("Pinned: editor runs return its pinned output; it does not run")
        if self.breakpoint:
            lines.append("Breakpoint: runs from the editor pause here (F9 clears it)")
        if self.paused:
            lines.append("<b>Paused here</b>: see the Debug panel")
        return "<br/>".join(lines)

    def _lines(self) -> list[tuple[str, str]]:
        """The face lines with their font names."""
        out = []
        if len(self.face) > 0 and self.face[0]:
            out.append((self.face[0], "line"))
        if len(self.face) > 1 and self.face[1]:
            out.append((self.face[1], "note"))
        return out

    # -- NodeItem parts we replace -----------------------------------------------------------
    @AbstractNodeItem.name.setter
    def name(self, name=""):
        self._properties["name"] = name
        self.update()

    @NodeItem.icon.setter
    def icon(self, path=None):
        self._properties["icon"] = path

    @AbstractNodeItem.disabled.setter
    def disabled(self, state=False):
        self._properties["disabled"] = state

    @AbstractNodeItem.layout_direction.setter
    def layout_direction(self, value=0):
        self._properties["layout_direction"] = 0  # always left to right

    def _tooltip_disable(self, state):
        pass  # our tooltip is made on demand (see `tooltip`)

    def _set_text_color(self, color):
        self.update()

    def set_proxy_mode(self, mode):
        self._proxy_mode = mode

    def post_init(self, viewer=None, pos=None):
        self.draw_node()
        if pos:
            self.xy_pos = pos

    def _add_port(self, port, output: bool):
        (self._output_items if output else self._input_items)[port] = port.label
        return port

    def add_input(self, name="input", multi_port=False, display_name=True, locked=False,
                  painter_func=None):
        port = LeanPort(self, name, PortTypeEnum.IN.value, multi_port, display_name, painter_func)
        return self._add_port(port, False)

    def add_output(self, name="output", multi_port=False, display_name=True, locked=False,
                   painter_func=None):
        port = LeanPort(self, name, PortTypeEnum.OUT.value, multi_port, display_name, painter_func)
        return self._add_port(port, True)

    def _delete_port(self, port, text):
        port.setParentItem(None)
        if self.scene():
            self.scene().removeItem(port)

    def get_input_text_item(self, port_item):
        return None

    def get_output_text_item(self, port_item):
        return None

    # -- layout ------------------------------------------------------------------------------
    def calc_size(self, add_w=0.0, add_h=0.0):
        width = text_width("title", self.name) + text_width("line", self.badge) + 36
        for text, font in self._lines():
            width = max(width, min(text_width(font, text), FACE_WIDTH) + 24)
        ins = [text_width("port", t) for p, t in self._input_items.items() if p.display_name]
        outs = [text_width("port", t) for p, t in self._output_items.items() if p.display_name]
        width = max(width, max(ins, default=0) + max(outs, default=0) + 48, NodeEnum.WIDTH.value)
        rows = max(len(self._input_items), len(self._output_items))
        height = self._header_height() + rows * PORT_ROW + 6
        return width + add_w, height + add_h

    def _header_height(self) -> float:
        fonts = _fonts()
        title = fonts["title"][1].height() + 8
        return title + sum(fonts[f][1].height() + 2 for _, f in self._lines()) + (
            4 if self._lines() else 0)

    def draw_node(self):
        self.prepareGeometryChange()
        self._header = self._header_height()
        self._width, self._height = self.calc_size()
        port_w = PortEnum.SIZE.value + PortEnum.CLICK_FALLOFF.value
        y = self._header
        for port in self._input_items:
            port.setPos(-port_w / 2, y)
            y += PORT_ROW
        y = self._header
        for port in self._output_items:
            port.setPos(self._width - port_w / 2, y)
            y += PORT_ROW
        self.update()

    # a Python item-change hook would run some twenty times per node while a graph is built;
    # the viewer calls these two instead when nodes move or the selection changes
    itemChange = QGraphicsItem.itemChange

    def redraw_pipes(self) -> None:
        """Redraw the wires at this node (after it moved)."""
        for port in (*self._input_items, *self._output_items):
            for pipe in port._pipes:
                pipe.draw_path(pipe.input_port, pipe.output_port)

    def highlight(self, on: bool) -> None:
        """Show the wires at this node highlighted (while it is selected) or plain."""
        for port in (*self._input_items, *self._output_items):
            for pipe in port._pipes:
                if on:
                    pipe.highlight()
                elif not (pipe.input_port.node.isSelected() or pipe.output_port.node.isSelected()):
                    pipe.reset()
                pipe.update()

    def mouseDoubleClickEvent(self, event):
        # the title is the kind's name, not free text: no renaming in place
        viewer = self.viewer()
        if viewer and event.button() == Qt.MouseButton.LeftButton:
            viewer.node_double_clicked.emit(self.id)
        event.accept()

    # -- painting ----------------------------------------------------------------------------
    def boundingRect(self):
        top = -RUN_PILL_SPACE if self.run is not None or self.pinned else 0.0
        return QRectF(-PORT_MARGIN, top, self._width + 2 * PORT_MARGIN, self._height - top)

    def paint(self, painter, option, widget):
        painter.save()
        painter.setRenderHint(painter.RenderHint.Antialiasing, True)
        rect = QRectF(1.0, 1.0, self._width - 2.0, self._height - 2.0)
        radius = 6.0
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(*theme["node"]))
        painter.drawRoundedRect(rect, radius, radius)

        fonts = _fonts()
        title_h = fonts["title"][1].height() + 8
        painter.setBrush(QColor(*self.accent))  # a title bar: rounded on top, square below
        painter.drawRoundedRect(QRectF(rect.left(), rect.top(), rect.width(), title_h),
                                radius, radius)
        painter.drawRect(QRectF(rect.left(), rect.top() + title_h / 2, rect.width(), title_h / 2))

        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        readable = lod * rect.width() >= self._proxy_mode_threshold  # else shapes only
        if readable:
            self._paint_texts(painter, rect, title_h)

        if self.run is not None and self.run[1]:
            painter.setBrush(QColor(*PROBLEM_COLOR, 40))  # the event that failed: tinted red
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(rect.adjusted(0, title_h, 0, 0), radius, radius)
        if self.paused:
            painter.setBrush(QColor(*PAUSED_COLOR, 45))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(rect.adjusted(0, title_h, 0, 0), radius, radius)
            pen = QPen(QColor(*PAUSED_COLOR), 4.0)
        elif self.problems and not self.warning or (self.run is not None and self.run[1]):
            pen = QPen(QColor(*PROBLEM_COLOR), 2.6)
        elif self.run is not None:
            pen = QPen(QColor(*RAN_COLOR), 2.6)
        elif self.problems:
            pen = QPen(QColor(*WARNING_COLOR), 2.6)
        elif self.isSelected():
            pen = QPen(QColor(*SELECTED_COLOR), 2.0)
        else:
            pen = QPen(QColor(*theme["border"]), 1.0)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(pen)
        painter.drawRoundedRect(rect, radius, radius)
        if (self.problems or self.run is not None or self.paused) and self.isSelected():
            # the outer line says problem or ran; an inner one says selected
            painter.setPen(QPen(QColor(*SELECTED_COLOR), 1.2))
            painter.drawRoundedRect(rect.adjusted(3, 3, -3, -3), radius - 2, radius - 2)
        if readable:
            for port in (*self._input_items, *self._output_items):
                port.paint_on(painter)
            if self.run is not None:
                self._paint_run(painter, rect, title_h)
            if self.pinned:
                self._paint_pin(painter, rect)
        if self.breakpoint:
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.setBrush(QColor(*BREAKPOINT_COLOR))
            painter.drawEllipse(QPointF(rect.left(), rect.top() + title_h / 2), 6.5, 6.5)
        painter.restore()

    def _paint_pin(self, painter, rect: QRectF) -> None:
        """A "pinned" pill above the node's right end."""
        font, metrics = _fonts()["port"]
        text = "\u25cf pinned"
        width = metrics.horizontalAdvance(text) + 12
        height = min(metrics.height() + 2, RUN_PILL_SPACE - 3)
        pill = QRectF(rect.right() - width - 4, rect.top() - height - 3, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(*PIN_COLOR))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_run(self, painter, rect: QRectF, title_h: float) -> None:
        """The step number and time of the last run in a pill just above the node."""
        font, metrics = _fonts()["port"]
        badge, error = self.run
        text = badge if not error else f"{badge} · failed"
        width = metrics.horizontalAdvance(text) + 12
        height = min(metrics.height() + 2, RUN_PILL_SPACE - 3)
        pill = QRectF(rect.left() + 4, rect.top() - height - 3, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(*(PROBLEM_COLOR if error else RAN_COLOR)))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_texts(self, painter, rect: QRectF, title_h: float) -> None:
        fonts = _fonts()
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.setFont(fonts["title"][0])
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(QRectF(rect.left() + 9, rect.top(), rect.width() - 18, title_h), left,
                         self.name)
        painter.setFont(fonts["line"][0])
        painter.setPen(QColor(255, 255, 255, 190))
        painter.drawText(QRectF(rect.left(), rect.top(), rect.width() - 9, title_h), right,
                         self.badge)

        text = QColor(*theme["text"])
        muted = QColor(text)
        muted.setAlpha(165)
        y = rect.top() + title_h + 3
        for i, (line, font_name) in enumerate(self._lines()):
            font, metrics = fonts["note" if i == 0 and self.placeholder else font_name]
            painter.setFont(font)
            painter.setPen(text if i == 0 and not self.placeholder else muted)
            elided = metrics.elidedText(line, Qt.TextElideMode.ElideRight, rect.width() - 20)
            painter.drawText(QRectF(rect.left() + 9, y, rect.width() - 18, metrics.height()),
                             left, elided)
            y += metrics.height() + 2

        font, metrics = fonts["port"]
        painter.setFont(font)
        painter.setPen(text)
        for port, label in self._input_items.items():
            if port.display_name:
                painter.drawText(QRectF(rect.left() + 12, port.y(), rect.width() / 2, PORT_ROW - 1),
                                 left, label)
        for port, label in self._output_items.items():
            if port.display_name:
                painter.drawText(QRectF(rect.center().x(), port.y(), rect.width() / 2 - 12,
                                        PORT_ROW - 1), right, label)


class GraphNode(BaseNode):
    """What event nodes and the trigger node share: ports by name, a face, problems."""

    __identifier__ = "actiongraph"
    NODE_NAME = "Node"
    DELETABLE = True

    def __init__(self):
        super().__init__(EventNodeItem)
        self.event_id = ""
        self.kind_id = ""  # the model's kind id (an unknown kind keeps its own)
        self.in_ports: dict = {}
        self.out_ports: dict = {}

    def _port(self, name: str, label: str, output: bool, color, painter, multi: bool,
              show: bool, tooltip: str):
        add = self.add_output if output else self.add_input
        port = add(name, multi, show, color, False, painter)
        port.view.label = label
        (self.view._output_items if output else self.view._input_items)[port.view] = label
        port.view.tooltip = tooltip
        (self.out_ports if output else self.in_ports)[name] = port
        return port

    def set_face(self, badge: str, face: tuple[str, ...], hint: str = "",
                 placeholder: bool = False) -> None:
        """Show the id badge and the face lines (summary, description)."""
        self.view.set_face(self.NODE_NAME, badge, face, hint, placeholder)

    def set_problems(self, messages: tuple[str, ...], warning: bool = False) -> None:
        """Outline the node in red (amber: warnings only) with these messages on hover."""
        self.view.set_problems(messages, warning)


class EventNode(GraphNode):
    """An event node; the subclasses `node_class` makes carry their EventKind as KIND."""

    KIND: EventKind | None = None

    def __init__(self):
        super().__init__()
        kind = self.KIND
        self.view.accent = category_color(kind.category)
        self._port(FLOW_IN, "", False, None, paint_flow_port, True, False,
                   "flow in: this event runs when the trigger or a linked event leads here")
        several = len(kind.flow_out) > 1  # a lone `next` needs no label: the chevron says it
        for name in kind.flow_out:
            self._port(flow_port(name), name, True, None, paint_flow_port, False, several,
                       f"flow out ({name}): the event that runs next")
        for p in kind.inputs:
            self._port(p.name, p.name, False, port_color(p.kind), paint_data_port, False, True,
                       f"{p.name} ({p.kind}){': ' + p.doc if p.doc else ''}")
        for p in kind.outputs:
            self._port(p.name, p.name, True, port_color(p.kind), paint_data_port, True, True,
                       f"{p.name} ({p.kind}){': ' + p.doc if p.doc else ''}")


class TriggerNode(GraphNode):
    """The start of an action: one flow output; always there, never deleted."""

    NODE_NAME = "Trigger"
    DELETABLE = False

    def __init__(self):
        super().__init__()
        self.event_id = "trigger"
        self.view.accent = category_color("Trigger")
        self._port(TRIGGER_OUT, "start", True, None, paint_flow_port, False, False,
                   "flow out: the first event of the action")


class UnknownNode(GraphNode):
    """An event whose kind this editor does not know: kept and shown, with its flow links."""

    NODE_NAME = "Unknown"
    FLOW_OUT: tuple[str, ...] = ()

    def __init__(self):
        super().__init__()
        self.view.accent = (150, 40, 40)
        self._port(FLOW_IN, "", False, None, paint_flow_port, True, False, "flow in")
        for name in self.FLOW_OUT:
            self._port(flow_port(name), name, True, None, paint_flow_port, False, True, name)


def _class_name(text: str) -> str:
    return re.sub(r"\W", "_", text) or "_"


_classes: dict[int, tuple[EventKind, type[EventNode]]] = {}


def node_class(kind: EventKind) -> type[EventNode]:
    """The NodeGraphQt node class of an event kind (one per kind, made once)."""
    # kinds hold dicts (setting defaults), so they cannot be hashed: remember them by identity
    known = _classes.get(id(kind))
    if known is None or known[0] is not kind:
        cls = type(_class_name(kind.id), (EventNode,), {
            "__identifier__": f"actiongraph.{_class_name(kind.category)}",
            "NODE_NAME": kind.name,
            "KIND": kind,
            "__doc__": kind.doc,
        })
        known = _classes[id(kind)] = (kind, cls)
    return known[1]


@functools.cache
def unknown_class(kind_id: str, flow_out: tuple[str, ...]) -> type[UnknownNode]:
    """A node class for an unknown kind, with the flow ports its saved links use."""
    return type(_class_name(kind_id), (UnknownNode,), {
        "__identifier__": "actiongraph.unknown", "NODE_NAME": kind_id, "FLOW_OUT": flow_out})
