"""The editor's Outbox dock shows the live server's mail outbox: a sign-up while the project's
SMTP server is down answers 201; its welcome mail shows pending, then failed after its
attempts; the server comes back, Retry sends it and it shows sent (and captured, viewable)."""

from __future__ import annotations

import asyncio
import json

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer

from app.live import free_port
from runtime import outbox

pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")


async def _until(condition, seconds: float = 10.0) -> None:
    """Wait on qasync's loop (a nested Qt wait would stall the server)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def as_the_app_does(gesture):
    """Run a sync gesture from Qt's event dispatch, as a click handler runs in the app (see
    tests/app/test_tour.py): never a nested Qt loop inside this test's task."""
    done = asyncio.get_running_loop().create_future()

    def run():
        try:
            done.set_result(gesture())
        except BaseException as e:  # handed to the awaiting test
            done.set_exception(e)

    QTimer.singleShot(0, run)
    return await done


def _states(panel) -> list[str]:
    return [r.status for r in panel.rows]


async def _signup_window(make_window, tmp_path, smtp, port: int):
    """The sign-up example open in a window, its mail through `smtp`, the Outbox shown."""
    from conftest import EXAMPLES

    project = tmp_path / "signup.actiongraph.json"
    data = json.loads((EXAMPLES / "signup.actiongraph.json").read_text())
    data.setdefault("settings", {})["mail"] = {
        "host": "127.0.0.1", "port": smtp.port, "security": "none", "username": "",
        "password": "", "sender": "hello@example.org"}
    project.write_text(json.dumps(data))
    QSettings().setValue("live/port", free_port(port))
    window = make_window()
    window.resize(1500, 950)
    assert window.open_file(str(project))
    await window.live._starting
    live = window.live
    assert live.server.running, live.server.error
    live.show_dock("outbox")
    live.outbox.real.setChecked(True)  # through the project's SMTP server
    assert live.server.mail.real
    return window


async def _sign_up(live) -> None:
    live.run_endpoint("Sign up")
    live.show_dock("outbox")
    run = live.run_panel
    run.body_edit.setPlainText('{"email": "ann@example.org", "name": "Ann", '
                               '"password": "correct horse"}')
    record = await run.send()
    assert record.status == 201, record.error  # saved, and said so: the mail waits


async def test_a_mail_the_smtp_server_refused_is_retried_from_the_outbox_dock(
        make_window, tmp_path, smtp, shot, qtbot, monkeypatch):
    monkeypatch.setenv(outbox.RETRY_ENV, "1.5")  # seconds before the second attempt
    monkeypatch.setenv(outbox.ATTEMPTS_ENV, "2")
    smtp.down()
    window = await _signup_window(make_window, tmp_path, smtp, 19400)
    live = window.live
    panel = live.outbox
    try:
        await _sign_up(live)

        await _until(lambda: _states(panel) == [outbox.PENDING])
        assert panel.table.topLevelItemCount() == 1
        item = panel.table.topLevelItem(0)
        assert "ann@example.org" in item.text(0) and item.text(1) == "pending"
        await _until(lambda: panel.rows[0].attempts == 1 and panel.rows[0].status == "pending")
        assert panel.rows[0].last_error and item.text(4)  # why it was not sent
        assert panel.table.topLevelItem(0).text(3).startswith(("in ", "now"))
        await _until(lambda: _states(panel) == [outbox.FAILED])
        row = panel.rows[0]
        assert row.attempts == 2 and row.last_error
        assert panel.table.topLevelItem(0).text(1) == "failed"
        assert panel.mails == [] and smtp.messages == []  # nothing left, nothing captured
        assert panel.select(row.id)
        assert panel.retry_button.isEnabled()
        assert "failed after 2 attempts" in panel.headers.text()
        assert "hello@example.org" in panel.headers.text()  # the project's sender
        assert "Ann" in panel.text.toPlainText() + panel.html.toPlainText()
        await as_the_app_does(lambda: shot(window, "outbox_failed"))

        smtp.up()
        await as_the_app_does(lambda: qtbot.mouseClick(panel.retry_button,
                                                       Qt.MouseButton.LeftButton))
        await _until(lambda: _states(panel) == [outbox.SENT])
        assert len(await smtp.wait(1)) == 1
        assert smtp.messages[0][0] == ["ann@example.org"]
        assert panel.table.topLevelItem(0).text(3).startswith("sent ")
        assert not panel.retry_button.isEnabled()  # a sent mail is not sent again
        assert [m.to for _t, m in panel.mails] == [["ann@example.org"]]  # captured once it left
        panel.lists.setCurrentIndex(1)
        panel.list.setCurrentRow(0)
        assert "Ann" in panel.text.toPlainText() + panel.html.toPlainText()
        panel.lists.setCurrentIndex(0)
        assert panel.select(row.id)
        path = await as_the_app_does(lambda: shot(window, "outbox"))
        assert path.exists()
        await asyncio.sleep(0.3)
        assert len(smtp.messages) == 1  # once
    finally:
        await panel.wait_idle()
        await live.shutdown()
        await panel.wait_idle()


async def test_retry_sends_a_pending_mail_now_instead_of_at_its_next_try(
        make_window, tmp_path, smtp, qtbot, monkeypatch):
    monkeypatch.setenv(outbox.RETRY_ENV, "600")  # the next try would be in ten minutes
    monkeypatch.setenv(outbox.ATTEMPTS_ENV, "5")
    smtp.down()
    window = await _signup_window(make_window, tmp_path, smtp, 19450)
    live = window.live
    panel = live.outbox
    try:
        await _sign_up(live)
        await _until(lambda: [(r.status, r.attempts) for r in panel.rows] == [("pending", 1)])
        assert panel.table.topLevelItem(0).text(3) == "in 10 min"
        smtp.up()
        assert panel.select(panel.rows[0].id) and panel.retry_button.isEnabled()
        await as_the_app_does(lambda: qtbot.mouseClick(panel.retry_button,
                                                       Qt.MouseButton.LeftButton))
        await _until(lambda: _states(panel) == [outbox.SENT])
        assert len(await smtp.wait(1)) == 1 and panel.rows[0].attempts == 2
    finally:
        await panel.wait_idle()
        await live.shutdown()
        await panel.wait_idle()
