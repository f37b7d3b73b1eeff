"""The Run panel against a real aiohttp server on loopback and a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import shlex
import sqlite3
from pathlib import Path

import aiohttp
import pytest
from conftest import SHOTS
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.document import Document
from app.runpanel import Answer, RunPanel
from runtime.host import Host, ServeConfig
from runtime.project import Field, Project, Trigger, Variable
from runtime.projectfile import dumps, load, loads
from runtime.runs import RunRecord
from runtime.store import Store
from tests.app.conftest import show

UPDATE = "Update social media post"


class Live(QObject):
    """The editor's live server as the panel sees it, around a real aiohttp server."""

    requestLogged = Signal(object)

    def __init__(self):
        # Owned by the application, so Qt deletes it in the GUI thread at exit rather than
        # Python's cycle collector (the server's listeners refer to it) in whatever thread.
        super().__init__(QApplication.instance())
        self.base_url: str | None = None
        self.records: dict[str, RunRecord] = {}
        self.all: list[RunRecord] = []
        self.store: Store | None = None

    def record(self, tag: str) -> RunRecord | None:
        return self.records.get(tag)

    def log(self, record: RunRecord) -> None:
        self.all.append(record)
        if record.tag:
            self.records[record.tag] = record
        self.requestLogged.emit(record)


async def start_server(project, db: Path, runners: list) -> Live:
    """Serve a project on 127.0.0.1 (any free port) through a Host, as the editor's live
    server does (traced, dry runs allowed; no schedules)."""
    config = ServeConfig(db=f"sqlite+aiosqlite:///{db}", port=0, trace=True,
                         dry_run_header=True, schedules=False, send_mail=False)
    host = await Host.open(config, project)
    runners.append(host)
    server = Live()
    server.store = host.store  # the Run panel looks up existing records in it, as in the editor
    host.listeners.append(server.log)
    await host.listen()
    address, port = host.runner.addresses[0][:2]
    server.base_url = f"http://{address}:{port}"
    return server


@pytest.fixture
async def runners():
    """Hosts to close after the test."""
    started: list[Host] = []
    yield started
    for host in started:
        await host.close()


@pytest.fixture
async def live(tmp_path, posts_copy, runners):
    """The posts example served live; yields (server, database file)."""
    db = tmp_path / "posts.db"
    server = await start_server(load(posts_copy), db, runners)
    return server, db


@pytest.fixture
async def panel(qtbot, theme, posts_copy, live):
    """A Run panel on a document of the posts example, sending to the live server."""
    server, _db = live
    document = Document.open(posts_copy)
    widget = RunPanel(theme)
    qtbot.addWidget(widget)
    widget.resize(1100, 520)
    widget.set_document(document)
    widget.set_server(server)
    show(qtbot, widget)
    yield widget
    await widget.close_client()


def rows(db: Path, sql: str, *args):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


async def insert_post(server: Live, caption: str = "First") -> int:
    async with aiohttp.ClientSession() as http:
        async with http.post(server.base_url + "/v1/posts",
                             json={"user": "ann", "caption": caption, "likes": 3}) as r:
            assert r.status == 201
            return (await r.json())["id"]


def shoot(widget, name: str) -> Path:
    """Save /tmp/shots/runpanel_NAME.png once queued layout requests have run."""
    QApplication.sendPostedEvents()
    QApplication.processEvents()
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"runpanel_{name}.png"
    assert widget.grab().save(str(path))
    return path


