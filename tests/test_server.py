"""End to end over real loopback HTTP and a real SQLite file: the examples and every error path."""

import asyncio
import json

import aiohttp
import pytest
from conftest import EXAMPLES

from nodes import catalogue
from nodes.kind import EventKind, Port
from runtime.compiler import compile_project
from runtime.errors import ProjectError, StaleRevision
from runtime.project import Field, Project, Trigger, Variable
from runtime.projectfile import load

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL

SHOE = {"shoe_type": "Boot", "price": 89.5}


async def test_create_shoe_returns_the_row_and_writes_it(serve):
    s = await serve("shoes")
    status, body, headers = await s.call("POST", "/v1/create_shoe", json=SHOE)
    assert status == 200, body
    assert body["shoe_type"] == "Boot" and body["price"] == 89.5 and body["id"] == 1
    assert body["created_at"].endswith("Z")
    assert headers["Content-Type"].startswith("application/json")
    assert s.rows("select id, shoe_type, price from Shoes") == [(1, "Boot", 89.5)]


@pytest.mark.parametrize("kwargs, status, field", [
    ({"json": {"shoe_type": "Boot", "price": "abc"}}, 422, "body.price"),
    ({"json": {"shoe_type": "Boot", "prize": 3}}, 422, "body.prize"),
    ({"json": [1, 2]}, 422, "body"),
    ({"data": "{not json", "headers": {"content-type": "application/json"}}, 400, "body"),
    ({"data": "shoe_type=Boot", "headers": {"content-type": "text/plain"}}, 415, "body"),
])
async def test_bad_input_names_the_field_and_writes_nothing(serve, kwargs, status, field):
    s = await serve("shoes")
    got, body, _ = await s.call("POST", "/v1/create_shoe", **kwargs)
    assert got == status, body
    assert body["fields"][0]["field"] == field
    assert field in body["error"]
    assert s.rows("select count(*) from Shoes") == [(0,)]


async def test_unknown_path_wrong_method_and_oversized_body(serve):
    s = await serve("shoes", max_body=1000)
    status, body, _ = await s.call("GET", "/v1/nothing")
    assert status == 404 and "/v1/nothing" in body["error"]
    status, body, headers = await s.call("GET", "/v1/create_shoe")
    assert status == 405 and headers["Allow"] == "POST"
    status, body, _ = await s.call("POST", "/v1/create_shoe",
                                   json={"shoe_type": "x" * 5000, "price": 1})
    assert status == 413 and body["fields"][0]["field"] == "body"
    assert s.rows("select count(*) from Shoes") == [(0,)]


async def test_posts_crud_like_the_update_tutorial(serve):
    s = await serve("posts")
    for i in range(3):
        status, body, _ = await s.call("POST", "/v1/posts",
                                       json={"user": f"u{i}", "caption": f"c{i}", "likes": i})
        assert status == 201, body
    status, body, _ = await s.call("PUT", "/v1/posts/2", json={"caption": "Edited"})
    assert status == 200, body
    assert body["id"] == 2 and body["caption"] == "Edited" and body["user"] == "u1"
    assert s.rows("select caption, likes from Posts where id = 2") == [("Edited", 1)]
    assert s.rows("select caption from Posts where id != 2 order by id") == [("c0",), ("c2",)]

    status, body, _ = await s.call("PUT", "/v1/posts/99", json={"caption": "x"})
    assert status == 404 and "PostToUpdate" in body["error"]
    status, body, _ = await s.call("PUT", "/v1/posts/abc", json={"caption": "x"})
    assert status == 400 and body["fields"] == [
        {"field": "path.id", "message": 'expected a number, got "abc"'}]
    status, body, _ = await s.call("PUT", "/v1/posts/1 OR 1=1", json={"caption": "x"})
    assert status == 400
    assert s.rows("select count(*) from Posts where caption = 'x'") == [(0,)]

    status, body, _ = await s.call("GET", "/v1/posts", params={"limit": 2, "offset": 1})
    assert status == 200 and [p["id"] for p in body] == [2, 3]
    status, body, _ = await s.call("GET", "/v1/posts", params={"limit": "many"})
    assert status == 400 and body["fields"][0]["field"] == "query.limit"
    status, body, _ = await s.call("GET", "/v1/posts/3")
    assert status == 200 and body["caption"] == "c2"

    status, body, _ = await s.call("DELETE", "/v1/posts/3")
    assert status == 200 and body == {"deleted": 1, "id": 3}
    status, body, _ = await s.call("GET", "/v1/posts/3")
    assert status == 404
    assert s.rows("select id from Posts order by id") == [(1,), (2,)]


def failing_project() -> Project:
    p = Project(name="Failing")
    p.add_model("Shoes", [Field("shoe_type", "Text"), Field("price", "Decimal")])
    p.add_endpoint("Make", "POST", "/v1/make", [Variable("shoe", "Model", "body", model="Shoes")])
    a = p.add_action("Make two", Trigger("endpoint", endpoint="Make"), response_value="=second")
    n1 = a.add_event("create", model="Shoes", source="=body.shoe", **{"as": "first"})
    a.add_event("assign", after=n1.id, description="divide by the price",
                value="=100 / body.shoe.price", **{"as": "second"})
    return p


