"""Debugging in the editor on a real display (Xvfb, xcb): pin an HTTP Request's output from its
context menu, save it, and runs from the Run panel no longer call the outside service; F9 sets a
breakpoint, a Send pauses there, the Debug panel shows the scope, Step, Continue and Stop;
run from here takes the scope of the last run (issue 15 items 6-8, the editor side)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QSettings, QTimer
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from app.live import free_port
from app.pins import set_pin
from runtime.projectfile import save
from tests.app.test_tour import as_the_app_does, click, keys, until
from tests.services import orders, rate_service

pytestmark = pytest.mark.filterwarnings("ignore:Function.*marked as deprecated:DeprecationWarning")

PINNED = {"response": {"status": 200, "headers": {}, "body": {"rate": 10}}}


@pytest.fixture
async def service():
    """The outside rate service (a real HTTP server on loopback) and the calls it had."""
    async with rate_service() as (url, calls):
        yield url, calls


@pytest.fixture
async def orders_window(make_window, service, tmp_path):
    """A window with the orders project open and served, its action graph in front."""
    url, calls = service
    path = tmp_path / "orders.actiongraph.json"
    save(orders(url), path)
    QSettings().setValue("live/port", free_port(19900))
    window = make_window()
    window.resize(1500, 950)
    assert window.open_file(path)
    await window.live._starting
    await until(lambda: window.live.server.running and window.live.server.project is not None)
    yield window, path, calls
    await window.live.shutdown()


async def settled(window) -> None:
    """Let the Data dock's pending reload run while the window and the loop are still there."""
    live = window.live
    await until(lambda: not live._reload_soon.timer.isActive()
                and not live.data._debounce.isActive())
    await asyncio.sleep(0.3)


def rows(path: Path, sql: str) -> list:
    with sqlite3.connect(path.with_name("orders.db")) as db:
        return db.execute(sql).fetchall()


async def send(window, amount: int):
    """Send POST /v1/orders from the Run panel; the server's record of it."""
    panel = window.live.run_panel
    window.live.run_endpoint("Order")
    panel.body_edit.setPlainText(json.dumps({"amount": amount}))
    return await panel.send()


def menu_action(graph, eid: str, text: str):
    """An entry of the context menu the user gets on an event's node."""
    menu = graph.context_menu(QPointF(0, 0), eid)
    return next(a for a in menu.actions() if a.text() == text)


async def test_a_pinned_http_request_is_saved_and_editor_runs_skip_the_service(
        orders_window, qtbot, shot):
    window, path, calls = orders_window
    graph = window.current_graph()
    assert graph is not None and graph.action.name == "Order"
    first = await send(window, 3)
    assert first.status == 200 and calls == ["/rate"]

    # Pin Output… from the node's context menu: the dialog is pre-filled from the last run.
    seen = {}

    def answer_the_dialog():
        dialog = window.debugging.pin_dialog
        seen["prefilled"] = json.loads(dialog.text.toPlainText())
        dialog.text.setPlainText(json.dumps(PINNED))
        click(qtbot, dialog.buttons.buttons()[0])  # Pin

    def pin():
        QTimer.singleShot(50, answer_the_dialog)
        menu_action(graph, "n1", "Pin Output…").trigger()

    await as_the_app_does(pin)
    assert seen["prefilled"]["response"]["body"] == {"rate": 2}
    event = graph.action.events["n1"]
    assert event.pin == {"outputs": PINNED}
    assert graph.node("n1").view.pinned and not graph.node("n2").view.pinned
    assert window.document.dirty
    window.document.undo.undo()  # an edit like any other
    assert event.pin is None and not graph.node("n1").view.pinned
    window.document.undo.redo()
    assert graph.node("n1").view.pinned

    # Saved in the project file.
    assert window.save()
    saved = json.loads(path.read_text())
    assert saved["actions"][0]["events"]["n1"]["pin"] == {"outputs": PINNED}
    assert "pin" not in saved["actions"][0]["events"]["n2"]

    # A run from the Run panel returns the pin: no call goes out.
    await window.live.server.settled()
    record = await send(window, 3)
    assert record.status == 200 and calls == ["/rate"]
    assert json.loads(window.live.run_panel.answer.body)["total"] == 30
    assert [(s.id, s.pinned) for s in record.trace] == [("n1", True), ("n2", False),
                                                        ("n3", False)]
    # The Properties panel says so and offers Unpin.
    graph.select_event("n1")
    panel = window.side_docks["properties"].widget()
    part = panel.findChild(QWidget, "pinPart")
    assert part is not None and part.isVisible()
    assert any("Editor runs return" in label.text() for label in part.findChildren(QLabel))
    assert [b.text() for b in part.findChildren(QPushButton) if b.isEnabled()] == [
        "Pin Output…", "Pin from Last Run", "Unpin"]
    assert graph.node("n1").view.run[0] == "#1 · pinned"
    panel.ensureWidgetVisible(part)
    await as_the_app_does(lambda: shot(window, "pinned", readme="debugging_pinned"))

    # A pin that does not fit its event is a problem like any other.
    set_pin(window.document, event, {"outputs": {"answer": 1}})
    window.update_problems()
    assert any(p.where == 'actions["Order"].events["n1"].pin.outputs.answer'
               for p in window.problems.problems)
    window.document.undo.undo()
    window.update_problems()
    assert not any(".pin" in p.where for p in window.problems.problems)
    await settled(window)