async def test_update_a_post_shows_status_tree_and_trace(panel, live, qtbot):
    server, db = live
    post = await insert_post(server)
    panel.show_endpoint(UPDATE)
    assert panel.method_box.currentText() == "PUT"
    assert panel.url_edit.text() == "/v1/posts/1"  # the dummy id of a path `id`
    assert "caption" in json.loads(panel.body_edit.toPlainText())
    panel.url_edit.setText(f"/v1/posts/{post}")
    panel.body_edit.setPlainText('{\n  "caption": "Edited in the Run panel"\n}')

    with qtbot.waitSignal(panel.ran, timeout=5000) as ran:
        record = await panel.send()
    assert ran.args[0] is record
    assert record.status == 200 and record.endpoint == UPDATE and record.trace
    assert record.trace[0].kind == "update" and record.trace[0].changes
    assert panel.status_label.text() == "200 OK"
    assert panel.status_label.property("status_color") == panel.colors["ok"]
    assert panel.time_label.text().endswith(" ms") and panel.size_label.text().endswith(" B")
    captions = panel.json_tree.find("caption")
    assert [c.data(1, Qt.ItemDataRole.UserRole) for c in captions] == ["Edited in the Run panel"]
    assert captions[0].text(1) == '"Edited in the Run panel"'
    assert panel.error_banner.isHidden()
    assert rows(db, "select caption from Posts where id = ?", post) == [("Edited in the Run panel",)]

    # Changes: one group for the update event, one updated row with the caption's before/after.
    group = panel.changes_tree.topLevelItem(0)
    assert group.text(0).startswith("Event n1 (update") and "1 row" in group.text(0)
    change = group.child(0)
    assert change.text(0) == f"updated Posts #{post}"
    fields = {change.child(i).text(0): (change.child(i).text(1), change.child(i).text(2))
              for i in range(change.childCount())}
    assert fields == {"caption": ('"First"', '"Edited in the Run panel"')}

    panel.raw_box.setChecked(True)
    assert panel.body_view.currentWidget() is panel.raw_view
    assert json.loads(panel.raw_view.toPlainText())["caption"] == "Edited in the Run panel"
    panel.raw_box.setChecked(False)
    assert panel.body_view.currentWidget() is panel.json_tree
    panel.response_tabs.setCurrentIndex(2)
    shoot(panel, "changes")
    panel.response_tabs.setCurrentIndex(0)
    panel.request_tabs.setCurrentWidget(panel.body_stack)
    shoot(panel, "ok")


async def test_dry_run_answers_200_and_leaves_the_database_unchanged(panel, live):
    server, db = live
    post = await insert_post(server, "Kept")
    panel.show_endpoint(UPDATE)
    panel.url_edit.setText(f"/v1/posts/{post}")
    panel.body_edit.setPlainText('{"caption": "Never stored"}')
    panel.dry_run_box.setChecked(True)
    record = await panel.send()
    assert record.status == 200 and record.dry_run
    assert panel.status_label.text() == "200 OK"
    assert panel.json_tree.find("caption")[0].data(1, Qt.ItemDataRole.UserRole) == "Never stored"
    assert panel.rollback_label.text() == "rolled back (dry run)"
    assert "dry run" in panel.changes_label.text()
    assert rows(db, "select caption from Posts where id = ?", post) == [("Kept",)]


async def test_invalid_body_json_names_line_and_column_and_sends_nothing(panel, live):
    server, _db = live
    panel.show_endpoint(UPDATE)
    panel.body_edit.setPlainText('{\n  "caption": "x",,\n}')
    assert await panel.send() is None
    assert panel.notice.isVisible()
    assert "line 2, column 18" in panel.notice.text() and "not valid JSON" in panel.notice.text()
    assert panel.request_tabs.currentWidget() is panel.body_stack
    assert panel.body_edit.textCursor().position() == 19
    assert server.all == [] and panel.history == []


async def test_bad_body_fields_show_the_422_and_name_the_field(panel, live):
    server, db = live
    post = await insert_post(server)
    panel.show_endpoint(UPDATE)
    panel.url_edit.setText(f"/v1/posts/{post}")
    panel.body_edit.setPlainText("")  # the post variable is required: no body at all is a 422
    record = await panel.send()
    assert record.status == 422 and "a body is required" in panel.error_banner.text()

    panel.body_edit.setPlainText('{"caption": "x", "colour": "red"}')
    record = await panel.send()
    assert record.status == 422
    assert panel.status_label.text() == "422 Unprocessable Entity"
    assert panel.status_label.property("status_color") == panel.colors["warning"]
    assert panel.error_banner.isVisible()
    assert "body.colour" in panel.error_banner.text() and "unknown field" in panel.error_banner.text()
    assert rows(db, "select caption from Posts") == [("First",)]
    panel.response_tabs.setCurrentIndex(0)
    panel.request_tabs.setCurrentWidget(panel.body_stack)
    shoot(panel, "error")


async def test_a_failing_event_is_named_in_the_error(panel, live):
    server, _db = live
    panel.show_endpoint(UPDATE)
    panel.url_edit.setText("/v1/posts/999")
    panel.body_edit.setPlainText('{"caption": "x"}')
    record = await panel.send()
    assert record.status == 404
    assert "PostToUpdate" in panel.error_banner.text()


