"""CORS over real loopback HTTP: preflights, allowed and refused origins, credentials, "*", error
answers, the live server's localhost origins, the project file and the OpenAPI document."""

import json

import pytest
from conftest import EXAMPLES

from runtime.compiler import check_project
from runtime.errors import ProjectError
from runtime.openapi import build_openapi
from runtime.project import CorsSettings
from runtime.projectfile import dumps, load, loads

APP = "http://app.example.com"
OTHER = "https://evil.example.net"
SHOE = {"shoe_type": "Boot", "price": 89.5}


def shoes(**cors):
    return example("shoes", **cors)


def posts(**cors):
    return example("posts", **cors)


def example(name: str, **cors):
    project = load(EXAMPLES / f"{name}.actiongraph.json")
    if cors:
        project.settings.cors = CorsSettings(**cors)
    return project


def preflight(origin: str, method: str = "POST", headers: str = "content-type") -> dict:
    return {"Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers}


def vary(headers) -> set[str]:
    return {v.strip() for v in headers.get("Vary", "").split(",") if v.strip()}


async def test_a_preflight_from_an_allowed_origin_is_answered_and_runs_nothing(serve):
    s = await serve(shoes(origins=[APP], max_age=120))
    runs = []
    s.state.listeners.append(runs.append)
    status, body, headers = await s.call("OPTIONS", "/v1/create_shoe", headers=preflight(APP))
    assert status == 204, body
    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Access-Control-Allow-Methods"] == "POST"  # what the path serves
    assert headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert headers["Access-Control-Max-Age"] == "120"
    assert "Access-Control-Allow-Credentials" not in headers
    assert {"Origin", "Access-Control-Request-Method"} <= vary(headers)
    assert s.rows("select count(*) from Shoes") == [(0,)] and runs == []


async def test_a_preflight_from_another_origin_is_refused_without_cors_headers(serve):
    s = await serve(shoes(origins=[APP]))
    status, body, headers = await s.call("OPTIONS", "/v1/create_shoe", headers=preflight(OTHER))
    assert status == 403 and OTHER in body["error"] and "settings.cors.origins" in body["error"]
    assert "Access-Control-Allow-Origin" not in headers
    assert "Origin" in vary(headers)
    assert s.rows("select count(*) from Shoes") == [(0,)]


async def test_an_allowed_origin_reads_the_answer_another_does_not(serve):
    s = await serve(shoes(origins=[APP, "https://admin.example.com"]))
    status, body, headers = await s.call("POST", "/v1/create_shoe", json=SHOE,
                                         headers={"Origin": APP})
    assert status == 200 and body["id"] == 1
    assert headers["Access-Control-Allow-Origin"] == APP and vary(headers) == {"Origin"}
    # a simple request from another origin still runs (as without CORS); its browser hides it
    status, body, headers = await s.call("POST", "/v1/create_shoe", json=SHOE,
                                         headers={"Origin": OTHER})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    assert "Origin" in vary(headers)  # a cache must not hand one origin's answer to another


async def test_origins_match_as_browsers_send_them_exactly(serve):
    s = await serve(posts(origins=[APP]))
    for origin in (APP + ":8080", "https://app.example.com", APP + ".evil.net", "null"):
        _, _, headers = await s.call("GET", "/v1/posts", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in headers, origin
    _, _, headers = await s.call("GET", "/v1/posts", headers={"Origin": "HTTP://App.Example.com"})
    assert headers["Access-Control-Allow-Origin"] == "HTTP://App.Example.com"


async def test_error_answers_carry_the_cors_headers_so_the_browser_can_read_them(serve):
    s = await serve(shoes(origins=[APP]), max_body=1000)
    cases = [
        ("POST", "/v1/create_shoe", {"json": {"shoe_type": "Boot", "price": "abc"}}, 422),
        ("GET", "/v1/nothing", {}, 404),
        ("GET", "/v1/create_shoe", {}, 405),
        ("POST", "/v1/create_shoe", {"json": {"shoe_type": "x" * 5000, "price": 1}}, 413),
        ("POST", "/v1/create_shoe", {"data": "x", "headers": {"Content-Type": "text/plain"}}, 415),
    ]
    for method, path, kwargs, expected in cases:
        headers = {**kwargs.pop("headers", {}), "Origin": APP}
        status, body, answer = await s.call(method, path, headers=headers, **kwargs)
        assert status == expected, (path, body)
        assert answer["Access-Control-Allow-Origin"] == APP, (expected, dict(answer))
        assert "error" in body


async def test_a_failed_action_answers_its_error_with_the_cors_headers(serve):
    s = await serve(posts(origins=[APP]))
    status, body, headers = await s.call("PUT", "/v1/posts/99", json={"caption": "x"},
                                         headers={"Origin": APP})
    assert status == 404 and "PostToUpdate" in body["error"]
    assert headers["Access-Control-Allow-Origin"] == APP


async def test_credentials_echo_the_origin_and_allow_credentials(serve):
    s = await serve(posts(origins=[APP], credentials=True, headers=["Content-Type", "X-Trace"]))
    status, _, headers = await s.call("OPTIONS", "/v1/posts",
                                      headers=preflight(APP, "GET", "x-trace"))
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["Access-Control-Allow-Headers"] == "Content-Type, X-Trace"
    assert headers["Access-Control-Allow-Methods"] == "GET, POST"
    _, _, headers = await s.call("GET", "/v1/posts", headers={"Origin": APP})
    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Access-Control-Allow-Credentials"] == "true"


async def test_any_origin_answers_a_star_and_needs_no_vary(serve):
    s = await serve(posts(origins=["*"], methods=["GET", "POST"]))
    status, _, headers = await s.call("OPTIONS", "/v1/posts/3",
                                      headers=preflight(OTHER, "PUT"))
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    # the path serves GET, PUT and DELETE; the setting allows GET and POST
    assert headers["Access-Control-Allow-Methods"] == "GET"
    status, body, headers = await s.call("GET", "/v1/posts", headers={"Origin": OTHER})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert "Origin" not in vary(headers)


async def test_a_preflight_for_a_path_without_endpoint_is_a_404_and_docs_allow_get(serve):
    s = await serve(shoes(origins=[APP]))
    status, body, headers = await s.call("OPTIONS", "/v1/nothing", headers=preflight(APP))
    assert status == 404 and "/v1/nothing" in body["error"]
    status, _, headers = await s.call("OPTIONS", "/openapi.json", headers=preflight(APP, "GET"))
    assert status == 204 and headers["Access-Control-Allow-Methods"] == "GET"
    status, _, headers = await s.call("GET", "/openapi.json", headers={"Origin": APP})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == APP


async def test_without_the_setting_or_without_an_origin_answers_are_unchanged(serve):
    plain = await serve(shoes())
    with_cors = await serve(shoes(origins=[APP]))
    status, _, headers = await plain.call("OPTIONS", "/v1/create_shoe", headers=preflight(APP))
    assert status == 405 and headers["Allow"] == "POST"
    assert "Access-Control-Allow-Origin" not in headers
    for s in (plain, with_cors):
        status, body, headers = await s.call("POST", "/v1/create_shoe", json=SHOE)
        assert status == 200 and body["shoe_type"] == "Boot"
        assert not any(h.startswith("Access-Control-") for h in headers)
        # a plain OPTIONS (no preflight) answers as before
        status, _, headers = await s.call("OPTIONS", "/v1/create_shoe")
        assert status == 405
    _, _, headers = await plain.call("POST", "/v1/create_shoe", json=SHOE,
                                     headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in headers and "Vary" not in headers


async def test_the_live_server_also_allows_localhost_origins(serve):
    s = await serve(shoes(), local_origins=True)
    for origin in ("http://localhost:5173", "http://127.0.0.1:3000", "http://localhost"):
        status, _, headers = await s.call("OPTIONS", "/v1/create_shoe", headers=preflight(origin))
        assert status == 204 and headers["Access-Control-Allow-Origin"] == origin, origin
    for origin in ("https://localhost:5173", "http://localhost.evil.net", "http://10.0.0.1:80",
                   APP):
        status, _, headers = await s.call("OPTIONS", "/v1/create_shoe", headers=preflight(origin))
        assert status == 403 and "Access-Control-Allow-Origin" not in headers, origin


async def test_a_new_revision_serves_its_own_origins(serve):
    s = await serve(posts(origins=[APP]))
    await s.host.deploy(posts(origins=["https://new.example.com"]), revision=2)
    _, _, headers = await s.call("GET", "/v1/posts", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in headers
    _, _, headers = await s.call("GET", "/v1/posts", headers={"Origin": "https://new.example.com"})
    assert headers["Access-Control-Allow-Origin"] == "https://new.example.com"


@pytest.mark.parametrize("cors, where, words", [
    ({"origins": ["*"], "credentials": True}, "settings.cors.origins[0]", "cannot go with credentials"),
    ({"origins": [APP], "headers": ["*"], "credentials": True}, "settings.cors.headers[0]",
     "cannot go with credentials"),
    ({"origins": ["https://app.example.com/"]}, "settings.cors.origins[0]",
     'did you mean "https://app.example.com"'),
    ({"origins": ["app.example.com"]}, "settings.cors.origins[0]", "is not an origin"),
    ({"origins": [APP], "methods": ["OPTIONS"]}, "settings.cors.methods[0]", "unknown method"),
    ({"origins": [APP], "headers": ["X Bad"]}, "settings.cors.headers[0]", "not a header name"),
])
def test_check_refuses_a_setting_browsers_would_refuse(cors, where, words):
    problems = [p for p in check_project(shoes(**cors)) if p.where.startswith("settings.cors")]
    assert [p.where for p in problems] == [where] and words in problems[0].message
    assert problems[0].severity == "error"


def test_any_origin_without_credentials_checks_ok():
    assert not [p for p in check_project(shoes(origins=["*"], headers=["*"]))
                if p.where.startswith("settings")]


def test_the_setting_survives_save_and_load_and_is_absent_when_unset():
    project = shoes()
    assert "cors" not in json.loads(dumps(project))["settings"]
    project.settings.cors = CorsSettings(origins=[APP], methods=["GET"], headers=["X-Key"],
                                         credentials=True, max_age=30)
    text = dumps(project)
    assert json.loads(text)["settings"]["cors"] == {
        "origins": [APP], "methods": ["GET"], "headers": ["X-Key"], "credentials": True,
        "max_age": 30}
    again = loads(text)
    assert again.settings.cors == project.settings.cors and dumps(again) == text


def test_the_schema_refuses_unknown_cors_keys_and_methods():
    data = json.loads(dumps(shoes(origins=[APP])))
    data["settings"]["cors"]["colour"] = "red"
    data["settings"]["cors"]["methods"] = ["FETCH"]
    with pytest.raises(ProjectError) as e:
        loads(json.dumps(data))
    assert [str(p) for p in e.value.problems] == [
        "settings.cors: unknown key ('colour' was unexpected)",
        'settings.cors.methods[0]: "FETCH" is not one of GET, POST, PUT, PATCH, DELETE']


def test_the_openapi_document_tells_who_may_call():
    spec = build_openapi(shoes(origins=[APP], credentials=True))
    assert spec["x-cors"] == {"origins": [APP], "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"],
                              "headers": ["Authorization", "Content-Type"], "credentials": True,
                              "max_age": 600}
    assert f"Browsers on {APP} may call it" in spec["info"]["description"]
    assert "x-cors" not in build_openapi(shoes())
