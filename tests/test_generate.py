"""The API generator: what it adds to a project, and the generated API over real HTTP."""

import time

import pytest
from conftest import EXAMPLES

from runtime import cli
from runtime.compiler import check_project
from runtime.errors import Problem
from runtime.generate import GenerateError, GenerateReport, generate_api
from runtime.project import Field, GlobalVariable, Project, Trigger, Variable, from_data, to_data
from runtime.projectfile import dumps, load, loads
from runtime.store import build_metadata
from runtime.where import compile_where, describe

OPERATIONS = [("List Shoes", "GET", "/v1/shoes"), ("Get Shoe", "GET", "/v1/shoes/{id}"),
              ("Create Shoe", "POST", "/v1/shoes"), ("Replace Shoe", "PUT", "/v1/shoes/{id}"),
              ("Update Shoe", "PATCH", "/v1/shoes/{id}"),
              ("Delete Shoe", "DELETE", "/v1/shoes/{id}")]


def shoes() -> Project:
    return load(EXAMPLES / "shoes.actiongraph.json")


def shop() -> Project:
    """Two models with every kind of field a list can filter on, required and unique ones."""
    p = Project(name="Shop")
    p.add_model("Brands", [Field("name", "Text", required=True, unique=True)])
    p.add_model("Products", [
        Field("name", "Text", required=True),
        Field("sku", "Text", unique=True),
        Field("stock", "Integer", default=0),
        Field("price", "Decimal"),
        Field("active", "Boolean", default=True),
        Field("released", "Date"),
        Field("brand", "Link", link="Brands"),
        Field("specs", "JSON"),
    ])
    return p


# -- what is added to the project ------------------------------------------------------------

def test_generate_for_the_shoes_example_adds_six_endpoints_and_actions():
    p = shoes()
    report = generate_api(p, "Shoes")
    assert isinstance(report, GenerateReport) and report.changed
    assert report.model == "Shoes" and report.path == "/v1/shoes"
    assert [(i.what, i.name) for i in report.created] == [
        (what, name) for name, _m, _p in OPERATIONS for what in ("endpoint", "action")]
    assert report.skipped == [] and report.notes == []
    assert check_project(p) == []
    # The example's own endpoint is still there, first, untouched.
    assert [(e.name, e.method, e.path) for e in p.endpoints] == \
        [("Create new shoe", "POST", "/v1/create_shoe")] + OPERATIONS
    for name, _method, _path in OPERATIONS:
        action = p.action(name)
        assert action.trigger == Trigger("endpoint", endpoint=name)
        # Laid out left to right: the trigger, then each event a step further right.
        assert action.positions["trigger"] == (0, 0)
        assert sorted(action.positions) == sorted(["trigger", *action.events])
        xs = [action.positions[e][0] for e in action.events]
        assert xs == sorted(xs) and all(x > 0 for x in xs)
        assert {y for _x, y in action.positions.values()} == {0}
    listing = p.endpoint("List Shoes")
    assert [(v.name, v.location, v.kind, v.required) for v in listing.variables] == [
        ("limit", "query", "Number", False), ("offset", "query", "Number", False),
        ("sort", "query", "Text", False), ("shoe_type", "query", "Text", False),
        ("price", "query", "Number", False)]
    query = p.action("List Shoes").events["n1"]
    assert query.kind == "query" and query.settings["sort"] == "=query.sort"
    assert query.settings["where"] == {"and": [
        {"field": "shoe_type", "op": "=", "value": "=query.shoe_type", "optional": True},
        {"field": "price", "op": "=", "value": "=query.price", "optional": True}]}
    assert p.action("Create Shoe").response_status == 201
    assert p.action("Delete Shoe").response_status == 204
    assert p.endpoint("Update Shoe").variables[1].kind == "Custom Model"
    assert report.lines()[0] == "Shoes (/v1/shoes): created 6 endpoints and 6 actions, " \
                                "skipped nothing"


def test_the_generated_project_round_trips_and_passes_the_schema():
    p = shoes()
    generate_api(p, "Shoes")
    data = to_data(p)
    assert to_data(from_data(data)) == data
    text = dumps(p)
    again = loads(text)  # checked against the JSON Schema on the way
    assert dumps(again) == text
    assert check_project(again) == []


