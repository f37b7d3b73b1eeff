"""The project file: canonical text, round trips, located errors, atomic saves."""

import json
import os
from pathlib import Path

import pytest

from runtime import projectfile
from runtime.errors import ProjectError
from runtime.project import Field, GlobalVariable, Project, Trigger, Variable, to_data
from runtime.projectfile import dumps, load, loads, save

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


@pytest.mark.parametrize("name", ["shoes", "posts", "signup"])
def test_load_then_save_gives_the_same_bytes(name, tmp_path):
    source = EXAMPLES / f"{name}.actiongraph.json"
    copy = tmp_path / source.name
    save(load(source), copy)
    assert copy.read_bytes() == source.read_bytes()


def build() -> Project:
    p = Project(name="Blog")
    p.add_model("Posts", [Field("caption", "Text"), Field("likes", "Integer", default=0)])
    p.add_endpoint("Edit", "PUT", "/v1/posts/{id}",
                   [Variable("id", "Number", "path"),
                    Variable("post", "Custom Model", "body", model="Posts", fields=["caption"])])
    a = p.add_action("Edit post", Trigger("endpoint", endpoint="Edit"),
                     variables=[GlobalVariable("PostToUpdate", "Model", model="Posts",
                                               where={"field": "id", "op": "=", "value": "=path.id"})],
                     response_value="=updated")
    n1 = a.add_event("update", model="Posts", record="=PostToUpdate",
                     values={"caption": "=body.post.caption"}, **{"as": "updated"})
    n2 = a.add_event("assign", after=n1.id, value="=updated.likes + 1", **{"as": "next_likes"})
    a.wire(n1.id, "result", n2.id, "value")
    a.positions = {"trigger": (0, 0), n1.id: (300, 0), n2.id: (600, 10.5)}
    return p


def test_a_project_built_in_code_survives_save_and_load(tmp_path):
    project = build()
    path = tmp_path / "blog.actiongraph.json"
    save(project, path)
    loaded = load(path)
    assert to_data(loaded) == to_data(project)
    assert loaded.actions[0].positions["n2"] == (600, 10.5)
    assert loaded.actions[0].wires[0].source == "n1"
    assert dumps(loaded) == path.read_text()


def test_moving_a_node_is_a_one_line_diff():
    project = build()
    before = dumps(project).splitlines()
    project.actions[0].positions["n1"] = (320, 40)
    after = dumps(project).splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(before) == len(after)
    assert len(changed) == 1 and '"layout"' not in changed[0][1]


def test_ids_are_stable_and_unique():
    p = Project()
    a = p.add_model("A", [Field("x"), Field("y")])
    b = p.add_model("B", [Field("z")])
    assert (a.id, b.id) == ("m1", "m2")
    assert [f.id for f in a.fields + b.fields] == ["f1", "f2", "f3"]
    action = p.add_action("Act")
    first = action.add_event("assign", value=1, **{"as": "x"})
    second = action.add_event("assign", after=first.id, value=2, **{"as": "y"})
    del action.events[first.id]
    third = action.add_event("assign", value=3, **{"as": "z"})
    assert third.id == "n3" and second.id == "n2"


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.actiongraph.json"
    path.write_text('{\n  "format": 1,\n  "name": "x",,\n}')
    with pytest.raises(ProjectError) as e:
        load(path)
    assert str(e.value.problems[0]).startswith("line 3 column 15: not valid JSON")
    assert str(path) in e.value.describe()


def test_schema_errors_are_located_by_name():
    data = json.loads((EXAMPLES / "posts.actiongraph.json").read_text())
    data["models"][0]["fields"][1]["kind"] = "Txt"
    data["endpoints"][3]["method"] = "FETCH"
    data["actions"][0]["events"]["n1"]["colour"] = "red"
    with pytest.raises(ProjectError) as e:
        loads(json.dumps(data))
    messages = [str(p) for p in e.value.problems]
    assert 'models["Posts"].fields["caption"].kind: "Txt" is not one of Text, Integer, Decimal, ' \
           'Boolean, Date, DateTime, JSON, Link' in messages
    assert any(m.startswith('endpoints["Update social media post"].method: "FETCH"')
               for m in messages)
    assert any(m.startswith('actions["List posts"].events["n1"]: unknown key')
               and "colour" in m for m in messages)


def test_newer_format_is_refused_clearly():
    with pytest.raises(ProjectError, match="newer Actiongraph"):
        loads('{"format": 2, "name": "x"}')


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "p.actiongraph.json"
    save(build(), path)
    original = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(projectfile.os, "replace", broken_replace)
    project = build()
    project.name = "Changed"
    with pytest.raises(OSError):
        save(project, path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["p.actiongraph.json"]


def test_seed_rows_survive_save_and_load_as_one_line_each(tmp_path):
    project = build()
    project.model("Posts").seed = [{"caption": "Hello", "likes": 3}, {"likes": 0, "caption": "Hi"}]
    path = tmp_path / "blog.actiongraph.json"
    save(project, path)
    text = path.read_text()
    assert '      {"caption": "Hello", "likes": 3},\n' in text  # one row, one line
    assert '{"caption": "Hi", "likes": 0}' in text  # in the model's field order
    loaded = load(path)
    assert loaded.model("Posts").seed == [{"caption": "Hello", "likes": 3},
                                          {"caption": "Hi", "likes": 0}]
    assert dumps(loaded) == text
    assert list(json.loads(text))[:4] == ["format", "name", "models", "seed"]


def test_a_project_without_seed_rows_writes_no_seed_key():
    assert '"seed"' not in dumps(build())


def test_seed_rows_follow_a_renamed_model_and_drop_a_removed_field():
    project = build()
    posts = project.model("Posts")
    posts.seed = [{"caption": "Hello", "likes": 3}]
    posts.name = "Articles"
    posts.fields = [f for f in posts.fields if f.name != "likes"]
    loaded = loads(dumps(project))
    assert loaded.model("Articles").seed == [{"caption": "Hello"}]


@pytest.mark.parametrize("seed, message", [
    ({"Post": [{"caption": "x"}]}, 'seed["Post"]: there is no data model "Post" (models: Posts)'),
    ({"Posts": [{"caption": "x"}, {"captoin": "y"}]},
     'seed["Posts"][1].captoin: Posts has no field "captoin" (fields: user, caption, likes)'),
    ({"Posts": [{"id": 7, "caption": "x"}]},
     'seed["Posts"][0].id: id is set automatically: leave it out (rows get ids 1, 2, 3, ... in '
     'order)'),
    ({"Posts": [["not", "a", "row"]]}, 'seed["Posts"][0]: [\'not\', \'a\', \'row\'] is not of type '
                                      "'object'"),
    ({"Posts": {"caption": "x"}}, 'seed["Posts"]: {\'caption\': \'x\'} is not of type \'array\''),
])
def test_a_bad_seed_row_is_an_error_naming_model_row_and_field(seed, message):
    data = json.loads((EXAMPLES / "posts.actiongraph.json").read_text())
    data["seed"] = seed
    with pytest.raises(ProjectError) as e:
        loads(json.dumps(data))
    assert [str(p) for p in e.value.problems] == [message]
