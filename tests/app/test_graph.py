"""The action graph, palette and properties panel: real widgets offscreen, checked on the model."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QSpinBox,
)

from app.document import Document
from app.graph import ActionGraph, ActionGraphEditor, Link, events_to_text
from app.nodeclasses import FLOW_IN, TRIGGER_OUT, flow_port
from app.palette import KIND_MIME, KindPicker, Palette
from app.properties import ExpressionEdit, PropertiesPanel, from_text, scope_words
from nodes import catalogue
from nodes.kind import EventKind, Port, Setting
from runtime.project import Event, from_data, to_data
from tests.app.conftest import show

# NodeGraphQt's viewer still reads `event.pos()`, which PySide6 marks deprecated
pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
SHOTS = Path(os.environ.get("ACTIONGRAPH_SHOTS", "/tmp/shots"))


# -- helpers -------------------------------------------------------------------------------------

def example(name: str) -> Document:
    """A document on an example project (read from the file, never written)."""
    return Document(from_data(json.loads((EXAMPLES / f"{name}.actiongraph.json").read_text())),
                    None)


def data(doc: Document) -> dict:
    """The project as file data, copied (to_data shares the events' dicts with the model)."""
    return copy.deepcopy(to_data(doc.project))


def shoot(widget, name: str) -> Path:
    """Save a picture of a widget as /tmp/shots/graph_NAME.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"graph_{name}.png"
    QApplication.processEvents()
    assert widget.grab().save(str(path))
    return path


def port_point(graph: ActionGraph, event_id: str, port: str, output: bool) -> QPoint:
    """Where a port is on the viewport, for mouse gestures."""
    node = graph.node(event_id)
    item = (node.out_ports if output else node.in_ports)[port].view
    return graph.viewer.mapFromScene(item.center())


def drag(qtbot, graph: ActionGraph, start: QPoint, end: QPoint) -> None:
    """Press, move and release the left button on the graph's viewport."""
    viewport = graph.viewer.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    middle = (start + end) / 2
    qtbot.mouseMove(viewport, pos=QPoint(int(middle.x()), int(middle.y())))
    qtbot.mouseMove(viewport, pos=end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


def drop_kind(graph: ActionGraph, palette: Palette, kind_id: str, at: QPoint) -> None:
    """Drop a kind dragged from the palette onto the graph's viewport."""
    mime = palette.mime_for(kind_id)
    assert mime.hasFormat(KIND_MIME)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    viewport = graph.viewer.viewport()
    for event in (QDragEnterEvent(at, *args), QDragMoveEvent(at, *args)):
        QApplication.sendEvent(viewport, event)
        assert event.isAccepted()
    QApplication.sendEvent(viewport, QDropEvent(QPointF(at), *args))


@pytest.fixture
def shoes():
    """The shoes example with its action emptied: what a user starts the tutorial from."""
    doc = example("shoes")
    action = doc.project.actions[0]
    action.events.clear()
    action.wires.clear()
    action.start = None
    action.positions = {"trigger": (0, 0)}
    doc.undo.clear()
    return doc


@pytest.fixture
def editor(qtbot, shoes):
    """Palette, graph and properties of the shoes action, shown."""
    widget = ActionGraphEditor(shoes, shoes.project.actions[0])
    qtbot.addWidget(widget)
    widget.resize(1280, 640)
    show(qtbot, widget)
    qtbot.wait(20)  # the graph zooms to fit once laid out; gestures come after that
    return widget


def chain(doc: Document, *kinds: str) -> ActionGraph:
    """Events of these kinds linked trigger -> first -> second ..., as plain model edits."""
    action = doc.project.actions[0]
    after = None
    for i, kind in enumerate(kinds):
        event = action.add_event(kind, after=after)
        action.positions[event.id] = (260.0 * (i + 1), 0.0)
        after = event.id
    doc.undo.clear()
    return action


# -- building the shoes action --------------------------------------------------------------------

def test_build_shoes_action_through_the_editor(qtbot, editor, shoes):
    graph, palette, panel = editor.graph, editor.palette, editor.properties
    assert graph.node("trigger") is not None and graph.links() == set()

    drop_kind(graph, palette, "create", graph.viewer.mapFromScene(QPointF(400, 40)))
    action = shoes.project.actions[0]
    assert list(action.events) == ["n1"] and action.events["n1"].kind == "create"
    assert graph.selected_ids() == ["n1"] and panel.event_id == "n1"

    # link the trigger to the new event with the mouse, port to port
    graph.fit()
    drag(qtbot, graph, port_point(graph, "trigger", TRIGGER_OUT, True),
         port_point(graph, "n1", FLOW_IN, False))
    assert action.start == "n1"
    assert Link("trigger", TRIGGER_OUT, "n1", FLOW_IN) in graph.links()

    # the properties panel, as a user fills it in
    graph.select_event("n1")
    assert panel.event_id == "n1"
    qtbot.keyClicks(panel.description, "Create the shoe")
    model = panel.fields["model"]
    assert isinstance(model, QComboBox) and model.findText("Shoes") > 0
    model.setCurrentText("Shoes")
    values = panel.fields["values"]
    assert set(values.edits) == {"shoe_type", "price"}
    qtbot.keyClicks(values.edits["shoe_type"], "=body.shoe.shoe_type")
    qtbot.keyClicks(values.edits["price"], "=body.shoe.price")
    qtbot.keyClicks(panel.fields["as"], "newShoe")

    expected = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    assert data(shoes)["actions"] == expected["actions"]
    assert graph.node("n1").view.face[0] == "-> Shoes as newShoe"
    assert shoes.problems() == []
    shoot(editor, "shoes_built")

    # typing merged: one undo step per field, not per key
    labels = [shoes.undo.text(i) for i in range(shoes.undo.count())]
    assert labels == ["Add Create event", "Connect the trigger to Create n1",
                      "Set description of n1", "Set Model of Create n1",
                      "Set Values of Create n1", "Set Values of Create n1",
                      "Set Store as of Create n1"]


def test_palette_lists_kinds_by_category_and_adds(qtbot, editor, shoes):
    palette = editor.palette
    kinds = {k.id for k in catalogue().values()}
    assert set(palette.visible_kinds()) == kinds
    assert "Data" in palette.categories() and "Logic" in palette.categories()
    qtbot.keyClicks(palette.search, "cond")
    assert palette.visible_kinds() == ["condition"]
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert [e.kind for e in shoes.project.actions[0].events.values()] == ["condition"]
    palette.search.clear()
    item = palette.items()["query"]
    rect = palette.tree.visualItemRect(item)
    qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.wait(QApplication.doubleClickInterval() + 20)  # a fresh click, not a second one
    qtbot.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert [e.kind for e in shoes.project.actions[0].events.values()] == ["condition", "query"]


def test_tab_opens_a_picker_that_adds_by_name(qtbot, editor, shoes):
    graph = editor.graph
    graph.viewer.setFocus()
    qtbot.keyClick(graph.viewer, Qt.Key.Key_Tab)
    picker = graph._picker
    assert isinstance(picker, KindPicker) and picker.isVisible()
    qtbot.keyClicks(picker.search, "upd")
    assert picker.shown_kinds() == ["update"]
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert not picker.isVisible()
    assert [e.kind for e in shoes.project.actions[0].events.values()] == ["update"]


# -- refused wirings -------------------------------------------------------------------------------

def test_refused_wirings_say_why_and_leave_the_model_alone(qtbot, editor, shoes):
    graph = editor.graph
    chain(shoes, "create", "query")
    graph.refresh()
    before = data(shoes)
    links = graph.links()
    refusals = [
        (("n1", "record", "n2", "limit"), "kinds do not match"),       # Record -> Number
        (("n2", "next", "n1", "in"), "round in a circle"),            # a flow cycle
        (("n2", "result", "n1", "source"), "earlier event to a later"),  # later -> earlier
        (("n1", "next", "n2", "limit"), "flow port"),                  # flow into data
        (("n1", "record", "n1", "source"), "itself"),
    ]
    for (src, out, dst, inp), why in refusals:
        assert not graph.connect_ports(src, out, dst, inp)
        assert why in graph.last_message, graph.last_message
        assert data(shoes) == before
        assert graph.links() == links
    assert shoes.undo.count() == 0

    # the same refusal through the mouse: no wire stays in the scene
    graph.fit()
    messages = []
    graph.message.connect(messages.append)
    drag(qtbot, graph, port_point(graph, "n1", "record", True),
         port_point(graph, "n2", "limit", False))
    assert messages and "kinds do not match" in messages[-1]
    assert data(shoes) == before
    limit = graph.node("n2").in_ports["limit"].view
    assert limit.connected_pipes == []
    shoot(editor, "refused")

    # a flow link that would make a wire read from a later event is refused too
    action = shoes.project.actions[0]
    action.events["n1"].next.clear()
    action.start = None
    action.wires.clear()
    shoes.undo.clear()
    graph.refresh()
    assert graph.connect_ports("n1", "record", "n2", "limit") is False  # kinds, as before
    assert graph.connect_ports("n2", "result", "n1", "source")  # unordered yet: allowed
    assert not graph.connect_ports("n1", "next", "n2", "in")
    assert "reads" in graph.last_message


def test_a_wire_dragged_to_a_new_input_is_one_edit(qtbot, editor, shoes):
    graph = editor.graph
    chain(shoes, "query", "assign", "update")
    graph.refresh()
    graph.fit()
    drag(qtbot, graph, port_point(graph, "n1", "result", True),
         port_point(graph, "n2", "value", False))
    action = shoes.project.actions[0]
    assert [(w.source, w.output, w.target, w.input) for w in action.wires] == \
        [("n1", "result", "n2", "value")]
    # pick the wire up near its input end and drop that end on another input
    pipe = graph.node("n2").in_ports["value"].view.connected_pipes[0]
    near_input = graph.viewer.mapFromScene(pipe.path().pointAtPercent(0.3))  # clear of the port
    drag(qtbot, graph, near_input, port_point(graph, "n3", "record", False))
    assert [(w.source, w.output, w.target, w.input) for w in action.wires] == \
        [("n1", "result", "n3", "record")]
    assert shoes.undo.count() == 2
    shoes.undo.undo()
    assert [(w.target, w.input) for w in action.wires] == [("n2", "value")]
    assert {(k.target, k.input) for k in graph.links() if not k.flow} == {("n2", "value")}
    # dropping the end in empty space takes the wire away
    pipe = graph.node("n2").in_ports["value"].view.connected_pipes[0]
    grab = graph.viewer.mapFromScene(pipe.path().pointAtPercent(0.3))
    drag(qtbot, graph, grab, grab + QPoint(0, 160))
    assert action.wires == [] and not any(not k.flow for k in graph.links())
    assert shoes.undo.text(shoes.undo.index() - 1).startswith("Disconnect")


# -- undo and redo ---------------------------------------------------------------------------------

def test_undo_redo_of_every_gesture_returns_to_identical_data(qtbot, editor, shoes):
    graph, panel = editor.graph, editor.properties
    action = shoes.project.actions[0]
    states = [data(shoes)]

    def step():
        states.append(data(shoes))
        assert states[-1] != states[-2], f"step {len(states) - 1} changed nothing"

    create = graph.add_event("create", (300, 0))
    step()
    query = graph.add_event("query", (600, 0))
    step()
    graph.move_event(query, 640, 120)
    step()
    graph.fit()
    drag(qtbot, graph, graph.viewer.mapFromScene(graph.node(create).view.pos() + QPointF(40, 12)),
         graph.viewer.mapFromScene(graph.node(create).view.pos() + QPointF(80, 52)))
    step()  # moved with the mouse
    assert graph.connect_ports("trigger", "start", create, "in")
    step()
    assert graph.connect_ports(create, "next", query, "in")
    step()
    assert graph.connect_ports(create, "record", query, "offset") is False
    graph.select_event(query)
    panel.fields["model"].setCurrentText("Shoes")
    step()
    qtbot.keyClicks(panel.fields["limit"], "=10")
    step()
    panel.fields["one"].setChecked(True)
    step()
    graph.select_event(create)
    graph.duplicate()
    step()
    duplicated = graph.selected_events()
    graph.delete_selected()
    step()
    assert set(action.events) == {create, query}
    graph.tidy()
    step()
    final = states[-1]

    for state in reversed(states[:-1]):
        shoes.undo.undo()
        assert data(shoes) == state
        assert graph.links() == graph._wanted_links()
        assert set(graph._nodes) == {"trigger", *action.events}
    for state in states[1:]:
        shoes.undo.redo()
        assert data(shoes) == state
    assert data(shoes) == final
    assert duplicated and not set(duplicated) & set(action.events)
    assert graph.node_graph.undo_stack().count() == 0  # NodeGraphQt's own stack stays unused
    # the scene follows: nodes where the model puts them
    for eid, (x, y) in action.positions.items():
        view = graph.node(eid).view
        assert (view.x(), view.y()) == (x, y)


# -- problems --------------------------------------------------------------------------------------

def test_problems_show_on_the_right_node(qtbot, editor, shoes):
    graph = editor.graph
    chain(shoes, "create", "query")
    action = shoes.project.actions[0]
    action.events["n1"].settings.update({"model": "Shoes", "as": "newShoe"})
    graph.refresh()
    qtbot.waitUntil(lambda: bool(graph.problems_of("n2")), timeout=2000)
    assert any("needs a model" in m for m in graph.problems_of("n2"))
    assert graph.problems_of("n1") == ()
    view = graph.node("n2").view
    assert view.problems and "needs a model" in view.tooltip()
    assert not graph.node("n1").view.problems
    graph.select_event("n2")
    shoot(editor, "problems")
    # fixing it clears the outline
    editor.properties.fields["model"].setCurrentText("Shoes")
    qtbot.waitUntil(lambda: not graph.problems_of("n2"), timeout=2000)
    assert not view.problems


def test_show_problems_reads_only_its_own_action(qtbot):
    doc = example("posts")
    graph = ActionGraph(doc, doc.project.actions[4], auto_problems=False)
    qtbot.addWidget(graph)
    from runtime.errors import Problem
    graph.show_problems([Problem('actions["List posts"].events["n1"].settings.model', "x"),
                         Problem('actions["Delete post"].events["n1"].settings.model', "bad"),
                         Problem('actions["Delete post"].start', "start is off")])
    assert graph.problems_of("n1") == ("bad",)
    assert graph.problems_of("trigger") == ("start is off",)


# -- copy, paste, delete ---------------------------------------------------------------------------

def test_copy_paste_between_two_actions(qtbot):
    doc = example("posts")
    update, delete = doc.project.actions[3], doc.project.actions[4]
    update.events["n1"].next["next"] = None
    source = ActionGraph(doc, update)
    target = ActionGraph(doc, delete)
    qtbot.addWidget(source)
    qtbot.addWidget(target)
    source.select_event("n1")
    assert source.copy()
    pasted = target.paste()
    assert pasted == ["n2"]
    event = delete.events["n2"]
    assert event.kind == "update" and event.settings == update.events["n1"].settings
    assert event.settings is not update.events["n1"].settings
    x, y = update.positions["n1"]
    assert delete.positions["n2"] == (x + 40, y + 40)
    assert target.selected_events() == ["n2"]
    doc.undo.undo()
    assert set(delete.events) == {"n1"}


def test_copied_links_and_wires_come_along_with_new_ids(qtbot, shoes):
    action = chain(shoes, "query", "assign")
    action.wire("n1", "result", "n2", "value")
    text = events_to_text(action, ["n1", "n2"])
    graph = ActionGraph(shoes, action)
    qtbot.addWidget(graph)
    new = graph._insert(text, "Paste", None)
    assert new == ["n3", "n4"]
    assert action.events["n3"].next == {"next": "n4"}
    assert ("n3", "result", "n4", "value") in [(w.source, w.output, w.target, w.input)
                                               for w in action.wires]
    assert action.start == "n1"  # pasted events are not linked from the trigger


def test_trigger_cannot_be_deleted(qtbot, editor, shoes):
    graph = editor.graph
    chain(shoes, "create")
    graph.refresh()
    graph.select_event("trigger")
    graph.viewer.setFocus()
    qtbot.keyClick(graph.viewer, Qt.Key.Key_Delete)
    assert graph.node("trigger") is not None
    assert "cannot be deleted" in graph.last_message
    assert shoes.undo.count() == 0
    graph.select_all()
    assert set(graph.selected_ids()) == {"trigger", "n1"}
    graph.delete_selected()
    assert graph.node("trigger") is not None and graph.node("n1") is None
    assert shoes.project.actions[0].events == {} and shoes.project.actions[0].start is None
    shoes.undo.undo()
    assert graph.node("n1") is not None and shoes.project.actions[0].start == "n1"


def test_keyboard_copy_paste_and_duplicate(qtbot, editor, shoes):
    graph = editor.graph
    chain(shoes, "create")
    graph.refresh()
    graph.select_event("n1")
    graph.viewer.setFocus()
    qtbot.keyClick(graph.viewer, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(graph.viewer, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(graph.viewer, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert list(shoes.project.actions[0].events) == ["n1", "n2", "n3"]


# -- one declaration per event ---------------------------------------------------------------------

async def _stamp(ctx, inputs, settings):
    return {"stamped": f"{settings.get('prefix', '')}{inputs.get('text')}"}


STAMP = EventKind(
    id="stamp", name="Stamp", category="Testing",
    doc="Put a prefix before a text, as often as `count` says.",
    run=_stamp,
    inputs=(Port("text", "Text", "The text to stamp.", required=True),),
    outputs=(Port("stamped", "Text", "The stamped text."),),
    settings=(
        Setting("prefix", "text", "What goes before.", default=""),
        Setting("count", "integer", "How often.", default=1),
        Setting("loud", "boolean", "Shout it.", default=False),
        Setting("mode", "choice", "How to join.", default="plain", choices=("plain", "dashed")),
        Setting("as", "variable", "Store it here.", default=""),
    ),
    flow_out=("ok", "failed"),
    summary=lambda s: f"{s.get('prefix') or '…'} ×{s.get('count', 1)}",
)


def test_a_new_event_kind_appears_with_its_settings_without_gui_code(qtbot, shoes):
    kinds = catalogue(extra=(STAMP,))
    editor = ActionGraphEditor(shoes, shoes.project.actions[0], kinds=kinds)
    qtbot.addWidget(editor)
    editor.resize(1200, 560)
    editor.show()
    assert "Testing" in editor.palette.categories()
    assert "stamp" in editor.palette.visible_kinds()
    graph, panel = editor.graph, editor.properties
    eid = graph.add_event("stamp", (300, 0))
    node = graph.node(eid)
    assert set(node.out_ports) == {flow_port("ok"), flow_port("failed"), "stamped"}
    assert set(node.in_ports) == {FLOW_IN, "text"}
    assert type(node).__identifier__ == "actiongraph.Testing" and type(node).NODE_NAME == "Stamp"
    assert isinstance(panel.fields["prefix"], QLineEdit)
    assert isinstance(panel.fields["count"], QSpinBox)
    assert isinstance(panel.fields["loud"], QCheckBox)
    assert isinstance(panel.fields["mode"], QComboBox)
    assert isinstance(panel.fields["text"], ExpressionEdit)
    qtbot.keyClicks(panel.fields["prefix"], ">> ")
    panel.fields["count"].setValue(3)
    panel.fields["loud"].setChecked(True)
    panel.fields["mode"].setCurrentText("dashed")
    qtbot.keyClicks(panel.fields["as"], "shout")
    qtbot.keyClicks(panel.fields["text"], "=body.shoe.shoe_type")
    event = shoes.project.actions[0].events[eid]
    assert event.settings == {"prefix": ">> ", "count": 3, "loud": True, "mode": "dashed",
                              "as": "shout", "text": "=body.shoe.shoe_type"}
    assert node.view.face[0] == ">>  ×3"
    assert graph.connect_ports("trigger", "start", eid, "in")
    graph.fit()
    shoot(editor, "new_kind")
    # setting one back to its default takes it out of the file
    panel.fields["loud"].setChecked(False)
    assert "loud" not in event.settings


# -- properties details ----------------------------------------------------------------------------

def test_scope_and_completion_offer_what_an_event_can_read(qtbot, shoes):
    action = chain(shoes, "create", "query")
    action.events["n1"].settings.update({"model": "Shoes", "as": "newShoe"})
    words = scope_words(shoes.project, action, "n2", catalogue())
    assert {"body.shoe", "body.shoe.price", "newShoe", "newShoe.id", "coalesce("} <= set(words)
    assert "newShoe" not in scope_words(shoes.project, action, "n1", catalogue())
    edit = ExpressionEdit(words)
    qtbot.addWidget(edit)
    edit.show()
    qtbot.keyClicks(edit, "=new")
    assert edit.token() == "new"
    assert edit.completer.completionCount() >= 1
    edit.insert_completion("newShoe.price")
    assert edit.text() == "=newShoe.price"
    assert from_text("12", "Number") == 12 and from_text("12", "Text") == "12"
    assert from_text("=a+1", "Number") == "=a+1" and from_text("", "Any") is None


def test_where_and_order_editors_write_structured_settings(qtbot, shoes):
    action = chain(shoes, "query")
    action.events["n1"].settings["model"] = "Shoes"
    panel = PropertiesPanel(shoes, action)
    qtbot.addWidget(panel)
    panel.show()
    panel.show_event("n1")
    where = panel.fields["where"]
    where.add.click()
    where.rows[0]["field"].setCurrentText("price")
    where.rows[0]["op"].setCurrentIndex(4)  # >
    qtbot.keyClicks(where.rows[0]["value"], "100")
    assert action.events["n1"].settings["where"] == {"field": "price", "op": ">", "value": 100}
    where.add.click()
    where.mode.setCurrentIndex(1)
    assert action.events["n1"].settings["where"]["or"][0] == \
        {"field": "price", "op": ">", "value": 100}
    order = panel.fields["order"]
    order.add.click()
    assert action.events["n1"].settings["order"] == [{"field": "id", "dir": "asc"}]
    shoes.undo.undo()
    assert "order" not in action.events["n1"].settings
    # a wired input shows where it comes from, read-only
    chain(shoes, "create", "update")
    action.wire("n2", "record", "n3", "record")
    panel.show_event("n3")
    label = panel.fields["record"]
    assert isinstance(label, QLabel) and label.text() == "wired from n2.record"


def test_trigger_and_nothing_selected(qtbot, editor, shoes):
    graph, panel = editor.graph, editor.properties
    seen = []
    graph.eventSelected.connect(seen.append)
    graph.select_event("trigger")
    assert seen[-1] == "trigger"
    texts = [label.text() for label in panel.widget().findChildren(QLabel)]
    assert "POST /v1/create_shoe" in texts
    graph.select_event("")
    assert seen[-1] == "" and panel.event is None


# -- views -----------------------------------------------------------------------------------------

def test_fit_tidy_and_unplaced_events(qtbot):
    doc = example("posts")
    action = doc.project.actions[3]
    extra = Event(kind="response", id="n2")
    action.events["n2"] = extra
    action.events["n1"].next["next"] = "n2"
    graph = ActionGraph(doc, action)
    qtbot.addWidget(graph)
    graph.resize(900, 500)
    graph.show()
    qtbot.waitExposed(graph)
    # n2 has no position in the file: drawn right of n1 by the fallback layout, file untouched
    assert "n2" not in action.positions
    assert graph.node("n2").view.x() > graph.node("trigger").view.x()
    graph.fit()
    visible = graph.viewer.mapToScene(graph.viewer.viewport().rect()).boundingRect()
    for node in graph._nodes.values():
        assert visible.contains(node.view.sceneBoundingRect())
    graph.tidy()
    xs = [action.positions[k][0] for k in ("trigger", "n1", "n2")]
    assert xs == sorted(xs) and len(set(xs)) == 3
    doc.undo.undo()
    assert "n2" not in action.positions


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_graph", Path(__file__).resolve().parents[1] / "bench" / "bench_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dark_theme_and_a_big_graph_screenshots(qtbot):
    project = _bench().big_project(120, 140)
    doc = Document(project)
    graph = ActionGraph(doc, project.actions[0], auto_problems=False)
    qtbot.addWidget(graph)
    graph.apply_theme("dark")
    graph.resize(1200, 700)
    graph.show()
    qtbot.waitExposed(graph)
    graph.fit()
    shoot(graph, "big_dark_overview")
    graph.select_event("n7")
    graph.viewer.set_zoom(0.0)
    graph.select_event("n7")
    shoot(graph, "big_dark_zoomed")
    graph.apply_theme("light")
    shoot(graph, "big_light_zoomed")
    assert len(graph.links()) == 120 + 140  # the trigger's link, 119 next links, the wires
