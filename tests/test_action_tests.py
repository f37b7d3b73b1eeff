"""Tests of a project (the file's `tests`): the format, the matchers, and runs on scratch
databases over real HTTP with frozen clocks, mocked HTTP Requests and captured mails."""

import copy
import json
import xml.etree.ElementTree as ET

import pytest
from conftest import EXAMPLES

from runtime import testcases, testing
from runtime.compiler import check_project
from runtime.errors import ProjectError
from runtime.project import Field, Project, Trigger, Variable, from_data, to_data
from runtime.projectfile import dumps, load, loads


def project() -> Project:
    """Users with a unique email; endpoints that write, read the clock, call out and mail."""
    p = Project("Tested")
    p.add_model("Users", [Field("email", "Text", required=True, unique=True),
                          Field("name", "Text")])
    p.add_endpoint("Add user", "POST", "/v1/users", [Variable("email", "Text", "body"),
                                                     Variable("name", "Text", "body",
                                                              required=False)])
    add = p.add_action("Add user", Trigger("endpoint", endpoint="Add user"), response_status=201)
    add.add_event("create", model="Users", values={"email": "=body.email", "name": "=body.name"},
                  **{"as": "user"})
    add.add_event("condition", after="n1", value="=body.name == 'admin'")
    add.add_event("raise_error", after="n2", port="true", message="no admins", status=403)
    add.response_value = "=user"
    p.add_endpoint("Clock", "GET", "/v1/clock")
    clock = p.add_action("Clock", Trigger("endpoint", endpoint="Clock"))
    clock.add_event("date", **{"as": "today"})
    clock.response_value = {"now": "=now()"}
    p.add_endpoint("Rates", "GET", "/v1/rates")
    rates = p.add_action("Rates", Trigger("endpoint", endpoint="Rates"))
    rates.add_event("http_request", url="https://api.example.com/rates?base=EUR",
                    **{"as": "rates"})
    rates.response_value = "=rates.body"
    p.add_endpoint("Welcome", "POST", "/v1/welcome", [Variable("email", "Text", "body")])
    welcome = p.add_action("Welcome", Trigger("endpoint", endpoint="Welcome"))
    welcome.add_event("send_email", to="=body.email", subject="Welcome aboard", text="Hi")
    welcome.response_value = {"sent": True}
    return p


async def run(p: Project, *names: str) -> dict[str, testing.TestResult]:
    results = await testing.run_tests(p, names=list(names) or None)
    return {r.name: r for r in results}


# -- the format ---------------------------------------------------------------------------------

def test_tests_round_trip_through_the_file_with_stable_ids():
    p = project()
    p.add_test("adds a user", "Add user", request={"body": {"email": "a@example.org"}},
               expect={"status": 201, "paths": {"email": "a@example.org"}})
    p.add_test("frozen", "Clock", request={}, expect={"status": 200}, seed=False,
               rows={"Users": [{"email": "b@example.org"}]}, now="2030-01-02T03:04:05Z",
               mocks=[{"url": "https://x.example/*", "body": {}}])
    assert [t.id for t in p.tests] == ["t1", "t2"]
    data = to_data(p)
    assert list(data).index("tests") == list(data).index("actions") + 1
    assert to_data(from_data(data)) == data
    text = dumps(p)
    assert dumps(loads(text)) == text
    assert '"seed": false' in text and '"now": "2030-01-02T03:04:05Z"' in text
    # a test that sets no fixture writes none of their keys: a short diff
    assert set(data["tests"][0]) == {"id", "name", "endpoint", "request", "expect"}
    assert "tests" not in to_data(project())


def test_a_malformed_test_is_a_located_error():
    data = to_data(project())
    data["tests"] = [{"id": "t1", "name": "typo", "endpoint": "Add user", "request": {},
                      "expect": {"stauts": 201, "rows": [{"model": "Users", "op": "added"}]}}]
    with pytest.raises(ProjectError) as e:
        loads(json.dumps(data))
    text = e.value.describe()
    assert 'tests["typo"].expect: unknown key (\'stauts\' was unexpected)' in text
    assert 'tests["typo"].expect.rows[0].op: "added" is not one of inserted, updated, ' \
           "deleted" in text