async def test_a_failing_event_rolls_back_the_whole_action(serve):
    s = await serve(failing_project())
    status, body, _ = await s.call("POST", "/v1/make", json={"shoe_type": "Boot", "price": 0})
    assert status == 500
    assert body["event"] == "n2" and body["event_kind"] == "assign" and body["action"] == "Make two"
    assert "Assign event n2 (divide by the price)" in body["error"]
    assert "division by zero" in body["error"]
    assert s.rows("select count(*) from Shoes") == [(0,)]
    status, body, _ = await s.call("POST", "/v1/make", json={"shoe_type": "Boot", "price": 4})
    assert status == 200 and body == 25
    assert s.rows("select count(*) from Shoes") == [(1,)]


async def test_unique_violation_is_a_409_and_rolls_back(serve):
    p = Project(name="Users")
    p.add_model("Users", [Field("email", "Text", unique=True, required=True)])
    p.add_endpoint("Sign up", "POST", "/v1/users", [Variable("email", "Text", "body")])
    a = p.add_action("Sign up", Trigger("endpoint", endpoint="Sign up"), response_value="=user")
    a.add_event("create", model="Users", values={"email": "=lower(body.email)"}, **{"as": "user"})
    s = await serve(p)
    assert (await s.call("POST", "/v1/users", json={"email": "A@x.org"}))[0] == 200
    status, body, _ = await s.call("POST", "/v1/users", json={"email": "a@X.org"})
    assert status == 409 and "already exists" in body["error"]
    status, body, _ = await s.call("POST", "/v1/users", json={})
    assert status == 422 and body["fields"][0]["field"] == "body.email"
    assert s.rows("select email from Users") == [("a@x.org",)]


async def slow_run(ctx, inputs, settings):
    """Write, then wait longer than the run may take."""
    await ctx.db.insert("Shoes", {"shoe_type": "slow"})
    await asyncio.sleep(inputs.get("seconds") or 1)
    return {}


SLOW = EventKind(id="slow", name="Slow", category="Test", doc="Waits; for the time-limit test.",
                 run=slow_run, inputs=(Port("seconds", "Number", "how long"),), writes=True)


async def test_a_run_that_takes_too_long_is_stopped_and_rolled_back(serve):
    p = Project(name="Slow")
    p.add_model("Shoes", [Field("shoe_type", "Text")])
    p.add_endpoint("Slow", "POST", "/v1/slow")
    a = p.add_action("Slow", Trigger("endpoint", endpoint="Slow"), response_value="done")
    a.add_event("slow", seconds=2)
    s = await serve(p, kinds={**catalogue(), "slow": SLOW}, timeout=0.3)
    status, body, _ = await s.call("POST", "/v1/slow")
    assert status == 504 and "longer than 0.3 s" in body["error"]
    assert s.rows("select count(*) from Shoes") == [(0,)]


async def test_condition_and_response_events_choose_the_answer(serve):
    p = Project(name="Prices")
    p.add_model("Shoes", [Field("shoe_type", "Text"), Field("price", "Decimal")])
    p.add_endpoint("Make", "POST", "/v1/make", [Variable("shoe", "Model", "body", model="Shoes")])
    a = p.add_action("Make", Trigger("endpoint", endpoint="Make"), response_value="=made",
                     response_status=201)
    cond = a.add_event("condition", value="=body.shoe.price >= 10")
    a.add_event("create", after=cond.id, port="true", model="Shoes", source="=body.shoe",
                **{"as": "made"})
    a.add_event("response", after=cond.id, port="false", status=422,
                value={"error": "too cheap", "price": "=body.shoe.price"})
    s = await serve(p)
    status, body, _ = await s.call("POST", "/v1/make", json={"shoe_type": "a", "price": 5})
    assert status == 422 and body == {"error": "too cheap", "price": 5}
    status, body, _ = await s.call("POST", "/v1/make", json={"shoe_type": "a", "price": 50})
    assert status == 201 and body["price"] == 50
    assert s.rows("select shoe_type, price from Shoes") == [("a", 50)]


