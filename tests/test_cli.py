"""The `actiongraph` command as a user runs it: check a file, serve it, log requests."""

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import EXAMPLES

ACTIONGRAPH = [sys.executable, "-m", "runtime.cli"]
ROOT = Path(__file__).resolve().parent.parent


def run(*args, **kwargs):
    return subprocess.run(ACTIONGRAPH + list(args), capture_output=True, text=True, cwd=ROOT,
                          timeout=60, **kwargs)


def test_check_a_valid_file_prints_a_summary():
    out = run("check", str(EXAMPLES / "posts.actiongraph.json"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok: 1 model, 5 endpoints, 5 actions, 4 events")


def test_check_a_broken_file_lists_every_problem(tmp_path):
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    data["actions"][0]["events"]["n1"]["settings"]["model"] = "Shoe"
    data["actions"][0]["response"]["value"] = "=newShoes"
    path = tmp_path / "broken.actiongraph.json"
    path.write_text(json.dumps(data))
    out = run("check", str(path))
    assert out.returncode == 1
    assert f"{path}: 2 problems:" in out.stderr
    assert 'actions["Create new shoe"].events["n1"].settings.model: unknown model "Shoe" ' \
           '(did you mean "Shoes"?)' in out.stderr
    assert 'actions["Create new shoe"].response.value: unknown variable "newShoes"' in out.stderr
    assert "Traceback" not in out.stderr


def test_check_passes_a_project_with_warnings_and_prints_them(tmp_path):
    """An event nothing reaches is a warning: the project still serves, so check passes."""
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    data["actions"][0]["events"]["n9"] = {"kind": "query", "settings": {}}
    path = tmp_path / "loose.actiongraph.json"
    path.write_text(json.dumps(data))
    out = run("check", str(path))
    assert out.returncode == 0, out.stderr
    assert "ok: 1 model" in out.stdout
    assert out.stderr.count("warning:") >= 1 and 'events["n9"]' in out.stderr
    assert "Traceback" not in out.stderr
    export = run("export-server", str(path), str(tmp_path / "out"))
    assert export.returncode == 0, export.stderr


def test_check_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "x.actiongraph.json"
    path.write_text("{\n  oops\n}")
    out = run("check", str(path))
    assert out.returncode == 1 and "line 2 column 3: not valid JSON" in out.stderr
    out = run("check", str(tmp_path / "missing.actiongraph.json"))
    assert out.returncode == 1 and "cannot read the file" in out.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """`actiongraph serve` on a copy of the shoes example; yields (base URL, process)."""
    project = tmp_path / "shoes.actiongraph.json"
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", project)
    port = free_port()
    proc = subprocess.Popen(ACTIONGRAPH + ["serve", str(project), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    banner = []
    for line in proc.stdout:
        banner.append(line)
        if "Press Ctrl+C" in line or len(banner) > 50:
            break
    yield f"http://127.0.0.1:{port}", proc, "".join(banner), tmp_path
    proc.terminate()
    proc.wait(timeout=10)


def test_serve_answers_the_readme_curl_and_writes_beside_the_project(served):
    base, proc, banner, folder = served
    assert "at http://localhost:" in banner
    assert "POST   http://localhost:" in banner and "/v1/create_shoe" in banner
    request = urllib.request.Request(base + "/v1/create_shoe", method="POST",
                                     data=b'{"shoe_type":"Boot","price":89.5}',
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200
        row = json.loads(r.read())
    assert row["shoe_type"] == "Boot" and row["price"] == 89.5
    import sqlite3
    with sqlite3.connect(folder / "shoes.db") as conn:
        assert conn.execute("select shoe_type, price from Shoes").fetchall() == [("Boot", 89.5)]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base + "/v1/create_shoe", timeout=10)
    assert e.value.code == 405
    log = [json.loads(proc.stdout.readline()) for _ in range(2)]  # one JSON line per request
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("POST", "/v1/create_shoe", 200), ("GET", "/v1/create_shoe", 405)]
    assert log[0]["endpoint"] == log[0]["action"] == "Create new shoe" and log[0]["ms"] > 0


def test_serve_refuses_a_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = run("serve", str(EXAMPLES / "shoes.actiongraph.json"), "--port", str(port),
                  "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert out.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in out.stderr


def test_serve_refuses_a_model_change_that_loses_data(tmp_path):
    project = tmp_path / "shoes.actiongraph.json"
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    data["models"][0]["fields"][0]["kind"] = "Integer"
    project.write_text(json.dumps(data))
    import sqlite3
    with sqlite3.connect(tmp_path / "shoes.db") as conn:
        conn.execute("create table Shoes (id integer primary key, created_at datetime not null, "
                     "shoe_type text, price numeric)")
        conn.execute("insert into Shoes values (1, '2024-01-01 00:00:00', 'Boot', 3)")
    data["actions"][0]["events"]["n1"]["settings"]["values"]["shoe_type"] = "=1"
    project.write_text(json.dumps(data))
    out = run("serve", str(project), "--port", str(free_port()))
    assert out.returncode == 1
    assert "was not changed" in out.stderr and "Shoes.shoe_type" in out.stderr
    with sqlite3.connect(tmp_path / "shoes.db") as conn:
        assert conn.execute("select shoe_type from Shoes").fetchall() == [("Boot",)]


@pytest.mark.postgresql
def test_serve_says_in_one_line_why_postgresql_cannot_be_used(postgres, capsys):
    import asyncio

    from sqlalchemy.engine import make_url

    from runtime.cli import _serve
    from runtime.host import ServeConfig

    project = str(EXAMPLES / "shoes.actiongraph.json")
    stranger = make_url(postgres.url_of("postgres")).set(username="nobody_here", password="s3cret")
    cases = [
        # trust auth (the test cluster) knows no such role; a server asking passwords says so
        (stranger.render_as_string(hide_password=False),
         ('role "nobody_here" does not exist', 'password authentication failed for user')),
        (postgres.url_of("no_such_database"), ('database "no_such_database" does not exist',)),
        ("postgresql+asyncpg://ann:s3cret@127.0.0.1:1/shop", ("Connect call failed",)),
    ]
    for url, reasons in cases:
        assert asyncio.run(_serve(ServeConfig(project=project, db=url, port=0))) == 1
        out, err = capsys.readouterr()
        assert any(r in err for r in reasons), err
        assert err.startswith("cannot reach the database postgresql+asyncpg://"), err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out
        assert "s3cret" not in err + out  # the password is never printed
