"""Plug-in event kinds (entry point group actiongraph.events), end to end with the example package
tests/plugins/actiongraph_slugify that CI installs: catalogue, compiler, a real HTTP server, the
API docs and `check`; and what a missing or a broken plug-in does."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points

import pytest

import nodes
from nodes import catalogue, load_plugins, missing, package_of, problems
from runtime.cli import main
from runtime.compiler import check_project, compile_project
from runtime.errors import ProjectError
from runtime.project import Project, Trigger, Variable
from runtime.projectfile import load, save

SLUG = "slugify.slug"
installed = pytest.mark.skipif(
    not any(e.name == "slugify" for e in entry_points(group=nodes.GROUP)),
    reason="the example plug-in is not installed: pip install -e tests/plugins/actiongraph_slugify")


def slug_project(kind: str = SLUG) -> Project:
    p = Project(name="Slugs")
    p.add_endpoint("Slug", "POST", "/v1/slug", [Variable("title", "JSON", "body")])
    a = p.add_action("Slug", Trigger("endpoint", endpoint="Slug"), response_value="=slug")
    a.add_event(kind, text="=body.title", separator="_", **{"as": "slug"})
    return p


@installed
def test_the_plugin_kind_is_in_the_catalogue_with_its_package_and_docs():
    kind = catalogue()[SLUG]
    assert kind.name == "Slugify" and "slug for a URL" in kind.doc
    assert package_of(SLUG) == "actiongraph-slugify 0.1.0"
    assert package_of("query") is None and catalogue()["query"] is nodes.query.EVENT
    assert not problems()


@installed
async def test_the_plugin_kind_compiles_runs_over_http_and_is_in_the_api_docs(serve):
    compile_project(slug_project())
    s = await serve(slug_project())
    status, body, _ = await s.call("POST", "/v1/slug", json={"title": "Crème brûlée, 2 pièces!"})
    assert (status, body) == (200, "creme_brulee_2_pieces")
    status, body, _ = await s.call("POST", "/v1/slug", json={"title": 5})
    assert status == 422 and "must be text" in body["error"]
    status, spec, _ = await s.call("GET", "/openapi.json")
    responses = spec["paths"]["/v1/slug"]["post"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {"type": "string"}
    assert "422" in responses


@installed
def test_check_names_the_plugins_a_project_uses(tmp_path, capsys):
    path = tmp_path / "slugs.actiongraph.json"
    save(slug_project(), path)
    assert main(["check", str(path)]) == 0
    assert "(plug-ins: actiongraph-slugify 0.1.0)" in capsys.readouterr().out


def test_a_missing_plugin_is_a_problem_naming_the_kind_and_the_file_keeps_its_events(tmp_path,
                                                                                      capsys):
    path = tmp_path / "acme.actiongraph.json"
    save(slug_project("acme.slugify"), path)
    saved = path.read_bytes()
    project = load(path)
    [problem] = [p for p in check_project(project) if p.where.endswith(".kind")]
    assert 'unknown event kind "acme.slugify"' in problem.message
    assert 'no installed plug-in gives "acme." event kinds' in problem.message
    with pytest.raises(ProjectError):
        compile_project(project)
    save(project, path)
    assert path.read_bytes() == saved
    assert main(["check", str(path)]) == 1
    assert "acme.slugify" in capsys.readouterr().err


@dataclass
class Dist:
    name: str
    version: str


@dataclass
class Point:
    """An entry point as importlib.metadata gives one."""

    name: str
    value: str
    dist: Dist
    provide: object = None

    def load(self):
        if isinstance(self.provide, Exception):
            raise self.provide
        return self.provide


def test_a_broken_plugin_is_reported_once_and_the_rest_loads():
    from nodes.kind import EventKind

    async def run(ctx, inputs, settings):
        return None

    good = EventKind(id="good.echo", name="Echo", category="Test", doc="Echoes.", run=run)
    loaded = load_plugins([
        Point("acme", "acme_events:events", Dist("acme-events", "1.2"), RuntimeError("boom")),
        Point("good", "good_events:events", Dist("good-events", "1.0"), lambda: (good,)),
        Point("rude", "rude:events", Dist("rude", "0.1"),
              lambda: (EventKind(id="echo", name="E", category="T", doc="d", run=run),)),
    ])
    kinds = nodes.kinds_of(loaded)
    assert kinds["good.echo"] is good and kinds["query"] is nodes.query.EVENT
    assert "echo" not in kinds  # a plug-in's ids start with its name: no taking a built-in's
    assert problems(loaded) == [
        "event plug-in acme (acme-events 1.2) did not load: RuntimeError: boom",
        'event plug-in rude (rude 0.1) did not load: its event kind "echo" must have an id '
        'starting with "rude."']
    assert missing("acme.slugify", loaded) == \
        'its plug-in "acme" (acme-events 1.2) did not load: RuntimeError: boom'
    assert "good-events 1.0" in missing("good.other", loaded)
    assert package_of("good.echo", loaded) == "good-events 1.0"


def test_a_broken_installed_plugin_is_logged_once(monkeypatch, caplog):
    broken = Point("acme", "acme_events:events", Dist("acme-events", "1.2"), ImportError("no acme"))
    monkeypatch.setattr(nodes, "entry_points", lambda group: [broken])
    nodes.plugins.cache_clear()
    try:
        with caplog.at_level("ERROR", logger="actiongraph.plugins"):
            nodes.plugins()
            nodes.plugins()
        assert [r.getMessage() for r in caplog.records] == [
            "event plug-in acme (acme-events 1.2) did not load: ImportError: no acme"]
    finally:
        nodes.plugins.cache_clear()
