"""Security defaults: loopback only unless told, values always bound in SQL, the expression
sandbox, size limits on bodies, and error answers that never show a traceback, SQL or internals."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import shutil
import socket
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from conftest import EXAMPLES
from serving import ServeProcess, free_port

from nodes import catalogue
from nodes.kind import EventKind, Port, Setting
from runtime import expressions
from runtime.cli import _parser
from runtime.compiler import compile_project
from runtime.errors import ProjectError
from runtime.project import Field, GlobalVariable, Project, Trigger, Variable
from runtime.projectfile import load

# What an error answer must never hold: a traceback, SQL, or the names of the layers below.
LEAKS = ("Traceback", "SELECT", "INSERT", "UPDATE ", "DELETE FROM", "[SQL", "sqlite", "sqlalchemy",
         "aiosqlite", 'File "')


def listening(port: int) -> list[str]:
    """The local addresses listening on a TCP port, from /proc/net/tcp and tcp6 (Linux)."""
    found = []
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            parts = line.split()
            address, hex_port = parts[1].split(":")
            if parts[3] != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            if len(address) == 8:
                found.append(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
            else:
                raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, 32, 8))
                found.append(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def other_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def refused(address: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        try:
            s.connect((address, port))
        except OSError:
            return True
    return False


# -- loopback by default -------------------------------------------------------------------------

def test_serve_binds_loopback_unless_host_is_given(tmp_path):
    assert _parser().parse_args(["serve", "x.actiongraph.json"]).host == "127.0.0.1"
    project = tmp_path / "shoes.actiongraph.json"
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", project)
    default = ServeProcess(project, f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a.log")
    anywhere = ServeProcess(project, f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b.log",
                            args=("--host", "0.0.0.0"))
    with default, anywhere:
        if not Path("/proc/net/tcp").exists():
            pytest.skip("no /proc/net/tcp to read the listening sockets from")
        assert listening(default.port) == ["127.0.0.1"]
        other = other_address()
        if other:
            assert refused(other, default.port), f"the default serve answers on {other}"
        assert listening(anywhere.port) == ["0.0.0.0"]


async def test_the_editors_live_server_listens_on_loopback_only(tmp_path):
    pytest.importorskip("PySide6")
    from app.live import HOST, LiveServer

    assert HOST == "127.0.0.1"
    server = LiveServer()
    port = free_port()
    await server.start(load(EXAMPLES / "shoes.actiongraph.json"),
                       f"sqlite+aiosqlite:///{tmp_path / 'live.db'}", port)
    try:
        sockets = [s for site in server.runner.sites for s in site._server.sockets]
        assert sockets and {s.getsockname()[0] for s in sockets} == {"127.0.0.1"}
        assert server.runner.addresses == [("127.0.0.1", port)]
        if Path("/proc/net/tcp").exists():
            assert listening(port) == ["127.0.0.1"]
        other = other_address()
        if other:
            assert refused(other, port)
    finally:
        await server.stop()
        server.deleteLater()


# -- SQL injection: every place a request value reaches a query ------------------------------------

ATTACKS = [
    "' OR '1'='1", "' OR 1=1 --", "alpha' --", "alpha'; DROP TABLE Items; --", '" OR ""="',
    "1 OR 1=1", "1; DROP TABLE Items", "%", "_", "%%", "a%", "\\", "\\%", "'", "''", '"', "`",
    "alpha\x00' OR 1=1", "); DELETE FROM Items; --", "*/ OR 1=1 /*", "ALPHA", "alpha ",
    "1) OR (1=1", "\u02bc OR 1=1", "\uff07 OR 1=1",
]
NAMES = ["alpha", "beta", "100%", "a_b", "axb", "it's", 'say "hi"', "back\\slash"]


def vault() -> Project:
    """Items reached through every kind of filter a request value can feed."""
    p = Project(name="Vault")
    p.add_model("Items", [Field("name", "Text"), Field("qty", "Integer")])
    p.add_model("Secrets", [Field("value", "Text")])

    def query(name, path, variables, where=None, **settings):
        p.add_endpoint(name, "GET", path, variables)
        a = p.add_action(name, Trigger("endpoint", endpoint=name), response_value="=found")
        a.add_event("query", model="Items", where=where, **settings, **{"as": "found"})

    text_q = [Variable("q", "Text", "query", required=True)]
    query("Exact", "/v1/exact", text_q, {"field": "name", "op": "=", "value": "=query.q"})
    query("Not", "/v1/not", text_q, {"field": "name", "op": "!=", "value": "=query.q"})
    for op in ("contains", "starts_with", "ends_with"):
        query(op, f"/v1/{op}", text_q, {"field": "name", "op": op, "value": "=query.q"})
    query("In", "/v1/in", text_q, {"field": "name", "op": "in", "value": "=split(query.q, ',')"})
    query("Less", "/v1/less", text_q, {"field": "name", "op": "<", "value": "=query.q"})
    query("Page", "/v1/page", [Variable("limit", "Number", "query", required=False),
                               Variable("offset", "Number", "query", required=False),
                               Variable("sort", "Text", "query", required=False)],
          order=[{"field": "name", "dir": "desc"}], limit="=query.limit",
          offset="=coalesce(query.offset, 0)", sort="=query.sort")
    p.add_endpoint("By key", "GET", "/v1/items/{key}", [Variable("key", "Text", "path")])
    p.add_action("By key", Trigger("endpoint", endpoint="By key"), response_value="=Item",
                 variables=[GlobalVariable("Item", "Model", model="Items",
                                     where={"field": "name", "op": "=", "value": "=path.key"})])
    p.add_endpoint("By id", "GET", "/v1/ids/{id}", [Variable("id", "Number", "path")])
    p.add_action("By id", Trigger("endpoint", endpoint="By id"), response_value="=Item",
                 variables=[GlobalVariable("Item", "Model", model="Items",
                                     where={"field": "id", "op": "=", "value": "=path.id"})])
    p.add_endpoint("Rename", "PUT", "/v1/rename", [Variable("old", "Text", "body", required=True),
                                                   Variable("new", "Text", "body", required=True)])
    a = p.add_action("Rename", Trigger("endpoint", endpoint="Rename"), response_value="=changed")
    a.add_event("update", model="Items", where={"field": "name", "op": "=", "value": "=body.old"},
                values={"name": "=body.new"}, **{"as": "changed"})
    p.add_endpoint("Remove", "DELETE", "/v1/items", text_q)
    a = p.add_action("Remove", Trigger("endpoint", endpoint="Remove"), response_value="=gone")
    a.add_event("delete", model="Items", where={"field": "name", "op": "=", "value": "=query.q"},
                **{"as": "gone"})
    p.add_endpoint("Add", "POST", "/v1/items", [Variable("item", "Model", "body", model="Items")])
    a = p.add_action("Add", Trigger("endpoint", endpoint="Add"), response_value="=made",
                     response_status=201)
    a.add_event("create", model="Items", source="=body.item", **{"as": "made"})
    return p


def clean(status: int, body, sent: str = "") -> None:
    """An error answer: JSON with an `error` text and nothing of the layers below."""
    if status < 400:
        return
    assert isinstance(body, dict) and isinstance(body.get("error"), str), body
    text = json.dumps(body, ensure_ascii=False)
    if sent:  # a value the request sent may be quoted back in the message
        text = text.replace(json.dumps(sent, ensure_ascii=False)[1:-1], "").replace(sent, "")
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} in an error answer: {body}"


async def test_request_values_are_always_bound_never_sql(serve):
    s = await serve(vault())
    for i, name in enumerate(NAMES):
        assert (await s.call("POST", "/v1/items", json={"name": name, "qty": i}))[0] == 201
    with sqlite3.connect(s.db) as conn:
        conn.execute("insert into Secrets (created_at, value) values ('2024-01-01', 'hunter2')")
    total = len(NAMES)

    async def get(path, **params):
        status, body, _ = await s.call("GET", path, params=params)
        for sent in params.values():
            clean(status, body, str(sent))
        return status, body

    for attack in ATTACKS:
        status, body = await get("/v1/exact", q=attack)
        assert status == 200 and body == [], (attack, body)
        status, body = await get("/v1/not", q=attack)
        assert status == 200 and len(body) == total, (attack, body)
        for op in ("contains", "starts_with", "ends_with", "in", "less"):
            status, body = await get(f"/v1/{op}", q=attack)
            assert status == 200 and isinstance(body, list), (op, attack, body)
            assert all(row["name"] in NAMES for row in body) and "hunter2" not in json.dumps(body)
        status, body, _ = await s.call("GET", "/v1/items/" + _quote(attack))
        clean(status, body, attack)
        assert status in (404, 405), (attack, status, body)
        for variable in ("limit", "offset"):
            status, body = await get("/v1/page", **{variable: attack})
            assert status == 400 and body["fields"][0]["field"] == f"query.{variable}", body
        status, body = await get("/v1/page", sort=attack)  # a field name chosen at run time
        assert status == 422 and "cannot sort by" in body["error"], (attack, body)
        status, body, _ = await s.call("GET", "/v1/ids/" + _quote(attack))
        clean(status, body, attack)
        assert status in (400, 404, 405), (attack, status, body)
        status, body, _ = await s.call("PUT", "/v1/rename", json={"old": attack, "new": "pwned"})
        clean(status, body, attack)
        assert status == 200 and body == [], (attack, body)
        status, body, _ = await s.call("DELETE", "/v1/items", params={"q": attack})
        clean(status, body, attack)
        assert status == 200 and body == 0, (attack, body)

    # LIKE wildcards and quotes are matched as themselves.
    assert [r["name"] for r in (await get("/v1/contains", q="%"))[1]] == ["100%"]
    assert [r["name"] for r in (await get("/v1/contains", q="_"))[1]] == ["a_b"]
    assert [r["name"] for r in (await get("/v1/contains", q="'"))[1]] == ["it's"]
    assert [r["name"] for r in (await get("/v1/contains", q='"'))[1]] == ['say "hi"']
    assert [r["name"] for r in (await get("/v1/ends_with", q="\\slash"))[1]] == ["back\\slash"]
    assert [r["name"] for r in (await get("/v1/exact", q="it's"))[1]] == ["it's"]
    assert (await s.call("GET", "/v1/items/it's"))[1]["name"] == "it's"
    assert [r["name"] for r in (await get("/v1/page", sort="-qty", limit="2"))[1]] == \
        [NAMES[-1], NAMES[-2]]
    # Limits and offsets: numbers only, any size, never more than the cap.
    for limit, offset, expected in [("2", "0", 2), ("-1", "0", 0), ("99999999999999999999999", "0", total),
                                    ("1e30", "0", total), ("3", "99999999999999999999999", 0),
                                    ("3", "-5", 3), ("2.9", "0", 2)]:
        status, body = await get("/v1/page", limit=limit, offset=offset)
        assert status == 200 and len(body) == expected, (limit, offset, body)
    for key in ("99999999999999999999999", "-99999999999999999999999", "1e300", "1.5"):
        status, body, _ = await s.call("GET", f"/v1/ids/{key}")
        clean(status, body, key)
        assert status in (404, 422), (key, status, body)
    # The tables are intact: every row is still there, and nothing else changed.
    assert sorted(r[0] for r in s.rows("select name from Items")) == sorted(NAMES)
    assert s.rows("select value from Secrets") == [("hunter2",)]
    assert {r[0] for r in s.rows("select name from sqlite_master where type='table'")} >= \
        {"Items", "Secrets"}


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def test_field_names_in_where_and_order_come_only_from_the_project():
    """Where fields and order-by fields are checked against the model when the project is
    compiled: a name that is not a field never reaches the database."""
    for bad in ("name; DROP TABLE Items", "name OR 1=1", "id--", "(select 1)", "Items.name"):
        p = vault()
        p.action("Exact").events["n1"].settings["where"] = {"field": bad, "op": "=", "value": "x"}
        p.action("Page").events["n1"].settings["order"] = [{"field": bad, "dir": "desc"}]
        with pytest.raises(ProjectError) as e:
            compile_project(p)
        text = str(e.value)
        assert text.count("has no field") == 2, text
    p = vault()
    p.action("Exact").events["n1"].settings["where"] = {"field": "name", "op": "; DROP", "value": "x"}
    with pytest.raises(ProjectError, match="unknown operator"):
        compile_project(p)


# -- the expression sandbox ----------------------------------------------------------------------

ESCAPES = [
    "__import__('os')", "body.__class__", "body.__class__.__bases__[0].__subclasses__()",
    "().__class__", "[].__class__.__mro__", "lower.__globals__", "lower.__code__",
    "len.__self__", "body._secret", "getattr(body, 'x')", "eval('1')", "exec('1')",
    "open('/etc/passwd')", "compile('1', 'x', 'eval')", "globals()", "vars()", "type(body)",
    "lambda: 1", "[x for x in body]", "{x: 1 for x in body}", "(x for x in body)",
    "f'{body}'", "(y := 1)", "*body", "{**body}", "lower(**body)", "body.keys()",
    "'a'.join(['b'])", "body['__class__'].mro()", "~1", "1 << 100", "1 & 2", "{1, 2}",
    "__builtins__", "__builtins__['eval']", "body.__dict__", "str.format", "'{0.__class__}'.format(1)",
    "import os", "x = 1", "1; 2", "yield 1", "await body",
    "-" * 500 + "1", "not " * 300 + "true", "[" * 120 + "]" * 120,
    "a" * 3000, "1 +" * 1000 + "1", "lower(" * 80 + "'x'" + ")" * 80,
]


def test_expression_escapes_are_refused_when_compiled():
    shoes = load(EXAMPLES / "shoes.actiongraph.json")
    for source in ESCAPES:
        started = time.perf_counter()
        p = copy.deepcopy(shoes)
        p.actions[0].events["n1"].settings["values"]["shoe_type"] = "=" + source
        with pytest.raises(ProjectError) as e:
            compile_project(p)
        assert time.perf_counter() - started < 1, source
        assert 'actions["Create new shoe"].events["n1"].settings.values.shoe_type' in str(e.value)
    with pytest.raises(expressions.ExpressionError, match='names starting with "_" are not allowed'):
        expressions.parse("body.__class__")


def sandbox() -> Project:
    """Expressions fed with request values that try to use too much memory or time."""
    p = Project(name="Sandbox")
    p.add_endpoint("Run", "POST", "/v1/run", [
        Variable("s", "Text", "body"), Variable("n", "Number", "body"),
        Variable("m", "Number", "body"), Variable("j", "JSON", "body")])
    a = p.add_action("Run", Trigger("endpoint", endpoint="Run"),
                     response_value={"repeat": "=len(body.s * body.n)", "power": "=body.n ** body.m",
                                     "nested": "=len(str(body.j))", "code": "=body.s"})
    a.add_event("assign", value="=concat(body.s, body.s)", **{"as": "twice"})
    return p


async def test_request_values_cannot_blow_up_expressions(serve):
    s = await serve(sandbox())
    cases = [
        {"s": "ab", "n": 10**9, "m": 1, "j": 1},  # 2 GB of text
        {"s": "ab", "n": 2, "m": 10**9, "j": 1},  # 2 ** a billion
        {"s": "ab", "n": 10**100, "m": 10**100, "j": 1},
        {"s": "x" * 600_000, "n": 1, "m": 1, "j": 1},  # concat over the length limit
        {"s": "ab", "n": 1.5e300, "m": 1.5e300, "j": 1},
        {"s": "__import__('os').system('touch /tmp/actiongraph-pwned')", "n": 1, "m": 1, "j": 1},
        {"s": "=__import__('os')", "n": 1, "m": 1, "j": json.loads("[" * 900 + "]" * 900)},
    ]
    for body in cases:
        started = time.perf_counter()
        status, answer, _ = await s.call("POST", "/v1/run", json=body)
        assert time.perf_counter() - started < 3, body
        clean(status, answer)
        assert status == 200 or status >= 400, answer
        if status >= 400:  # a clean message naming the place, e.g. "... result would be too long"
            assert 'actions["Run"]' in answer["error"], answer
    status, answer, _ = await s.call("POST", "/v1/run", json=cases[-2])
    assert status == 200 and answer["code"] == cases[-2]["s"]  # data, never code
    assert not Path("/tmp/actiongraph-pwned").exists()
    status, answer, _ = await s.call("POST", "/v1/run", json={"s": "ab", "n": 3, "m": 2, "j": []})
    assert status == 200 and answer == {"repeat": 6, "power": 9, "nested": 2, "code": "ab"}


# -- body size limits ---------------------------------------------------------------------------

def uploads() -> Project:
    p = Project(name="Uploads")
    p.add_model("Uploads", [Field("title", "Text"), Field("size", "Integer")])
    p.add_endpoint("Upload", "POST", "/v1/uploads",
                   [Variable("title", "Text", "body"), Variable("file", "File", "body")],
                   request_type="multipart")
    a = p.add_action("Upload", Trigger("endpoint", endpoint="Upload"), response_value="=saved",
                     response_status=201)
    a.add_event("create", model="Uploads",
                values={"title": "=body.title", "size": "=body.file.size"}, **{"as": "saved"})
    p.add_endpoint("Note", "POST", "/v1/notes", [Variable("title", "Text", "body")])
    a = p.add_action("Note", Trigger("endpoint", endpoint="Note"), response_value="=saved",
                     response_status=201)
    a.add_event("create", model="Uploads", values={"title": "=body.title"}, **{"as": "saved"})
    return p


async def _chunks(data: bytes, size: int = 256):
    for i in range(0, len(data), size):
        yield data[i:i + size]
        await asyncio.sleep(0)


async def test_bodies_and_uploads_are_size_limited_also_when_chunked(serve):
    s = await serve(uploads(), max_body=4096)
    big = json.dumps({"title": "x" * 10_000}).encode()
    json_type = {"Content-Type": "application/json"}

    def form(content: bytes) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("title", "report")
        data.add_field("file", content, filename="r.bin", content_type="application/octet-stream")
        return data

    attempts = [
        ("/v1/notes", {"data": big, "headers": json_type}),  # with Content-Length
        ("/v1/notes", {"data": _chunks(big), "headers": json_type}),  # chunked, no length
        ("/v1/uploads", {"data": form(b"\0" * 10_000)}),
    ]
    form_bytes = form(b"\0" * 10_000)()
    body = b"".join([chunk async for chunk in _stream(form_bytes)])
    attempts.append(("/v1/uploads", {"data": _chunks(body),
                                     "headers": {"Content-Type": form_bytes.content_type}}))
    for path, kwargs in attempts:
        status, answer, headers = await s.call("POST", path, **kwargs)
        assert status == 413, (path, status, answer)
        assert headers["Content-Type"].startswith("application/json")
        assert answer["fields"][0]["field"] == "body" and "4096 bytes" in answer["error"]
    assert s.rows("select count(*) from Uploads") == [(0,)]
    status, answer, _ = await s.call("POST", "/v1/uploads", data=form(b"\0" * 1000))
    assert status == 201 and answer["size"] == 1000
    status, answer, _ = await s.call("POST", "/v1/notes",
                                     data=_chunks(json.dumps({"title": "ok"}).encode(), 3),
                                     headers=json_type)
    assert status == 201 and answer["title"] == "ok"


async def _stream(payload):
    """The bytes aiohttp would send for a payload."""
    class Sink:
        def __init__(self):
            self.parts = []

        async def write(self, data):
            self.parts.append(bytes(data))

    sink = Sink()
    await payload.write(sink)
    for part in sink.parts:
        yield part


async def test_malformed_forms_are_a_400_never_a_500(serve):
    s = await serve(uploads())
    b = "XyZ"

    def part(name: str, content: bytes, extra: str = "") -> bytes:
        return (f'--{b}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n').encode() \
            + content + b"\r\n"

    end = f"--{b}--\r\n".encode()
    forms = [
        part("title", b"\xff\xfe\xfd") + end,  # not UTF-8
        part("title", b"x", '\r\nContent-Type: text/plain; charset=bogus') + end,  # no such charset
        f'--{b}\r\nContent-Disposition: form-data; name="title"\r\n\r\nabc'.encode(),  # cut short
        b"hello", end, b"", part("title", b"x") + part("file", b"not a file") + end,
        part("title", b"x") + part("file", b"data", '; filename="a.txt"') + end + b"trailing",
    ]
    for form in forms:
        for ctype in (f"multipart/form-data; boundary={b}", "multipart/form-data",
                      "application/x-www-form-urlencoded"):
            status, body, _ = await s.call("POST", "/v1/uploads", data=form,
                                           headers={"Content-Type": ctype})
            assert 400 <= status < 500 or status == 201, (form, ctype, status, body)
            clean(status, body, form.decode("utf-8", "replace"))


# -- error answers never show internals -----------------------------------------------------------

async def broken_sql(ctx, inputs, settings):
    """A buggy event: SQL the database refuses."""
    await ctx.db._execute(sa.text("SELECT secret FROM no_such_table"))
    return {}


async def unrenderable(ctx, inputs, settings):
    """A buggy event: a value no response can hold."""
    return {"value": object()}


BROKEN = EventKind(id="broken_sql", name="Broken SQL", category="Test", doc="Runs bad SQL "
                   "(for the error-answer tests).", run=broken_sql, writes=True)
ODD = EventKind(id="odd", name="Odd value", category="Test", doc="Outputs a value that is not "
                "JSON data (for the error-answer tests).", run=unrenderable,
                outputs=(Port("value", "Any", "the odd value"),),
                settings=(Setting("as", "variable", "where to keep it"),))


async def test_unexpected_errors_answer_a_reference_and_log_the_detail(serve, caplog):
    p = Project(name="Bugs")
    p.add_endpoint("Sql", "POST", "/v1/sql")
    p.add_action("Sql", Trigger("endpoint", endpoint="Sql"), response_value="ok").add_event(
        "broken_sql")
    p.add_endpoint("Odd", "GET", "/v1/odd")
    p.add_action("Odd", Trigger("endpoint", endpoint="Odd"), response_value="=odd").add_event(
        "odd", **{"as": "odd"})
    s = await serve(p, kinds={**catalogue(), "broken_sql": BROKEN, "odd": ODD})
    records = []
    s.state.listeners.append(records.append)
    caplog.set_level(logging.INFO)

    status, body, _ = await s.call("POST", "/v1/sql")
    assert status == 500 and body["event"] == "n1" and body["event_kind"] == "broken_sql"
    reference = body["reference"]
    assert body["error"] == f"Broken SQL event n1: unexpected error (reference {reference})"
    clean(status, body)
    assert "no_such_table" not in json.dumps(body)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert reference in logged and "no_such_table" in caplog.text
    assert reference in records[-1].error and "no_such_table" in records[-1].error

    status, body, _ = await s.call("GET", "/v1/odd")
    assert status == 500 and set(body) == {"error", "reference"}
    reference = body["reference"]
    assert body["error"] == f"internal error (reference {reference})"
    assert reference in caplog.text and "TypeError" in caplog.text
    assert "TypeError" in records[-1].error and reference in records[-1].error


async def test_no_error_answer_shows_a_traceback_or_sql(serve):
    """Many kinds of bad requests against the examples: every 4xx/5xx is a JSON error."""
    sent = 0
    for name in ("shoes", "posts", "signup"):
        s = await serve(name)
        project = load(EXAMPLES / f"{name}.actiongraph.json")
        bodies = [None, b"", b"{", b"[]", b"null", b'"x"', b"1e400", b'{"a": NaN}',
                  b'{"email": "\\ud800"}', b"[" * 5000, b"\xff\xfe", b'{"price": "1e999"}',
                  b'{"likes": 99999999999999999999999}', b'{"caption": {"$gt": ""}}',
                  json.dumps({f.name: "' OR 1=1 --" for m in project.models
                              for f in m.fields}).encode()]
        for e in project.endpoints:
            path = e.path.replace("{id}", "99999999999999999999999")
            for method in (e.method, "PATCH"):
                for data in bodies:
                    for ctype in ("application/json", "text/plain"):
                        status, body, _ = await s.call(method, path, data=data,
                                                       headers={"Content-Type": ctype})
                        sent += 1
                        assert status < 500, (name, method, path, data, body)
                        clean(status, body, "' OR 1=1 --")
    assert sent > 300
