"""Export for a server: the folder `export_server` writes, and that folder running by itself."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import subprocess
import sys

import pytest
from conftest import EXAMPLES
from procs import ACTIONGRAPH, GUNICORN, ROOT, Server, free_port, request

from runtime.deploy import DeployError, export_server
from runtime.errors import ProjectError
from runtime.projectfile import load

SECRET = "w57TevO2NE9ceK2OXT1vshhwRDkTqMbAKnxs-3v8q9g"  # the shoes example's token secret
PASSWORD = "smtp-pass-2a8f1c"


@pytest.fixture
def shoes(tmp_path):
    """The shoes example with an SMTP login, in a folder of its own."""
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    assert data["settings"]["secret"] == SECRET
    data["settings"]["mail"].update(host="smtp.example.com", port=587, security="starttls",
                                    username="shop", password=PASSWORD)
    src = tmp_path / "src"
    src.mkdir()
    path = src / "shoes.actiongraph.json"
    path.write_text(json.dumps(data))
    return path


def test_the_folder_holds_the_project_without_secrets_and_pinned_requirements(shoes, tmp_path):
    out = tmp_path / "deploy"
    written = export_server(shoes, out)
    names = {p.relative_to(out).as_posix() for p in written}
    assert {"shoes.actiongraph.json", "requirements.txt", ".env.example", "README.md",
            "runtime/cli.py", "runtime/gunicorn_app.py", "runtime/gunicorn_conf.py",
            "nodes/create.py", "resources/__init__.py",
            "resources/schema/actiongraph.schema.json"} <= names
    assert written == sorted(written) and all(p.is_file() for p in written)
    assert not any("__pycache__" in n or n.startswith("app/") for n in names)  # no editor
    # No secret in clear anywhere in the folder.
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert SECRET not in text and PASSWORD not in text, path
    project = load(out / "shoes.actiongraph.json")
    assert project.settings.secret == "${ACTIONGRAPH_SECRET}"
    assert project.settings.mail.password == "${ACTIONGRAPH_SMTP_PASSWORD}"
    assert (project.settings.mail.host, project.settings.mail.username) == ("smtp.example.com",
                                                                            "shop")
    assert [m.name for m in project.models] == ["Shoes"] and len(project.actions) == 1
    # requirements.txt: every line name==version as installed; the runtime's, gunicorn, asyncpg.
    lines = [x for x in (out / "requirements.txt").read_text().splitlines()
             if x and not x.startswith("#")]
    pins = dict(x.split("==") for x in lines)
    for name, version in pins.items():
        assert metadata.version(name) == version, name
    lower = {n.lower() for n in pins}
    assert {"aiohttp", "sqlalchemy", "aiosqlite", "jsonschema", "argon2-cffi", "pyjwt",
            "croniter", "regex", "gunicorn", "asyncpg", "greenlet", "multidict"} <= lower
    assert not lower & {"pyside6", "pyside6-essentials", "shiboken6", "nodegraphqt", "qasync",
                        "faker", "pytest", "actiongraph"}
    env = (out / ".env.example").read_text()
    for name in ("ACTIONGRAPH_PROJECT=shoes.actiongraph.json", "ACTIONGRAPH_DB=",
                 "ACTIONGRAPH_SECRET=", "ACTIONGRAPH_SMTP_PASSWORD="):
        assert f"\n{name}" in env, name
    assert "shop at smtp.example.com:587" in env
    readme = (out / "README.md").read_text()
    assert "gunicorn -c python:runtime.gunicorn_conf" in readme
    assert "--worker-class aiohttp.GunicornWebWorker" in readme
    assert "runtime.cli serve shoes.actiongraph.json --workers 4" in readme
    assert "pip install -r requirements.txt" in readme


def test_a_folder_that_is_not_empty_needs_force(shoes, tmp_path):
    out = tmp_path / "deploy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(DeployError, match="is not empty"):
        export_server(shoes, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # nothing written
    (out / "runtime").mkdir()
    (out / "runtime" / "stale.py").write_text("old")
    export_server(shoes, out, force=True)
    assert (out / "notes.txt").read_text() == "mine"  # other files are left alone
    assert not (out / "runtime" / "stale.py").exists()  # the runtime is replaced whole
    assert (out / "shoes.actiongraph.json").exists()
    file = tmp_path / "a-file"
    file.write_text("x")
    with pytest.raises(DeployError, match="is a file, not a folder"):
        export_server(shoes, file)


def test_a_project_with_problems_is_not_exported(tmp_path):
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    data["actions"][0]["events"]["n1"]["settings"]["model"] = "Shoe"
    path = tmp_path / "broken.actiongraph.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match='unknown model "Shoe"'):
        export_server(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_command_line(shoes, tmp_path):
    out = tmp_path / "deploy"

    def run(*args):
        return subprocess.run(ACTIONGRAPH + ["export-server", str(shoes), str(out), *args],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)

    first = run()
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"{out}: ") and "README.md" in first.stdout
    again = run()
    assert again.returncode == 1 and "cannot export:" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr
    assert run("--force").returncode == 0


def test_the_exported_folder_runs_by_itself(shoes, tmp_path):
    """From the folder: its own copy of the runtime, the secrets from the environment, with
    `serve --workers` and with gunicorn's config module."""
    out = tmp_path / "deploy"
    export_server(shoes, out)
    where = subprocess.run([sys.executable, "-c", "import runtime; print(runtime.__file__)"],
                           capture_output=True, text=True, cwd=out, timeout=30)
    assert where.stdout.strip() == str(out / "runtime" / "__init__.py")
    env = {"ACTIONGRAPH_DB": f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}",
           "ACTIONGRAPH_SECRET": "prod-secret-0123456789", "ACTIONGRAPH_SMTP_PASSWORD": "pw",
           "ACTIONGRAPH_PROJECT": "shoes.actiongraph.json"}
    # A variable missing: a clear refusal naming it.
    port = free_port()
    missing = Server(ACTIONGRAPH + ["serve", "shoes.actiongraph.json", "--workers", "2",
                                    "--port", str(port)], tmp_path, port, cwd=out,
                     env={**env, "ACTIONGRAPH_SMTP_PASSWORD": None}, name="missing")
    missing.env = {k: v for k, v in missing.env.items() if v is not None}
    try:
        missing.start()
        assert missing.wait_exit(60) == 1
    finally:
        missing.kill()
    assert "settings.mail.password: the environment variable ACTIONGRAPH_SMTP_PASSWORD is not " \
           "set" in missing.err()
    assert "Traceback" not in missing.err()
    for argv in (ACTIONGRAPH + ["serve", "shoes.actiongraph.json", "--workers", "2"],
                 GUNICORN + ["-c", "python:runtime.gunicorn_conf"]):
        port = free_port()
        server = Server(argv + (["--port", str(port)] if "serve" in argv else []), tmp_path, port,
                        cwd=out, env={**env, "ACTIONGRAPH_BIND": f"127.0.0.1:{port}"})
        try:
            server.start().wait_ready(60)
            status, body = request(server.url + "/v1/create_shoe", "POST",
                                   {"shoe_type": "Boot", "price": 89.5})
            assert status == 200 and body["shoe_type"] == "Boot"
            assert server.stop() == 0
        finally:
            server.kill()
    assert not (out / "shoes.db").exists()  # the database is ACTIONGRAPH_DB's
