"""Secrets out of the project file: `${NAME}` references resolved from the environment."""

from __future__ import annotations

import json
import urllib.request

import jwt
import pytest
from conftest import EXAMPLES
from procs import ACTIONGRAPH, Server, free_port, request

from runtime.auth import AuthService
from runtime.environ import reference, references, resolve, with_references
from runtime.errors import ProjectError
from runtime.host import Host, ServeConfig
from runtime.projectfile import dumps, load, loads


def shoes_with(**settings) -> str:
    data = json.loads((EXAMPLES / "shoes.actiongraph.json").read_text())
    mail = settings.pop("mail", {})
    data["settings"].update(settings)
    data["settings"]["mail"].update(mail)
    return json.dumps(data)


def test_a_reference_is_exactly_dollar_brace_name():
    assert reference("${ACTIONGRAPH_SECRET}") == "ACTIONGRAPH_SECRET"
    assert reference("${_x1}") == "_x1"
    for literal in ("plain", "$ACTIONGRAPH_SECRET", "x${A}", "${A}x", "", None, 3):
        assert reference(literal) is None


@pytest.mark.parametrize("bad", ["${NOT CLOSED", "${1A}", "${A-B}", "${}", "${A}${B}"])
def test_the_schema_refuses_a_malformed_reference(bad):
    with pytest.raises(ProjectError) as e:
        loads(shoes_with(mail={"password": bad}), "x.actiongraph.json")
    assert e.value.describe().splitlines()[1].strip() == (
        f'settings.mail.password: {json.dumps(bad)} is not a reference to an environment '
        f'variable: write exactly ${{NAME}} (letters, digits and _)')


def test_references_resolve_from_the_environment_and_the_file_keeps_them():
    text = shoes_with(secret="${TOKEN_SECRET}",
                      mail={"host": "${SMTP_HOST}", "username": "mailer",
                            "password": "${SMTP_PASSWORD}"})
    project = loads(text)
    assert references(project) == {"settings.secret": "TOKEN_SECRET",
                                   "settings.mail.host": "SMTP_HOST",
                                   "settings.mail.password": "SMTP_PASSWORD"}
    env = {"TOKEN_SECRET": "s" * 40, "SMTP_HOST": "mail.example.com", "SMTP_PASSWORD": ""}
    resolved = resolve(project, env)
    assert resolved.settings.secret == "s" * 40
    assert (resolved.settings.mail.host, resolved.settings.mail.username,
            resolved.settings.mail.password) == ("mail.example.com", "mailer", "")
    assert project.settings.secret == "${TOKEN_SECRET}"  # the loaded project is not changed
    assert dumps(project) == dumps(loads(text))  # saved back as written


def test_every_missing_variable_is_named_at_once():
    project = loads(shoes_with(secret="${TOKEN_SECRET}", mail={"password": "${SMTP_PASSWORD}"}))
    with pytest.raises(ProjectError) as e:
        resolve(project, {}, "shop.actiongraph.json")
    assert e.value.describe().splitlines() == [
        "shop.actiongraph.json: 2 problems:",
        "  settings.secret: the environment variable TOKEN_SECRET is not set (the project refers "
        "to it as ${TOKEN_SECRET})",
        "  settings.mail.password: the environment variable SMTP_PASSWORD is not set (the "
        "project refers to it as ${SMTP_PASSWORD})"]
    with pytest.raises(ProjectError, match="TOKEN_SECRET is empty"):
        resolve(project, {"TOKEN_SECRET": "", "SMTP_PASSWORD": "x"})


async def test_the_server_signs_and_sends_with_the_resolved_values(tmp_path):
    project = resolve(loads(shoes_with(secret="${TOKEN_SECRET}",
                                       mail={"password": "${SMTP_PASSWORD}"})),
                      {"TOKEN_SECRET": "from-the-environment", "SMTP_PASSWORD": "pw"})
    host = await Host.open(ServeConfig(db=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"), project)
    try:
        services = host.state.services
        assert services["auth"].secret == "from-the-environment"
        assert services["mail"].settings.password == "pw"
    finally:
        await host.close()


def test_the_editor_serving_an_unresolved_reference_reads_the_variable_or_makes_one_up(monkeypatch):
    project = loads(shoes_with(secret="${TEST_EDITOR_SECRET}"))
    monkeypatch.delenv("ACTIONGRAPH_SECRET", raising=False)
    monkeypatch.setenv("TEST_EDITOR_SECRET", "from-env")
    assert AuthService.for_project(project).secret == "from-env"
    monkeypatch.delenv("TEST_EDITOR_SECRET")
    made_up = AuthService.for_project(project).secret
    assert made_up and made_up != "${TEST_EDITOR_SECRET}" and len(made_up) >= 32


def test_with_references_replaces_secrets_only():
    project = loads(shoes_with(secret="literal-secret",
                               mail={"username": "u", "password": "literal-password"}))
    out = with_references(project)
    assert out.settings.secret == "${ACTIONGRAPH_SECRET}"
    assert out.settings.mail.password == "${ACTIONGRAPH_SMTP_PASSWORD}"
    assert out.settings.mail.username == "u" and out.settings.mail.host == "localhost"
    assert project.settings.secret == "literal-secret"
    kept = with_references(loads(shoes_with(secret="${MINE}", mail={"password": ""})))
    assert kept.settings.secret == "${MINE}" and kept.settings.mail.password == ""


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_resolves_the_secret_at_start_in_every_worker(tmp_path, smtp, workers):
    data = json.loads((EXAMPLES / "signup.actiongraph.json").read_text())
    data["settings"]["secret"] = "${TEST_TOKEN_SECRET}"
    data["settings"]["mail"].update(host="127.0.0.1", port=smtp.port)
    path = tmp_path / "signup.actiongraph.json"
    path.write_text(json.dumps(data))
    assert "${TEST_TOKEN_SECRET}" in path.read_text()
    port = free_port()
    server = Server(ACTIONGRAPH + ["serve", str(path), "--port", str(port), "--workers",
                                   str(workers)], tmp_path, port,
                    env={"TEST_TOKEN_SECRET": "the-server-secret-0123456789abcdef",
                         "ACTIONGRAPH_SECRET": ""})
    try:
        server.start().wait_ready(60)
        status, body = request(server.url + "/v1/signup", "POST",
                               {"email": "ann@example.com", "name": "Ann", "password": "pw12345678"})
        assert status == 201, body
        claims = jwt.decode(body["token"], "the-server-secret-0123456789abcdef",
                            algorithms=["HS256"])
        assert claims
        for _ in range(6):  # whichever worker answers accepts the token
            me = urllib.request.Request(server.url + "/v1/me",
                                        headers={"Authorization": f"Bearer {body['token']}"})
            with urllib.request.urlopen(me, timeout=10) as answer:
                assert answer.status == 200
                assert json.loads(answer.read())["email"] == "ann@example.com"
        assert server.stop() == 0
    finally:
        server.kill()
    assert "the-server-secret" not in server.out() + server.err()


def test_a_file_on_disk_with_references_loads_and_checks(tmp_path):
    path = tmp_path / "x.actiongraph.json"
    path.write_text(shoes_with(secret="${ACTIONGRAPH_SECRET}"))
    assert load(path).settings.secret == "${ACTIONGRAPH_SECRET}"
