"""The API generator, API docs and Export for server in the main window, as a user meets them:
Generate REST API on the Shoes model gives endpoints that the live server answers at once and
that /docs lists; Undo takes them away; Export for server writes a deployable folder."""

from __future__ import annotations

import asyncio
import json
import shutil

import aiohttp
import pytest
from PySide6.QtCore import QSettings

from app.live import free_port
from tests.app.conftest import EXAMPLES

pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")


@pytest.fixture
def shoes_copy(tmp_path):
    path = tmp_path / "shoes.actiongraph.json"
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", path)
    return path


def _generated(project):
    return sorted((e.method, e.path) for e in project.endpoints if e.path.startswith("/v1/shoes"))


def test_generate_rest_api_from_the_tree_is_one_undoable_edit(window, shoes_copy):
    assert window.open_file(str(shoes_copy))
    doc = window.document
    before = doc.text()
    window.tree.select("models", doc.project.model("Shoes").id)
    window.actions["generate_api"].trigger()
    assert _generated(doc.project) == [
        ("DELETE", "/v1/shoes/{id}"), ("GET", "/v1/shoes"), ("GET", "/v1/shoes/{id}"),
        ("PATCH", "/v1/shoes/{id}"), ("POST", "/v1/shoes"), ("PUT", "/v1/shoes/{id}")]
    assert doc.problems() == []
    title, text, details = window.prompts.infos[-1]
    assert title == "Generate REST API" and "created 6 endpoints and 6 actions" in text
    # Every generated endpoint has its action, an ordinary graph the user can open.
    triggered = {a.trigger.endpoint for a in doc.project.actions}
    assert all(e.name in triggered for e in doc.project.endpoints)
    assert window.current_editor() is not None  # the list endpoint opened

    window.tree.select("models", doc.project.model("Shoes").id)
    window.actions["generate_api"].trigger()  # again: nothing doubles
    assert len(_generated(doc.project)) == 6
    assert "nothing was added" in window.prompts.infos[-1][1]

    assert window.undo_action.text() == "Undo Generate REST API for Shoes"
    window.undo_action.trigger()
    assert doc.text() == before
    window.redo_action.trigger()
    assert len(_generated(doc.project)) == 6


def test_generate_asks_for_the_model_when_none_is_selected(window, shoes_copy):
    assert window.open_file(str(shoes_copy))
    window.tree.select("endpoints", window.document.project.endpoints[0].id)
    window.prompts.choices = ["Shoes"]
    window.actions["generate_api"].trigger()
    assert "Generate REST API" in window.prompts.asked
    assert len(_generated(window.document.project)) == 6


def test_api_docs_follow_the_project_and_export(window, shoes_copy, tmp_path, shot):
    assert window.open_file(str(shoes_copy))
    dialog = window.show_api_docs()
    assert "/v1/create_shoe" in dialog.spec["paths"] and "/v1/shoes" not in dialog.spec["paths"]
    window.tree.generate_api_current("Shoes")
    assert "/v1/shoes/{id}" in dialog.spec["paths"]  # the open docs follow the edit
    assert "/v1/shoes/{id}" in dialog.browser.toPlainText()
    out = tmp_path / "openapi.json"
    dialog.ask_path = lambda *args: str(out)
    dialog.export_json()
    assert set(json.loads(out.read_text())["paths"]) == set(dialog.spec["paths"])
    dialog.resize(1000, 760)
    shot(dialog, "api_docs")


def test_export_for_server_writes_a_deployable_folder(window, shoes_copy, tmp_path):
    assert window.open_file(str(shoes_copy))
    out = tmp_path / "deploy"
    written = window.export_for_server(out)
    names = {p.name for p in written}
    assert {"shoes.actiongraph.json", "requirements.txt", ".env.example", "README.md"} <= names
    exported = (out / "shoes.actiongraph.json").read_text()
    secret = window.document.project.settings.secret
    assert secret not in exported and "${" in exported  # a reference, never the secret itself
    assert "gunicorn" in (out / "README.md").read_text()
    assert window.prompts.infos[-1][0] == "Export for server"
    # A folder that is not empty: asked first; No leaves it alone, Overwrite writes again.
    (out / "README.md").write_text("mine")
    window.prompts.confirms = [False]
    assert window.export_for_server(out) == []
    assert (out / "README.md").read_text() == "mine"
    window.prompts.confirms = [True]
    assert window.export_for_server(out)
    assert "gunicorn" in (out / "README.md").read_text()
    # A file where the folder should be: a clear error, nothing written.
    (tmp_path / "afile").write_text("x")
    assert window.export_for_server(tmp_path / "afile") == []
    assert "is a file" in window.prompts.errors[-1][1]


async def test_generated_endpoints_answer_on_the_live_server_and_show_in_docs(
        make_window, shoes_copy):
    QSettings().setValue("live/port", free_port(19300))
    window = make_window()
    assert window.open_file(str(shoes_copy))
    await window.live._starting
    server = window.live.server
    assert server.running, server.error
    try:
        window.tree.generate_api_current("Shoes")
        await server.settled()
        base = server.base_url
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/v1/shoes",
                                 json={"shoe_type": "boot", "price": 80}) as r:
                assert r.status == 201, await r.text()
                created = await r.json()
            async with http.get(f"{base}/v1/shoes/{created['id']}") as r:
                assert r.status == 200 and (await r.json())["shoe_type"] == "boot"
            async with http.patch(f"{base}/v1/shoes/{created['id']}", json={"price": 70}) as r:
                assert r.status == 200 and float((await r.json())["price"]) == 70
            async with http.get(f"{base}/v1/shoes") as r:
                listed = await r.json()
                items = listed if isinstance(listed, list) else listed["items"]
                seeded = len(window.document.project.model("Shoes").seed)  # rows it starts with
                assert r.status == 200 and len(items) == seeded + 1
                assert created["id"] in [x["id"] for x in items]
            async with http.delete(f"{base}/v1/shoes/{created['id']}") as r:
                assert r.status == 204
            async with http.get(f"{base}/docs") as r:
                page = await r.text()
                assert r.status == 200 and "/v1/shoes/{id}" in page
            async with http.get(f"{base}/openapi.json") as r:
                spec = await r.json()
                assert {"get", "put", "patch", "delete"} <= set(spec["paths"]["/v1/shoes/{id}"])
    finally:
        await window.live.shutdown()
    await asyncio.sleep(0)


def test_no_two_commands_share_a_shortcut(window, shoes_copy):
    from PySide6.QtGui import QAction

    assert window.open_file(str(shoes_copy))
    seen: dict[str, str] = {}
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            text = key.toString()
            if text:
                assert text not in seen or seen[text] == action.text(), \
                    f"{text} is both {seen[text]!r} and {action.text()!r}"
                seen[text] = action.text()
    assert seen["Ctrl+Alt+G"].replace("&", "") == "Generate REST API..."