def test_generating_again_adds_nothing_and_reports_every_item_skipped():
    p = shoes()
    generate_api(p, "Shoes")
    before = dumps(p)
    report = generate_api(p, "Shoes")
    assert not report.changed and report.created == []
    assert [(i.what, i.name) for i in report.skipped] == [
        (what, name) for name, _m, _p in OPERATIONS for what in ("endpoint", "action")]
    assert str(report.skipped[0]) == 'endpoint "List Shoes": GET /v1/shoes exists ' \
                                     '(endpoint "List Shoes")'
    assert dumps(p) == before


def test_existing_endpoints_and_names_are_left_alone():
    p = load(EXAMPLES / "posts.actiongraph.json")
    before = {e.name: (e.method, e.path) for e in p.endpoints}
    report = generate_api(p, "Posts")
    # Only PATCH is new: the example has list, create, get, PUT and delete already.
    assert [(i.what, i.name) for i in report.created] == [("endpoint", "Update Post"),
                                                          ("action", "Update Post")]
    skipped = {i.name: i.detail for i in report.skipped if i.what == "endpoint"}
    assert skipped["Replace Post"] == 'PUT /v1/posts/{id} exists (endpoint "Update social media post")'
    assert {e.name: (e.method, e.path) for e in p.endpoints if e.name in before} == before
    assert check_project(p) == []
    # A name taken by an action (or an endpoint elsewhere) skips the operation too.
    q = shoes()
    q.add_action("Get Shoe", Trigger("action"))
    q.add_endpoint("Delete Shoe", "POST", "/v1/remove_shoe")
    report = generate_api(q, "Shoes")
    assert {i.name for i in report.skipped} == {"Get Shoe", "Delete Shoe"}
    assert q.endpoint("Get Shoe") is None and q.endpoint("Delete Shoe").path == "/v1/remove_shoe"
    assert check_project(q) == []


def test_an_unknown_model_is_an_error_naming_the_models():
    p = shoes()
    before = dumps(p)
    with pytest.raises(GenerateError, match=r'unknown model "Shoe" \(models: "Shoes"\)'):
        generate_api(p, "Shoe")
    assert dumps(p) == before


@pytest.mark.parametrize("model, path, one", [
    ("order_items", "/v1/order-items", "Get order item"),
    ("OrderItems", "/v1/order-items", "Get OrderItem"),
    ("Categories", "/v1/categories", "Get Category"),
    ("Addresses", "/v1/addresses", "Get Address"),
    ("Sheep", "/v1/sheep", "Get Sheep"),
    ("Classes", "/v1/classes", "Get Class"),
])
def test_names_and_paths(model, path, one):
    p = Project()
    p.add_model(model, [Field("title", "Text"), Field("from", "Integer"), Field("limit", "Integer")])
    report = generate_api(p, model)
    assert report.path == path
    assert p.endpoint(one).path == path + "/{id}"
    assert len({e.name for e in p.endpoints}) == 6
    # "limit" is the paging parameter, so it is not a filter; a keyword field still is.
    assert any("limit" in note for note in report.notes)
    assert [v.name for v in p.endpoints[0].variables] == ["limit", "offset", "sort", "title", "from"]
    assert check_project(p) == []


def test_a_model_without_fields_gets_no_replace_or_update():
    p = Project()
    p.add_model("Pings")
    report = generate_api(p, "Pings")
    assert [e.method for e in p.endpoints] == ["GET", "GET", "POST", "DELETE"]
    assert report.notes and check_project(p) == []


def test_generate_only_changes_the_project_it_is_given():
    p = shop()
    models = to_data(p)["models"]
    generate_api(p, "Products")
    generate_api(p, "Brands")
    assert to_data(p)["models"] == models
    assert check_project(p) == []
    replace = p.action("Replace Product").events["n1"].settings["values"]
    assert replace["stock"] == "=coalesce(body.product.stock, 0)"
    assert replace["active"] == "=coalesce(body.product.active, true)"
    assert replace["name"] == "=body.product.name"


# -- optional Where conditions ---------------------------------------------------------------

def _compiled(where):
    p = shop()
    problems: list[Problem] = []
    model = p.model("Products")

    def value(raw, _where):
        if isinstance(raw, str) and raw.startswith("="):
            name = raw[1:]
            return lambda scope: scope.get(name)
        return lambda scope: raw

    compiled = compile_where(where, model, "where", value, problems)

    def resolver(scope, table):  # the filter's SQL clause, its values bound
        found = compiled(scope, table)
        return None if found is None else found.clause(table)

    table = build_metadata(p.models).tables["Products"]
    return resolver, table, problems


