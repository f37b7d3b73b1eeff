"""Pinned outputs (mocks), breakpoints with stepping, and run from here, over real HTTP with a
real SQLite file (issue 15 items 6-8, the runtime side)."""

import asyncio

import pytest
from services import orders, rate_service

from runtime.compiler import check
from runtime.debugger import Debugger
from runtime.project import from_data, to_data
from runtime.server import TAG_HEADER


@pytest.fixture
async def service():
    """The outside rate service (a real HTTP server on loopback) and the calls it had."""
    async with rate_service() as (url, calls):
        yield url, calls


async def test_a_pinned_event_returns_its_pin_in_editor_runs_and_runs_under_serve(serve, service):
    url, calls = service
    p = orders(url)
    event = p.action("Order").events["n1"]
    event.pin = {"outputs": {"response": {"status": 200, "headers": {}, "body": {"rate": 10}}}}
    assert from_data(to_data(p)).action("Order").events["n1"].pin == event.pin  # saved
    editor = await serve(p)
    editor.state.pins, editor.state.trace = True, True
    status, body, _ = await editor.call("POST", "/v1/orders", json={"amount": 3})
    assert status == 200 and body["total"] == 30 and calls == []  # the pin, no outgoing call
    records = []
    editor.state.listeners.append(records.append)
    await editor.call("POST", "/v1/orders", json={"amount": 1})
    assert [(s.id, s.pinned) for s in records[-1].trace] == [
        ("n1", True), ("n2", False), ("n3", False)]
    headless = await serve(p)  # as `actiongraph serve` runs it: pins never apply
    status, body, _ = await headless.call("POST", "/v1/orders", json={"amount": 3})
    assert status == 200 and body["total"] == 6 and calls == ["/rate"]


def test_a_pin_that_does_not_fit_its_event_is_a_problem():
    p = orders("http://127.0.0.1:9/rate")
    p.action("Order").events["n1"].pin = {"outputs": {"answer": 1}, "port": "sideways"}
    problems = {str(x.where): x.message for x in check(p).problems}
    where = 'actions["Order"].events["n1"].pin'
    assert 'has no output "answer"' in problems[f"{where}.outputs.answer"]
    assert 'has no port "sideways"' in problems[f"{where}.port"]


async def test_a_breakpoint_pauses_a_run_from_the_editor_and_step_continue_and_stop(serve,
                                                                                   service):
    url, calls = service
    s = await serve(orders(url), timeout=0.5)
    debugger = Debugger()
    s.state.debugger = debugger
    debugger.toggle("Order", "n2")
    tagged = {TAG_HEADER: "run panel"}
    run = asyncio.create_task(s.call("POST", "/v1/orders", json={"amount": 2}, headers=tagged))
    while not debugger.paused:
        await asyncio.sleep(0.01)
    paused = debugger.paused[0]
    assert (paused.action, paused.event, paused.kind) == ("Order", "n2", "create")
    assert paused.variables["rate"]["body"] == {"rate": 2} and paused.variables["body"] == {
        "amount": 2}
    # Other requests go on meanwhile: reads, and a front end's request (no tag) never pauses.
    assert (await s.call("GET", "/v1/orders/count"))[1] == 0
    await asyncio.sleep(0.7)  # longer than the time limit: paused time does not count
    assert debugger.step()
    while not debugger.paused or debugger.paused[0].event != "n3":
        await asyncio.sleep(0.01)
    assert debugger.paused[0].variables["order"]["note"] == "first"
    assert debugger.resume()
    status, body, _ = await run
    assert status == 200 and body["note"] == "first" and body["total"] == 4
    assert s.rows("SELECT note FROM Orders") == [("checked",)]
    # Stop: the run fails and nothing it wrote is kept.
    run = asyncio.create_task(s.call("POST", "/v1/orders", json={"amount": 5}, headers=tagged))
    while not debugger.paused:
        await asyncio.sleep(0.01)
    assert debugger.stop()
    status, body, _ = await run
    assert status == 409 and "stopped in the debugger" in body["error"]
    assert s.rows("SELECT count(*) FROM Orders") == [(1,)]
    # A request without the editor's tag runs straight through the breakpoint.
    assert (await s.call("POST", "/v1/orders", json={"amount": 1}))[0] == 200


async def test_run_from_here_takes_the_scope_of_a_recorded_run(serve, service):
    url, calls = service
    s = await serve(orders(url))
    s.state.trace = True
    records = []
    s.state.listeners.append(records.append)
    await s.call("POST", "/v1/orders", json={"amount": 2})
    recorded = {step.id: step.outputs for step in records[-1].trace}
    calls.clear()
    again = await s.host.run("Order", records[-1].inputs, start_at="n3", recorded=recorded)
    assert again.status == 200 and calls == []  # the HTTP Request before it did not run again
    assert [step.id for step in again.trace] == ["n3"]
    assert s.rows("SELECT count(*) FROM Orders") == [(1,)]  # n2's create did not run again
    missing = await s.host.run("Order", records[-1].inputs, start_at="n9", recorded=recorded)
    assert missing.status == 404 and 'event "n9" is not in action' in missing.error
