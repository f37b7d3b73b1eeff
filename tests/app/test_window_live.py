"""Live testing in the main window, as a newcomer does it: open the posts example, Run the
update endpoint, see 200, the green path and the changed row; break the Update mapping and see
the red event with nothing written; edit and see the next request follow; curl shows in the log."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from PySide6.QtCore import QSettings

from app.live import free_port

FIRST = "First light on the new telescope"  # the caption of the posts example's first seed row
pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")


@pytest.fixture
async def live_window(make_window, posts_copy, qtbot):
    QSettings().setValue("live/port", free_port(19100))
    window = make_window()
    window.resize(1500, 950)
    assert window.open_file(str(posts_copy))
    await window.live._starting
    server = window.live.server
    assert server.running, server.error
    async with server.store.transaction(writes=False) as tx:  # a fresh database starts with
        assert await tx.count("Posts") == 3  # the example's seed rows
    yield window
    await window.live.shutdown()


async def _until(condition, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _caption_in_browser(window, qtbot) -> str:
    browser = window.live.data
    await browser.wait_idle()  # a reload the run scheduled, so it cannot overtake ours
    await browser.refresh()
    return browser.records.record(0)["caption"]


async def test_run_the_posts_update_then_break_it(live_window, qtbot, shot):
    window = live_window
    live = window.live
    assert live.status.text().startswith("● Serving at http://127.0.0.1:")
    action = window.document.project.action("Update social media post")
    editor = window.open_item("actions", action.id)
    editor.runRequested.emit("Update social media post")  # the editor's Run button
    panel = live.run_panel
    assert live.docks["run"].isVisible()
    assert panel.url_edit.text().endswith("/v1/posts/1")
    panel.body_edit.setPlainText('{"caption": "Edited in the Run panel"}')
    record = await panel.send()
    assert record.status == 200 and "200" in panel.status_label.text()
    assert panel.json_tree.find("caption")[0].text(1).strip('"') == "Edited in the Run panel"
    graph = editor.graph
    assert graph.traced == ["n1"] and graph.node("n1").view.run[1] is None
    assert graph._ran_pipes  # trigger -> n1 in green
    assert await _caption_in_browser(window, qtbot) == "Edited in the Run panel"
    assert any(r is record for r in live.log.records())
    live.show_dock("data")
    shot(window, "live_ok", readme="live")

    # Break the mapping: likes gets text. The run fails at n1 and writes nothing.
    window.document.set_attr(action.events["n1"], "settings",
                             {**action.events["n1"].settings,
                              "values": {"caption": "=body.post.caption",
                                         "likes": "=body.post.caption"}},
                             "Break the mapping")
    await live.server.settled()
    panel.body_edit.setPlainText('{"caption": "never written"}')
    record = await panel.send()
    assert record.status == 422 and record.event == "n1"
    badge, error = graph.node("n1").view.run
    assert "Posts.likes: expected a whole number" in error
    assert "n1" in panel.error_banner.text() or "Update" in panel.error_banner.text()
    assert await _caption_in_browser(window, qtbot) == "Edited in the Run panel"
    live.show_dock("run")
    shot(window, "live_failed", readme="live-failed")


async def test_an_edit_is_followed_by_the_next_request_and_dry_run_keeps_nothing(live_window):
    window = live_window
    live = window.live
    action = window.document.project.action("Update social media post")
    window.document.set_attr(action, "response_status", 202, "Set status")
    await live.server.settled()
    panel = live.run_panel
    panel.show_endpoint("Update social media post")
    panel.body_edit.setPlainText('{"caption": "dry"}')
    panel.dry_run_box.setChecked(True)
    record = await panel.send()
    assert record.status == 202 and record.dry_run
    assert await _caption_in_browser(window, None) == FIRST
    window.document.undo.undo()
    await live.server.settled()
    panel.dry_run_box.setChecked(False)
    record = await panel.send()
    assert record.status == 200
    assert await _caption_in_browser(window, None) == "dry"


async def test_a_request_from_outside_appears_in_the_log(live_window):
    window = live_window
    base = window.live.server.base_url
    async with aiohttp.ClientSession() as s:
        async with s.get(base + "/v1/posts/1") as r:
            assert r.status == 200
        async with s.get(base + "/v1/nowhere") as r:
            assert r.status == 404
    # a burst of requests reaches the log together, a moment later
    await _until(lambda: len(window.live.log.records()) >= 2)
    rows = [(r.method, r.path, r.status) for r in window.live.log.records()]
    assert ("GET", "/v1/posts/1", 200) in rows and ("GET", "/v1/nowhere", 404) in rows
    log = window.live.log
    log.select(log.records()[0])
    assert "200" in log.details.toPlainText()


async def test_problems_keep_the_last_good_version_serving(live_window):
    window = live_window
    live = window.live
    action = window.document.project.action("Update social media post")
    window.document.set_attr(action.events["n1"], "settings",
                             {**action.events["n1"].settings, "model": "Nope"}, "Break")
    await live.server.settled()
    assert "last good version" in live.status.text()
    async with aiohttp.ClientSession() as s:
        async with s.put(live.server.base_url + "/v1/posts/1", json={"caption": "still"}) as r:
            assert r.status == 200 and (await r.json())["caption"] == "still"
    window.document.undo.undo()
    await live.server.settled()
    assert live.status.text().startswith("● Serving at")


async def test_sign_up_through_the_run_panel_puts_the_welcome_mail_in_the_outbox(
        make_window, tmp_path, shot):
    import shutil

    from conftest import EXAMPLES

    project = tmp_path / "signup.actiongraph.json"
    shutil.copyfile(EXAMPLES / "signup.actiongraph.json", project)
    QSettings().setValue("live/port", free_port(19300))
    window = make_window()
    window.resize(1500, 950)
    assert window.open_file(str(project))
    await window.live._starting
    live = window.live
    try:
        live.run_endpoint("Sign up")
        panel = live.run_panel
        panel.body_edit.setPlainText('{"email": "ann@example.org", "name": "Ann", '
                                     '"password": "correct horse"}')
        record = await panel.send()
        assert record.status == 201, record.error
        for _ in range(250):  # the server's outbox sender delivers it right after the commit
            if live.outbox.mails:
                break
            await asyncio.sleep(0.02)
        assert [m.to for _t, m in live.outbox.mails] == [["ann@example.org"]]
        assert "Ann" in live.outbox.mails[0][1].subject + live.outbox.mails[0][1].text
        assert live.outbox.list.count() == 1
        assert live.server.outbox.mails[0].to == ["ann@example.org"]  # nothing sent by SMTP
        record = await panel.send()  # the same email again
        assert record.status == 409 and len(live.outbox.mails) == 1
        live.show_dock("outbox")
        live.outbox.list.setCurrentRow(0)
        shot(window, "live_outbox")
    finally:
        await live.shutdown()


async def test_the_data_dock_follows_the_model_a_run_changed(make_window, tmp_path, qtbot):
    from conftest import EXAMPLES

    from runtime.generate import generate_api
    from runtime.project import Field
    from runtime.projectfile import load, save

    project = load(EXAMPLES / "posts.actiongraph.json")
    project.add_model("Shoes", [Field("shoe_type", "Text"), Field("price", "Decimal")])
    generate_api(project, "Shoes")
    path = tmp_path / "two.actiongraph.json"
    save(project, path)
    QSettings().setValue("live/port", free_port(19500))
    window = make_window()
    window.resize(1500, 950)
    assert window.open_file(str(path))
    await window.live._starting
    live, browser = window.live, window.live.data
    try:
        live.show_dock("data")
        await browser.wait_idle()
        assert browser.model_name == "Posts"
        assert browser.filter_edit.placeholderText().startswith("Filter: likes > 10, user contains")
        live.run_endpoint("Create Shoe")
        record = await live.run_panel.send()
        assert record.status == 201, record.error
        await _until(lambda: browser.model_name == "Shoes")
        await browser.wait_idle()
        assert browser.filter_edit.placeholderText().startswith(
            "Filter: price > 10, shoe_type contains")
        assert browser.records.marks == {record.changes[0].after["id"]: "insert"}
        # Columns sized to their content: created_at compact, the text column gets the room.
        header = browser.view.horizontalHeader()
        names = [c[0] for c in browser.records.columns]
        assert header.sectionSize(names.index("shoe_type")) > \
            header.sectionSize(names.index("created_at"))
    finally:
        await live.shutdown()
