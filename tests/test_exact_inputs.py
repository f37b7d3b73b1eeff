"""Exact inputs, CSV pass-through and compiler checks (issue 17 items 7 and 8), over real HTTP
with a real SQLite file where a request is involved."""

import sqlite3
from contextlib import closing

import aiohttp
import pytest

from runtime.compiler import check
from runtime.project import Field, GlobalVariable, Project, Trigger, Variable, Wire


def books(kind: str = "Number") -> Project:
    p = Project(name="Books")
    p.add_model("Books", [Field("title", "Text"), Field("price", "Decimal")])
    p.add_endpoint("Get Book", "GET", "/v1/books/{id}", [Variable("id", kind, "path")])
    p.add_action("Get Book", Trigger("endpoint", endpoint="Get Book"), variables=[
        GlobalVariable("Book", "Model", model="Books",
                       where={"field": "id", "op": "=", "value": "=path.id"})],
        response_value="=Book")
    p.add_endpoint("Total", "POST", "/v1/total", [Variable("prices", "List", "body")])
    total = p.add_action("Total", Trigger("endpoint", endpoint="Total"), response_value="=sum")
    total.add_event("assign", value="=body.prices[0] + body.prices[1]", **{"as": "sum"})
    return p


async def served_books(serve, kind: str = "Number"):
    s = await serve(books(kind))
    with closing(sqlite3.connect(s.db)) as conn:
        conn.executemany('INSERT INTO "Books" (created_at, title, price) VALUES (?, ?, ?)',
                         [("2024-01-01 00:00:00", "Dune", 9.5), ("2024-01-01 00:00:00", "Emma", 4)])
        conn.commit()
    return s


@pytest.mark.parametrize("kind", ["Number", "Integer"])
async def test_numbers_in_a_path_take_their_canonical_ascii_form_only(serve, kind):
    s = await served_books(serve, kind)
    assert (await s.call("GET", "/v1/books/1"))[1]["title"] == "Dune"
    assert (await s.call("GET", "/v1/books/+2"))[1]["title"] == "Emma"
    for odd in ("0_1", "%D9%A1", "%EF%BC%91", "%201", "1%20", "NaN", "Infinity", "0x1"):
        status, body, _ = await s.call("GET", f"/v1/books/{odd}")
        assert status in (400, 422) and body["error"].startswith("path.id"), (odd, body)


async def test_a_bad_id_names_the_callers_field_not_the_project(serve):
    s = await served_books(serve)
    for value in ("1.5", str(2**64)):
        status, body, _ = await s.call("GET", f"/v1/books/{value}")
        assert status == 422 and body["error"].startswith("path.id: expected a whole number"), body
        assert "actions[" not in body["error"] and "variables[" not in body["error"]


async def test_json_numbers_keep_their_exact_decimal_value(serve):
    s = await serve(books())
    status, body, _ = await s.call("POST", "/v1/total", json={"prices": [0.1, 0.2]})
    assert status == 200 and body == 0.3  # not 0.30000000000000004
    status, body, _ = await s.call("POST", "/v1/total", data=b'{"prices": [1e400, 1]}',
                                   headers={"Content-Type": "application/json"})
    assert status == 400 and "too large" in body["error"]


async def test_a_csv_endpoint_passes_csv_text_through_and_a_bad_row_names_its_line(serve):
    p = Project(name="Import")
    p.add_model("People", [Field("name", "Text"), Field("age", "Integer")])
    p.add_endpoint("Export", "GET", "/v1/export", response_type="csv")
    export = p.add_action("Export", Trigger("endpoint", endpoint="Export"), response_value="=text")
    export.add_event("csv", operation="build", records=[{"name": "Ann", "age": 31}],
                     **{"as": "text"})
    p.add_endpoint("Import", "POST", "/v1/import", [Variable("file", "File", "body")],
                   request_type="multipart")
    imp = p.add_action("Import", Trigger("endpoint", endpoint="Import"), response_value="=n")
    parsed = imp.add_event("csv", operation="parse", text="=body.file", **{"as": "people"})
    loop = imp.add_event("loop", after=parsed.id, list="=people", **{"as": "person"})
    imp.add_event("create", after=loop.id, port="each", model="People", source="=person",
                  **{"as": "made"})
    imp.add_event("assign", after=loop.id, port="done", value="=len(people)", **{"as": "n"})
    s = await serve(p)
    status, text, headers = await s.call("GET", "/v1/export")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert text == "name,age\r\nAnn,31\r\n"  # as the CSV event made it, not quoted again
    form = aiohttp.FormData()
    form.add_field("file", b"name,age\nAnn,31\n\nBob,forty\n", filename="p.csv",
                   content_type="text/csv")
    status, body, _ = await s.call("POST", "/v1/import", data=form)
    assert status == 422 and "People.age" in body["error"], body
    assert body["error"].endswith("(line 4 of the CSV)"), body
    assert s.rows("SELECT count(*) FROM People") == [(0,)]


def test_the_compiler_flags_wires_to_missing_events():
    p = books()
    p.action("Total").wires.append(Wire("n1", "value", "n7", "value"))
    problems = {str(x.where): x.message for x in check(p).problems}
    assert problems['actions["Total"].wires[0].to'] == \
        'a wire to event "n7", which does not exist'


def test_an_action_whose_every_path_raises_needs_no_response_value():
    p = books()
    a = p.add_action("Refuse", Trigger("action"), response_value="=made")
    cond = a.add_event("condition", value="=true")
    made = a.add_event("create", after=cond.id, port="true", model="Books",
                       values={"title": "x"}, **{"as": "made"})
    a.add_event("raise_error", after=made.id, message="no", status=409)
    a.add_event("raise_error", after=cond.id, port="false", message="never", status=422)
    assert [x.message for x in check(p).problems if x.severity == "error"] == []


def test_constant_parts_of_expressions_are_checked_at_once():
    p = books()
    p.action("Total").events["n1"].settings["value"] = "=body.prices[0] * 9**9**9"
    problems = {str(x.where): x.message for x in check(p).problems}
    assert "exponent is too large" in problems['actions["Total"].events["n1"].settings.value']


async def test_an_oversize_request_line_or_header_answers_the_json_error_shape(serve):
    import asyncio
    from urllib.parse import urlparse

    s = await serve(books())
    url = urlparse(s.url)
    for request in (b"GET /v1/books/1?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /v1/books/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n"):
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(request)
        await writer.drain()
        head, _, body = (await reader.read()).partition(b"\r\n\r\n")
        writer.close()
        assert head.startswith(b"HTTP/1.0 400") or head.startswith(b"HTTP/1.1 400"), head
        assert b"application/json" in head
        assert b'"error":"bad request: the request line or a header is too long' in body
