"""Error branches, HTTP retries and on-failure actions, over real HTTP on SQLite and PostgreSQL."""

import json
import logging
import socket
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from nodes import catalogue
from runtime.compiler import check_project, compile_project
from runtime.project import Field, GlobalVariable, Project, Trigger, Variable, from_data
from runtime.projectfile import dumps, loads

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL


def signup_project(catch: bool = True) -> Project:
    """Sign-up: an audit row first, then a user with a unique email; the Create's error port
    (when wired) answers 409 with the failure and notes it in the audit."""
    p = Project(name="Signup")
    p.add_model("Users", [Field("email", "Text", unique=True)])
    p.add_model("Audit", [Field("what", "Text")])
    p.add_endpoint("Signup", "POST", "/v1/signup", [Variable("email", "Text", "body")])
    a = p.add_action("Signup", Trigger("endpoint", endpoint="Signup"),
                     response_value={"id": "=user.id"}, response_status=201)
    first = a.add_event("create", model="Audit", values={"what": "=concat('try ', body.email)"})
    user = a.add_event("create", after=first.id, model="Users", values={"email": "=body.email"},
                       **{"as": "user"})
    if catch:
        note = a.add_event("create", after=user.id, port="error", model="Audit",
                           values={"what": "=concat('caught ', error.event)"})
        a.add_event("response", after=note.id, status=409,
                    value={"message": "=error.message", "status": "=error.status",
                           "event": "=error.event"})
    return p


async def test_a_create_refused_by_a_unique_field_leaves_by_its_error_port(serve):
    s = await serve(signup_project())
    status, body, _ = await s.call("POST", "/v1/signup", json={"email": "ann@x.org"})
    assert status == 201, body
    status, body, _ = await s.call("POST", "/v1/signup", json={"email": "ann@x.org"})
    assert status == 409, body
    assert "already exists" in body["message"] and body["status"] == 409
    assert body["event"] == "n2"
    # The earlier write of the same run and the branch's own write stand; no second user.
    assert s.rows("SELECT what FROM Audit ORDER BY id") == [
        ("try ann@x.org",), ("try ann@x.org",), ("caught n2",)]
    assert s.rows("SELECT count(*) FROM Users") == [(1,)]


async def test_an_unwired_error_port_fails_the_run_as_before(serve):
    s = await serve(signup_project(catch=False))
    assert (await s.call("POST", "/v1/signup", json={"email": "bo@x.org"}))[0] == 201
    status, body, _ = await s.call("POST", "/v1/signup", json={"email": "bo@x.org"})
    assert status == 409 and "already exists" in body["error"]
    assert s.rows("SELECT what FROM Audit") == [("try bo@x.org",)]  # the whole run undone


def register_project() -> Project:
    """Register calls an action that writes a profile, then a user: a repeated email fails
    the called action after its first write, and the Call Action's error port catches it."""
    p = Project(name="Register")
    p.add_model("Users", [Field("email", "Text", unique=True)])
    p.add_model("Profiles", [Field("email", "Text")])
    p.add_model("Audit", [Field("what", "Text")])
    p.add_endpoint("Register", "POST", "/v1/register", [Variable("email", "Text", "body")])
    inner = p.add_action("Make user", Trigger("action"),
                         variables=[GlobalVariable("email", "Text")])
    made = inner.add_event("create", model="Profiles", values={"email": "=email"})
    inner.add_event("create", after=made.id, model="Users", values={"email": "=email"})
    a = p.add_action("Register", Trigger("endpoint", endpoint="Register"),
                     response_value={"ok": True}, response_status=201)
    first = a.add_event("create", model="Audit", values={"what": "start"})
    call = a.add_event("call_action", after=first.id, action="Make user",
                       inputs={"email": "=body.email"})
    after = a.add_event("create", after=call.id, port="error", model="Audit",
                        values={"what": "=concat('failed: ', error.status)"})
    a.add_event("response", after=after.id, status=200, value={"caught": "=error.message"})
    return p


async def test_a_caught_event_has_its_own_writes_undone_and_the_rest_of_the_run_stands(serve):
    s = await serve(register_project())
    assert (await s.call("POST", "/v1/register", json={"email": "cy@x.org"}))[0] == 201
    status, body, _ = await s.call("POST", "/v1/register", json={"email": "cy@x.org"})
    assert status == 200 and "already exists" in body["caught"], body
    # The called action wrote a profile before it failed: the savepoint undid it.
    assert s.rows("SELECT email FROM Profiles") == [("cy@x.org",)]
    assert s.rows("SELECT what FROM Audit ORDER BY id") == [("start",), ("start",),
                                                            ("failed: 409",)]


