"""CSV event: parse text or an uploaded file into records, build CSV; and over HTTP."""

from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import pytest

from nodes.csv_data import EVENT as CSV
from runtime.errors import ActionError
from runtime.executor import Context
from runtime.project import Field, Project, Trigger, Variable

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL


async def csv_event(operation, delimiter=",", header=True, **inputs):
    settings = {"operation": operation, "delimiter": delimiter, "header": header}
    return (await CSV.run(Context(db=None, fields={}), inputs, settings))["result"]


def upload(content: bytes, filename="people.csv"):
    return {"filename": filename, "content_type": "text/csv", "size": len(content),
            "content": content}


async def test_parse_text_into_records():
    text = 'name, age ,city\r\nAnn,31,"Oslo, Norway"\n\nBob,40\n"Multi\nline",1,x\n,,\n'
    assert await csv_event("parse", text=text) == [
        {"name": "Ann", "age": "31", "city": "Oslo, Norway"},
        {"name": "Bob", "age": "40", "city": None},
        {"name": "Multi\nline", "age": "1", "city": "x"},
    ]


async def test_parse_a_file_with_a_bom_a_delimiter_and_no_header():
    data = "\ufeffa;b\n1;2\n".encode()
    assert await csv_event("parse", text=upload(data), delimiter=";") == [{"a": "1", "b": "2"}]
    assert await csv_event("parse", text=upload(data), delimiter=";", header=False) \
        == [["a", "b"], ["1", "2"]]
    assert await csv_event("parse", text="a\tb\n1\t2", delimiter="\\t") == [{"a": "1", "b": "2"}]
    assert await csv_event("parse", text="a,b\n") == []


@pytest.mark.parametrize("inputs, status, message", [
    ({"text": "a,b\n1,2,3\n"}, 422, "parse: line 2 has 3 values but the header has 2 columns"),
    ({"text": "a,,c\n1,2,3\n"}, 422, "parse: column 2 of the header row has no name"),
    ({"text": "a,b,a\n"}, 422, 'parse: two columns of the header row are called "a"'),
    ({"text": upload("é".encode("latin-1"), "old.csv")}, 422,
     'parse: "old.csv" is not UTF-8 text (save it as "CSV UTF-8")'),
    ({"text": "a\n" + "1\n" * 10_001}, 413, "parse: the CSV has more than 10,000 rows"),
    ({"text": 'a\n"x' + "y" * 200_000 + '"\n'}, 422, "parse: line 2 is not valid CSV: field larger"),
    ({"text": ["a"]}, 500, "parse: `text` must be CSV text or a File, got a list"),
    ({"text": "a", "delimiter": "::"}, 500,
     'parse: `delimiter` must be one character such as , ; | or \\t, got "::"'),
])
async def test_parse_errors_name_the_line_or_the_problem(inputs, status, message):
    with pytest.raises(ActionError) as e:
        await csv_event("parse", **inputs)
    assert e.value.message.startswith(message) and e.value.status == status


async def test_ten_thousand_rows_are_allowed():
    rows = await csv_event("parse", text="a\n" + "1\n" * 10_000)
    assert len(rows) == 10_000


async def test_build_from_records_and_lists():
    records = [{"id": 1, "name": 'Ann "A", Jr.', "price": Decimal("9.50"), "ok": True},
               {"id": 2, "name": None, "at": datetime(2024, 5, 31, tzinfo=UTC),
                "tags": ["x", "y"]}]
    assert await csv_event("build", records=records) == (
        "id,name,price,ok,at,tags\r\n"
        '1,"Ann ""A"", Jr.",9.5,true,,\r\n'
        '2,,,,2024-05-31T00:00:00Z,"[""x"",""y""]"\r\n')
    assert await csv_event("build", records=[[1, "a;b"]], delimiter=";") == '1;"a;b"\r\n'
    assert await csv_event("build", records=[{"a": 1}], header=False) == "1\r\n"
    assert await csv_event("build", records=[]) == ""
    with pytest.raises(ActionError) as e:
        await csv_event("build", records=[{"a": 1}, "b"])
    assert e.value.message == "build: item 1 of `records` is text, not a record or a list"


async def test_round_trip():
    records = [{"a": "1", "b": "x,y"}, {"a": "", "b": 'q"uote'}]
    text = await csv_event("build", records=records)
    assert await csv_event("parse", text=text) == records


async def test_csv_upload_and_export_over_http(serve):
    p = Project(name="Import")
    p.add_model("People", [Field("name", "Text"), Field("age", "Integer")])
    p.add_endpoint("Import", "POST", "/v1/import", [Variable("file", "File", "body")],
                   request_type="multipart")
    a = p.add_action("Import", Trigger("endpoint", endpoint="Import"),
                     response_value={"count": "=len(people)", "first": "=first"})
    n1 = a.add_event("csv", operation="parse", text="=body.file", **{"as": "people"})
    a.add_event("create", after=n1.id, model="People", source="=people[0]", **{"as": "first"})
    p.add_endpoint("Export", "GET", "/v1/export")
    b = p.add_action("Export", Trigger("endpoint", endpoint="Export"), response_value="=text")
    m1 = b.add_event("query", model="People", **{"as": "all"})
    b.add_event("csv", after=m1.id, operation="build", records="=all", delimiter=";",
                **{"as": "text"})
    s = await serve(p)

    form = aiohttp.FormData()
    form.add_field("file", b"name,age\nAnn,31\nBob,40\n", filename="p.csv",
                   content_type="text/csv")
    status, body, _ = await s.call("POST", "/v1/import", data=form)
    assert status == 200, body
    assert body["count"] == 2 and body["first"]["name"] == "Ann" and body["first"]["age"] == 31
    assert s.rows("select name, age from People") == [("Ann", 31)]

    status, text, _ = await s.call("GET", "/v1/export")
    assert status == 200
    lines = text.split("\r\n")
    assert lines[0] == "id;created_at;name;age" and lines[1].endswith(";Ann;31")

    form = aiohttp.FormData()
    form.add_field("file", b"name,age\nAnn,31,extra\n", filename="bad.csv", content_type="text/csv")
    status, body, _ = await s.call("POST", "/v1/import", data=form)
    assert status == 422 and body["event"] == "n1"
    assert body["error"] == "CSV event n1: parse: line 2 has 3 values but the header has 2 columns"
    assert s.rows("select count(*) from People") == [(1,)]
