"""The graph and properties panel on a real display: where new events land, how wires run,
what a selected run and an empty event look like, and a form that keeps its place."""

from __future__ import annotations

import copy
import json

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, QSettings, Qt
from PySide6.QtGui import QColor, QCursor, QPainterPathStroker
from PySide6.QtWidgets import QApplication

from app.graph import ActionGraphEditor
from app.nodeclasses import FLOW_IN, RAN_COLOR
from app.properties import DESCRIPTION_OPEN, ExpressionEdit, FieldMapEditor
from nodes import catalogue
from runtime.compiler import check_project
from runtime.executor import StepTrace
from runtime.project import Event, from_data
from tests.app import test_graph
from tests.app.conftest import EXAMPLES, show
from tests.app.test_graph import chain, drop_kind, example, shoot

shoes = test_graph.shoes  # the emptied shoes action, a fixture

pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")


def _editor(qtbot, doc, action, size=(1280, 640)) -> ActionGraphEditor:
    widget = ActionGraphEditor(doc, action)
    qtbot.addWidget(widget)
    widget.resize(*size)
    show(qtbot, widget)
    qtbot.wait(20)  # the graph zooms to fit once laid out
    return widget


def _visible(graph) -> QRectF:
    viewer = graph.viewer
    return viewer.mapToScene(viewer.viewport().rect()).boundingRect()


def _inside_view(graph, eid: str) -> bool:
    return _visible(graph).contains(graph.node(eid).view.sceneBoundingRect())


def _move_cursor(widget, point: QPoint) -> None:
    QCursor.setPos(widget.mapToGlobal(point))
    QApplication.processEvents()


@pytest.fixture
def editor(qtbot, shoes):
    return _editor(qtbot, shoes, shoes.project.actions[0])


# -- where new events land ----------------------------------------------------------------------

def test_an_event_dropped_at_the_edge_lands_wholly_inside_the_view(qtbot, editor, shoes):
    graph = editor.graph
    port = graph.viewer.viewport()
    corner = QPoint(port.width() - 4, port.height() - 4)
    drop_kind(graph, editor.palette, "create", corner)
    assert _inside_view(graph, "n1")
    # near where it was dropped: its bottom-right corner is within a node's size of the point
    rect = graph.node("n1").view.sceneBoundingRect()
    drop = graph.viewer.mapToScene(corner)
    assert drop.x() - rect.right() < 30 and drop.y() - rect.bottom() < 30


