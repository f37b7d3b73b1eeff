"""OpenAPI 3.1 and the API docs page: valid documents that tell the truth about the server."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import jsonschema
import pytest
from openapi_spec_validator import validate

from runtime.cli import main
from runtime.compiler import check_project, compile_project
from runtime.docs import render_docs_html
from runtime.openapi import build_openapi
from runtime.project import AuthProfile, Field, Project, Trigger, Variable
from runtime.projectfile import load, save
from runtime.server import DocsCache

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.actiongraph.json"))


def schema_of(spec: dict, schema: dict) -> jsonschema.Draft202012Validator:
    """A validator for a schema of the document (its $refs resolve in the document)."""
    return jsonschema.Draft202012Validator({**schema, "components": spec["components"]})


def response(spec: dict, path: str, method: str, status: int | str) -> dict:
    """A response of an operation, its $ref to components/responses followed."""
    answer = spec["paths"][path][method.lower()]["responses"][str(status)]
    if "$ref" in answer:
        answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    return answer


def body_schema(spec: dict, path: str, method: str, status: int) -> dict:
    return response(spec, path, method, status)["content"]["application/json"]["schema"]


def kitchen_sink() -> Project:
    """A project with auth (and a rule), a multipart File upload and every variable kind."""
    p = Project(name="Kitchen sink")
    p.add_model("Users", [Field("email", "Text", required=True, unique=True),
                          Field("password", "Text"), Field("role", "Text", default="member")])
    p.add_model("Items", [Field("title", "Text", required=True), Field("count", "Integer"),
                          Field("price", "Decimal"), Field("done", "Boolean"),
                          Field("due", "Date"), Field("seen_at", "DateTime"),
                          Field("data", "JSON"), Field("owner", "Link", link="Users"),
                          Field("sku", "Text", unique=True)])
    p.settings.auth_profiles = [AuthProfile("Logged-in user", model="Users"),
                                AuthProfile("Admin", model="Users", rule="=user.role == 'admin'")]
    p.add_endpoint("Every kind", "POST", "/v1/things/{slug}/{n}", [
        Variable("slug", "Text", "path"), Variable("n", "Number", "path"),
        Variable("flag", "Boolean", "query", required=False),
        Variable("day", "Date", "query"), Variable("x_client", "Text", "header", required=False),
        Variable("since", "DateTime", "header"),
        Variable("note", "Text", "body", description="Free text."),
        Variable("amount", "Number", "body", required=False),
        Variable("ok", "Boolean", "body", required=False),
        Variable("when", "Date", "body", required=False),
        Variable("at", "DateTime", "body", required=False),
        Variable("extra", "JSON", "body", required=False),
        Variable("tags", "List", "body", required=False),
        Variable("item", "Custom Model", "body", model="Items", fields=["title", "count"]),
    ], description="Takes one of every kind.", auth="Logged-in user")
    a = p.add_action("Every kind", Trigger("endpoint", endpoint="Every kind"),
                     response_value="=saved", response_status=201)
    a.add_event("create", model="Items", source="=body.item", **{"as": "saved"})
    p.add_endpoint("Upload", "POST", "/v1/uploads",
                   [Variable("title", "Text", "body"), Variable("file", "File", "body"),
                    Variable("copies", "Number", "body", required=False)],
                   request_type="multipart", auth="Admin")
    up = p.add_action("Upload", Trigger("endpoint", endpoint="Upload"),
                      response_value={"name": "=body.file.filename", "size": "=body.file.size"})
    up.add_event("log", message="=body.title")
    p.add_endpoint("Replace item", "PUT", "/v1/items/{id}",
                   [Variable("id", "Number", "path"), Variable("item", "Model", "body", model="Items")])
    r = p.add_action("Replace item", Trigger("endpoint", endpoint="Replace item"),
                     response_value="=updated")
    r.variables.append(_global("Item", "Items"))
    r.add_event("update", model="Items", record="=Item", values={"title": "=body.item.title"},
                **{"as": "updated"})
    p.add_endpoint("Find item", "GET", "/v1/items/find", [Variable("title", "Text", "query")])
    f = p.add_action("Find item", Trigger("endpoint", endpoint="Find item"), response_value="=found")
    f.add_event("query", model="Items", where={"field": "title", "op": "=", "value": "=query.title"},
                one=True, **{"as": "found"})
    p.add_endpoint("Export items", "GET", "/v1/items.csv", response_type="csv")
    e = p.add_action("Export items", Trigger("endpoint", endpoint="Export items"),
                     response_value="=items")
    e.add_event("query", model="Items", **{"as": "items"})
    p.add_endpoint("Forget item", "DELETE", "/v1/items/{id}", [Variable("id", "Number", "path")])
    d = p.add_action("Forget item", Trigger("endpoint", endpoint="Forget item"),
                     response_status=204)
    d.add_event("delete", model="Items", where={"field": "id", "op": "=", "value": "=path.id"})
    p.add_endpoint("Not built yet", "GET", "/v1/later")
    return p


def _global(name: str, model: str):
    from runtime.project import GlobalVariable

    return GlobalVariable(name, "Model", model=model,
                          where={"field": "id", "op": "=", "value": "=path.id"})


# -- the document --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name.split(".")[0])
def test_every_example_is_a_valid_openapi_31_document(path):
    project = load(path)
    spec = build_openapi(project, "http://localhost:8080")
    validate(spec)  # raises on any error against the OpenAPI 3.1 schema
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] == project.name
    assert spec["servers"] == [{"url": "http://localhost:8080"}]
    operations = {(path, method): op for path, item in spec["paths"].items()
                  for method, op in item.items()}
    assert {(e.path, e.method.lower()) for e in project.endpoints} == set(operations)
    for e in project.endpoints:
        op = operations[(e.path, e.method.lower())]
        assert op["summary"] == e.name
        assert op["description"] == e.description
        assert "5XX" in op["responses"]
    assert len({op["operationId"] for op in operations.values()}) == len(operations)
    for m in project.models:
        schema = spec["components"]["schemas"][m.name]
        assert schema["properties"]["id"]["type"] == "integer"
        assert schema["properties"]["created_at"] == {
            "type": "string", "format": "date-time", "readOnly": True,
            "description": "When the record was created (UTC). Set by the server."}
        assert set(schema["properties"]) == {"id", "created_at", *(f.name for f in m.fields)}


def test_shoes_create_takes_the_model_fields_and_answers_a_shoes_record():
    spec = build_openapi(load(EXAMPLES / "shoes.actiongraph.json"))
    op = spec["paths"]["/v1/create_shoe"]["post"]
    request = op["requestBody"]["content"]["application/json"]["schema"]
    assert op["requestBody"]["required"] is True
    assert set(request["properties"]) == {"shoe_type", "price"}
    assert request["additionalProperties"] is False
    assert body_schema(spec, "/v1/create_shoe", "post", 200) == {"$ref": "#/components/schemas/Shoes"}
    price = spec["components"]["schemas"]["Shoes"]["properties"]["price"]
    assert price == {"type": ["number", "null"]}
    example = op["responses"]["200"]["content"]["application/json"]["example"]
    schema_of(spec, {"$ref": "#/components/schemas/Shoes"}).validate(example)
    schema_of(spec, request).validate(op["requestBody"]["content"]["application/json"]["example"])
    assert "security" not in op
    assert {"400", "413", "415", "422"} <= set(op["responses"])
    assert "401" not in op["responses"] and "404" not in op["responses"]


def test_saved_requests_that_fit_become_examples():
    from runtime.project import Example

    project = load(EXAMPLES / "shoes.actiongraph.json")
    project.endpoints[0].examples = [Example("Sneaker", body={"shoe_type": "sneaker", "price": 59.5}),
                                     Example("Broken", body={"colour": "red"})]
    media = build_openapi(project)["paths"]["/v1/create_shoe"]["post"]["requestBody"]["content"]
    assert media["application/json"]["examples"] == {
        "Sneaker": {"summary": "Sneaker", "value": {"shoe_type": "sneaker", "price": 59.5}}}


def test_saved_path_and_query_values_become_parameter_examples():
    from runtime.project import Example

    project = load(EXAMPLES / "posts.actiongraph.json")
    project.endpoint("Get post").examples = [Example("Seven", path={"id": "7"})]
    spec = build_openapi(project)
    assert params_of(spec, "/v1/posts/{id}", "get")["id"]["example"] == 7
    assert params_of(spec, "/v1/posts/{id}", "put")["id"]["example"] == 1  # made up, required
    assert "example" not in params_of(spec, "/v1/posts", "get")["limit"]  # optional: left out


def test_posts_responses_follow_the_actions():
    spec = build_openapi(load(EXAMPLES / "posts.actiongraph.json"))
    posts = {"$ref": "#/components/schemas/Posts"}
    assert body_schema(spec, "/v1/posts", "get", 200) == {"type": "array", "items": posts}
    assert body_schema(spec, "/v1/posts", "post", 201) == posts
    assert body_schema(spec, "/v1/posts/{id}", "get", 200) == posts
    assert body_schema(spec, "/v1/posts/{id}", "put", 200) == posts
    deleted = body_schema(spec, "/v1/posts/{id}", "delete", 200)
    assert deleted["properties"]["deleted"] == {"type": "integer", "minimum": 0}
    assert deleted["properties"]["id"] == {"type": "number"}
    assert set(deleted["required"]) == {"deleted", "id"}
    # A Model variable loaded by a Where answers 404 when nothing matches.
    assert response(spec, "/v1/posts/{id}", "get", 404)["content"]["application/json"]["schema"] \
        == {"$ref": "#/components/schemas/Error"}
    # Query parameters: optional, an empty value counts as not given.
    limit = spec["paths"]["/v1/posts"]["get"]["parameters"][0]
    assert (limit["name"], limit["in"], limit["required"], limit["allowEmptyValue"]) == \
        ("limit", "query", False, True)
    # The Number id is compared with the integer id of Posts in every run: it must be a whole
    # number (1.5 answers 422), so the document asks for one.
    for method in ("get", "put", "delete"):
        (param,) = spec["paths"]["/v1/posts/{id}"][method]["parameters"]
        assert param["schema"]["type"] == "integer" and param["schema"]["format"] == "int64"
    # A Custom Model body takes its chosen fields only.
    put = spec["paths"]["/v1/posts/{id}"]["put"]["requestBody"]["content"]["application/json"]
    assert list(put["schema"]["properties"]) == ["caption"]


def test_signup_login_security_and_the_user_without_password():
    spec = build_openapi(load(EXAMPLES / "signup.actiongraph.json"))
    schemes = spec["components"]["securitySchemes"]
    assert list(schemes) == ["Logged-in_user"]
    assert schemes["Logged-in_user"]["type"] == "http"
    assert schemes["Logged-in_user"]["scheme"] == "bearer"
    assert schemes["Logged-in_user"]["bearerFormat"] == "JWT"
    me = spec["paths"]["/v1/me"]["get"]
    assert me["security"] == [{"Logged-in_user": []}]
    assert me["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}
    assert "403" not in me["responses"]  # the profile has no rule
    user = spec["components"]["schemas"]["Users_without_password"]
    assert "password" not in user["properties"] and "email" in user["properties"]
    assert body_schema(spec, "/v1/me", "get", 200) == \
        {"$ref": "#/components/schemas/Users_without_password"}
    signup = body_schema(spec, "/v1/signup", "post", 201)
    assert signup["properties"]["user"] == {"$ref": "#/components/schemas/Users_without_password"}
    assert signup["properties"]["token"]["type"] == "string"
    signup_op = spec["paths"]["/v1/signup"]["post"]
    assert signup_op["responses"]["409"] == {"$ref": "#/components/responses/Conflict"}
    assert "security" not in signup_op
    assert spec["paths"]["/v1/login"]["post"]["responses"]["401"]  # wrong email or password
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]) >= {"error", "fields", "action", "event", "event_kind"}
    assert error["properties"]["fields"]["items"]["required"] == ["field", "message"]


def test_auth_multipart_files_and_every_variable_kind():
    project = kitchen_sink()
    assert check_project(project) == []
    spec = build_openapi(project)
    validate(spec)
    schemes = spec["components"]["securitySchemes"]
    assert set(schemes) == {"Logged-in_user", "Admin"}
    assert "user.role == 'admin'" in schemes["Admin"]["description"]

    every = spec["paths"]["/v1/things/{slug}/{n}"]["post"]
    assert every["security"] == [{"Logged-in_user": []}]
    params = {(p["in"], p["name"]): p for p in every["parameters"]}
    assert set(params) == {("path", "slug"), ("path", "n"), ("query", "flag"), ("query", "day"),
                           ("header", "x-client"), ("header", "since")}
    assert params[("path", "slug")]["required"] is True
    assert params[("path", "slug")]["schema"]["type"] == "string"
    assert params[("path", "n")]["schema"] == {"type": "number"}
    assert params[("query", "day")]["schema"] == {"type": "string", "format": "date"}
    assert params[("header", "since")]["schema"] == {"type": "string", "format": "date-time"}
    assert params[("header", "since")]["required"] is True
    assert params[("header", "x-client")]["required"] is False
    flag = params[("query", "flag")]["schema"]
    assert flag["anyOf"][0] == {"type": "boolean"}  # and the text forms the binder reads
    for text, ok in [("true", True), ("Yes", True), ("0", True), ("off", True), ("maybe", False)]:
        assert schema_of(spec, flag).is_valid(text) is ok

    body = every["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False
    assert set(body["properties"]) == {"note", "amount", "ok", "when", "at", "extra", "tags",
                                       "title", "count"}
    assert body["required"] == ["note", "title"]  # Items.title is required, count is not
    assert body["properties"]["note"]["description"] == "Free text."
    assert body["properties"]["tags"] == {"type": ["array", "null"]}
    assert body["properties"]["extra"] == {}  # any JSON, null included
    assert body["properties"]["when"] == {"type": ["string", "null"], "format": "date"}
    assert {"201", "400", "401", "404", "409", "413", "415", "422"} <= set(every["responses"])
    assert "403" not in every["responses"]
    assert body_schema(spec, "/v1/things/{slug}/{n}", "post", 201) == \
        {"$ref": "#/components/schemas/Items"}

    upload = spec["paths"]["/v1/uploads"]["post"]
    assert upload["security"] == [{"Admin": []}]
    assert {"401", "403"} <= set(upload["responses"])  # the Admin profile has a rule
    form = upload["requestBody"]["content"]["multipart/form-data"]
    assert form["schema"]["properties"]["file"]["format"] == "binary"
    assert form["schema"]["properties"]["copies"] == {"type": "number"}  # a form has no null
    assert form["schema"]["required"] == ["title", "file"]
    assert form["encoding"] == {"file": {"contentType": "application/octet-stream"}}
    answer = body_schema(spec, "/v1/uploads", "post", 200)
    assert answer["properties"]["name"] == {"type": ["string", "null"]}
    assert answer["properties"]["size"] == {"type": "integer"}

    items = spec["components"]["schemas"]["Items"]["properties"]
    assert items["owner"]["type"] == ["integer", "null"] and "Users" in items["owner"]["description"]
    assert items["due"] == {"type": ["string", "null"], "format": "date"}
    assert items["sku"]["description"] == "Unique: no two records have the same value."

    # Ids compared with Items.id by a global's Where, and by a Delete every run reaches.
    assert params_of(spec, "/v1/items/{id}", "put")["id"]["schema"]["type"] == "integer"
    assert params_of(spec, "/v1/items/{id}", "delete")["id"]["schema"]["type"] == "integer"
    assert params_of(spec, "/v1/things/{slug}/{n}", "post")["n"]["schema"] == {"type": "number"}
    put = spec["paths"]["/v1/items/{id}"]["put"]
    assert body_schema(spec, "/v1/items/{id}", "put", 200) == {"$ref": "#/components/schemas/Items"}
    assert {"404", "409", "422"} <= set(put["responses"])
    found = body_schema(spec, "/v1/items/find", "get", 200)
    assert found == {"anyOf": [{"$ref": "#/components/schemas/Items"}, {"type": "null"}]}
    assert params_of(spec, "/v1/items/find", "get")["title"]["schema"] == \
        {"type": "string", "minLength": 1}  # a required query value may not be empty
    csv = response(spec, "/v1/items.csv", "get", 200)
    assert csv["content"] == {"text/csv": {"schema": {"type": "string"}}}
    assert response(spec, "/v1/items/{id}", "delete", 204) == {"description": "No Content"}
    later = spec["paths"]["/v1/later"]["get"]
    assert "501" in later["responses"] and "answers 501" in later["description"]


def params_of(spec: dict, path: str, method: str) -> dict:
    return {p["name"]: p for p in spec["paths"][path][method]["parameters"]}


def test_an_endpoint_shadowed_by_an_exact_path_may_answer_405():
    p = Project(name="Shadow")
    p.add_endpoint("Latest", "POST", "/v1/posts/latest")
    p.add_endpoint("Get", "GET", "/v1/posts/{id}", [Variable("id", "Number", "path")])
    spec = build_openapi(p)
    assert spec["paths"]["/v1/posts/{id}"]["get"]["responses"]["405"] == \
        {"$ref": "#/components/responses/MethodNotAllowed"}
    assert "405" not in spec["paths"]["/v1/posts/latest"]["post"]["responses"]


# -- the document against the real server -----------------------------------------------------------

async def test_real_answers_fit_the_documented_schemas(serve):
    s = await serve("posts")
    status, spec, _ = await s.call("GET", "/openapi.json")
    assert status == 200
    checks = [
        ("POST", "/v1/posts", "/v1/posts", {"json": {"user": "ann", "caption": "hi", "likes": 3}}),
        ("POST", "/v1/posts", "/v1/posts", {"json": {"user": "bob", "caption": 7, "likes": "2"}}),
        ("GET", "/v1/posts", "/v1/posts", {"params": {"limit": "1"}}),
        ("GET", "/v1/posts/{id}", "/v1/posts/1", {}),
        ("PUT", "/v1/posts/{id}", "/v1/posts/1", {"json": {"caption": "edited"}}),
        ("GET", "/v1/posts/{id}", "/v1/posts/99", {}),  # 404
        ("GET", "/v1/posts/{id}", "/v1/posts/x", {}),  # 400
        ("GET", "/v1/posts/{id}", "/v1/posts/1.5", {}),  # 422: not a whole id
        ("POST", "/v1/posts", "/v1/posts", {"json": {"likes": "many"}}),  # 422
        ("POST", "/v1/posts", "/v1/posts", {"json": {"nope": 1}}),  # 422: unknown field
        ("POST", "/v1/posts", "/v1/posts", {"data": "x", "headers": {"Content-Type": "text/plain"}}),
        ("POST", "/v1/posts", "/v1/posts", {"data": "{", "headers": {"Content-Type": "application/json"}}),
        ("DELETE", "/v1/posts/{id}", "/v1/posts/2", {}),
    ]
    seen = set()
    for method, template, path, options in checks:
        status, body, headers = await s.call(method, path, **options)
        documented = spec["paths"][template][method.lower()]["responses"]
        key = str(status) if str(status) in documented else None
        assert key, f"{method} {path} answered {status}, which is not documented: {body}"
        schema = body_schema(spec, template, method, status)
        errors = list(schema_of(spec, schema).iter_errors(body))
        assert not errors, f"{method} {path} {status}: {errors[0].message}"
        seen.add(status)
    assert seen == {200, 201, 400, 404, 415, 422}


async def test_request_schemas_agree_with_the_binder(serve):
    """Bodies the document accepts are accepted, bodies it refuses are refused with a 4xx."""
    s = await serve("posts")
    spec = build_openapi(load(EXAMPLES / "posts.actiongraph.json"))
    request = spec["paths"]["/v1/posts"]["post"]["requestBody"]["content"]["application/json"]
    validator = schema_of(spec, request["schema"])
    bodies = [
        {}, {"user": "a"}, {"user": None}, {"likes": 3}, {"likes": 3.0}, {"likes": "12"},
        {"likes": "-4"}, {"likes": 2.5}, {"likes": "2.5"}, {"likes": True}, {"likes": []},
        {"caption": 12}, {"caption": True}, {"caption": {"a": 1}}, {"extra": 1},
        {"likes": 2**63}, {"likes": -(2**63)}, {"likes": 2**64}, {"likes": "x"}, {"user": []},
    ]
    for body in bodies:
        status, answer, _ = await s.call("POST", "/v1/posts", json=body)
        assert validator.is_valid(body) == (status == 201), (body, status, answer)


async def test_openapi_json_and_docs_are_served_from_the_current_revision(serve):
    s = await serve("shoes")
    status, spec, headers = await s.call("GET", "/openapi.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    validate(spec)
    assert spec["servers"] == [{"url": s.url}]
    assert list(spec["paths"]) == ["/v1/create_shoe"]
    status, page, headers = await s.call("GET", "/docs")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Create new shoe" in page and f'href="{s.url}/openapi.json"' in page
    assert "<script" not in page.lower()
    # The docs are not an endpoint: other methods are not answered by them.
    status, _, _ = await s.call("POST", "/openapi.json")
    assert status == 404

    changed = load(EXAMPLES / "shoes.actiongraph.json")
    changed.add_endpoint("List shoes", "GET", "/v1/shoes")
    changed.add_action("List shoes", Trigger("endpoint", endpoint="List shoes"),
                       response_value="=shoes").add_event("query", model="Shoes", **{"as": "shoes"})
    s.state.swap(compile_project(changed, 2))
    status, spec2, _ = await s.call("GET", "/openapi.json")
    assert status == 200
    assert list(spec2["paths"]) == ["/v1/create_shoe", "/v1/shoes"]
    assert spec2["paths"]["/v1/shoes"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] == {"type": "array", "items": {"$ref": "#/components/schemas/Shoes"}}
    status, page, _ = await s.call("GET", "/docs")
    assert "List shoes" in page


def test_the_docs_cache_builds_once_per_revision():
    compiled = compile_project(load(EXAMPLES / "posts.actiongraph.json"), 1)
    cache = DocsCache()
    first = cache.text(compiled, "http://a", "json")
    assert cache.text(compiled, "http://a", "json") is first
    assert json.loads(cache.text(compiled, "http://b", "json"))["servers"] == [{"url": "http://b"}]
    again = compile_project(load(EXAMPLES / "posts.actiongraph.json"), 2)
    assert cache.text(again, "http://a", "json") is not first


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/healthz", "/readyz/"])
def test_an_endpoint_may_not_take_a_path_the_server_answers_itself(path):
    p = Project(name="Reserved")
    p.add_endpoint("My docs", "GET", path)
    problems = check_project(p)
    assert len(problems) == 1
    assert problems[0].where == 'endpoints["My docs"].path'
    assert 'endpoint "My docs" cannot use' in problems[0].message
    assert "pick another path" in problems[0].message


# -- the docs page and the command line ---------------------------------------------------------------

def test_the_docs_page_lists_every_endpoint_with_contents_and_no_scripts():
    spec = build_openapi(kitchen_sink(), "https://api.example.com")
    page = render_docs_html(spec)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert 'href="https://api.example.com/openapi.json"' in page
    for path, item in spec["paths"].items():
        for op in item.values():
            anchor = "op-" + op["operationId"]
            assert f'href="#{anchor}"' in page and f'name="{anchor}"' in page
            assert f"<code><b>{path}</b></code>" in page
    assert ">POST</b>" in page and ">DELETE</b>" in page and ">PUT</b>" in page
    assert "Logging in" in page and "Authorization: Bearer TOKEN" in page
    assert 'href="#model-Items"' in page and 'name="model-Items"' in page
    assert "Request body" in page and "multipart/form-data" in page and ">file<" in page
    assert "&quot;title&quot;" in page  # an example body, escaped
    assert "<table" in page and "display:" not in page and "grid-template" not in page


def test_cli_exports_the_document_and_the_page(tmp_path, capsys):
    out = tmp_path / "openapi.json"
    assert main(["openapi", str(EXAMPLES / "posts.actiongraph.json"), "-o", str(out)]) == 0
    spec = json.loads(out.read_text())
    validate(spec)
    assert "/v1/posts/{id}" in spec["paths"] and "servers" not in spec
    page = tmp_path / "docs.html"
    assert main(["openapi", str(EXAMPLES / "signup.actiongraph.json"), "--html", "-o", str(page),
                 "--server", "https://api.example.com"]) == 0
    assert "Sign up" in page.read_text() and "https://api.example.com/openapi.json" in page.read_text()
    capsys.readouterr()
    assert main(["openapi", str(EXAMPLES / "shoes.actiongraph.json")]) == 0
    assert json.loads(capsys.readouterr().out)["info"]["title"] == "Shoes"

    broken = kitchen_sink()
    broken.add_endpoint("Docs", "GET", "/docs")
    save(broken, tmp_path / "broken.actiongraph.json")
    assert main(["openapi", str(tmp_path / "broken.actiongraph.json")]) == 1
    assert 'endpoint "Docs" cannot use /docs' in capsys.readouterr().err


async def test_a_multipart_upload_answers_as_documented(serve):
    project = kitchen_sink()
    project.endpoints[1].auth = ""  # no login for this check
    s = await serve(project)
    spec = build_openapi(project)
    form = aiohttp.FormData()
    form.add_field("title", "Report")
    form.add_field("file", b"hello", filename="r.txt", content_type="text/plain")
    status, body, _ = await s.call("POST", "/v1/uploads", data=form)
    assert status == 200, body
    schema_of(spec, body_schema(spec, "/v1/uploads", "post", 200)).validate(body)
    assert body == {"name": "r.txt", "size": 5}


def test_serve_no_docs_leaves_the_docs_out(tmp_path):
    """`--no-docs` (or ACTIONGRAPH_DOCS=0 for workers) hides the docs on a public server."""
    import shutil

    from procs import ACTIONGRAPH, Server, free_port, request

    from runtime.host import ServeConfig

    project = tmp_path / "shoes.actiongraph.json"
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", project)
    port = free_port()
    server = Server(ACTIONGRAPH + ["serve", str(project), "--port", str(port), "--no-docs"],
                    tmp_path, port)
    try:
        server.start().wait_ready(60)
        assert request(server.url + "/docs")[0] == 404
        assert request(server.url + "/openapi.json")[0] == 404
        assert request(server.url + "/healthz")[0] == 200
        assert "API docs" not in server.out()
    finally:
        server.stop()
    env = {"ACTIONGRAPH_PROJECT": str(project)}
    assert ServeConfig.from_env(env).docs is True
    assert ServeConfig.from_env({**env, "ACTIONGRAPH_DOCS": "0"}).docs is False


# -- error branches: what a wired `error` port catches is not answered -----------------------------

def find_project(branch: str | None) -> Project:
    """GET /v1/items/find: a Query of one item that answers 404 when none matches; its error
    port leads to `branch` ("response": answers 200 with a fallback, "raise": Raise Error 410)
    or nowhere (None)."""
    p = Project(name="Find")
    p.add_model("Items", [Field("title", "Text")])
    p.add_endpoint("Find item", "GET", "/v1/items/find",
                   [Variable("title", "Text", "query", required=False)])
    a = p.add_action("Find item", Trigger("endpoint", endpoint="Find item"),
                     response_value="=found")
    q = a.add_event("query", model="Items", one=True, if_none="404",
                    where={"field": "title", "op": "=", "value": "=query.title"}, **{"as": "found"})
    if branch == "response":
        a.add_event("response", after=q.id, port="error", status=200,
                    value={"title": "nothing yet"})
    elif branch == "raise":
        a.add_event("raise_error", after=q.id, port="error", status=410,
                    message="=concat('gone: ', error.message)")
    assert [x for x in check_project(p) if x.severity == "error"] == []
    return p


def statuses(spec: dict, path: str, method: str) -> list[str]:
    return list(spec["paths"][path][method]["responses"])


def test_errors_caught_by_a_wired_error_branch_are_not_listed():
    spec = build_openapi(find_project(None))
    assert statuses(spec, "/v1/items/find", "get") == ["200", "404", "422", "5XX"]
    spec = build_openapi(find_project("response"))
    validate(spec)
    assert statuses(spec, "/v1/items/find", "get") == ["200", "5XX"]  # the branch answers 200
    fallback = schema_of(spec, body_schema(spec, "/v1/items/find", "get", 200))
    assert fallback.is_valid({"title": "nothing yet"})


def test_what_the_error_branch_raises_is_listed_instead():
    spec = build_openapi(find_project("raise"))
    validate(spec)
    assert statuses(spec, "/v1/items/find", "get") == ["200", "410", "5XX"]
    assert body_schema(spec, "/v1/items/find", "get", 410) == {"$ref": "#/components/schemas/Error"}


def test_a_branch_answering_the_caught_status_documents_its_own_body_only():
    def signup(catch: bool) -> dict:
        p = Project(name="Signup")
        p.add_model("Users", [Field("email", "Text", unique=True)])
        p.add_endpoint("Signup", "POST", "/v1/signup", [Variable("email", "Text", "body")])
        a = p.add_action("Signup", Trigger("endpoint", endpoint="Signup"),
                         response_value={"id": "=user.id"}, response_status=201)
        user = a.add_event("create", model="Users", values={"email": "=body.email"},
                           **{"as": "user"})
        if catch:
            a.add_event("response", after=user.id, port="error", status=409,
                        value={"message": "=error.message", "event": "=error.event"})
        return body_schema(build_openapi(p), "/v1/signup", "post", 409)

    assert signup(catch=True)["properties"].keys() == {"message", "event"}  # not also the Error
    assert signup(catch=False) == {"$ref": "#/components/schemas/Error"}


def test_a_caught_call_action_does_not_list_what_the_called_action_answers():
    p = Project(name="Calls")
    p.add_endpoint("Book", "POST", "/v1/book")
    inner = p.add_action("Reserve", Trigger("action"))
    inner.add_event("raise_error", status=409, message="full")
    a = p.add_action("Book", Trigger("endpoint", endpoint="Book"), response_value={"ok": True})
    call = a.add_event("call_action", action="Reserve")
    assert "409" in statuses(build_openapi(p), "/v1/book", "post")
    a.add_event("response", after=call.id, port="error", status=202, value={"queued": True})
    assert statuses(build_openapi(p), "/v1/book", "post") == ["200", "202", "5XX"]


def test_an_input_compared_by_an_event_whose_failure_is_caught_is_not_narrowed():
    """Narrowing asks for what fits a field because a value that does not answers 422; a
    caught failure answers what the branch answers, so the input stays as the binder takes it."""

    def id_param(catch: bool, audit_first: bool) -> dict:
        p = Project(name="Lookup")
        p.add_model("Items", [Field("title", "Text")])
        p.add_model("Audit", [Field("what", "Text")])
        p.add_endpoint("Lookup", "GET", "/v1/lookup", [Variable("id", "Number", "query")])
        a = p.add_action("Lookup", Trigger("endpoint", endpoint="Lookup"), response_value="=found")
        first = a.add_event("create", model="Audit", values={"what": "lookup"}) \
            if audit_first else None
        q = a.add_event("query", after=first.id if first else None, model="Items", one=True,
                        where={"field": "id", "op": "=", "value": "=query.id"}, **{"as": "found"})
        if catch:
            a.add_event("response", after=q.id, port="error", status=200, value=None)
        (param,) = build_openapi(p)["paths"]["/v1/lookup"]["get"]["parameters"]
        return param["schema"]

    assert id_param(catch=False, audit_first=False)["type"] == "integer"
    assert id_param(catch=True, audit_first=False).get("type") != "integer"
    # An event with an unwired error port fails the run or goes on: the walk goes on past it.
    assert id_param(catch=False, audit_first=True)["type"] == "integer"


async def test_a_caught_failure_answers_as_the_document_says(serve):
    """Held to the real server: no match leaves by the error port and answers the branch's 200
    (not the Query's 404, which the document no longer lists); a match answers the record."""
    for branch, answered in (("response", 200), ("raise", 410)):
        s = await serve(find_project(branch))
        status, spec, _ = await s.call("GET", "/openapi.json")
        assert status == 200 and "404" not in spec["paths"]["/v1/items/find"]["get"]["responses"]
        status, body, _ = await s.call("GET", "/v1/items/find", params={"title": "none"})
        assert status == answered, body
        errors = list(schema_of(spec, body_schema(spec, "/v1/items/find", "get", status))
                      .iter_errors(body))
        assert not errors, errors[0].message