def test_a_test_of_something_deleted_is_a_problem_naming_the_test():
    p = project()
    p.add_test("old endpoint", "Remove user", request={}, expect={"status": 204})
    p.add_test("old model", "Add user", request={"body": {"email": "a@b.c"}},
               rows={"Accounts": [{}]}, expect={"rows": [{"model": "Accounts", "op": "inserted"}]})
    p.add_test("old event", "Add user", request={"body": {"email": "a@b.c"}},
               expect={"events": {"ran": ["n9"]}})
    problems = {(w.where, w.message) for w in check_project(p)}
    assert ('tests["old endpoint"].endpoint', 'test "old endpoint" refers to endpoint '
            '"Remove user", which is not in the project (endpoints: Add user, Clock, Rates, '
            'Welcome)') in problems
    assert ('tests["old model"].rows["Accounts"]', 'test "old model" adds rows to model '
            '"Accounts", which is not in the project') in problems
    assert ('tests["old model"].expect.rows[0].model', 'test "old model" expects rows of model '
            '"Accounts", which is not in the project') in problems
    assert ('tests["old event"].expect.events.ran', 'test "old event" refers to event "n9", '
            'which is not in the action of endpoint "Add user"') in problems
    # warnings: the project still serves
    assert all(w.severity == "warning" for w in check_project(p))


async def test_a_test_with_a_problem_fails_with_the_problem_and_the_others_run():
    p = project()
    p.add_test("old endpoint", "Remove user", request={}, expect={"status": 204})
    p.add_test("clock", "Clock", request={}, expect={"status": 200})
    results = await run(p)
    assert not results["old endpoint"].passed
    assert 'endpoint "Remove user"' in results["old endpoint"].diff
    assert results["clock"].passed


# -- matchers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("expected, good, bad", [
    ({"a": {"$any": True}}, {"a": None}, {}),
    ({"$type": "number"}, 1.5, "1.5"),
    ({"$type": "integer"}, 3, 3.5),
    ({"$type": "string"}, "x", 1),
    ({"$type": "boolean"}, False, 0),
    ({"$type": "array"}, [], {}),
    ({"$type": "object"}, {}, []),
    ({"$type": "null"}, None, 0),
    ({"$type": "datetime"}, "2026-01-02T03:04:05Z", "2026-01-02"),
    ({"$contains": "ell"}, "hello", "help"),
    ({"$contains": {"id": 2}}, [{"id": 1}, {"id": 2, "x": 1}], [{"id": 3}]),
    ({"$contains": {"id": {"$type": "integer"}}}, {"id": 7, "name": "x"}, {"name": "x"}),
    ({"$regex": "^a+b$"}, "aab", "abc"),
    ({"$approx": 1.0, "tolerance": 0.01}, 1.005, 1.02),
    ({"$approx": 2}, 2.0000001, 2.1),
    (True, True, 1),
    (1, 1.0, True),
    ({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}, 3]}),
])
def test_matchers_accept_what_fits_and_refuse_what_does_not(expected, good, bad):
    assert testcases.matches(expected, good)
    assert not testcases.matches(expected, bad) and testcases.match(expected, bad)


def test_a_body_diff_names_each_path():
    found = testcases.match({"user": {"id": {"$type": "integer"}, "name": "Ann"}, "n": 1},
                            {"user": {"id": "7", "email": "x"}, "n": 1})
    assert [str(m) for m in found] == [
        'body.user.id: expected {"$type": "integer"}, got "7"',
        'body.user.name: missing (expected "Ann")',
        'body.user.email: not expected (got "x")',
    ]


def test_json_paths_read_dots_and_indexes():
    body = {"items": [{"id": 1}, {"id": 2, "tags": ["a"]}]}
    assert testcases.at_path(body, "$.items[1].tags[0]") == "a"
    assert testcases.at_path(body, "items.1.id") == 2
    assert testcases.at_path(body, "items[5].id") is testcases.MISSING
    assert testcases.at_path([{"user": "ada"}], "[0].user") == "ada"


# -- runs -------------------------------------------------------------------------------------

