"""The diff behind Replay: two response bodies as JSON, two runs' row changes per model, and
which events of a recorded path are gone or changed since."""

from __future__ import annotations

from runtime.project import Project
from runtime.replaydiff import (
    MISSING,
    action_digests,
    compare,
    json_diff,
    path_changes,
    rows_diff,
)


def test_json_diff_names_each_place_that_differs():
    then = {"caption": "hi", "likes": 1, "tags": ["a", "b"], "gone": True}
    now = {"caption": "hi", "likes": 2, "tags": ["a"], "new": None}
    found = {(d.path, d.op, d.before, d.after) for d in json_diff(then, now)}
    assert found == {("$.likes", "changed", 1, 2), ("$.tags[1]", "removed", "b", MISSING),
                     ("$.gone", "removed", True, MISSING), ("$.new", "added", MISSING, None)}
    assert json_diff({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}) == []
    assert json_diff({"n": 1}, {"n": 1.0}) == []  # 1 and 1.0 are one JSON number
    assert json_diff({"n": 1}, {"n": True})  # not a boolean, though
    assert [d.path for d in json_diff({"a b": 1}, {"a b": 2})] == ['$["a b"]']


def test_a_fresh_id_and_a_timestamp_are_volatile_only_when_the_runs_inserted_them():
    then_changes = [{"op": "insert", "model": "Posts", "before": None,
                     "after": {"id": 4, "caption": "x", "created_at": "2026-01-01T00:00:00"}}]
    now_changes = [{"op": "insert", "model": "Posts", "before": None,
                    "after": {"id": 5, "caption": "x", "created_at": "2026-02-02T00:00:00"}}]
    then = {"status": 201, "response": {"status": 201, "body": then_changes[0]["after"]},
            "changes": then_changes}
    now = {"status": 201, "response": {"status": 201, "body": now_changes[0]["after"]},
           "changes": now_changes}
    c = compare(then, now)
    assert c.same and c.summary() == "same"
    assert {d.path for d in c.body if d.volatile} == {"$.id", "$.created_at"}
    # an id that was not inserted by both runs is a real difference
    assert [d.volatile for d in json_diff({"id": 1}, {"id": 2})] == [False]


def test_rows_diff_counts_per_model_and_lists_what_only_one_run_did():
    then = [{"op": "update", "model": "Posts", "before": {"id": 1, "likes": 1},
             "after": {"id": 1, "likes": 2}},
            {"op": "insert", "model": "Log", "before": None, "after": {"id": 9, "text": "a"}}]
    now = [{"op": "update", "model": "Posts", "before": {"id": 1, "likes": 1},
            "after": {"id": 1, "likes": 3}},
           {"op": "insert", "model": "Log", "before": None, "after": {"id": 10, "text": "a"}},
           {"op": "delete", "model": "Tags", "before": {"id": 2}, "after": None}]
    rows = {m.model: m for m in rows_diff(then, now)}
    assert list(rows) == ["Posts", "Log", "Tags"]
    assert rows["Posts"].then == {"insert": 0, "update": 1, "delete": 0} == rows["Posts"].now
    assert rows["Posts"].only_then == [then[0]] and rows["Posts"].only_now == [now[0]]
    assert rows["Log"].same  # the same insert with the next id
    assert rows["Tags"].now["delete"] == 1 and rows["Tags"].only_now == [now[2]]


def test_compare_says_what_changed_in_one_line():
    then = {"status": 422, "error": "Posts.likes: expected a whole number", "response":
            {"status": 422, "body": {"error": "bad"}}, "changes": []}
    now = {"status": 200, "error": None, "response": {"status": 200, "body": {"id": 1}},
           "changes": [{"op": "update", "model": "Posts", "before": {"id": 1, "likes": 1},
                        "after": {"id": 1, "likes": 2}}]}
    c = compare(then, now)
    assert not c.same
    assert c.summary() == "changed: status 422 -> 200, 2 body values, rows of Posts"
    assert c.body_then == {"error": "bad"} and c.body_now == {"id": 1}


def test_a_recorded_path_marks_events_that_are_gone_or_changed_since():
    project = Project(name="p")
    a = project.add_action("A")
    n1 = a.add_event("log", message="one")
    n2 = a.add_event("log", after=n1.id, message="two")
    then = action_digests(a)
    trace = [{"id": n1.id, "kind": "log"}, {"id": n2.id, "kind": "log"}, {"id": "n9", "kind": "log"}]
    assert path_changes(trace, a, then) == (["n9"], [])
    n2.settings["message"] = "changed"
    assert path_changes(trace, a, then) == (["n9"], [n2.id])
    # without the digests of that revision only a changed kind is seen
    assert path_changes(trace, a, None) == (["n9"], [])
    assert path_changes([{"id": n1.id, "kind": "create"}], a, None) == ([], [n1.id])
    # moving an event or writing its description is not a change
    a.events[n1.id].description = "why"
    a.positions[n1.id] = (5.0, 5.0)
    assert path_changes(trace[:1], a, then) == ([], [])
