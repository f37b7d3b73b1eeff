"""Dummy data: kinds and name hints give the right shapes, a seed repeats, requests are accepted."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from conftest import EXAMPLES

from runtime.dummy import Dummy, to_http
from runtime.project import Field, Project, Variable
from runtime.projectfile import load
from runtime.store import Store

pytestmark = pytest.mark.both_databases  # SQLite and PostgreSQL

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def test_name_hints_choose_the_shape():
    d = Dummy(seed=7)
    for _ in range(20):
        assert EMAIL.match(d.value("Text", "email"))
        assert EMAIL.match(d.value("Text", "contactEmail"))
        price = d.value("Decimal", "price")
        assert isinstance(price, float) and Decimal(str(price)).as_tuple().exponent == -2
        assert Decimal(str(d.value("Number", "total_amount"))).as_tuple().exponent == -2
        assert isinstance(d.value("Integer", "age"), int) and 18 <= d.value("Integer", "age") <= 80
        stock = d.value("Number", "stock")
        assert isinstance(stock, int) and 0 <= stock <= 100
        assert d.value("Integer", "author_id") == 1 and d.value("Number", "id") == 1
        password = d.value("Text", "password")
        assert len(password) >= 12 and re.search(r"\d", password) and re.search(r"[A-Z]", password)
        assert d.value("Text", "avatar").startswith("https://")
        assert d.value("Text", "website").startswith(("http://", "https://"))
        assert re.fullmatch(r"[a-z0-9-]+", d.value("Text", "slug"))
        assert isinstance(dt.date.fromisoformat(d.value("Date", "birthday")), dt.date)
        assert dt.datetime.fromisoformat(d.value("DateTime", "created_at")).tzinfo is not None
        assert dt.datetime.fromisoformat(d.value("Text", "published_at"))
        assert dt.date.fromisoformat(d.value("Text", "due_date"))
    names = {d.value("Text", "first_name") for _ in range(5)}
    assert all(isinstance(n, str) and n and " " not in n for n in names)
    assert " " in d.value("Text", "full_name")
    assert len(d.value("Text", "description")) > len(d.value("Text", "title")) > 0


def test_kinds_have_fallbacks_of_the_right_type():
    d = Dummy(seed=3)
    assert isinstance(d.value("Boolean", "published"), bool)
    assert isinstance(d.value("Number", "whatever"), int)
    assert isinstance(d.value("Decimal", "whatever"), float)
    assert isinstance(d.value("Integer", "whatever"), int)
    assert isinstance(d.value("JSON", "meta"), dict) and d.value("JSON", "meta")
    tags = d.value("List", "tags")
    assert isinstance(tags, list) and len(tags) == 3 and all(isinstance(t, str) for t in tags)
    assert isinstance(d.value("Text", "zzz"), str) and d.value("Text", "zzz")
    assert d.value("Link", "owner") is None
    # the field's own kind wins over the kind passed in
    assert isinstance(d.value("Text", "likes", Field("likes", "Integer")), int)


def test_a_seed_repeats_and_no_seed_varies():
    project = load(EXAMPLES / "posts.actiongraph.json")
    posts = project.model("Posts")
    first = [Dummy(seed=42).row(posts, project) for _ in range(2)]
    assert first[0] == first[1]
    a, b = Dummy(seed=42), Dummy(seed=42)
    assert [a.value("Text", "email") for _ in range(5)] == [b.value("Text", "email") for _ in range(5)]
    assert {Dummy().value("Text", "description") for _ in range(5)} != {first[0]["caption"]}


def test_rows_link_to_existing_ids_and_keep_unique_fields_unique():
    project = Project()
    project.add_model("Users", [Field("email", "Text", unique=True), Field("active", "Boolean")])
    project.add_model("Orders", [Field("buyer", "Link", link="Users"), Field("total", "Decimal")])
    d = Dummy(seed=1)
    orders = project.model("Orders")
    assert d.row(orders, project)["buyer"] is None
    assert {d.row(orders, project, existing_ids={"Users": [4, 9]})["buyer"] for _ in range(20)} \
        <= {4, 9}
    taken: dict = {}
    emails = [d.row(project.model("Users"), project, taken=taken)["email"] for _ in range(300)]
    assert len(set(emails)) == 300
    row = d.row(project.model("Users"), project)
    assert set(row) == {"email", "active"}


def test_request_fills_every_variable_but_files():
    project = load(EXAMPLES / "posts.actiongraph.json")
    d = Dummy(seed=5)
    for endpoint in project.endpoints:
        request = d.request(endpoint, project)
        assert set(request) == {"path", "query", "header", "body"}
        for v in endpoint.variables:
            if v.required:
                assert request[v.location].get(v.name) not in (None, ""), (endpoint.name, v.name)
    update = d.request(project.endpoint("Update social media post"), project)
    assert update["path"] == {"id": 1}
    assert set(update["body"]["post"]) == {"caption"}  # a Custom Model gives its chosen fields
    create = d.request(project.endpoint("Create post"), project)
    assert set(create["body"]["post"]) == {"user", "caption", "likes"}

    endpoint = project.add_endpoint("Upload", "POST", "/v1/upload/{slug}", [
        Variable("slug", "Text", "path"), Variable("picture", "File", "body"),
        Variable("x_client", "Text", "header"), Variable("tags", "List", "body")],
        request_type="multipart")
    request = d.request(endpoint, project)
    assert "picture" not in request["body"] and isinstance(request["body"]["tags"], list)
    http = to_http(endpoint, request)
    assert http["path"].startswith("/v1/upload/") and "{" not in http["path"]
    assert set(http["headers"]) == {"x-client"}


@pytest.mark.parametrize("name", ["posts", "shoes"])
async def test_the_real_server_accepts_filled_requests(serve, name):
    project = load(EXAMPLES / f"{name}.actiongraph.json")
    s = await serve(project)
    d = Dummy(seed=11)
    # create first, so the path ids (1) of the other endpoints find a record
    ordered = sorted(project.endpoints, key=lambda e: (e.method != "POST", e.method == "DELETE"))
    for endpoint in ordered:
        http = to_http(endpoint, d.request(endpoint, project))
        kwargs = {"params": http["params"], "headers": http["headers"]}
        if http["json"] or endpoint.method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = http["json"]
        status, body, _ = await s.call(endpoint.method, http["path"], **kwargs)
        assert 200 <= status < 300, (endpoint.name, http, body)


async def test_rows_are_accepted_by_the_store(database):
    project = load(EXAMPLES / "signup.actiongraph.json")
    store = Store(database.url("d"), project)
    await store.open(project)
    d, taken = Dummy(seed=2), {}
    try:
        async with store.transaction() as tx:
            for model in project.models:
                for _ in range(50):
                    await tx.insert(model.name, d.row(model, project, taken=taken))
        async with store.transaction(writes=False) as tx:
            for model in project.models:
                assert await tx.count(model.name) == 50
    finally:
        await store.close()