def _sql(clause) -> str | None:
    return None if clause is None else str(clause.compile(compile_kwargs={"literal_binds": True}))


def test_an_optional_condition_is_left_out_when_its_value_is_null():
    where = {"and": [{"field": "name", "op": "=", "value": "=name", "optional": True},
                     {"field": "stock", "op": ">", "value": "=stock", "optional": True}]}
    resolver, table, problems = _compiled(where)
    assert problems == []
    assert _sql(resolver({}, table)) is None  # nothing given: no filter at all
    assert _sql(resolver({"name": "Boot"}, table)) == '"Products".name = \'Boot\''
    both = _sql(resolver({"name": "Boot", "stock": 3}, table))
    assert both == '"Products".name = \'Boot\' AND "Products".stock > 3'
    # Without the flag a null value still means "is null", as before.
    resolver, table, _ = _compiled({"field": "name", "op": "=", "value": "=name"})
    assert _sql(resolver({}, table)) == '"Products".name IS NULL'
    # Or-groups and not drop out the same way.
    resolver, table, _ = _compiled({"not": {"or": [
        {"field": "name", "op": "=", "value": "=name", "optional": True}]}})
    assert _sql(resolver({}, table)) is None
    assert _sql(resolver({"name": "x"}, table)) == '"Products".name != \'x\''
    assert describe(where) == "(name = name (if given)) and (stock > stock (if given))"


def test_a_bad_optional_flag_is_a_problem():
    _r, _t, problems = _compiled({"field": "name", "op": "is_null", "optional": True})
    assert [p.where for p in problems] == ["where.optional"]
    _r, _t, problems = _compiled({"field": "name", "op": "=", "value": "x", "optional": "yes"})
    assert [(p.where, p.message) for p in problems] == [("where.optional", "expected true or false")]


@pytest.mark.both_databases
async def test_a_model_variable_whose_optional_filter_is_left_out_loads_nothing(serve):
    p = shop()
    p.add_endpoint("Find", "GET", "/v1/find", [Variable("sku", "Text", "query", required=False)])
    a = p.add_action("Find", Trigger("endpoint", endpoint="Find"), response_value="=Found")
    a.variables.append(GlobalVariable("Found", "Model", model="Products", required=True, where={
        "field": "sku", "op": "=", "value": "=query.sku", "optional": True}))
    generate_api(p, "Products")
    s = await serve(p)
    assert (await s.call("POST", "/v1/products", json={"name": "Boot", "sku": "B1"}))[0] == 201
    status, body, _ = await s.call("GET", "/v1/find?sku=B1")
    assert status == 200 and body["name"] == "Boot"
    status, body, _ = await s.call("GET", "/v1/find")  # not the first record: none
    assert status == 404 and "sku = query.sku (if given)" in body["error"]


# -- the generated API over HTTP -------------------------------------------------------------

PRODUCTS = [
    {"name": "Boot", "sku": "B1", "stock": 5, "price": 89.5, "active": True,
     "released": "2024-01-10", "brand": 1, "specs": {"size": 42}},
    {"name": "Sandal", "sku": "S1", "stock": 0, "price": 20, "active": False,
     "released": "2024-03-01", "brand": 2},
    {"name": "Sneaker", "sku": "K1", "stock": 12, "price": 120.25, "active": True,
     "released": "2023-11-05", "brand": 1},
    {"name": "Loafer", "sku": "L1", "price": 75},  # stock and active take their defaults
]


async def _shop(serve):
    p = shop()
    generate_api(p, "Brands")
    generate_api(p, "Products")
    s = await serve(p)
    for name in ("Acme", "Zenith"):
        status, body, _ = await s.call("POST", "/v1/brands", json={"name": name})
        assert status == 201, body
    for product in PRODUCTS:
        status, body, _ = await s.call("POST", "/v1/products", json=product)
        assert status == 201, body
    return s


async def _ids(s, query: str = "") -> list[int]:
    status, body, _ = await s.call("GET", "/v1/products" + query)
    assert status == 200, body
    return [r["id"] for r in body]


