"""Text event: each operation, regular expressions' limits, and a real run over HTTP."""

import asyncio
import time

import pytest

from nodes.text import EVENT as TEXT
from runtime.errors import ActionError
from runtime.executor import Context
from runtime.project import Project, Trigger, Variable


async def text(operation, ignore_case=False, **inputs):
    settings = {"operation": operation, "ignore_case": ignore_case}
    return await TEXT.run(Context(db=None, fields={}), inputs, settings)


@pytest.mark.parametrize("operation, inputs, expected", [
    ("join", {"list": ["a", 1, None, True], "separator": ", "}, "a, 1, , true"),
    ("join", {"list": []}, ""),
    ("upper", {"text": "straße"}, "STRASSE"),
    ("lower", {"text": "ÉCOLE"}, "école"),
    ("trim", {"text": "  hi \n"}, "hi"),
    ("split", {"text": "a,b,,c", "separator": ","}, ["a", "b", "", "c"]),
    ("split", {"text": " a  b\tc ", "separator": ""}, ["a", "b", "c"]),
    ("slug", {"text": "  Crème Brûlée: the Straße & Œuvre! "}, "creme-brulee-the-strasse-oeuvre"),
    ("slug", {"text": "Ünïcödé 2024 — Ålesund"}, "unicode-2024-alesund"),
    ("slug", {"text": "日本"}, ""),
])
async def test_simple_operations(operation, inputs, expected):
    assert (await text(operation, **inputs))["result"] == expected


async def test_format_fills_names_and_nested_names():
    out = await text("format", text="Hi {name}, {{literal}} from {user.city}; {missing_ok}",
                     values={"name": "Ann", "user": {"city": "Oslo"}, "missing_ok": None})
    assert out["result"] == "Hi Ann, {literal} from Oslo; "
    out = await text("format", text="{n} items, {flag}, {obj}", values={"n": 3, "flag": False,
                                                                       "obj": {"a": [1]}})
    assert out["result"] == '3 items, false, {"a": [1]}'


@pytest.mark.parametrize("template, values, message", [
    ("Hello {nmae}", {"name": "Ann"},
     'format: the template uses {nmae}, but values has no "nmae" (it has: name)'),
    ("{user.town}", {"user": {"city": "Oslo"}},
     'format: the template uses {user.town}, but "user" has no "town" (it has: city)'),
    ("{user.city}", {"user": "Oslo"}, 'format: the template uses {user.city}, but "user" has no'),
    ("a { b", {}, 'format: unexpected "{" at character 3 of the template'),
    ("{0.__class__}", {}, 'format: unexpected "{" at character 1'),
    ("x", [1], "format: `values` must be an object of name: value, got a list"),
])
async def test_format_errors_name_the_problem(template, values, message):
    with pytest.raises(ActionError) as e:
        await text("format", text=template, values=values)
    assert e.value.message.startswith(message)


async def test_regex_match_gives_matched_and_groups():
    out = await text("regex_match", text="order 2024-05 shipped", pattern=r"(\d{4})-(\d{2})(x)?")
    assert out == {"result": "2024-05", "matched": True, "groups": ["2024", "05", None]}
    out = await text("regex_match", text="no date", pattern=r"\d+")
    assert out == {"result": None, "matched": False, "groups": []}
    out = await text("regex_match", text="HELLO", pattern="hello", ignore_case=True)
    assert out["matched"] is True


async def test_regex_replace_with_groups_and_names():
    out = await text("regex_replace", text="2024-05-31 and 2023-01-02",
                     pattern=r"(?P<y>\d{4})-(\d{2})-(\d{2})", replacement=r"\3/\2/\g<y>")
    assert out["result"] == "31/05/2024 and 02/01/2023"
    out = await text("regex_replace", text="a  b   c", pattern=r"\s+")
    assert out["result"] == "abc"


@pytest.mark.parametrize("inputs, message", [
    ({"text": "x", "pattern": "(unclosed"},
     'regex_match: `pattern` "(unclosed" is not a valid regular expression: missing )'),
    ({"text": "x", "pattern": "a" * 201}, "regex_match: `pattern` is 201 characters long; at most 200"),
    ({"text": "x" * 100_001, "pattern": "x"},
     "regex_match: `text` is 100,001 characters long; a regular expression runs on at most 100,000"),
    ({"text": None, "pattern": "x"}, "regex_match: `text` must be text, got null"),
])
async def test_regex_limits_and_bad_patterns(inputs, message):
    with pytest.raises(ActionError) as e:
        await text("regex_match", **inputs)
    assert e.value.message.startswith(message)


async def test_a_backtracking_pattern_is_stopped_without_blocking_the_loop():
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    running = asyncio.create_task(ticker())
    started = time.perf_counter()
    with pytest.raises(ActionError) as e:
        await text("regex_match", text="a" * 40 + "!", pattern=r"(a|aa)+$")
    took = time.perf_counter() - started
    running.cancel()
    assert "took longer than 0.5 s and was stopped" in e.value.message
    assert took < 3 and ticks >= 10  # the event loop kept serving meanwhile


async def test_regex_replace_refuses_a_huge_result_and_a_bad_replacement():
    with pytest.raises(ActionError) as e:
        await text("regex_replace", text="x" * 1000, pattern="", replacement="y" * 2000)
    assert "longer than 1,000,000 characters" in e.value.message
    with pytest.raises(ActionError) as e:
        await text("regex_replace", text="ab", pattern="(a)", replacement=r"\2")
    assert e.value.message.startswith(r'regex_replace: `replacement` "\2" is not valid')


async def test_text_over_http_with_outputs_stored_as_variables(serve):
    p = Project(name="Text")
    p.add_endpoint("Post", "POST", "/v1/posts", [Variable("title", "Text", "body"),
                                                 Variable("author", "Text", "body")])
    a = p.add_action("Post", Trigger("endpoint", endpoint="Post"),
                     response_value={"slug": "=slug", "intro": "=intro", "year": "=found",
                                     "groups": "=parts"})
    n1 = a.add_event("text", operation="slug", text="=body.title", **{"as": "slug"})
    n2 = a.add_event("text", after=n1.id, operation="format", text="{who} wrote \"{title}\"",
                     values={"who": "=body.author", "title": "=body.title"}, **{"as": "intro"})
    a.add_event("text", after=n2.id, operation="regex_match", text="=body.title",
                pattern=r"(\d{4})", matched_as="found", groups_as="parts")
    s = await serve(p)
    status, body, _ = await s.call("POST", "/v1/posts",
                                   json={"title": "Best of 2024: Déjà vu", "author": "Zoé"})
    assert status == 200, body
    assert body == {"slug": "best-of-2024-deja-vu", "intro": 'Zoé wrote "Best of 2024: Déjà vu"',
                    "year": True, "groups": ["2024"]}

    n2 = a.events["n2"]
    n2.settings["text"] = "{who} wrote {titel}"
    s = await serve(p)
    status, body, _ = await s.call("POST", "/v1/posts", json={"title": "x", "author": "y"})
    assert status == 500 and body["event"] == "n2"
    assert body["error"] == ('Text event n2: format: the template uses {titel}, but values has '
                             'no "titel" (it has: title, who)')
