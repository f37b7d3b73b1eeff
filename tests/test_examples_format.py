"""Endpoint examples (the Run panel's saved requests) in the project file: round trip and schema."""

import json
from pathlib import Path

import pytest

from runtime.errors import ProjectError
from runtime.project import Example, to_data
from runtime.projectfile import dumps, load, loads, save

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


def with_examples():
    project = load(EXAMPLES / "posts.actiongraph.json")
    edit = project.endpoint("Update social media post")
    edit.examples = [
        Example("Rename", path={"id": 1}, body={"caption": "Renamed «ünïcode»"}),
        Example("Empty caption", path={"id": "2"}, query={"verbose": True},
                header={"x_client": "studio"}, body={"caption": ""}),
    ]
    project.endpoint("List posts").examples = [Example("Second page", query={"limit": 10, "offset": 10})]
    return project


def test_examples_survive_save_and_load(tmp_path):
    project = with_examples()
    path = tmp_path / "posts.actiongraph.json"
    save(project, path)
    loaded = load(path)
    assert to_data(loaded) == to_data(project)
    edit = loaded.endpoint("Update social media post")
    assert [x.name for x in edit.examples] == ["Rename", "Empty caption"]
    second = edit.example("Empty caption")
    assert second == Example("Empty caption", path={"id": "2"}, query={"verbose": True},
                             header={"x_client": "studio"}, body={"caption": ""})
    assert loaded.endpoint("List posts").examples[0].body is None
    assert dumps(loaded) == path.read_text(encoding="utf-8")


def test_endpoints_without_examples_write_no_key():
    project = with_examples()
    data = to_data(project)
    by_name = {e["name"]: e for e in data["endpoints"]}
    assert "examples" not in by_name["Get post"]
    assert "examples" in by_name["List posts"]
    assert list(by_name["List posts"])[-1] == "examples"


def test_any_json_body_round_trips():
    project = with_examples()
    bodies = [[1, 2, {"a": None}], "text", 3.5, None, {"nested": {"deep": [True, False]}}]
    project.endpoint("Create post").examples = [Example(f"b{i}", body=b) for i, b in enumerate(bodies)]
    loaded = loads(dumps(project))
    assert [x.body for x in loaded.endpoint("Create post").examples] == bodies


@pytest.mark.parametrize("bad, where", [
    ({"path": {"id": 1}}, "name"),
    ({"name": "x", "query": [1]}, "query"),
    ({"name": "x", "colour": "red"}, "colour"),
])
def test_a_malformed_example_is_a_located_error(bad, where):
    data = json.loads((EXAMPLES / "posts.actiongraph.json").read_text(encoding="utf-8"))
    data["endpoints"][3]["examples"] = [bad]
    with pytest.raises(ProjectError) as info:
        loads(json.dumps(data))
    text = str(info.value)
    assert 'endpoints["Update social media post"].examples' in text
    assert where in text