async def test_saved_example_is_one_undoable_edit_and_survives_save_and_load(panel, tmp_path):
    document = panel.document
    panel.show_endpoint(UPDATE)
    panel.url_edit.setText("/v1/posts/7")
    panel.query_table.set_value("verbose", "yes")
    panel.body_edit.setPlainText('{"caption": "From an example"}')
    panel.prompts.text = lambda title, label, value="": "Rename seven"  # the user's answer
    example = panel.save_example()
    assert example is not None and document.undo.count() == 1
    saved = document.project.endpoint(UPDATE).example("Rename seven")
    assert saved.path == {"id": 7} and saved.query == {"verbose": "yes"}
    assert saved.body == {"caption": "From an example"}
    assert panel.examples_box.currentText() == "Rename seven"

    loaded = loads(dumps(document.project))
    assert loaded.endpoint(UPDATE).examples == [saved]
    document.save(tmp_path / "saved.actiongraph.json")
    again = Document.open(tmp_path / "saved.actiongraph.json")
    assert again.project.endpoint(UPDATE).example("Rename seven") == saved

    panel.new_dummy_data()
    assert panel.examples_box.currentIndex() == -1
    panel.load_example("Rename seven")
    assert panel.url_edit.text() == "/v1/posts/7"
    assert json.loads(panel.body_edit.toPlainText()) == {"caption": "From an example"}
    panel.show_endpoint("Get post")
    panel.show_endpoint(UPDATE)  # an endpoint with examples opens on its first one
    assert panel.url_edit.text() == "/v1/posts/7"

    document.undo.undo()
    assert document.project.endpoint(UPDATE).examples == []
    assert panel.examples_box.count() == 0


async def test_copy_as_curl_is_exact_and_runnable(panel):
    panel.show_endpoint(UPDATE)
    panel.url_edit.setText("/v1/posts/3")
    panel.body_edit.setPlainText('{"caption": "it\'s $HOME"}')
    panel.dry_run_box.setChecked(True)
    command = panel.copy_as_curl()
    assert QApplication.clipboard().text() == command
    base = panel.server.base_url
    assert command.startswith(f"curl -X PUT {base}/v1/posts/3 ")
    assert "-H 'Content-Type: application/json'" in command
    assert "-H 'X-Actiongraph-Dry-Run: 1'" in command
    assert "--data-raw '{\"caption\": \"it'\"'\"'s $HOME\"}'" in command
    words = shlex.split(command)
    assert words[words.index("--data-raw") + 1] == '{"caption": "it\'s $HOME"}'


async def test_history_reruns_the_exact_request(panel, live):
    server, db = live
    post = await insert_post(server)
    panel.show_endpoint("Get post")
    panel.url_edit.setText(f"/v1/posts/{post}")
    first = await panel.send()
    assert first.status == 200
    panel.show_endpoint(UPDATE)
    panel.url_edit.setText(f"/v1/posts/{post}")
    panel.body_edit.setPlainText('{"caption": "Second"}')
    await panel.send()
    assert [h.request.method for h in panel.history] == ["PUT", "GET"]
    assert panel.history_list.topLevelItem(1).text(3) == "200"

    again = await panel.rerun(1)
    assert again.method == "GET" and again.path == f"/v1/posts/{post}" and again.status == 200
    assert again.tag != first.tag
    assert panel.json_tree.find("caption")[0].data(1, Qt.ItemDataRole.UserRole) == "Second"
    assert len(panel.history) == 3 and panel.history[0].request == panel.history[2].request


async def test_no_server_disables_send_and_a_stopped_server_is_a_clear_message(panel, live):
    server, _db = live
    panel.show_endpoint(UPDATE)
    assert panel.send_button.isEnabled()
    base = server.base_url
    server.base_url = None
    panel.refresh_server_state()
    assert not panel.send_button.isEnabled()
    assert "not running" in panel.send_button.toolTip()
    assert await panel.send() is None and "not running" in panel.notice.text()

    # A base URL where nothing listens: a message, no traceback.
    with socket_free() as port:
        server.base_url = f"http://127.0.0.1:{port}"
    panel.refresh_server_state()
    assert await panel.send() is None
    assert "Cannot reach the live server" in panel.notice.text()
    assert panel.history[0].status is None
    server.base_url = base


