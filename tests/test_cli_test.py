"""`actiongraph test FILE` as CI runs it: a line per test, a diff per failure, JUnit XML and the
exit status (0 all pass, 1 one fails, 2 problems)."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
SIGNUP = EXAMPLES / "signup.actiongraph.json"


def actiongraph(*args):
    return subprocess.run([sys.executable, "-m", "runtime.cli", "test", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_the_signup_example_passes_with_sign_up_duplicate_login_and_auth_tests(tmp_path):
    out = actiongraph(SIGNUP, "--junit", tmp_path / "out.xml")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    for name in ("sign-up answers a token and the user", "sign-up with a taken email answers 409",
                 "log in answers a token", "log in with a wrong password answers 401",
                 "/v1/me answers the logged-in user", "/v1/me without a token answers 401"):
        assert any(line.startswith(f"PASS  {name}  (") and line.endswith(" ms)")
                   for line in lines), name
    assert lines[-1].startswith("6 passed, 0 failed in ")
    suite = ET.parse(tmp_path / "out.xml").getroot().find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("Sign-up", "6", "0")


def test_a_broken_graph_fails_with_a_readable_diff(tmp_path):
    data = json.loads(SIGNUP.read_text())
    events = data["actions"][0]["events"]
    events["n3"]["settings"]["status"] = 400  # the duplicate answers 400, not 409
    events["n5"]["settings"]["values"]["name"] = "=upper(trim(body.name))"
    broken = tmp_path / "signup.actiongraph.json"
    broken.write_text(json.dumps(data))
    out = actiongraph(broken, "-k", "sign-up", "--junit", tmp_path / "out.xml")
    assert out.returncode == 1
    assert "FAIL  sign-up with a taken email answers 409" in out.stdout
    assert "      status: expected 409, got 400\n" in out.stdout
    assert '      body.user.name: expected "Ann", got "ANN"\n' in out.stdout
    assert out.stdout.splitlines()[-1].startswith("0 passed, 2 failed in ")
    suite = ET.parse(tmp_path / "out.xml").getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "2"
    failure = suite.find("testcase").find("failure")
    assert 'body.user.name: expected "Ann", got "ANN"' in failure.text


@pytest.mark.parametrize("example", ["posts", "shoes"])
def test_the_examples_ship_with_passing_tests(example):
    out = actiongraph(EXAMPLES / f"{example}.actiongraph.json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert " failed in " in out.stdout and "FAIL" not in out.stdout


def test_a_test_of_something_deleted_exits_2_naming_the_test(tmp_path):
    data = json.loads((EXAMPLES / "posts.actiongraph.json").read_text())
    data["endpoints"] = [e for e in data["endpoints"] if e["name"] != "Get post"]
    data["actions"] = [a for a in data["actions"] if a["name"] != "Get post"]
    path = tmp_path / "posts.actiongraph.json"
    path.write_text(json.dumps(data))
    out = actiongraph(path)
    assert out.returncode == 2
    assert 'tests["get post answers the post"].endpoint: test "get post answers the post" ' \
           'refers to endpoint "Get post", which is not in the project' in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_arguments_exit_2_with_a_message(tmp_path):
    out = actiongraph(tmp_path / "missing.actiongraph.json")
    assert out.returncode == 2 and "cannot read the file" in out.stderr
    out = actiongraph(SIGNUP, "-k", "no such test")
    assert out.returncode == 2 and "no test name holds 'no such test'" in out.stderr
    out = actiongraph(SIGNUP, "--db", "mysql://x@localhost/y")
    assert out.returncode == 2 and "tests run on SQLite or PostgreSQL, not mysql" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_file_without_tests_says_so():
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    data.pop("tests")
    out = subprocess.run([sys.executable, "-m", "runtime.cli", "test", "/dev/stdin"],
                         input=json.dumps(data), capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0 and "no tests" in out.stdout


@pytest.mark.postgresql
def test_on_postgresql_each_test_gets_a_database_made_from_a_template(postgres):
    out = actiongraph(EXAMPLES / "posts.actiongraph.json", "--db", postgres.admin_url)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "9 passed, 0 failed" in out.stdout
    left = postgres.rows(postgres.admin_url, "SELECT datname FROM pg_database WHERE datname "
                                             "LIKE 'actiongraph_test_%'", ())
    assert left == []
