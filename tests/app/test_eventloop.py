"""The editor's event loop under a nested Qt loop (a modal dialog opened inside a task)."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QEventLoop, QTimer


async def test_tasks_keep_stepping_while_a_task_waits_in_a_nested_qt_loop():
    """A modal dialog's exec() inside a task's step runs the loop's pass nested: another task
    woken there must step (it used to fail 'Cannot enter into task' and hang forever), and the
    task that opened the dialog goes on after it."""
    loop = asyncio.get_running_loop()
    errors = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    started, woken = asyncio.Event(), loop.create_future()

    async def other():
        started.set()
        await asyncio.sleep(0.01)
        woken.set_result(asyncio.current_task())
        await asyncio.sleep(0)
        return "done"

    task = asyncio.create_task(other())
    await started.wait()
    nested = QEventLoop()  # the dialog: a nested Qt loop inside this task's step
    QTimer.singleShot(300, nested.quit)
    me = asyncio.current_task()
    nested.exec()
    assert asyncio.current_task() is me  # this task is current again after the dialog
    assert woken.done() and woken.result() is task  # it stepped inside the dialog
    assert await asyncio.wait_for(task, 2) == "done"
    assert errors == []


def test_a_threads_answer_arriving_after_the_loop_closed_is_dropped(qtbot):
    """A worker thread's call_soon_threadsafe queued just before the loop closed reaches the
    GUI thread after: dropped quietly (it was an 'Event loop is closed' error in Qt's loop)."""
    import threading

    from PySide6.QtWidgets import QApplication

    from app.eventloop import EditorLoop

    loop = EditorLoop(QApplication.instance())
    called = []
    thread = threading.Thread(target=loop.call_soon_threadsafe, args=(called.append, 1))
    thread.start()
    thread.join()
    loop.close()
    QApplication.processEvents()  # the queued call arrives now; pytest-qt fails on an error
    qtbot.wait(10)
    assert called == []


def test_a_pass_after_the_loop_stopped_still_gives_tasks_their_loop(qtbot):
    """qasync processes Qt's events once more after run_forever ends; a task stepped then (a
    scheduler's sleep at shutdown) used to fail 'no running event loop'."""
    from PySide6.QtWidgets import QApplication

    from app.eventloop import EditorLoop

    loop = EditorLoop(QApplication.instance())
    seen = []

    async def later():
        seen.append(asyncio.get_running_loop())
        await asyncio.sleep(0)

    try:
        task = loop.create_task(later())  # queued, the loop not running
        QApplication.processEvents()  # the pass runs here, outside run_forever
        qtbot.wait(10)
        assert seen == [loop]
        loop.run_until_complete(task)
        assert task.exception() is None
        assert asyncio.events._get_running_loop() is None  # not left behind
    finally:
        loop.close()