async def test_two_tests_inserting_the_same_unique_value_both_pass_in_either_order():
    p = project()
    for name in ("first", "second"):
        p.add_test(name, "Add user", request={"body": {"email": "same@example.org"}},
                   expect={"status": 201, "body": {"id": 1, "created_at": {"$type": "datetime"},
                                                   "email": "same@example.org", "name": None},
                           "rows": [{"model": "Users", "op": "inserted", "count": 1}]})
    # the same again against a row the test starts with: 409/422, nothing inserted
    p.add_test("clash", "Add user", request={"body": {"email": "same@example.org"}},
               rows={"Users": [{"email": "same@example.org"}]},
               expect={"rows": [{"model": "Users", "op": "inserted", "count": 0}]})
    results = await run(p)
    assert all(r.passed for r in results.values()), [r.diff for r in results.values()]
    assert results["clash"].status in (409, 422)
    p.tests.reverse()
    assert all(r.passed for r in (await run(p)).values())


async def test_a_frozen_clock_is_what_now_and_date_events_see():
    p = project()
    p.add_test("frozen", "Clock", request={}, now="2030-01-02T03:04:05Z",
               expect={"status": 200, "paths": {"now": {"$regex": "^2030-01-02T03:04:05"}}})
    p.add_test("not frozen", "Clock", request={},
               expect={"paths": {"now": {"$regex": "^2030-"}}})
    results = await run(p)
    assert results["frozen"].passed, results["frozen"].diff
    step = next(s for s in results["frozen"].record.trace if s.kind == "date")
    assert str(step.outputs).count("2030") >= 1
    assert not results["not frozen"].passed


async def test_http_requests_get_the_mocked_answer_and_an_unmocked_one_fails_the_test():
    p = project()
    p.add_test("mocked", "Rates", request={},
               mocks=[{"method": "GET", "url": "https://api.example.com/rates*",
                       "body": {"USD": 1.1}}],
               expect={"status": 200, "body": {"USD": {"$approx": 1.1}}})
    p.add_test("unmocked", "Rates", request={},
               mocks=[{"url": "https://other.example.com/*", "body": {}}],
               expect={"status": 502})
    results = await run(p)
    assert results["mocked"].passed, results["mocked"].diff
    assert results["mocked"].http_calls[0]["url"] == "https://api.example.com/rates?base=EUR"
    saved = testing.test_from_record(results["mocked"].record, p)  # "Save as test" keeps the mock
    assert saved["mocks"] == [{"url": "https://api.example.com/rates?base=EUR", "status": 200,
                               "body": {"USD": 1.1}}]
    assert saved["expect"]["body"] == {"USD": 1.1}
    unmocked = results["unmocked"]
    assert not unmocked.passed
    assert "HTTP Request GET https://api.example.com/rates?base=EUR was not mocked" in \
        unmocked.diff


async def test_mails_are_captured_and_checked_never_sent():
    p = project()
    p.settings.mail.host = "mail.invalid"  # a real send would fail the run with 502
    p.add_test("welcome", "Welcome", request={"body": {"email": "ann@example.org"}},
               expect={"status": 200, "mails": [{"to": "ann@example.org",
                                                 "subject_contains": "Welcome"}]})
    p.add_test("wrong mail", "Welcome", request={"body": {"email": "ann@example.org"}},
               expect={"mails": [{"to": "bob@example.org"}]})
    p.add_test("no mail expected", "Welcome", request={"body": {"email": "ann@example.org"}},
               expect={"mails": []})
    results = await run(p)
    assert results["welcome"].passed, results["welcome"].diff
    assert results["welcome"].mails[0].subject == "Welcome aboard"
    assert 'mails[0]: no mail like {"to": "bob@example.org"} was sent (sent: ' \
           '[{"to": ["ann@example.org"], "subject": "Welcome aboard"}])' in \
           results["wrong mail"].diff
    assert "expected 0 mails, 1 were sent" in results["no mail expected"].diff


