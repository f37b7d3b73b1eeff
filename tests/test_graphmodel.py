"""The action graph's queries and layout work on plain Actions, without Qt."""

import subprocess
import sys

import pytest

from app.graphmodel import (
    GAP,
    events_from_text,
    events_to_text,
    fallback_positions,
    fresh_ids,
    layered_layout,
    next_event_id,
    paste_events,
    reaches,
    successors,
)
from runtime.project import TRIGGER_NODE, Action, Event, Wire

QT = ("PySide6", "NodeGraphQt", "qasync", "shiboken6")


def _action() -> Action:
    """trigger -> n1 -(then)-> n2, n1 -(else)-> n3, n1.value wired into n3."""
    a = Action(name="a", id="a1", start="n1")
    a.events["n1"] = Event("condition", {"if": "=1"}, {"then": "n2", "else": "n3"}, id="n1")
    a.events["n2"] = Event("log", {"message": "yes"}, id="n2")
    a.events["n3"] = Event("log", {"message": "no"}, id="n3")
    a.wires.append(Wire("n1", "value", "n3", "message"))
    return a


def test_the_graph_model_imports_no_qt():
    code = ("import sys, app.graphmodel\n"
            f"print(','.join(m for m in sys.modules if m.split('.')[0] in {QT!r}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"Qt imported by app.graphmodel: {out.stdout}"


def test_successors_follow_flow_ports_and_the_trigger_leads_to_start():
    a = _action()
    assert successors(a, TRIGGER_NODE) == ["n1"]
    assert successors(a, "n1") == ["n2", "n3"]
    assert successors(a, "n2") == []
    assert successors(a, "missing") == []
    assert reaches(a, TRIGGER_NODE, "n3") and not reaches(a, "n2", "n1")


def test_next_event_id_is_one_more_than_the_highest_in_use():
    a = _action()
    assert next_event_id(a) == "n4"
    assert next_event_id(a, ["n9"]) == "n10"
    assert next_event_id(Action(name="empty")) == "n1"


def test_layered_layout_puts_each_event_a_column_right_of_what_leads_to_it():
    a = _action()
    sizes = {n: (100.0, 50.0) for n in (TRIGGER_NODE, "n1", "n2", "n3")}
    pos = layered_layout(a, sizes, origin=(10.0, 20.0))
    assert pos[TRIGGER_NODE] == (10.0, 20.0)
    assert pos["n1"] == (10.0 + 100 + GAP[0], 20.0)
    # n3 is fed by n1's wire as well as its flow: still one column right of n1, below n2
    assert pos["n2"][0] == pos["n3"][0] == pos["n1"][0] + 100 + GAP[0]
    assert pos["n3"][1] == pos["n2"][1] + 50 + GAP[1]


def test_an_unplaced_event_goes_right_of_what_leads_to_it():
    a = _action()
    sizes = {n: (100.0, 50.0) for n in (TRIGGER_NODE, "n1", "n2", "n3")}
    known = {TRIGGER_NODE: (0.0, 0.0), "n1": (200.0, 0.0), "n2": (400.0, 0.0)}
    out = fallback_positions(a, sizes, [TRIGGER_NODE, "n1", "n2", "n3"], ["n3"], known)
    assert out == {"n3": (200.0 + 100 + GAP[0], 0.0)}


def test_copied_events_paste_back_with_their_links_wires_and_new_ids():
    a = _action()
    a.positions.update({"n1": (0.0, 0.0), "n3": (200.0, 40.0)})
    text = events_to_text(a, ["n1", "n3"])
    source = events_from_text(text)
    assert set(source.events) == {"n1", "n3"}
    assert source.events["n1"].next == {"else": "n3"}  # the link to n2 was not copied
    ids = fresh_ids(a, source)
    assert ids == {"n1": "n4", "n3": "n5"}
    paste_events(a, source, ids, (40.0, 40.0))
    assert a.events["n4"].kind == "condition" and a.events["n4"].next == {"else": "n5"}
    assert a.events["n5"].settings == {"message": "no"}
    assert Wire("n4", "value", "n5", "message") in a.wires
    assert a.positions["n4"] == (40.0, 40.0) and a.positions["n5"] == (240.0, 80.0)
    assert a.events["n1"].next == {"then": "n2", "else": "n3"}  # the copied events unchanged


def test_text_that_holds_no_events_is_refused_with_a_message():
    for text in ("", "not json", "{}", '{"actions": []}'):
        with pytest.raises(ValueError, match="no Actiongraph events"):
            events_from_text(text)
