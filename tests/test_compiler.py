"""The compiler: every problem located, scope rules, wires and flow checked once per revision."""

import copy
import json
from pathlib import Path

import pytest

from runtime.compiler import check_project, compile_project, scope_at
from runtime.errors import ProjectError
from runtime.project import Event, Field, GlobalVariable, Project, Trigger, Variable, from_data

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def shoe_project():
    p = Project(name="Shop")
    p.add_model("Shoes", [Field("shoe_type", "Text"), Field("price", "Decimal")])
    p.add_endpoint("Create shoe", "POST", "/v1/shoes", [Variable("shoe", "Model", "body", model="Shoes")])
    a = p.add_action("Create shoe", Trigger("endpoint", endpoint="Create shoe"),
                     response_value="=newShoe")
    return p, a


def messages(project):
    return [str(p) for p in check_project(project)]


def test_a_valid_project_compiles_into_plans():
    p, a = shoe_project()
    n1 = a.add_event("create", model="Shoes", source="=body.shoe", **{"as": "newShoe"})
    compiled = compile_project(p)
    plan = compiled.actions["Create shoe"]
    assert plan.start.id == n1.id and plan.writes
    assert compiled.endpoints[0].action is plan


def test_unknown_model_is_located_like_the_issue_says():
    p, a = shoe_project()
    for i in range(4):
        a.add_event("assign", value=i, **{"as": f"v{i}"}, after=f"n{i}" if i else None)
    a.add_event("create", model="Shoe", after="n4", **{"as": "newShoe"})
    assert 'actions["Create shoe"].events["n5"].settings.model: unknown model "Shoe" ' \
           '(did you mean "Shoes"?)' in messages(p)


def test_reading_a_variable_defined_on_only_one_branch_is_refused():
    p, a = shoe_project()
    cond = a.add_event("condition", value="=body.shoe.price > 10")
    made = a.add_event("create", after=cond.id, port="true", model="Shoes", source="=body.shoe",
                       **{"as": "newShoe"})
    after = a.add_event("assign", after=made.id, value="=newShoe.price", **{"as": "p"})
    cond.next["false"] = after.id  # both branches meet at `after`
    found = messages(p)
    assert f'actions["Create shoe"].events["{after.id}"].settings.value: variable "newShoe" ' \
           'is not defined before this event on every path' in found
    assert 'actions["Create shoe"].response.value: variable "newShoe" is not defined at the end ' \
           'of every path that sets no Response' in found


def test_a_response_event_on_the_other_branch_makes_the_response_safe():
    p, a = shoe_project()
    cond = a.add_event("condition", value="=body.shoe.price > 10")
    a.add_event("create", after=cond.id, port="true", model="Shoes", source="=body.shoe",
                **{"as": "newShoe"})
    a.add_event("response", after=cond.id, port="false", value={"error": "too cheap"}, status=422)
    assert messages(p) == []


def test_unknown_variables_and_endpoint_fields_are_named():
    p, a = shoe_project()
    a.add_event("create", model="Shoes", values={"price": "=body.sheo.price", "colour": 1},
                **{"as": "newShoe"})
    a.add_event("assign", after="n1", value="=newSho", **{"as": "x"})
    found = messages(p)
    assert 'actions["Create shoe"].events["n1"].settings.values.price: the endpoint has no body ' \
           'variable "sheo" (did you mean "shoe"?)' in found
    assert 'actions["Create shoe"].events["n1"].settings.values.colour: Shoes has no field ' \
           '"colour"' in found
    assert 'actions["Create shoe"].events["n2"].settings.value: unknown variable "newSho" ' \
           '(did you mean "newShoe"?)' in found


def test_bad_expressions_and_escapes_are_compile_errors():
    p, a = shoe_project()
    a.add_event("assign", value="=().__class__", **{"as": "x"})
    a.add_event("assign", after="n1", value="=1 +", **{"as": "newShoe"})
    found = messages(p)
    assert any(m.startswith('actions["Create shoe"].events["n1"].settings.value: in') for m in found)
    assert any(m.startswith('actions["Create shoe"].events["n2"].settings.value: in') for m in found)


def test_wire_from_a_later_event_and_incompatible_wires_are_refused():
    p, a = shoe_project()
    n1 = a.add_event("create", model="Shoes", source="=body.shoe", **{"as": "newShoe"})
    n2 = a.add_event("delete", after=n1.id, model="Shoes", where={"field": "id", "op": "=", "value": 0})
    n3 = a.add_event("condition", after=n2.id, value=True)
    a.wire(n3.id, "missing", n1.id, "source")
    a.wire(n2.id, "count", n1.id, "source")
    found = messages(p)
    assert any('events["n1"].inputs.source' in m and "does not run before" in m for m in found)
    p2, a2 = shoe_project()
    m1 = a2.add_event("delete", model="Shoes", where={"field": "id", "op": "=", "value": 0})
    m2 = a2.add_event("create", after=m1.id, model="Shoes", **{"as": "newShoe"})
    a2.wire(m1.id, "count", m2.id, "source")
    assert any("a Number output cannot feed a Record input" in m for m in messages(p2))


def test_a_circle_in_the_flow_is_refused():
    p, a = shoe_project()
    n1 = a.add_event("assign", value=1, **{"as": "newShoe"})
    n2 = a.add_event("assign", after=n1.id, value=2, **{"as": "y"})
    a.link(n2.id, n1.id)
    assert any("goes round in a circle" in m for m in messages(p))


