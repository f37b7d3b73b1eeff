"""Tools › API Docs: the page in a QTextBrowser, its exports, Copy URL and refreshing."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.apidocs import ApiDocsDialog
from runtime.openapi import build_openapi
from runtime.project import Trigger
from runtime.projectfile import load

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def test_api_docs_dialog_shows_exports_and_refreshes(qtbot, tmp_path, shot):
    project = load(EXAMPLES / "posts.actiongraph.json")
    dialog = ApiDocsDialog(project, "http://127.0.0.1:8765", folder=tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)

    text = dialog.browser.toPlainText()
    for e in project.endpoints:
        assert e.name in text and e.path in text
    assert "Data models" in text and "Errors" in text
    assert dialog.windowTitle() == "API Docs: Social media posts"
    assert "5 endpoints" in dialog.status.text()

    # Exports: asked where, written atomically, the suffix added when missing.
    dialog.ask_path = lambda title, suggested, filters: str(tmp_path / "api")
    written = dialog.export_json()
    assert written == tmp_path / "api.json"
    assert json.loads(written.read_text()) == build_openapi(project, "http://127.0.0.1:8765")
    page = dialog.export_html(tmp_path / "posts.html")
    assert "Update social media post" in page.read_text() and "<script" not in page.read_text()
    dialog.ask_path = lambda title, suggested, filters: None  # cancelled
    assert dialog.export_json() is None
    told = []
    dialog.tell = lambda title, message: told.append(message)
    assert dialog.export_json(tmp_path / "missing" / "x.json") is None
    assert told and "Could not write" in told[0]

    assert dialog.copy_url() == "http://127.0.0.1:8765/docs"
    assert QApplication.clipboard().text() == "http://127.0.0.1:8765/docs"

    # Scroll to an endpoint with the contents' link, then look at the page.
    dialog.browser.scrollToAnchor("op-updateSocialMediaPost")
    assert dialog.browser.verticalScrollBar().value() > 0
    dialog.grab().save("/tmp/apidocs.png")
    shot(dialog, "apidocs")

    # A new revision of the project shows at once; without a server there is no URL to copy.
    project.add_endpoint("Count posts", "GET", "/v1/posts/count")
    project.add_action("Count posts", Trigger("endpoint", endpoint="Count posts"),
                       response_value=3)
    dialog.set_project(project)
    assert "Count posts" in dialog.browser.toPlainText()
    dialog.set_server_url(None)
    assert not dialog.copy_button.isEnabled() and dialog.copy_url() is None
    assert "6 endpoints" in dialog.status.text()


def test_api_docs_dialog_survives_a_half_edited_project(qtbot):
    project = load(EXAMPLES / "shoes.actiongraph.json")
    project.endpoints[0].variables[0].model = "Nope"  # an unknown model: the docs still show
    project.endpoints[0].path = "no-slash"
    dialog = ApiDocsDialog(project)
    qtbot.addWidget(dialog)
    assert "Create new shoe" in dialog.browser.toPlainText()
    assert dialog.export_json_button.isEnabled()
