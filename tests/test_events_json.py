"""JSON event: parse, stringify, get by path; and a real run over HTTP."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nodes.json_data import EVENT as JSON
from runtime.errors import ActionError
from runtime.executor import Context
from runtime.project import Project, Trigger, Variable

ORDER = {"order": {"lines": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1, "odd.key": 7}]},
         "tags": []}


async def json_event(operation, pretty=False, if_missing="null", **inputs):
    settings = {"operation": operation, "pretty": pretty, "if_missing": if_missing}
    return (await JSON.run(Context(db=None, fields={}), inputs, settings))["result"]


async def test_parse_text_and_files():
    assert await json_event("parse", text='{"a": [1, 2.5, null, true, "x"]}') \
        == {"a": [1, 2.5, None, True, "x"]}
    upload = {"filename": "a.json", "content_type": "application/json", "size": 12,
              "content": '\ufeff{"ü": 1}'.encode()}
    assert await json_event("parse", text=upload) == {"ü": 1}


@pytest.mark.parametrize("text, message", [
    ('{"a": 1,}', "parse: `text` is not valid JSON: Expecting property name enclosed in double "
                  "quotes (line 1 column 9)"),
    ("", "parse: `text` is not valid JSON: Expecting value (line 1 column 1)"),
    ("[" * 100_000 + "]" * 100_000, "parse: `text` cannot be read as JSON: it is nested too deeply"),
    ({"content": b"\xff\xfe"}, "parse: `text` is not UTF-8 text"),
])
async def test_bad_json_is_a_422_saying_where(text, message):
    with pytest.raises(ActionError) as e:
        await json_event("parse", text=text)
    assert e.value.message == message and e.value.status == 422


async def test_stringify_compact_pretty_and_record_values():
    value = {"n": Decimal("1.50"), "at": datetime(2024, 5, 31, 12, tzinfo=UTC), "s": "é"}
    assert await json_event("stringify", value=value) == '{"n":1.5,"at":"2024-05-31T12:00:00Z","s":"é"}'
    assert await json_event("stringify", value={"a": [1]}, pretty=True) == '{\n  "a": [\n    1\n  ]\n}'
    with pytest.raises(ActionError) as e:
        await json_event("stringify", value={"x": float("nan")})
    assert e.value.message.startswith("stringify: `value` cannot be written as JSON")


@pytest.mark.parametrize("path, expected", [
    ("order.lines[0].sku", "a"),
    ("order.lines[-1].qty", 2 - 1),
    ("order.lines.1.sku", "b"),
    ('order.lines[1]["odd.key"]', 7),
    ("['order'].lines[0]", {"sku": "a", "qty": 2}),
    ("", ORDER),
    ("order.nothing.deeper", None),
    ("tags[0]", None),
    ("order.lines[0].sku.x", None),
])
async def test_get_by_path(path, expected):
    assert await json_event("get", value=ORDER, path=path) == expected


@pytest.mark.parametrize("path, status, message", [
    ("order.nothing.deeper", 422,
     'get: nothing at "order.nothing.deeper": "order" is an object with no key "nothing"'),
    ("order.lines[5]", 422,
     'get: nothing at "order.lines[5]": "order.lines" is a list of 2 items, with no [5]'),
    ("missing", 422, 'get: nothing at "missing": `value` is an object with no key "missing"'),
    ("order..lines", 500, 'get: `path` "order..lines" is not a path like a.b[0].c (stuck at '
                          "character 6)"),
    ("order[x]", 500, 'get: `path` "order[x]" is not a path like a.b[0].c'),
])
async def test_get_errors_when_asked(path, status, message):
    with pytest.raises(ActionError) as e:
        await json_event("get", value=ORDER, path=path, if_missing="error")
    assert e.value.message.startswith(message) and e.value.status == status


async def test_json_over_http(serve):
    p = Project(name="Hooks")
    p.add_endpoint("Hook", "POST", "/v1/hook", [Variable("payload", "Text", "body")])
    a = p.add_action("Hook", Trigger("endpoint", endpoint="Hook"),
                     response_value={"first": "=sku", "again": "=text"})
    n1 = a.add_event("json", operation="parse", text="=body.payload", **{"as": "data"})
    n2 = a.add_event("json", after=n1.id, operation="get", value="=data",
                     path="order.lines[0].sku", if_missing="error", **{"as": "sku"})
    a.add_event("json", after=n2.id, operation="stringify", value="=data.tags", **{"as": "text"})
    s = await serve(p)
    status, body, _ = await s.call("POST", "/v1/hook", json={
        "payload": '{"order": {"lines": [{"sku": "x1"}]}, "tags": ["a", "b"]}'})
    assert status == 200, body
    assert body == {"first": "x1", "again": '["a","b"]'}
    status, body, _ = await s.call("POST", "/v1/hook", json={"payload": '{"order": {"lines": []}}'})
    assert status == 422 and body["event"] == "n2" and body["event_kind"] == "json"
    assert body["error"] == ('JSON event n2: get: nothing at "order.lines[0].sku": "order.lines" '
                             "is a list of 0 items, with no [0]")
    status, body, _ = await s.call("POST", "/v1/hook", json={"payload": "{oops"})
    assert status == 422 and body["error"].startswith("JSON event n1: parse: `text` is not valid JSON")
