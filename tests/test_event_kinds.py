"""Event kinds declare everything about themselves: versions and old ids, how they answer, their
output schemas and errors (read by the compiler and the API docs), and the Context they run in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import nodes
from nodes import catalogue
from nodes.kind import Answer, Context, EventKind, Placed, Port, Raises, Setting, record_model
from runtime import executor
from runtime.compiler import check_project, compile_project
from runtime.executor import run_action
from runtime.openapi import build_openapi
from runtime.project import Field, Project, Trigger
from runtime.projectfile import load, save
from runtime.store import Store

ROOT = Path(__file__).resolve().parent.parent
NO_INPUTS = {"path": {}, "query": {}, "header": {}, "body": {}, "auth": {}}


async def greet(ctx, inputs, settings):
    """Say hello to `who`."""
    return {"text": f"{settings['greeting']}, {inputs.get('who')}"}


def _upgrade(version: int, settings: dict) -> dict:
    """Version 1 called `who` `name` and had no greeting."""
    settings = dict(settings)
    if version < 2:
        settings["who"] = settings.pop("name", None)
        settings.setdefault("greeting", "Hello")
    return settings


GREET = EventKind(
    id="greet", name="Greet", category="Test", doc="Greets someone.", run=greet,
    inputs=(Port("who", "Text", "Whom to greet."),),
    outputs=(Port("text", "Text", "The greeting.", schema=lambda at: {"type": "string"}),),
    settings=(Setting("greeting", "text", "How.", default="Hi"),
              Setting("as", "variable", "Store it here.", default="")),
    version=2, legacy_ids=("hello",), upgrade=_upgrade,
)


def _greeting_project(kind_id: str, version: int, **settings) -> Project:
    p = Project(name="Greetings")
    p.add_endpoint("Greet", "GET", "/v1/greet")
    a = p.add_action("Greet", Trigger("endpoint", endpoint="Greet"), response_value="=said")
    event = a.add_event(kind_id, **settings, **{"as": "said"})
    event.version = version
    return p


async def _run(project: Project, kinds: dict, database, services=None):
    store = Store(database.url("kinds"), project)
    await store.open(project)
    try:
        plans = compile_project(project, kinds=kinds).actions
        return await run_action(plans[project.actions[0].name], store, dict(NO_INPUTS),
                                services=services)
    finally:
        await store.close()


async def test_a_saved_version_1_event_under_its_old_id_is_upgraded_and_runs(tmp_path, database):
    path = tmp_path / "greetings.actiongraph.json"
    save(_greeting_project("hello", 1, name="Ada"), path)
    saved = path.read_bytes()
    project = load(path)
    [event] = project.actions[0].events.values()
    assert (event.kind, event.version, event.settings["name"]) == ("hello", 1, "Ada")
    kinds = catalogue((GREET,))
    assert kinds["hello"] is GREET
    result = await _run(project, kinds, database)
    assert (result.status, result.value) == (200, "Hello, Ada")
    save(project, path)  # compiling upgrades what runs, never the file
    assert path.read_bytes() == saved


async def test_an_event_of_a_newer_version_than_the_kind_is_a_problem():
    problems = check_project(_greeting_project("greet", 3, who="Ada"), catalogue((GREET,)))
    assert any("version 3" in p.message and p.where.endswith(".version") for p in problems)


async def test_the_clock_a_run_is_given_is_what_date_now_reads(database):
    p = Project(name="Clock")
    p.add_endpoint("Now", "GET", "/v1/now")
    a = p.add_action("Now", Trigger("endpoint", endpoint="Now"), response_value="=now")
    a.add_event("date", operation="now", **{"as": "now"})
    frozen = datetime(2024, 1, 1, 9, tzinfo=timezone(timedelta(hours=2)))
    result = await _run(p, catalogue(), database, services={"clock": lambda: frozen})
    assert result.value == datetime(2024, 1, 1, 7, tzinfo=UTC)
    unfrozen = await _run(p, catalogue(), database)
    assert abs(unfrozen.value - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_executor_context_has_every_member_of_the_declared_context():
    declared = {name for name in vars(Context) if not name.startswith("_")} | \
        set(Context.__annotations__)
    missing = [name for name in sorted(declared) if not hasattr(executor.Context, name)
               and name not in executor.Context.__slots__]
    assert not missing


async def reply(ctx, inputs, settings):
    """Answer with the body and the status."""
    ctx.respond(inputs.get("body"), settings.get("code") or 202)


REPLY = EventKind(id="reply", name="Reply", category="Test", doc="Answers.", run=reply,
                  inputs=(Port("body", "Any", "What to answer."),),
                  settings=(Setting("code", "integer", "The status.", default=202),),
                  answers=Answer(value="body", status="code", default_status=202))


async def lookup(ctx, inputs, settings):
    """Find a shoe by name; 404 or null when there is none."""
    rows = await ctx.db.select("Shoes", ctx.db.by_field("Shoes", "name", inputs.get("name")))
    if not rows and settings.get("strict"):
        raise ctx.error("no such shoe", 404)
    return {"shoe": rows[0] if rows else None}


LOOKUP = EventKind(
    id="lookup", name="Lookup", category="Test", doc="Finds a shoe.", run=lookup,
    inputs=(Port("name", "Text", "The shoe's name."),),
    outputs=(Port("shoe", "Record", "The shoe.",
                  schema=lambda at: at.record("Shoes") if at.settings.get("strict")
                  else {"anyOf": [at.record("Shoes"), {"type": "null"}]}),),
    settings=(Setting("strict", "boolean", "Answer 404 when none.", default=False),
              Setting("as", "variable", "Store it here.", default="")),
    errors=(Raises(404, "no shoe has the name (when strict)", only=lambda at: at.settings.get("strict")),
            Raises(lambda at: 418, "always")),
)


def _shoes(strict: bool) -> Project:
    p = Project(name="Shoes")
    p.add_model("Shoes", [Field("name", "Text")])
    p.add_endpoint("Find", "GET", "/v1/find")
    a = p.add_action("Find", Trigger("endpoint", endpoint="Find"), response_value="=shoe")
    a.add_event("lookup", name="red", strict=strict, **{"as": "shoe"})
    return p


def test_the_api_docs_read_output_schemas_and_errors_off_the_kind():
    kinds = catalogue((LOOKUP,))
    strict = build_openapi(_shoes(True), kinds=kinds)["paths"]["/v1/find"]["get"]["responses"]
    lenient = build_openapi(_shoes(False), kinds=kinds)["paths"]["/v1/find"]["get"]["responses"]
    assert {"404", "418"} <= set(strict) and "404" not in lenient and "418" in lenient
    ok = strict["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Shoes"}
    assert lenient["200"]["content"]["application/json"]["schema"]["anyOf"][1] == {"type": "null"}


def test_a_kind_that_answers_is_a_response_to_the_compiler_and_the_api_docs():
    p = Project(name="Replies")
    p.add_endpoint("Ask", "POST", "/v1/ask")
    a = p.add_action("Ask", Trigger("endpoint", endpoint="Ask"), response_value="=found")
    branch = a.add_event("condition", value="=true")
    a.add_event("assign", after=branch.id, port="true", value=1, **{"as": "found"})
    a.add_event("reply", after=branch.id, port="false", body={"ok": True}, code=201)
    # `found` is defined on the true branch only: the false one answers by its Reply, so the
    # action's own response is never read there.
    assert not [x for x in check_project(p, catalogue((REPLY,))) if x.severity == "error"]
    plain = EventKind(**{**vars(REPLY), "answers": None})
    assert any('"found"' in x.message for x in check_project(p, catalogue((plain,))))
    kinds = catalogue((REPLY,))
    responses = build_openapi(p, kinds=kinds)["paths"]["/v1/ask"]["post"]["responses"]
    assert responses["201"]["content"]["application/json"]["schema"]["properties"]["ok"] == \
        {"type": "boolean", "const": True}


def test_the_editor_placement_names_the_model_of_a_record_output():
    query, create = catalogue()["query"], catalogue()["create"]
    one = Placed({"model": "Shoes", "one": True})
    assert record_model(query.output_schema("result", one)) == "Shoes"
    assert record_model(query.output_schema("result", Placed({"model": "Shoes"}))) is None
    assert record_model(create.output_schema("record", Placed({"model": "Shoes"}))) == "Shoes"
    assert query.output_schema("nothing", one) == {}


def test_no_kind_id_is_tested_outside_nodes():
    ids = "|".join(re.escape(k.id) for k in nodes.BUILTIN)
    test = re.compile(rf"""(kind|\.id)\s*(==|!=|\bin\b)\s*[(\[{{]?\s*["']({ids})["']""")
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for folder in ("runtime", "app") for path in sorted((ROOT / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if test.search(line)]
    assert not found


@pytest.mark.parametrize("kind", nodes.BUILTIN, ids=lambda k: k.id)
def test_every_declared_error_says_when(kind):
    assert all(isinstance(e, Raises) and e.when for e in kind.errors)
