"""`actiongraph runs` as a user runs it (a subprocess): listing with filters, showing one run,
--json, finding the history in the current folder, and bad input (exit 2, the flag named)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime.executor import StepTrace
from runtime.history import RunHistory
from runtime.runs import RunRecord
from runtime.store import Change

ROOT = Path(__file__).resolve().parent.parent
DAY = 86400


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "runtime.cli", "runs", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def runs(tmp_path) -> Path:
    """shop.runs.db beside shop.actiongraph.json with three runs: an old success, a 404 of
    yesterday and a failed POST now with a three-event trace."""
    (tmp_path / "shop.actiongraph.json").write_text("{}")
    path = tmp_path / "shop.runs.db"
    history = RunHistory(str(path))
    now = time.time()
    history.add(RunRecord(now - 3 * DAY, "GET", "/v1/shoes", 200, 2.5, endpoint="List",
                          action="List", source="http", revision=1))
    history.add(RunRecord(now - DAY, "GET", "/v1/nothing", 404, 0.2,
                          error="no endpoint at /v1/nothing"))
    trace = [StepTrace("n1", "create", {"source": {"name": "Boot"}}, {"record": {"id": 7}},
                       "next", 1.5, changes=[Change("insert", "Shoes", None,
                                                     {"id": 7, "name": "Boot"})]),
             StepTrace("n2", "assign", {"value": 2}, {"value": 2}, "next", 0.1),
             StepTrace("n3", "assign", {}, None, None, 0.5, error="division by zero")]
    history.add(RunRecord(now, "POST", "/v1/shoes", 500, 3.0, endpoint="Make", action="Make",
                          error="Assign event n3: division by zero", event="n3", trace=trace,
                          revision=2, inputs={"body": {"name": "Boot", "password": "pw1"}}))
    history.close()
    return path


def test_list_newest_first_and_filters(runs):
    out = cli(str(runs))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["3", "2", "1"]
    assert "POST /v1/shoes  500  3.0 ms  [n3] Assign event n3: division by zero" in lines[0]
    assert [line.split()[0] for line in cli(str(runs), "--failed").stdout.splitlines()] == ["3", "2"]
    assert cli(str(runs), "--status", "404").stdout.split()[0] == "2"
    assert cli(str(runs), "--endpoint", "List").stdout.split()[0] == "1"
    assert cli(str(runs), "--action", "Make").stdout.split()[0] == "3"
    assert cli(str(runs), "--search", "nothing").stdout.split()[0] == "2"
    assert [line.split()[0] for line in cli(str(runs), "--since", "2d").stdout.splitlines()] == \
        ["3", "2"]
    assert len(cli(str(runs), "--limit", "1").stdout.splitlines()) == 1
    none = cli(str(runs), "--status", "418")
    assert none.returncode == 0 and none.stdout == "" and "no runs" in none.stderr


def test_the_history_is_found_in_the_current_folder_and_beside_a_project(runs):
    assert cli("--failed", cwd=runs.parent).stdout.split()[0] == "3"
    assert cli("show", "3", cwd=runs.parent).returncode == 0
    assert cli(str(runs.parent / "shop.actiongraph.json")).stdout.split()[0] == "3"


def test_show_prints_the_trace_readably_and_as_json(runs):
    out = cli("show", "3", str(runs))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "POST /v1/shoes -> 500 in 3.0 ms" in text
    assert "1. create n1  1.5 ms  -> next" in text
    assert 'row:     insert Shoes #7 {"id": 7, "name": "Boot"}' in text
    assert "3. assign n3  0.5 ms  FAILED" in text
    assert "error:   division by zero" in text
    run = json.loads(cli("show", "3", str(runs), "--json").stdout)
    assert run["inputs"]["body"] == {"name": "Boot", "password": "***"}
    assert [s["id"] for s in run["trace"]] == ["n1", "n2", "n3"]
    assert run["revision"] == 2 and run["started"].endswith("Z")
    lines = cli(str(runs), "--json").stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [3, 2, 1]


@pytest.mark.parametrize("args, flag", [
    (["--status", "abc"], "--status"),
    (["--status", "700"], "--status"),
    (["--limit", "0"], "--limit"),
    (["--since", "yesterday"], "--since"),
    (["--bogus"], "--bogus"),
    (["show", "x7"], "id"),
])
def test_bad_input_names_the_flag_and_exits_2(runs, args, flag):
    out = cli(*args, str(runs))
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert flag in out.stderr and "Traceback" not in out.stderr


def test_missing_history_or_run_is_a_message_not_a_traceback(runs, tmp_path):
    out = cli(str(tmp_path / "other.runs.db"))
    assert out.returncode == 1 and "no run history at" in out.stderr
    out = cli("show", "99", str(runs))
    assert out.returncode == 1 and "no run 99" in out.stderr
    (tmp_path / "bad.runs.db").write_bytes(b"garbage" * 500)
    out = cli(str(tmp_path / "bad.runs.db"))
    assert out.returncode == 1 and "cannot read the run history" in out.stderr
    assert "Traceback" not in out.stderr
    (tmp_path / "second.runs.db").write_bytes(b"")
    out = cli(cwd=tmp_path)
    assert out.returncode == 1 and "several run histories" in out.stderr