async def test_f9_pauses_a_run_panel_send_then_step_continue_and_stop(orders_window, qtbot,
                                                                      shot):
    window, path, calls = orders_window
    graph = window.current_graph()
    debugging = window.debugging
    graph.select_event("n2")
    graph.viewer.setFocus()
    keys(window, "F9")
    assert graph.node("n2").view.breakpoint and ("Order", "n2") in debugging.debugger.breakpoints
    assert not debugging.actions["step"].isEnabled()

    run = asyncio.ensure_future(send(window, 2))
    await until(lambda: debugging.shown_pause is not None)
    dock = window.dock("debug")
    assert dock.isVisible() and debugging.actions["step"].isEnabled()
    panel = debugging.panel
    assert "Create" in panel.where.text() or "n2" in panel.where.text()
    names = panel.variable_names()
    assert {"body", "rate"} <= set(names), names
    rate = panel.variables.find("rate")[0]
    assert rate.childCount() > 0  # a record: its fields fold out
    rate.setExpanded(True)
    body = next(rate.child(i) for i in range(rate.childCount()) if rate.child(i).text(0) == "body")
    assert body.child(0).text(0) == "rate" and body.child(0).text(1) == "2"
    body.setExpanded(True)
    assert graph.node("n2").view.paused
    assert calls == ["/rate"]
    await as_the_app_does(lambda: shot(window, "debugger", readme="debugging_paused"))

    graph.viewer.setFocus()
    keys(window, "F10")  # Step: n2 runs, the run pauses at n3
    await until(lambda: debugging.shown_pause is not None and debugging.shown_pause.event == "n3")
    assert graph.node("n3").view.paused and not graph.node("n2").view.paused
    assert "order" in panel.variable_names()
    keys(window, "F5")  # Continue
    record = await run
    assert record.status == 200
    await until(lambda: debugging.shown_pause is None)
    assert not graph.node("n3").view.paused
    assert rows(path, "SELECT note FROM Orders") == [("checked",)]

    # Stop: 409, and nothing the run wrote is kept.
    run = asyncio.ensure_future(send(window, 5))
    await until(lambda: debugging.shown_pause is not None)
    keys(window, "F10")
    await until(lambda: debugging.shown_pause is not None and debugging.shown_pause.event == "n3")
    keys(window, "Shift+F5")
    record = await run
    assert record.status == 409 and "stopped in the debugger" in record.error
    assert rows(path, "SELECT count(*) FROM Orders") == [(1,)]
    assert window.live.run_panel.status_label.text().startswith("409")

    # F9 again clears it: the next send runs straight through.
    graph.select_event("n2")
    graph.viewer.setFocus()
    keys(window, "F9")
    assert not graph.node("n2").view.breakpoint
    assert (await send(window, 1)).status == 200
    await settled(window)


async def test_run_from_here_takes_the_scope_of_the_last_run(orders_window, qtbot):
    window, path, calls = orders_window
    graph = window.current_graph()
    first = await send(window, 2)
    assert first.status == 200 and calls == ["/rate"]
    records = []
    window.live.server.requestLogged.connect(records.append)
    await as_the_app_does(lambda: menu_action(graph, "n3", "Run from Here").trigger())
    await until(lambda: records)
    again = records[-1]
    assert again.status == 200 and [s.id for s in again.trace] == ["n3"]
    assert calls == ["/rate"]  # the HTTP Request before it did not run again
    assert rows(path, "SELECT count(*) FROM Orders") == [(1,)]  # nor did n2's create
    run_panel = window.live.run_panel
    await until(lambda: run_panel.answer is not None and run_panel.answer.record is again)
    assert run_panel.status_label.text().startswith("200")
    assert json.loads(run_panel.answer.body)["note"] == "first"
    assert graph.traced == ["n3"]
    await settled(window)
