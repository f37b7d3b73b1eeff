"""Environment values in actions (issue 17 item 2): declared in the project, read as env.NAME,
valued by the process environment or a .env file beside the project, never the project file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from services import local_service

from runtime.compiler import check
from runtime.deploy import export_server
from runtime.environ import environment_values, write_env_file
from runtime.host import Host, ServeConfig, StartupError
from runtime.project import EnvVar, Project, Trigger, from_data, to_data


def project(url: str = "http://127.0.0.1:9/") -> Project:
    p = Project(name="Keys")
    p.environment = [EnvVar("API_KEY", "the weather service's key", secret=True),
                     EnvVar("GREETING")]
    p.settings.allow_private_http = True
    p.add_endpoint("Hello", "GET", "/v1/hello", [])
    hello = p.add_action("Hello", Trigger("endpoint", endpoint="Hello"),
                         response_value={"greeting": "=env.GREETING", "sent": "=answer.body"})
    hello.add_event("http_request", url=url, headers={"X-Api-Key": "=env.API_KEY"},
                    **{"as": "answer"})
    return p


def test_declared_values_are_saved_without_values_and_checked():
    p = project()
    data = to_data(p)
    assert data["environment"] == [
        {"name": "API_KEY", "description": "the weather service's key", "secret": True},
        {"name": "GREETING", "description": "", "secret": False}]
    assert from_data(json.loads(json.dumps(data))).environment == p.environment
    p.action("Hello").response_value = {"x": "=env.API_KY"}
    problems = [x.message for x in check(p).problems]
    assert any("env.API_KY is not one of the project's environment values" in m
               and 'did you mean "API_KEY"' in m for m in problems), problems


def test_values_come_from_the_environment_then_the_env_files(tmp_path):
    p = project()
    write_env_file(tmp_path, "development", {"API_KEY": "dev key with 'quotes'"})
    (tmp_path / ".env").write_text("GREETING=hi from .env\nAPI_KEY=plain\n")
    assert environment_values(p, tmp_path, "development", {}) == {
        "API_KEY": "dev key with 'quotes'", "GREETING": "hi from .env"}
    assert environment_values(p, tmp_path, "production", {"GREETING": "from the process"}) == {
        "API_KEY": "plain", "GREETING": "from the process"}


async def test_an_http_request_sends_the_key_from_env_and_a_missing_value_stops_the_start(
        tmp_path):
    seen = []

    async def weather(request):
        seen.append(request.headers.get("X-Api-Key"))
        return web.json_response({"ok": True})

    async with local_service({"/": weather}) as base:
        url = f"{base}/"
        path = tmp_path / "keys.actiongraph.json"
        path.write_text(json.dumps(to_data(project(url))))
        config = ServeConfig(project=str(path), environ={"GREETING": "hello"})
        with pytest.raises(StartupError) as missing:
            await Host.open(config)
        assert "API_KEY is not set" in str(missing.value) and ".env.production" in str(
            missing.value)
        (tmp_path / ".env").write_text("API_KEY=k-123\n")
        host = await Host.open(config)
        try:
            record = await host.run("Hello")
            assert record.status == 200, record.error
            assert record.response == {"greeting": "hello", "sent": {"ok": True}}
            assert seen == ["k-123"]
        finally:
            await host.close()
        assert "k-123" not in path.read_text()  # values never reach the project file


def test_serve_reads_env_files_and_export_lists_the_values(tmp_path):
    path = tmp_path / "keys.actiongraph.json"
    path.write_text(json.dumps(to_data(project())))
    out = tmp_path / "server"
    export_server(str(path), str(out))
    example = (out / ".env.example").read_text()
    assert "# env.API_KEY: the weather service's key (a secret)\nAPI_KEY=\n" in example
    assert "\nGREETING=\n" in example
    result = subprocess.run([sys.executable, "-m", "runtime.cli", "serve", str(path),
                             "--port", "1"], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 1 and "API_KEY is not set" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