@pytest.mark.both_databases
async def test_create_answers_201_and_writes_the_row(serve):
    s = await _shop(serve)
    status, body, _ = await s.call("POST", "/v1/products", json={
        "name": "Clog", "sku": "C1", "stock": 3, "price": "12.5", "released": "2024-05-31",
        "brand": 2, "specs": {"wood": True}})
    assert status == 201, body
    assert body["id"] == 5 and body["name"] == "Clog" and body["price"] == 12.5
    assert body["active"] is True and body["released"] == "2024-05-31" and body["brand"] == 2
    assert body["created_at"].endswith("Z")
    assert s.rows("select name, sku, stock, brand from Products where id = ?", 5) == \
        [("Clog", "C1", 3, 2)]
    loafer = s.rows("select stock, active from Products where sku = 'L1'")
    assert loafer[0][0] == 0 and bool(loafer[0][1]) is True  # the defaults


@pytest.mark.both_databases
@pytest.mark.parametrize("body, status, field", [
    ({"sku": "X1"}, 422, "body.name"),  # required
    ({"name": "X", "stock": "many"}, 422, "body.stock"),
    ({"name": "X", "active": "maybe"}, 422, "body.active"),
    ({"name": "X", "released": "31/05/2024"}, 422, "body.released"),
    ({"name": "X", "colour": "red"}, 422, "body.colour"),  # not a field
])
async def test_create_refuses_bad_input_naming_the_field(serve, body, status, field):
    s = await _shop(serve)
    got, answer, _ = await s.call("POST", "/v1/products", json=body)
    assert got == status, answer
    assert answer["fields"][0]["field"] == field and field in answer["error"]
    assert s.rows("select count(*) from Products") == [(4,)]


@pytest.mark.both_databases
async def test_create_refuses_duplicates_and_links_to_nothing(serve):
    s = await _shop(serve)
    status, body, _ = await s.call("POST", "/v1/products", json={"name": "X", "sku": "B1"})
    assert status == 409, body
    status, body, _ = await s.call("POST", "/v1/products", json={"name": "X", "brand": 99})
    assert status == 422 and "link" in body["error"], body
    status, body, _ = await s.call("POST", "/v1/brands", json={"name": "Acme"})
    assert status == 409, body
    assert s.rows("select count(*) from Products") == [(4,)]


@pytest.mark.both_databases
async def test_list_pages_sorts_and_filters(serve):
    s = await _shop(serve)
    status, body, _ = await s.call("GET", "/v1/products")
    assert status == 200 and [r["name"] for r in body] == ["Boot", "Sandal", "Sneaker", "Loafer"]
    assert body[0]["specs"] == {"size": 42} and body[0]["released"] == "2024-01-10"
    # Paging.
    assert await _ids(s, "?limit=2") == [1, 2]
    assert await _ids(s, "?limit=2&offset=2") == [3, 4]
    assert await _ids(s, "?offset=3") == [4]
    assert await _ids(s, "?offset=10") == []
    # Sorting, ascending and descending; ties are broken by id so pages are stable.
    assert await _ids(s, "?sort=price") == [2, 4, 1, 3]
    assert await _ids(s, "?sort=-price") == [3, 1, 4, 2]
    assert await _ids(s, "?sort=name") == [1, 4, 2, 3]
    assert await _ids(s, "?sort=-stock") == [3, 1, 2, 4]
    assert await _ids(s, "?sort=-stock&limit=2&offset=2") == [2, 4]
    assert await _ids(s, "?sort=active,-price") == [2, 3, 1, 4]
    assert await _ids(s, "?sort=-id") == [4, 3, 2, 1]
    # Filters: equality on each kind, only when given, combined with and.
    assert await _ids(s, "?active=false") == [2]
    assert await _ids(s, "?active=true") == [1, 3, 4]
    assert await _ids(s, "?brand=1") == [1, 3]
    assert await _ids(s, "?stock=0") == [2, 4]
    assert await _ids(s, "?name=Boot") == [1]
    assert await _ids(s, "?released=2024-03-01") == [2]
    assert await _ids(s, "?price=89.5") == [1]
    assert await _ids(s, "?name=Nothing") == []
    assert await _ids(s, "?brand=1&sort=-price") == [3, 1]
    assert await _ids(s, "?brand=1&active=true&limit=1&offset=1") == [3]


