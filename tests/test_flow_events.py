"""Loop, Break and Call Action: compiled scope rules and real runs over HTTP."""

import pytest

from runtime.compiler import check_project
from runtime.project import Field, GlobalVariable, Project, Trigger, Variable

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL


def order_project() -> Project:
    p = Project(name="Orders")
    p.add_model("Lines", [Field("sku", "Text"), Field("qty", "Integer")])
    p.add_endpoint("Order", "POST", "/v1/orders", [Variable("lines", "List", "body")])
    a = p.add_action("Order", Trigger("endpoint", endpoint="Order"),
                     variables=[GlobalVariable("total", "Number", value=0)],
                     response_value={"total": "=total", "saved": "=saved"})
    loop = a.add_event("loop", list="=body.lines", **{"as": "line", "index_as": "i"})
    stop = a.add_event("condition", after=loop.id, port="each", value="=line.sku == 'STOP'")
    a.add_event("break", after=stop.id, port="true")
    save = a.add_event("create", after=stop.id, port="false", model="Lines",
                       values={"sku": "=line.sku", "qty": "=line.qty"}, **{"as": "made"})
    a.add_event("assign", after=save.id, value="=total + line.qty * (i + 1)", **{"as": "total"})
    a.add_event("query", after=loop.id, port="done", model="Lines", **{"as": "saved"})
    return p


async def test_loop_runs_each_item_and_break_stops_it(serve):
    s = await serve(order_project())
    lines = [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 3}, {"sku": "STOP", "qty": 0},
             {"sku": "c", "qty": 9}]
    status, body, _ = await s.call("POST", "/v1/orders", json={"lines": lines})
    assert status == 200, body
    assert body["total"] == 2 * 1 + 3 * 2
    assert [r["sku"] for r in body["saved"]] == ["a", "b"]
    assert s.rows("select sku, qty from Lines order by id") == [("a", 2), ("b", 3)]
    status, body, _ = await s.call("POST", "/v1/orders", json={"lines": []})
    assert status == 200 and body["total"] == 0
    status, body, _ = await s.call("POST", "/v1/orders", json={"lines": "nope"})
    assert status == 422 and body["fields"][0]["field"] == "body.lines"


def test_loop_item_is_not_visible_after_done_and_break_needs_a_loop():
    p = order_project()
    a = p.actions[0]
    done = a.events["n6"]
    done.settings["where"] = {"field": "sku", "op": "=", "value": "=line.sku"}
    a.add_event("break", after="n6")
    problems = [str(x) for x in check_project(p)]
    assert 'actions["Order"].events["n6"].settings.where.value: variable "line" is not defined ' \
           'before this event on every path' in problems
    assert "actions[\"Order\"].events[\"n7\"]: Break only works inside a loop's each branch" \
        in problems


def test_an_each_branch_cannot_be_entered_from_outside():
    p = order_project()
    p.actions[0].link("n6", "n4")
    problems = [str(x) for x in check_project(p)]
    assert any('events["n4"]: is inside the each branch of loop "n1" but also follows "n6"' in m
               for m in problems)


def called_project() -> Project:
    p = Project(name="Calls")
    p.add_model("Audit", [Field("what", "Text")])
    p.add_endpoint("Do", "POST", "/v1/do", [Variable("what", "Text", "body")])
    audit = p.add_action("Write audit", Trigger("action"),
                         variables=[GlobalVariable("What", "Text", value="nothing")],
                         response_value={"logged": "=entry.id"})
    audit.add_event("create", model="Audit", values={"what": "=upper(What)"}, **{"as": "entry"})
    do = p.add_action("Do", Trigger("endpoint", endpoint="Do"), response_value="=audit")
    call = do.add_event("call_action", action="Write audit", inputs={"What": "=body.what"},
                        **{"as": "audit"})
    check = do.add_event("condition", after=call.id, value="=body.what != 'fail'")
    do.add_event("assign", after=check.id, port="false", value="=1 / len('')", **{"as": "boom"})
    return p


async def test_call_action_runs_the_other_action_in_the_same_transaction(serve):
    s = await serve(called_project())
    status, body, _ = await s.call("POST", "/v1/do", json={"what": "hello"})
    assert status == 200 and body == {"logged": 1}
    assert s.rows("select what from Audit") == [("HELLO",)]
    status, body, _ = await s.call("POST", "/v1/do", json={"what": "fail"})
    assert status == 500 and body["event"] == "n3"
    assert s.rows("select what from Audit") == [("HELLO",)]  # the called action's write is undone


def test_call_action_checks_the_action_name():
    p = called_project()
    p.actions[1].events["n1"].settings["action"] = "Write audi"
    problems = [str(x) for x in check_project(p)]
    assert 'actions["Do"].events["n1"].settings.action: unknown action "Write audi" ' \
           '(did you mean "Write audit"?)' in problems