def test_tab_adds_the_event_at_the_cursor_inside_the_view(qtbot, editor, shoes):
    graph = editor.graph
    port = graph.viewer.viewport()
    near_edge = QPoint(port.width() - 10, port.height() // 2)
    _move_cursor(port, near_edge)
    graph.viewer.setFocus()
    qtbot.keyClick(graph.viewer, Qt.Key.Key_Tab)
    qtbot.keyClicks(graph._picker.search, "condition")
    qtbot.keyClick(graph._picker.search, Qt.Key.Key_Return)
    assert list(shoes.project.actions[0].events) == ["n1"]
    assert _inside_view(graph, "n1")
    rect = graph.node("n1").view.sceneBoundingRect()
    cursor = graph.viewer.mapToScene(near_edge)
    assert abs(rect.center().y() - cursor.y()) < rect.height()  # beside the cursor
    assert cursor.x() - rect.right() < 30


def test_paste_and_the_palette_put_events_inside_the_view(qtbot, editor, shoes):
    graph = editor.graph
    action = shoes.project.actions[0]
    far = _visible(graph).bottomRight() + QPointF(2000, 1500)
    action.add_event("assign", value=1, **{"as": "x"})
    action.positions["n1"] = (far.x(), far.y())
    graph.refresh()
    graph.select_event("n1", center=False)
    assert not _inside_view(graph, "n1")
    assert graph.copy()
    _move_cursor(editor.palette, editor.palette.rect().center())  # not over the graph
    (pasted,) = graph.paste()
    assert _inside_view(graph, pasted)
    # a double-click in the palette adds in view too
    editor.palette.kindActivated.emit("query")
    assert _inside_view(graph, list(action.events)[-1])


def test_an_event_added_from_the_palette_covers_no_node(qtbot, editor, shoes):
    graph = editor.graph
    action = shoes.project.actions[0]
    graph.fit()
    _move_cursor(editor.palette, editor.palette.rect().center())  # not over the graph
    for kind in ("query", "create", "assign"):
        editor.palette.kindActivated.emit(kind)
    rects = {eid: graph.node(eid).view.sceneBoundingRect()
             for eid in ("trigger", *action.events)}
    for eid, rect in rects.items():
        assert _inside_view(graph, eid) or eid == "trigger"
        others = [o for o, r in rects.items() if o != eid and r.intersects(rect)]
        assert others == [], f"{eid} covers {others}"


def test_the_graph_stays_fitted_when_a_dock_takes_room_until_the_user_zooms(qtbot, editor,
                                                                              shoes):
    graph = editor.graph
    chain(shoes, "create")
    graph.refresh()
    graph.fit()
    qtbot.wait(20)
    scale = graph.viewer.transform().m11()
    editor.resize(editor.width(), editor.height() - 220)  # the Run dock growing below
    qtbot.waitUntil(lambda: graph.viewer.transform().m11() >= scale * 0.95, timeout=2000)
    assert _inside_view(graph, "n1")
    graph.auto_fit = False  # as after a wheel zoom: the user's zoom is kept
    before = graph.viewer.transform().m11()
    editor.resize(editor.width(), editor.height() + 220)
    qtbot.wait(50)
    assert graph.viewer.transform().m11() == pytest.approx(before, rel=0.3)


# -- wires ----------------------------------------------------------------------------------------

def test_a_wire_going_back_left_runs_round_the_nodes_not_through_them(qtbot, shoes):
    action = chain(shoes, "assign", "assign", "assign")
    # n3 sits left of n1, between them n2: the link n2 -> n3 runs backwards under (or over) them
    action.positions.update({"n1": (300.0, 0.0), "n2": (600.0, 0.0), "n3": (20.0, 160.0)})
    editor = _editor(qtbot, shoes, action)
    graph = editor.graph
    out = graph.node("n2").out_ports["flow:next"].view
    (pipe,) = out.connected_pipes
    line = QPainterPathStroker()
    line.setWidth(2)
    path = pipe.mapToScene(line.createStroke(pipe.path()))
    for eid in ("n1", "n2", "n3", "trigger"):
        body = graph.node(eid).view.sceneBoundingRect().adjusted(12, 4, -12, -4)
        assert not path.intersects(body), f"the wire crosses {eid}"
    shoot(editor, "backward_wire")


# -- the last run on a selected event ----------------------------------------------------------

def test_selecting_an_event_keeps_the_run_wires_green(qtbot, shoes):
    action = chain(shoes, "assign", "assign")
    editor = _editor(qtbot, shoes, action)
    graph = editor.graph
    graph.show_trace([StepTrace("n1", "assign", {}, {}, "next", 0.2),
                      StepTrace("n2", "assign", {}, {}, "next", 0.1)])
    where = graph.viewer.mapFromScene(graph.node("n1").view.sceneBoundingRect().center())
    qtbot.mouseClick(graph.viewer.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert graph.selected_ids() == ["n1"]
    pipes = [p for port in graph.node("n1").out_ports.values() for p in port.view.connected_pipes]
    pipes += [p for p in graph.node("n1").in_ports[FLOW_IN].view.connected_pipes]
    assert len(pipes) == 2
    for pipe in pipes:
        assert pipe.pen().color() == QColor(*RAN_COLOR)
    shoot(editor, "selected_trace")


# -- faces and warnings ---------------------------------------------------------------------------

def test_empty_settings_read_as_placeholders_never_none(qtbot, editor, shoes):
    graph = editor.graph
    for kind in sorted(k.id for k in catalogue().values()):
        eid = graph.add_event(kind)
        face = graph.node(eid).view.face[0]
        assert "None" not in face, (kind, face)
    condition = next(e for e, ev in shoes.project.actions[0].events.items()
                     if ev.kind == "condition")
    view = graph.node(condition).view
    assert view.face[0] == "if …" and view.placeholder
    shoes.project.actions[0].events[condition].settings["value"] = "=1 > 0"
    graph.refresh()
    assert view.face[0] == "if 1 > 0" and not view.placeholder


def test_an_unwired_query_without_a_model_is_a_warning_on_its_node(qtbot, editor, shoes):
    graph = editor.graph
    drop_kind(graph, editor.palette, "query", QPoint(300, 200))
    problems = [p for p in shoes.problems() if '.events["n1"]' in p.where]
    assert {p.severity for p in problems} == {"warning"}
    assert any("not connected to the trigger" in p.message for p in problems)
    qtbot.waitUntil(lambda: bool(graph.problems_of("n1")), timeout=2000)
    assert graph.node("n1").view.warning
    shoot(editor, "unwired_warning")
    graph.connect_ports("trigger", "start", "n1", "in")
    qtbot.waitUntil(lambda: not graph.node("n1").view.warning, timeout=2000)
    assert any("needs a model" in m for m in graph.problems_of("n1"))  # now an error


# -- the properties panel -------------------------------------------------------------------------

@pytest.fixture
def update_editor(qtbot):
    doc = example("posts")
    action = doc.project.action("Update social media post")
    widget = _editor(qtbot, doc, action, size=(1280, 700))
    return doc, widget


def test_the_description_folds_away_and_the_mappings_show_without_scrolling(qtbot, update_editor):
    doc, editor = update_editor
    panel = editor.properties
    editor.graph.select_event("n1")
    assert panel.about_text.isVisible()  # the first time: unfolded
    qtbot.mouseClick(panel.about, Qt.MouseButton.LeftButton)
    assert not panel.about_text.isVisible()
    assert QSettings().value(DESCRIPTION_OPEN) in (False, "false")
    editor.graph.select_event("")
    editor.graph.select_event("n1")
    assert not panel.about_text.isVisible()  # remembered
    values = panel.fields["values"]
    assert isinstance(values, FieldMapEditor)
    bottom = values.mapTo(panel.viewport(), QPoint(0, values.height())).y()
    assert bottom <= panel.viewport().height()
    assert panel.verticalScrollBar().value() == 0
    shoot(editor, "folded_description")


def test_the_form_keeps_its_scroll_position_across_runs_and_edits(qtbot, update_editor):
    doc, editor = update_editor
    panel = editor.properties
    QSettings().setValue(DESCRIPTION_OPEN, True)
    editor.setSizes([180, 700, 320])
    editor.resize(1280, 360)  # short, so the form scrolls
    editor.graph.select_event("n1")
    qtbot.waitUntil(lambda: panel.verticalScrollBar().maximum() > 40, timeout=2000)
    bar = panel.verticalScrollBar()
    bar.setValue(bar.maximum())
    kept = bar.value()
    form = panel.widget()
    editor.graph.show_trace([StepTrace("n1", "update", {"record": {"id": 1}},
                                       {"result": {"id": 1}}, "next", 0.3)])
    qtbot.wait(20)
    assert panel.widget() is form and bar.value() == kept  # a run adds, it does not rebuild
    assert "Last run" in "".join(w.text() for w in form.findChildren(type(panel.about_text)))
    # an edit made elsewhere rebuilds the form: it stays where the user was
    doc.edit("Rename", lambda forward: setattr(doc.project.action("Update social media post")
                                                .events["n1"], "description",
                                                "new" if forward else "old"))
    qtbot.wait(20)
    assert panel.widget() is not form and bar.value() == kept


# -- one scope: completion offers what the compiler accepts ----------------------------------------

def _compiles_at(project, action_name: str, eid: str, expression: str) -> bool:
    """Whether `expression` compiles at event `eid` (swapped for an Assign reading it)."""
    p = copy.deepcopy(project)
    a = p.action(action_name)
    a.events[eid] = Event(kind="assign", id=eid, next=dict(a.events[eid].next),
                          settings={"value": f"={expression}", "as": "probe_value"})
    a.wires = [w for w in a.wires if eid not in (w.source, w.target)]
    here = f'actions["{a.name}"].events["{eid}"].settings.value'
    return not [x for x in check_project(p) if x.where == here]


@pytest.mark.parametrize("name", sorted(p.name.split(".")[0] for p in EXAMPLES.glob("*.json")))
def test_completion_offers_exactly_what_compiles_at_the_event(qtbot, name):
    doc = example(name)
    offered = 0
    for action in doc.project.actions:
        if not action.events:
            continue
        editor = _editor(qtbot, doc, action, size=(1100, 600))
        for eid in action.events:
            editor.graph.select_event(eid)
            edits = editor.properties.findChildren(ExpressionEdit)
            assert edits, (action.name, eid)
            words = [w for w in edits[0].words.stringList() if not w.endswith("(")]
            for word in words:
                assert _compiles_at(doc.project, action.name, eid, word), (action.name, eid, word)
            offered += len(words)
            if (action.name, eid) == ("Update social media post", "n1"):
                assert "body.post.caption" in words
                for rejected in ("body.post.id", "body.post.created_at", "body.post.likes"):
                    assert rejected not in words
                    assert not _compiles_at(doc.project, action.name, eid, rejected)
        editor.close()
    assert offered


def test_the_examples_have_no_problems_and_no_warnings():
    for path in EXAMPLES.glob("*.json"):
        assert check_project(from_data(json.loads(path.read_text()))) == [], path.name