@pytest.mark.parametrize("expect, diff", [
    ({"status": 200}, "status: expected 200, got 201"),
    ({"body": {"id": 2}}, "body.id: expected 2, got 1"),
    ({"paths": {"email": {"$contains": "zzz"}}},
     'body.email: expected {"$contains": "zzz"}, got "a@example.org"'),
    ({"headers": {"Content-Type": {"$contains": "csv"}}}, "headers.Content-Type: expected"),
    ({"rows": [{"model": "Users", "op": "deleted", "count": 1}]},
     "rows[0]: expected 1 row Users deleted, got 0"),
    ({"rows": [{"model": "Users", "op": "inserted", "values": {"email": "b@example.org"}}]},
     'rows[0]: expected a row Users inserted with {"email": "b@example.org"}, got none '
     '(Users inserted: {"id": 1, "created_at": '),
    ({"mails": [{"to": "a@example.org"}]}, "mails[0]: no mail like"),
    ({"events": {"ran": ["n3"]}}, "events.ran: did not run: n3 (ran: n1, n2)"),
    ({"events": {"not_ran": ["n1"]}}, "events.not_ran: ran but must not: n1"),
])
async def test_each_expectation_can_fail_with_a_readable_line(expect, diff):
    p = project()
    p.add_test("fails", "Add user", request={"body": {"email": "a@example.org"}}, expect=expect)
    [result] = await testing.run_tests(p)
    assert not result.passed
    assert diff in result.diff


async def test_acting_as_a_user_sends_a_real_login_token():
    p = load(EXAMPLES / "signup.actiongraph.json")
    p.tests = []
    p.add_test("by email", "Me", request={"as": "demo@example.org"},
               expect={"status": 200, "paths": {"id": 1}})
    p.add_test("by id", "Me", request={"as": 1}, expect={"status": 200})
    p.add_test("unknown", "Me", request={"as": "nobody@example.org"}, expect={"status": 200})
    results = await run(p)
    assert results["by email"].passed and results["by id"].passed
    assert results["unknown"].error == ("acts as email 'nobody@example.org', but no Users record "
                                        "has it (add it to the test's rows or the seed)")


async def test_a_fixture_row_the_database_refuses_is_an_error_naming_it():
    p = project()
    p.add_test("bad row", "Clock", request={}, rows={"Users": [{"name": "no email"}]},
               expect={"status": 200})
    [result] = await testing.run_tests(p)
    assert result.error == 'rows["Users"][0] cannot be added: Users.email is required'


async def test_a_recorded_run_saved_as_a_test_passes_again():
    p = load(EXAMPLES / "posts.actiongraph.json")
    p.tests = []
    p.add_test("source", "Create post", request={"body": {"user": "ken", "caption": "Hi",
                                                          "likes": 2}}, expect={})
    [source] = await testing.run_tests(p)
    data = testing.test_from_record(source.record, p, name="saved")
    assert data["expect"]["status"] == 201
    assert data["expect"]["body"]["id"] == {"$type": "integer"}
    assert data["expect"]["body"]["created_at"] == {"$type": "datetime"}
    assert data["expect"]["rows"] == [{"model": "Posts", "op": "inserted", "count": 1,
                                       "values": {"user": "ken", "caption": "Hi", "likes": 2}}]
    assert data["expect"]["events"] == {"ran": ["n1"]}
    file = to_data(p)
    file["tests"] = [{"id": "t2", **data}]
    again = loads(json.dumps(file))  # what the function builds passes the schema
    [result] = await testing.run_tests(again, names=["saved"])
    assert result.passed, result.diff
    # the same on a failed run: what it answered, and no rows
    broken = copy.deepcopy(again)
    broken.tests[0].request["body"]["likes"] = "many"
    [failed] = await testing.run_tests(broken)
    saved = testing.test_from_record(failed.record, again, name="x")
    assert saved["expect"]["status"] == 422 and "rows" not in saved["expect"]


def test_junit_xml_is_well_formed_with_failures():
    t = project().add_test("x", "Clock")
    results = [testing.TestResult("ok", True, 3.0, t, "Clock"),
               testing.TestResult("bad <&>", False, 4.0, t, "Clock",
                                  mismatches=[testcases.Mismatch("status", 200, 500)])]
    root = ET.fromstring(testing.junit_xml(results, "Tested"))
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.findall("testcase")[1].find("failure")
    assert failure.get("message") == "status: expected 200, got 500"