async def test_query_with_where_order_and_csv_html_responses(serve):
    p = load(EXAMPLES / "posts.actiongraph.json")
    p.add_endpoint("Popular", "GET", "/v1/popular", [Variable("min", "Number", "query")],
                   response_type="csv")
    a = p.add_action("Popular", Trigger("endpoint", endpoint="Popular"), response_value="=top")
    a.add_event("query", model="Posts", order=[{"field": "likes", "dir": "desc"}],
                where={"and": [{"field": "likes", "op": ">=", "value": "=query.min"},
                               {"or": [{"field": "caption", "op": "contains", "value": "%"},
                                       {"field": "user", "op": "starts_with", "value": "a"}]}]},
                **{"as": "top"})
    p.add_endpoint("Page", "GET", "/v1/page/{id}", [Variable("id", "Number", "path")],
                   response_type="html")
    b = p.add_action("Page", Trigger("endpoint", endpoint="Page"), response_value="=post")
    b.add_event("query", model="Posts", one=True, if_none="404",
                where={"field": "id", "op": "=", "value": "=path.id"}, **{"as": "post"})
    s = await serve(p)
    for user, caption, likes in [("ann", "hi", 5), ("bob", "100%", 9), ("al", "yo", 1),
                                 ("cy", "<b>", 7)]:
        await s.call("POST", "/v1/posts", json={"user": user, "caption": caption, "likes": likes})
    status, text, headers = await s.call("GET", "/v1/popular", params={"min": 2})
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    lines = text.strip().split("\r\n")
    assert lines[0] == "id,created_at,user,caption,likes"
    assert [line.split(",")[2] for line in lines[1:]] == ["bob", "ann"]
    status, text, headers = await s.call("GET", "/v1/page/4")
    assert status == 200 and "&lt;b&gt;" in text and "<table>" in text
    status, body, _ = await s.call("GET", "/v1/page/40")
    assert status == 404 and body["event"] == "n1"


async def test_a_new_revision_is_swapped_in_without_restart(serve):
    p = load(EXAMPLES / "shoes.actiongraph.json")
    s = await serve(p)
    assert (await s.call("POST", "/v1/create_shoe", json=SHOE))[0] == 200
    p2 = load(EXAMPLES / "shoes.actiongraph.json")
    p2.endpoints[0].path = "/v2/shoes"
    p2.models[0].fields.append(Field("colour", "Text", id="f9"))
    p2.actions[0].events["n1"].settings["values"]["colour"] = "black"
    await s.host.deploy(p2, revision=2)
    assert (await s.call("POST", "/v1/create_shoe", json=SHOE))[0] == 404
    status, body, _ = await s.call("POST", "/v2/shoes", json=SHOE)
    assert status == 200 and body["colour"] == "black" and body["id"] == 2
    with pytest.raises(StaleRevision):
        await s.host.deploy(p, revision=2)
    broken = load(EXAMPLES / "shoes.actiongraph.json")
    broken.actions[0].events["n1"].settings["model"] = "Boots"
    with pytest.raises(ProjectError, match='unknown model "Boots"'):
        await s.host.deploy(broken, revision=3)
    assert (await s.call("POST", "/v2/shoes", json=SHOE))[0] == 200  # the last good one serves


async def test_concurrent_writes_all_land(serve):
    s = await serve("shoes")
    results = await asyncio.gather(*(s.call("POST", "/v1/create_shoe",
                                            json={"shoe_type": f"s{i}", "price": i})
                                     for i in range(40)))
    assert [r[0] for r in results] == [200] * 40
    assert s.rows("select count(distinct id) from Shoes") == [(40,)]


async def test_endpoint_without_action_answers_501(serve):
    p = Project(name="Empty")
    p.add_endpoint("Soon", "GET", "/v1/soon")
    s = await serve(p)
    status, body, _ = await s.call("GET", "/v1/soon")
    assert status == 501 and "Soon" in body["error"]


def test_plans_are_compiled_once_per_revision():
    compiled = compile_project(load(EXAMPLES / "posts.actiongraph.json"))
    plan = compiled.actions["Update social media post"]
    assert plan.start.next == {}
    assert json.dumps(plan.action.name)


async def test_multipart_form_with_a_file_and_a_header_variable(serve):
    p = Project(name="Uploads")
    p.add_model("Uploads", [Field("title", "Text"), Field("filename", "Text"), Field("size", "Integer")])
    p.add_endpoint("Upload", "POST", "/v1/uploads",
                   [Variable("title", "Text", "body"), Variable("file", "File", "body"),
                    Variable("x_client", "Text", "header")], request_type="multipart")
    a = p.add_action("Upload", Trigger("endpoint", endpoint="Upload"), response_value="=saved",
                     response_status=201)
    a.add_event("create", model="Uploads",
                values={"title": "=concat(body.title, ' from ', header.x_client)",
                        "filename": "=body.file.filename", "size": "=body.file.size"},
                **{"as": "saved"})
    s = await serve(p)
    form = aiohttp.FormData()
    form.add_field("title", "Report")
    form.add_field("file", b"hello world", filename="r.txt", content_type="text/plain")
    status, body, _ = await s.call("POST", "/v1/uploads", data=form, headers={"X-Client": "cli"})
    assert status == 201, body
    assert (body["title"], body["filename"], body["size"]) == ("Report from cli", "r.txt", 11)
    status, body, _ = await s.call("POST", "/v1/uploads", data=aiohttp.FormData({"title": "x"}))
    assert status == 400 and body["fields"][0]["field"] == "header.x_client"
    status, body, _ = await s.call("POST", "/v1/uploads", json={"title": "x"},
                                   headers={"X-Client": "cli"})
    assert status == 415
    assert s.rows("select count(*) from Uploads") == [(1,)]