@pytest.fixture
async def flaky():
    """A service that answers 503 twice, then 200 (per path), counting the calls."""
    calls: dict[str, int] = {}

    async def handler(request):
        key = request.path
        calls[key] = calls.get(key, 0) + 1
        if key.startswith("/later"):
            return web.json_response({"busy": True}, status=503, headers={"Retry-After": "30"})
        if calls[key] <= 2:
            return web.json_response({"busy": True}, status=503)
        return web.json_response({"ok": calls[key]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), calls
    await server.close()


def caller(base: str, **settings) -> Project:
    """POST /v1/call calls `base + body.path`; its error branch answers 503 with a message."""
    p = Project(name="Caller")
    p.add_endpoint("Call", "POST", "/v1/call", [Variable("path", "Text", "body")])
    a = p.add_action("Call", Trigger("endpoint", endpoint="Call"),
                     response_value={"status": "=answer.status", "body": "=answer.body"})
    call = a.add_event("http_request", url=f"=concat('{base}', body.path)", fail_on_status=True,
                       **{"as": "answer", **settings})
    a.add_event("response", after=call.id, port="error", status=503,
                value={"error": "=concat('the payment service is unavailable: ', error.message)",
                       "event": "=error.event"})
    return p


async def test_http_request_retries_a_flaky_service_until_it_answers(serve, flaky):
    base, calls = flaky
    s = await serve(caller(base, retries=2))
    status, body, _ = await s.call("POST", "/v1/call", json={"path": "/pay"})
    assert status == 200 and body == {"status": 200, "body": {"ok": 3}}, body
    assert calls["/pay"] == 3


async def test_a_failure_caught_by_an_error_branch_answers_503_with_a_message(serve, flaky):
    base, calls = flaky
    s = await serve(caller(base))  # no retries: the first 503 is the failure
    status, body, _ = await s.call("POST", "/v1/call", json={"path": "/once"})
    assert status == 503 and body["error"].startswith("the payment service is unavailable")
    assert "answered 503" in body["error"] and body["event"] == "n1" and calls["/once"] == 1
    with socket.socket() as closed:  # a port nobody listens on: a connection error, retried
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = await serve(caller(f"http://127.0.0.1:{port}", retries=1))
    status, body, _ = await down.call("POST", "/v1/call", json={"path": "/x"})
    assert status == 503 and "after 2 attempts" in body["error"], body


async def test_post_is_retried_only_when_retry_unsafe_says_so(serve, flaky):
    base, calls = flaky
    s = await serve(caller(base, method="POST", retries=2))
    assert (await s.call("POST", "/v1/call", json={"path": "/post"}))[0] == 503
    assert calls["/post"] == 1
    s = await serve(caller(base, method="POST", retries=2, retry_unsafe=True))
    assert (await s.call("POST", "/v1/call", json={"path": "/unsafe"}))[0] == 200
    assert calls["/unsafe"] == 3


async def test_a_retry_after_beyond_the_time_limit_is_not_waited_for(serve, flaky):
    base, calls = flaky
    s = await serve(caller(base, retries=3), timeout=5)
    started = time.perf_counter()
    status, body, _ = await s.call("POST", "/v1/call", json={"path": "/later"})
    assert status == 503 and "answered 503" in body["error"]
    assert calls["/later"] == 1 and time.perf_counter() - started < 2


def failing_project(report_fails: bool = False) -> Project:
    """Order writes a line, then fails (Raise Error 422); its on-failure action writes a row
    with the failure in a transaction of its own."""
    p = Project(name="Orders")
    p.add_model("Lines", [Field("sku", "Text")])
    p.add_model("Failures", [Field("message", "Text"), Field("status", "Integer"),
                             Field("event", "Text"), Field("action", "Text"),
                             Field("sku", "Text")])
    p.add_endpoint("Order", "POST", "/v1/orders", [Variable("sku", "Text", "body")])
    a = p.add_action("Order", Trigger("endpoint", endpoint="Order"), response_value={"ok": True},
                     on_failure="Report")
    line = a.add_event("create", model="Lines", values={"sku": "=body.sku"})
    a.add_event("raise_error", after=line.id, status=422, message="out of stock")
    report = p.add_action("Report", Trigger("action"),
                          on_failure="Order" if report_fails else "")
    made = report.add_event("create", model="Failures", values={
        "message": "=error.message", "status": "=error.status", "event": "=error.event",
        "action": "=error.action", "sku": "=error.inputs.body.sku"})
    if report_fails:
        report.add_event("raise_error", after=made.id, status=500, message="report broke")
    return p


async def test_the_on_failure_action_runs_with_the_error_after_the_rollback(serve):
    s = await serve(failing_project())
    status, body, _ = await s.call("POST", "/v1/orders", json={"sku": "A-1"})
    assert status == 422 and "out of stock" in body["error"]
    assert s.rows("SELECT count(*) FROM Lines") == [(0,)]  # the failed run's row is undone
    [(message, code, event, action, sku)] = s.rows(
        "SELECT message, status, event, action, sku FROM Failures")
    assert "out of stock" in message and (code, event, action, sku) == (422, "n2", "Order", "A-1")


async def test_a_failing_on_failure_action_is_logged_and_never_loops(serve, caplog):
    s = await serve(failing_project(report_fails=True))
    with caplog.at_level(logging.ERROR, logger="actiongraph.http"):
        status, _, _ = await s.call("POST", "/v1/orders", json={"sku": "B-2"})
    assert status == 422
    # Report failed (its row undone) and did not start Order again (no second line, no loop).
    assert s.rows("SELECT count(*) FROM Failures") == [(0,)]
    assert s.rows("SELECT count(*) FROM Lines") == [(0,)]
    assert any('on-failure action "Report" of "Order" failed' in r.getMessage()
               for r in caplog.records)


def test_the_compiler_checks_error_ports_and_on_failure_actions():
    p = signup_project()
    a = p.action("Signup")
    assign = a.add_event("assign", after="n3", value=1, **{"as": "x"})
    a.events["n3"].next["next"] = assign.id
    a.events[assign.id].next["error"] = "n4"  # Assign cannot fail: it has no error port
    a.events["n4"].settings["value"]["who"] = "=user.id"  # the failed Create's output
    a.add_event("response", after="n2", value={"why": "=error.message"})  # not on the branch
    problems = {p.where: p.message for p in check_project(p)}
    assert problems[f'actions["Signup"].events["{assign.id}"].next.error'] == \
        'Assign has no flow port "error"'
    assert problems['actions["Signup"].events["n4"].settings.value.who'] == \
        'variable "user" is not defined before this event on every path'
    assert 'variable "error" is not defined' in \
        problems['actions["Signup"].events["n6"].settings.value.why']
    assert "n4\"].settings.value.message" not in str(problems)  # error.* is there on the branch
    a.on_failure = "Signup"
    assert {x.where: x.message for x in check_project(p)}['actions["Signup"].on_failure'] == \
        "an action cannot be its own on-failure action"
    a.on_failure = "Sign up"
    assert 'unknown action "Sign up" (did you mean "Signup"?)' in \
        {x.where: x.message for x in check_project(p)}['actions["Signup"].on_failure']


def test_error_is_only_in_scope_on_an_error_branch_or_in_an_on_failure_action():
    p = signup_project(catch=False)
    p.action("Signup").response_value = {"why": "=error.message"}
    assert any('unknown variable "error"' in x.message for x in check_project(p))
    q = failing_project()
    assert check_project(q) == []
    q.action("Order").on_failure = ""
    assert any('unknown variable "error"' in x.message for x in check_project(q))


def test_a_wire_from_a_failed_event_into_its_error_branch_is_refused():
    p = signup_project()
    a = p.action("Signup")
    a.wire("n2", "record", "n4", "value")
    assert any("which failed on this path" in x.message for x in check_project(p))


def test_a_savepoint_is_taken_only_where_an_error_port_is_wired():
    wired = compile_project(signup_project()).actions["Signup"]
    plain = compile_project(signup_project(catch=False)).actions["Signup"]
    assert [s.savepoint for s in wired.steps.values()] == [False, True, False, False]
    assert not any(s.savepoint for s in plain.steps.values())
    kinds = catalogue()
    assert kinds["create"].error_port and "error" in kinds["create"].flow_out
    assert not kinds["response"].error_port and not kinds["condition"].error_port


def test_the_on_failure_setting_round_trips_through_the_file():
    text = dumps(failing_project())
    data = json.loads(text)
    assert data["actions"][0]["on_failure"] == "Report" and "on_failure" not in data["actions"][1]
    loaded = loads(text)  # checked against the JSON Schema
    assert loaded.action("Order").on_failure == "Report" and dumps(loaded) == text
    assert from_data(data).action("Report").on_failure == ""


async def test_a_failed_scheduled_run_starts_its_on_failure_action(serve):
    p = failing_project()
    nightly = p.add_action("Nightly", Trigger("schedule", schedule="every 1h"),
                           on_failure="Report")
    nightly.add_event("raise_error", status=500, message="the export broke")
    s = await serve(p)
    record = await s.host.run("Nightly", source="schedule")
    assert record.status == 500 and "the export broke" in record.error
    assert s.rows("SELECT action, status, event FROM Failures") == [("Nightly", 500, "n1")]