def test_path_variables_must_match_the_path_exactly():
    p = Project()
    p.add_model("Posts", [Field("caption")])
    p.add_endpoint("Edit", "PUT", "/v1/posts/{id}", [Variable("Id", "Number", "path")])
    found = messages(p)
    assert 'endpoints["Edit"].path: "{id}" in the path has no path variable (there is "Id": names ' \
           'must match in spelling and capitalisation)' in found
    assert any(m.startswith('endpoints["Edit"].variables["Id"]: path variable "Id" is not in the path')
               for m in found)


def test_model_checks():
    p = Project()
    p.add_model("Posts", [Field("id"), Field("owner", "Link", link="Users"),
                          Field("n", "Integer", default="x")])
    found = messages(p)
    assert 'models["Posts"].fields["id"].name: "id" is added automatically; pick another name' in found
    assert 'models["Posts"].fields["owner"].link: unknown model "Users"' in found
    assert any(m.startswith('models["Posts"].fields["n"].default: expected a whole number') for m in found)


def test_one_endpoint_one_action_and_same_route_twice():
    p, a = shoe_project()
    a.add_event("create", model="Shoes", source="=body.shoe", **{"as": "newShoe"})
    p.add_action("Other", Trigger("endpoint", endpoint="Create shoe"))
    p.add_endpoint("Dup", "POST", "/v1/shoes/")
    found = messages(p)
    assert 'actions["Other"].trigger.endpoint: endpoint "Create shoe" already triggers action ' \
           '"Create shoe"' in found
    assert any(m.startswith('endpoints["Dup"].path: POST /v1/shoes/ is also served') for m in found)


def test_global_model_variable_where_is_checked():
    p, a = shoe_project()
    a.variables.append(GlobalVariable("Shoe", "Model", model="Shoes",
                                      where={"field": "size", "op": "=", "value": "=path.id"}))
    a.add_event("create", model="Shoes", source="=body.shoe", **{"as": "newShoe"})
    found = messages(p)
    assert any(m.startswith('actions["Create shoe"].variables["Shoe"].where.field: Shoes has no '
                            'field "size"') for m in found)
    assert 'actions["Create shoe"].variables["Shoe"].where.value: the endpoint has no path ' \
           'variable "id"' in found


def test_compile_project_raises_with_every_problem():
    p, a = shoe_project()
    a.add_event("nope")
    with pytest.raises(ProjectError) as e:
        compile_project(p)
    assert 'actions["Create shoe"].events["n1"].kind: unknown event kind "nope"' in \
           [str(x) for x in e.value.problems]


def test_an_event_the_trigger_never_reaches_is_a_warning_that_still_serves():
    p, a = shoe_project()
    a.add_event("create", model="Shoes", source="=body.shoe", **{"as": "newShoe"})
    loose = a.add_event("query")  # not linked: the flow never gets there, and it has no model
    a.start = "n1"
    found = check_project(p)
    here = [x for x in found if x.where.startswith(f'actions["Create shoe"].events["{loose.id}"]')]
    assert any("not connected to the trigger" in x.message for x in here)
    assert any("Query needs a model" in x.message for x in here)
    assert {x.severity for x in found} == {"warning"}
    compile_project(p)  # warnings do not stop a project from being served


def test_a_custom_model_body_has_only_its_chosen_fields():
    p = Project(name="Posts")
    p.add_model("Posts", [Field("caption"), Field("likes", "Integer")])
    p.add_endpoint("Edit", "PUT", "/v1/posts/{id}",
                   [Variable("id", "Number", "path"),
                    Variable("post", "Custom Model", "body", model="Posts", fields=["caption"])])
    a = p.add_action("Edit", Trigger("endpoint", endpoint="Edit"))
    a.add_event("assign", value="=body.post.caption", **{"as": "ok"})
    a.add_event("assign", after="n1", value="=body.post.id", **{"as": "bad"})
    assert messages(p) == ['actions["Edit"].events["n2"].settings.value: body.post has no field '
                           '"id" (it has caption)']


def _compiles_at(project, action, eid: str, expression: str) -> bool:
    """Whether `expression` compiles where event `eid` is: the event is swapped for an Assign
    reading it, with the same links in and out."""
    p = copy.deepcopy(project)
    a = p.action(action.name)
    a.events[eid] = Event(kind="assign", id=eid, next=dict(a.events[eid].next),
                          settings={"value": f"={expression}", "as": "probe_value"})
    a.wires = [w for w in a.wires if eid not in (w.source, w.target)]
    here = f'actions["{a.name}"].events["{eid}"].settings.value'
    return not [x for x in check_project(p) if x.where == here]


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_the_scope_at_an_event_is_what_the_compiler_accepts_there(name):
    project = from_data(json.loads((EXAMPLES / name).read_text()))
    for action in project.actions:
        for eid in action.events:
            words = scope_at(project, action, eid)
            for word in words:
                assert _compiles_at(project, action, eid, word), (action.name, eid, word)
    update = project.action("Update social media post")
    if update is not None:
        words = scope_at(project, update, "n1")
        assert "body.post.caption" in words and "body.post.id" not in words
        assert not _compiles_at(project, update, "n1", "body.post.id")
