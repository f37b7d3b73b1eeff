"""Log and Raise Error events: the server log, and failing an action with a status."""

import logging

import pytest

from nodes.log import EVENT as LOG
from nodes.raise_error import EVENT as RAISE
from runtime.compiler import check_project
from runtime.errors import ActionError
from runtime.executor import Context
from runtime.project import Field, Project, Trigger, Variable

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL


async def test_log_writes_the_message_at_its_level(caplog):
    ctx = Context(db=None, fields={}, action="Sign up")
    caplog.set_level(logging.DEBUG, logger="actiongraph.actions")
    assert await LOG.run(ctx, {"message": "hello"}, {"level": "warning"}) is None
    await LOG.run(ctx, {"message": {"a": [1, None]}}, {"level": "debug"})
    await LOG.run(ctx, {"message": "x" * 10_005}, {"level": "info"})
    assert ctx.logs[0] == ("", "warning", "hello")
    assert ctx.logs[1] == ("", "debug", '{"a": [1, null]}')
    assert ctx.logs[2][2] == "x" * 10_000 + "… (5 more characters)"
    record = caplog.records[0]
    assert record.levelno == logging.WARNING and "Sign up" in record.getMessage()
    assert record.getMessage().endswith("hello")
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.DEBUG, logging.INFO]


async def test_raise_error_raises_its_status_and_message():
    ctx = Context(db=None, fields={})
    with pytest.raises(ActionError) as e:
        await RAISE.run(ctx, {"message": "this email is taken"}, {"status": 409})
    assert (e.value.status, e.value.message) == (409, "this email is taken")
    with pytest.raises(ActionError) as e:
        await RAISE.run(ctx, {"message": "nope"}, {"status": 200})
    assert e.value.status == 500
    assert e.value.message == "status must be an error status from 400 to 599, got 200"
    assert RAISE.flow_out == ()


def project() -> Project:
    p = Project(name="Shop")
    p.add_model("Orders", [Field("sku", "Text"), Field("qty", "Integer")])
    p.add_endpoint("Order", "POST", "/v1/orders", [Variable("sku", "Text", "body"),
                                                   Variable("qty", "Number", "body")])
    a = p.add_action("Order", Trigger("endpoint", endpoint="Order"), response_value="=order",
                     response_status=201)
    made = a.add_event("create", model="Orders", values={"sku": "=body.sku", "qty": "=body.qty"},
                       **{"as": "order"})
    logged = a.add_event("log", after=made.id, level="info",
                         message="=concat('order ', str(order.id), ' for ', body.sku)")
    check = a.add_event("condition", after=logged.id, value="=body.qty > 5")
    a.add_event("raise_error", after=check.id, port="true", status=409,
                message="=concat('only 5 of ', body.sku, ' left')")
    return p


async def test_raise_error_answers_its_status_and_rolls_back_the_create(serve, caplog):
    caplog.set_level(logging.INFO, logger="actiongraph.actions")
    s = await serve(project())
    status, body, _ = await s.call("POST", "/v1/orders", json={"sku": "tea", "qty": 2})
    assert status == 201 and body["id"] == 1
    status, body, _ = await s.call("POST", "/v1/orders", json={"sku": "cup", "qty": 9})
    assert status == 409, body
    assert body["event"] == "n4" and body["event_kind"] == "raise_error"
    assert body["error"].endswith("only 5 of cup left")
    assert s.rows("select sku, qty from Orders") == [("tea", 2)]  # the second Create is undone
    logged = [r.getMessage() for r in caplog.records if r.name == "actiongraph.actions"]
    assert logged == ["[Order n2] order 1 for tea", "[Order n2] order 2 for cup"]


def test_raise_error_needs_a_message():
    p = project()
    del p.actions[0].events["n4"].settings["message"]
    problems = [str(x) for x in check_project(p)]
    assert 'actions["Order"].events["n4"].settings.message: Raise Error needs a message ' \
           "(wire it, or give a value)" in problems