@pytest.mark.both_databases
async def test_list_limits_are_clamped(serve):
    s = await _shop(serve)
    assert await _ids(s, "?limit=-5") == []
    assert await _ids(s, "?limit=5000") == [1, 2, 3, 4]
    assert await _ids(s, "?limit=2.7") == [1, 2]
    assert await _ids(s, "?offset=-3") == [1, 2, 3, 4]
    assert await _ids(s, "?offset=1e30") == []
    assert await _ids(s, "?offset=99999999999999999999999999") == []
    started = time.perf_counter()
    assert await _ids(s, "?limit=1e999999&offset=1e999999") == []
    assert time.perf_counter() - started < 2


@pytest.mark.both_databases
@pytest.mark.parametrize("query, status, words", [
    ("?sort=colour", 422, ['cannot sort by "colour"', "id, created_at, name, sku, stock, price, "
                                                      "active, released, brand;"]),
    ("?sort=specs", 422, ['cannot sort by "specs"']),  # JSON fields do not sort
    ("?sort=name;drop table Products", 422, ['cannot sort by "name;drop table Products"']),
    ("?sort=price,-nope", 422, ['cannot sort by "nope"']),
    ("?limit=abc", 400, ["query.limit"]),
    ("?active=maybe", 400, ["query.active"]),
    ("?released=yesterday", 400, ["query.released"]),
    ("?brand=x", 400, ["query.brand"]),
])
async def test_list_refuses_bad_parameters(serve, query, status, words):
    s = await _shop(serve)
    got, body, _ = await s.call("GET", "/v1/products" + query)
    assert got == status, body
    for word in words:
        assert word in body["error"]
    assert s.rows("select count(*) from Products") == [(4,)]


@pytest.mark.both_databases
async def test_get_by_id(serve):
    s = await _shop(serve)
    status, body, _ = await s.call("GET", "/v1/products/3")
    assert status == 200 and body["name"] == "Sneaker" and body["price"] == 120.25
    status, body, _ = await s.call("GET", "/v1/products/99")
    assert status == 404 and "no Products record" in body["error"]
    status, body, _ = await s.call("GET", "/v1/products/abc")
    assert status == 400 and body["fields"][0]["field"] == "path.id"
    # Numbers far too large for an id are refused at once (not turned into a huge int first).
    started = time.perf_counter()
    for path in ("/v1/products/1e999999", "/v1/products?stock=1e999999"):
        status, body, _ = await s.call("GET", path)
        assert status == 422 and "expected a whole number from" in body["error"], body
    assert time.perf_counter() - started < 2


@pytest.mark.both_databases
async def test_put_replaces_every_field(serve):
    s = await _shop(serve)
    status, body, _ = await s.call("PUT", "/v1/products/1", json={"name": "Boot II", "sku": "B2",
                                                                  "price": 99})
    assert status == 200, body
    # Fields left out get their default (stock, active) or none.
    assert {k: body[k] for k in ("id", "name", "sku", "stock", "price", "active", "released",
                                 "brand", "specs")} == {
        "id": 1, "name": "Boot II", "sku": "B2", "stock": 0, "price": 99, "active": True,
        "released": None, "brand": None, "specs": None}
    assert s.rows("select name, sku, stock, brand from Products where id = 1") == \
        [("Boot II", "B2", 0, None)]
    status, body, _ = await s.call("PUT", "/v1/products/1", json={"sku": "B3"})
    assert status == 422 and body["fields"][0]["field"] == "body.name"
    status, body, _ = await s.call("PUT", "/v1/products/99", json={"name": "X"})
    assert status == 404, body
    status, body, _ = await s.call("PUT", "/v1/products/1", json={"name": "X", "sku": "S1"})
    assert status == 409, body
    assert s.rows("select name, sku from Products where id = 1") == [("Boot II", "B2")]


