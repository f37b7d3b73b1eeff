"""Links' on-delete rules (issue 17 item 5): refuse (the default: 409 naming the records that
link to it), cascade and clear, as rows the run changed; over real HTTP on SQLite and
PostgreSQL."""

import pytest

from runtime.compiler import check
from runtime.project import Field, Project, Trigger, Variable, from_data, to_data

pytestmark = pytest.mark.both_databases


def library() -> Project:
    p = Project(name="Library")
    p.add_model("Authors", [Field("name", "Text")])
    p.add_model("Books", [Field("title", "Text"), Field("author", "Link", link="Authors")])
    p.add_model("Loans", [Field("who", "Text"),
                          Field("book", "Link", link="Books", required=True, on_delete="cascade")])
    p.add_model("Reviews", [Field("stars", "Integer"),
                            Field("book", "Link", link="Books", on_delete="clear")])
    for model in ("Authors", "Books", "Loans", "Reviews"):
        p.add_endpoint(f"Add {model}", "POST", f"/v1/{model.lower()}",
                       [Variable("record", "JSON", "body")])
        add = p.add_action(f"Add {model}", Trigger("endpoint", endpoint=f"Add {model}"),
                           response_value="=made")
        add.add_event("create", model=model, source="=body.record", **{"as": "made"})
        p.add_endpoint(f"Delete {model}", "DELETE", f"/v1/{model.lower()}/{{id}}",
                       [Variable("id", "Integer", "path")])
        delete = p.add_action(f"Delete {model}", Trigger("endpoint", endpoint=f"Delete {model}"),
                              response_value="=n")
        delete.add_event("delete", model=model,
                         where={"field": "id", "op": "=", "value": "=path.id"}, **{"as": "n"})
    return p


async def add(s, model: str, **record) -> int:
    status, body, _ = await s.call("POST", f"/v1/{model.lower()}", json={"record": record})
    assert status == 200, body
    return body["id"]


async def test_refuse_cascade_and_clear(serve):
    s = await serve(library())
    s.state.trace = True
    records = []
    s.state.listeners.append(records.append)
    ann = await add(s, "Authors", name="Ann")
    dune = await add(s, "Books", title="Dune", author=ann)
    await add(s, "Loans", who="Bo", book=dune)
    await add(s, "Loans", who="Cy", book=dune)
    await add(s, "Reviews", stars=5, book=dune)
    # refuse (the default): 409 naming the records that link to it; nothing deleted
    status, body, _ = await s.call("DELETE", f"/v1/authors/{ann}")
    assert status == 409, body
    assert f"Authors {ann} cannot be deleted: Books {dune} link to it (field author)" in \
        body["error"]
    assert s.rows("SELECT count(*) FROM Authors") == [(1,)]
    # cascade deletes the loans, clear empties the reviews' link: rows the run changed
    status, body, _ = await s.call("DELETE", f"/v1/books/{dune}")
    assert status == 200 and body == 1
    assert s.rows("SELECT count(*) FROM Loans") == [(0,)]
    assert s.rows("SELECT stars, book FROM Reviews") == [(5, None)]
    changed = sorted((c.op, c.model) for c in records[-1].changes)
    assert changed == [("delete", "Books"), ("delete", "Loans"), ("delete", "Loans"),
                       ("update", "Reviews")]
    assert (await s.call("DELETE", f"/v1/authors/{ann}"))[0] == 200  # nothing links now


def test_the_rule_is_saved_and_checked():
    p = library()
    assert from_data(to_data(p)).model("Loans").field("book").on_delete == "cascade"
    assert "on_delete" not in to_data(p)["models"][1]["fields"][1]  # the default is not written
    p.model("Loans").field("book").on_delete = "clear"
    p.model("Reviews").field("book").on_delete = "sideways"
    problems = {str(x.where): x.message for x in check(p).problems}
    assert "a required link cannot be cleared" in problems[
        'models["Loans"].fields["book"].on_delete']
    assert 'unknown rule "sideways"' in problems['models["Reviews"].fields["book"].on_delete']