def socket_free():
    """A port that was free a moment ago (closed on exit, so nothing listens there)."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            yield s.getsockname()[1]

    return port()


async def test_send_is_disabled_while_waiting(panel):
    panel.show_endpoint("List posts")
    task = asyncio.ensure_future(panel.send())
    await asyncio.sleep(0)  # the request is on its way
    assert panel.sending and not panel.send_button.isEnabled()
    assert panel.send_button.text() == "Sending…" and panel.status_label.text() == "Sending…"
    record = await task
    assert record.status == 200 and panel.send_button.isEnabled() and panel.send_button.text() == "Send"
    assert panel.json_tree.topLevelItemCount() == 0  # an empty list of posts


def test_csv_and_html_answers_show_as_table_and_page(qtbot, theme):
    panel = RunPanel(theme)
    qtbot.addWidget(panel)
    panel.show_answer(Answer(200, "OK", [("Content-Type", "text/csv")],
                             b"id,caption\r\n1,Hello\r\n2,\"a, b\"\r\n", "text/csv", 3.0))
    assert panel.body_view.currentWidget() is panel.csv_table
    table = panel.csv_table
    assert [table.horizontalHeaderItem(c).text() for c in range(2)] == ["id", "caption"]
    assert [table.item(r, 1).text() for r in range(2)] == ["Hello", "a, b"]
    panel.show_answer(Answer(200, "OK", [], b"<h1>Posts</h1><p>two</p>", "text/html", 3.0))
    assert panel.body_view.currentWidget() is panel.html_view
    assert "Posts" in panel.html_view.toPlainText()
    panel.show_answer(Answer(500, "Internal Server Error", [], json.dumps(
        {"error": "boom", "action": "Update social media post", "event": "n1",
         "event_kind": "update"}).encode(), "application/json", 3.0))
    assert panel.status_label.property("status_color") == panel.colors["error"]
    assert "boom" in panel.error_banner.text() and "event n1 (update)" in panel.error_banner.text()


async def test_ctrl_enter_the_send_button_and_a_double_click_send(panel, live, qtbot):
    server, _db = live
    panel.show_endpoint("List posts")
    panel.activateWindow()
    panel.body_edit.setFocus()
    sent = asyncio.Event()
    panel.ran.connect(lambda record: sent.set())
    qtbot.keyClick(panel.body_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    await asyncio.wait_for(sent.wait(), 5)
    assert [r.endpoint for r in server.all] == ["List posts"]
    assert panel.body_edit.toPlainText() == ""  # the key did not type a new line

    sent.clear()
    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    await asyncio.wait_for(sent.wait(), 5)
    assert len(server.all) == 2

    panel.request_tabs.setCurrentWidget(panel.history_list)
    QApplication.processEvents()
    sent.clear()
    rect = panel.history_list.visualItemRect(panel.history_list.topLevelItem(1))
    # A press first: Qt 6 item views only take a double-click on the item pressed before it.
    qtbot.mouseClick(panel.history_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.history_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    await asyncio.wait_for(sent.wait(), 5)
    assert len(server.all) == 3 and len(panel.history) == 3


def photos_project() -> Project:
    p = Project(name="Photos")
    p.add_model("Photos", [Field("caption", "Text"), Field("size", "Integer")])
    p.add_endpoint("Upload photo", "POST", "/v1/photos",
                   [Variable("caption", "Text", "body"), Variable("photo", "File", "body")],
                   request_type="multipart")
    a = p.add_action("Upload photo", Trigger("endpoint", endpoint="Upload photo"),
                     response_value="=Photo", response_status=201)
    a.add_event("create", model="Photos",
                source={"caption": "=body.caption", "size": "=body.photo.size"}, **{"as": "Photo"})
    return p


async def test_multipart_form_sends_text_and_a_chosen_file(qtbot, theme, tmp_path, runners):
    project = photos_project()
    server = await start_server(project, tmp_path / "photos.db", runners)
    panel = RunPanel(theme)
    qtbot.addWidget(panel)
    panel.set_document(Document(project))
    panel.set_server(server)
    assert panel.body_stack.currentWidget() is panel.form_table
    form = panel.form_table
    assert [(n, f) for n, _v, f in form.rows()] == [("caption", False), ("photo", True)]
    assert form.cellWidget(1, 2).text() == "Choose…" and not form.isColumnHidden(2)
    picture = tmp_path / "cat's photo.png"
    picture.write_bytes(b"\x89PNG" + bytes(range(60)))
    form.set_value("caption", "A cat & a hat")
    form.set_value("photo", str(picture))
    try:
        record = await panel.send()
        assert record.status == 201, panel.error_banner.text()
        values = {i.text(0): i.data(1, Qt.ItemDataRole.UserRole)
                  for i in (panel.json_tree.topLevelItem(n)
                            for n in range(panel.json_tree.topLevelItemCount()))}
        assert values["caption"] == "A cat & a hat" and values["size"] == 64

        words = shlex.split(panel.copy_as_curl())
        assert words[words.index("-F") + 1] == f"photo=@{picture}"
        assert words[words.index("--form-string") + 1] == "caption=A cat & a hat"

        example = panel.save_example("Cat")
        assert example.body == {"caption": "A cat & a hat", "photo": {"file": str(picture)}}
        form.set_value("photo", str(tmp_path / "missing.png"))
        assert await panel.send() is None and "no such file" in panel.notice.text()
        panel.load_example("Cat")
        assert form.rows()[1] == ("photo", str(picture), True)
    finally:
        await panel.close_client()


async def click_and_wait(button, signal, timeout: float = 5):
    """Click a button as a user does; the value the signal then sends (its slot is async)."""
    sent: asyncio.Future = asyncio.get_running_loop().create_future()
    signal.connect(lambda value: sent.done() or sent.set_result(value))
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    return await asyncio.wait_for(sent, timeout)


async def test_the_request_opens_on_body_for_methods_with_a_body_else_on_query(panel):
    for name, tab in ((UPDATE, panel.body_stack), ("List posts", panel.query_table),
                      ("Create post", panel.body_stack), ("Get post", panel.query_table)):
        panel.request_tabs.setCurrentWidget(panel.history_list)
        panel.show_endpoint(name)
        assert panel.request_tabs.currentWidget() is tab, name


async def test_the_body_editor_shows_a_dozen_lines_at_the_panels_default_size(panel, qtbot):
    panel.resize(panel.sizeHint())
    panel.show_endpoint(UPDATE)
    qtbot.waitUntil(panel.body_edit.isVisible)
    QApplication.processEvents()
    lines = panel.body_edit.viewport().height() // panel.body_edit.fontMetrics().lineSpacing()
    assert lines >= 12, lines


async def test_the_path_gets_the_id_of_a_record_that_exists(panel, live, qtbot):
    server, db = live
    ids = [await insert_post(server, f"Post {n}") for n in range(3)]
    rows(db, "delete from Posts where id = ?", ids[0])  # no record 1 any more
    panel.show_endpoint(UPDATE)
    assert panel.url_edit.text() == "/v1/posts/1"  # made up: Send looks for a real one
    assert (await click_and_wait(panel.send_button, panel.ran)).status == 200
    assert panel.url_edit.text() == f"/v1/posts/{ids[1]}"
    # A path the user typed is sent as it is.
    panel.url_edit.setText("/v1/posts/99")
    assert (await panel.send()).status == 404


async def test_an_empty_table_is_offered_a_fill_in_the_404_then_send_answers_200(panel, live,
                                                                                  qtbot):
    _server, db = live
    panel.show_endpoint(UPDATE)
    record = await panel.send()
    assert record.status == 404
    assert panel.fill_offer.isVisible()
    assert panel.fill_offer.text() == "Fill Posts with 10 dummy rows"
    shoot(panel, "fill-offer")
    assert await click_and_wait(panel.fill_offer, panel.filled) == "Posts"
    assert rows(db, "select count(*) from Posts") == [(10,)]
    assert panel.fill_offer.isHidden()
    assert (await click_and_wait(panel.send_button, panel.ran)).status == 200
    assert not panel.fill_offer.isVisible()


async def test_the_changes_before_column_shows_a_long_value_whole(panel, live, qtbot):
    server, _db = live
    before = "A caption cut short by a fixed width"
    post = await insert_post(server, before)
    panel.show_endpoint(UPDATE)
    panel.url_edit.setText(f"/v1/posts/{post}")
    panel.body_edit.setPlainText('{"caption": "Short"}')
    assert (await panel.send()).status == 200
    panel.response_tabs.setCurrentIndex(2)
    line = panel.changes_tree.topLevelItem(0).child(0).child(0)
    assert line.text(1) == json.dumps(before)
    needed = panel.changes_tree.fontMetrics().horizontalAdvance(line.text(1))
    assert panel.changes_tree.columnWidth(1) >= needed
    assert line.toolTip(1) == line.text(1)
