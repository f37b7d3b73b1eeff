"""HTTP Request against a real service on loopback: answers, failures, limits, refused addresses."""

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from runtime.http import blocked
from runtime.project import Project, Trigger, Variable


@pytest.fixture
async def service():
    """A small web service on 127.0.0.1 for the events to call."""
    async def user(request):
        return web.json_response({"id": int(request.match_info["id"]), "name": "Ann",
                                  "q": request.query.get("q")})

    async def echo(request):
        return web.json_response({"got": await request.json(),
                                  "auth": request.headers.get("X-Key")})

    async def slow(request):
        await asyncio.sleep(3)
        return web.Response(text="late")

    async def big(request):
        return web.Response(text="x" * 5000)

    async def broken(request):
        return web.json_response({"error": "down"}, status=503)

    app = web.Application()
    app.router.add_get("/users/{id}", user)
    app.router.add_post("/echo", echo)
    app.router.add_get("/slow", slow)
    app.router.add_get("/big", big)
    app.router.add_get("/broken", broken)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


def caller(base: str, wire_error: bool = True, **settings) -> Project:
    p = Project(name="Caller")
    p.add_endpoint("Call", "POST", "/v1/call", [Variable("path", "Text", "body"),
                                               Variable("payload", "JSON", "body", required=False)])
    a = p.add_action("Call", Trigger("endpoint", endpoint="Call"),
                     response_value={"status": "=answer.status", "body": "=answer.body"})
    options = {"url": f"=concat('{base}', body.path)", "query": {"q": "hi"},
               "headers": {"X-Key": "k1"}, "as": "answer", "error_as": "why", **settings}
    call = a.add_event("http_request", **options)
    if wire_error:
        a.add_event("response", after=call.id, port="error", status=502,
                    value={"failed": "=why"})
    return p


async def test_get_and_post_through_the_event(serve, service):
    s = await serve(caller(service))
    status, body, _ = await s.call("POST", "/v1/call", json={"path": "/users/7"})
    assert status == 200 and body == {"status": 200, "body": {"id": 7, "name": "Ann", "q": "hi"}}
    s2 = await serve(caller(service, method="POST", body="=body.payload"))
    status, body, _ = await s2.call("POST", "/v1/call", json={"path": "/echo", "payload": {"a": 1}})
    assert status == 200 and body["body"] == {"got": {"a": 1}, "auth": "k1"}


async def test_failures_follow_the_error_port_or_fail_the_run(serve, service):
    s = await serve(caller(service, timeout=1, max_bytes=1000, fail_on_status=True))
    status, body, _ = await s.call("POST", "/v1/call", json={"path": "/slow"})
    assert status == 502 and "within 1 s" in body["failed"]
    status, body, _ = await s.call("POST", "/v1/call", json={"path": "/big"})
    assert status == 502 and "larger than 1000 bytes" in body["failed"]
    status, body, _ = await s.call("POST", "/v1/call", json={"path": "/broken"})
    assert status == 502 and "answered 503" in body["failed"]
    plain = await serve(caller(service, wire_error=False))
    status, body, _ = await plain.call("POST", "/v1/call", json={"path": "/nothing-here"})
    assert status == 200 and body["status"] == 404  # a 404 answer is data unless fail_on_status
    unwired = await serve(caller("http://127.0.0.1:9", wire_error=False))
    status, body, _ = await unwired.call("POST", "/v1/call", json={"path": "/x"})
    assert status == 502 and body["event"] == "n1" and "127.0.0.1" in body["error"]


@pytest.mark.parametrize("host", ["169.254.169.254", "[::ffff:169.254.169.254]", "[fe80::1]"])
async def test_metadata_and_link_local_addresses_are_refused(serve, host):
    s = await serve(caller(f"http://{host}"))
    status, body, _ = await s.call("POST", "/v1/call", json={"path": "/latest/meta-data"})
    assert status == 502 and "link-local or metadata" in body["failed"]


def test_blocked_addresses():
    assert blocked("169.254.1.1") and blocked("::ffff:169.254.169.254") and blocked("fe80::1")
    assert not blocked("127.0.0.1") and not blocked("10.0.0.1") and not blocked("example.org")