@pytest.mark.both_databases
async def test_patch_changes_only_the_given_fields(serve):
    s = await _shop(serve)
    _, before, _ = await s.call("GET", "/v1/products/3")
    status, after, _ = await s.call("PATCH", "/v1/products/3", json={"stock": 7, "price": 110})
    assert status == 200, after
    assert after == {**before, "stock": 7, "price": 110}
    assert s.rows("select name, sku, stock, brand from Products where id = 3") == \
        [("Sneaker", "K1", 7, 1)]
    status, same, _ = await s.call("PATCH", "/v1/products/3", json={})
    assert status == 200 and same == after
    status, cleared, _ = await s.call("PATCH", "/v1/products/3", json={"released": None})
    assert status == 200 and cleared["released"] is None and cleared["stock"] == 7
    status, body, _ = await s.call("PATCH", "/v1/products/3", json={"name": None})
    assert status == 422 and "name" in body["error"], body
    status, body, _ = await s.call("PATCH", "/v1/products/3", json={"stock": "lots"})
    assert status == 422 and body["fields"][0]["field"] == "body.stock"
    status, body, _ = await s.call("PATCH", "/v1/products/3", json={"colour": "red"})
    assert status == 422 and body["fields"][0]["field"] == "body.colour"
    status, body, _ = await s.call("PATCH", "/v1/products/3", json={"sku": "B1"})
    assert status == 409, body
    status, body, _ = await s.call("PATCH", "/v1/products/99", json={"stock": 1})
    assert status == 404, body
    assert s.rows("select name, sku, stock from Products where id = 3") == [("Sneaker", "K1", 7)]


@pytest.mark.both_databases
async def test_delete_answers_204_then_404(serve):
    s = await _shop(serve)
    status, body, _ = await s.call("DELETE", "/v1/products/2")
    assert status == 204 and body == ""
    assert s.rows("select count(*) from Products where id = 2") == [(0,)]
    assert (await s.call("GET", "/v1/products/2"))[0] == 404
    status, body, _ = await s.call("DELETE", "/v1/products/2")
    assert status == 404 and "no Products record" in body["error"]
    assert await _ids(s) == [1, 3, 4]


@pytest.mark.both_databases
async def test_the_shoes_example_with_its_generated_api(serve):
    p = shoes()
    generate_api(p, "Shoes")
    s = await serve(p)
    status, body, _ = await s.call("POST", "/v1/create_shoe", json={"shoe_type": "Boot",
                                                                    "price": 89.5})
    assert status == 200, body  # the example's own endpoint still works
    status, body, _ = await s.call("POST", "/v1/shoes", json={"shoe_type": "Sandal", "price": 20})
    assert status == 201 and body["id"] == 2
    status, body, _ = await s.call("GET", "/v1/shoes?sort=-price")
    assert status == 200 and [r["shoe_type"] for r in body] == ["Boot", "Sandal"]
    assert await _shoe_ids(s, "?shoe_type=Sandal") == [2]
    status, body, _ = await s.call("PATCH", "/v1/shoes/1", json={"price": 79})
    assert status == 200 and body["shoe_type"] == "Boot" and body["price"] == 79
    status, body, _ = await s.call("PUT", "/v1/shoes/1", json={"shoe_type": "Clog"})
    assert status == 200 and body["price"] is None
    assert (await s.call("DELETE", "/v1/shoes/2"))[0] == 204
    assert s.rows("select id, shoe_type, price from Shoes") == [(1, "Clog", None)]


async def _shoe_ids(s, query: str) -> list[int]:
    status, body, _ = await s.call("GET", "/v1/shoes" + query)
    assert status == 200, body
    return [r["id"] for r in body]


# -- the command line --------------------------------------------------------------------------

def test_the_generate_api_command_saves_the_file(tmp_path, capsys):
    path = tmp_path / "shoes.actiongraph.json"
    path.write_text((EXAMPLES / "shoes.actiongraph.json").read_text())
    assert cli.main(["generate-api", str(path), "Shoes"]) == 0
    out = capsys.readouterr().out
    assert "created 6 endpoints and 6 actions" in out and 'created endpoint "List Shoes"' in out
    assert f"saved {path}" in out
    saved = load(path)
    assert check_project(saved) == [] and saved.endpoint("Delete Shoe") is not None
    text = path.read_text()
    assert cli.main(["generate-api", str(path), "Shoes"]) == 0
    out = capsys.readouterr().out
    assert "created nothing, skipped 6 endpoints and 6 actions" in out and "unchanged" in out
    assert path.read_text() == text


def test_the_generate_api_command_with_an_unknown_model(tmp_path, capsys):
    path = tmp_path / "shoes.actiongraph.json"
    path.write_text((EXAMPLES / "shoes.actiongraph.json").read_text())
    assert cli.main(["generate-api", str(path), "Boots"]) == 1
    err = capsys.readouterr().err
    assert 'unknown model "Boots" (models: "Shoes")' in err
    assert path.read_text() == (EXAMPLES / "shoes.actiongraph.json").read_text()
    assert cli.main(["generate-api", str(tmp_path / "missing.actiongraph.json"), "Shoes"]) == 1
