"""The editor's event loop: qasync (asyncio inside Qt's loop) with a ready queue.

qasync turns every `call_soon` into a Qt timer of its own (startTimer, a timer event, then
killTimer). A request through aiohttp makes dozens of such callbacks (futures resolving,
tasks stepping), so the embedded server spent most of its time in Qt's timer bookkeeping.
Here `call_soon` appends to a queue, as asyncio's own loops do, and one zero-delay Qt timer
drains the callbacks that were queued when it fired; those queued meanwhile wait for the next
pass, so socket and GUI events still get their turn between passes.
"""

from __future__ import annotations

import asyncio
from collections import deque

import qasync
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from shiboken6 import Shiboken


class EditorLoop(qasync.QEventLoop):
    """qasync's QEventLoop whose call_soon callbacks share one Qt timer per pass."""

    def __init__(self, app=None, set_running_loop: bool = False, already_running: bool = False):
        super().__init__(app, set_running_loop=set_running_loop, already_running=already_running)
        self._soon: deque[asyncio.Handle] = deque()
        self._pass = QTimer()
        self._pass.setSingleShot(True)
        self._pass.setInterval(0)
        self._pass.timeout.connect(self._run_soon)
        self._from_threads = _Signaller()
        # Queued always: the slot runs in the GUI thread, whichever thread emits.
        self._from_threads.call.connect(self._call_from_thread, Qt.ConnectionType.QueuedConnection)

    def call_soon_threadsafe(self, callback, *args, context=None):
        """Queue a callback from another thread (a signal the GUI thread receives)."""
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        self._from_threads.call.emit(callback, args, context)

    def _call_from_thread(self, callback, args, context) -> None:
        # A thread's answer that arrives once the loop is closed has nobody left to hear it
        # (asyncio's own loops refuse it in the calling thread): dropped, not an error here.
        if not self.is_closed():
            self.call_soon(callback, *args, context=context)

    def call_soon(self, callback, *args, context=None):
        """Queue a callback for the next pass of the loop."""
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        if asyncio.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with call_soon")
        handle = asyncio.Handle(callback, args, self, context=context)
        self._soon.append(handle)
        if not self._pass.isActive():
            self._pass.start()
        return handle

    def _run_soon(self) -> None:
        # A modal dialog (or a test's qtbot.wait) opened inside a task's step runs a nested Qt
        # loop, and this pass with it. Another task stepped there would find that task still
        # "current" and fail ("Cannot enter into task ... while another task is being
        # executed"): its wake-up would be lost and the task hang forever. So the outer task
        # steps aside while the nested pass runs and is put back after.
        outer = asyncio.current_task(self)
        if outer is not None:
            asyncio.tasks._leave_task(self, outer)
        # qasync processes Qt's events once more after run_forever ends (the loop no longer
        # "running"), and a pass may come then: a task stepped there must still find its loop.
        unset = asyncio.events._get_running_loop() is None
        if unset:
            asyncio.events._set_running_loop(self)
        try:
            for _ in range(len(self._soon)):
                if not self._soon:  # a nested pass ran them
                    break
                handle = self._soon.popleft()
                if not handle._cancelled:
                    handle._run()
        finally:
            if unset:
                asyncio.events._set_running_loop(None)
            if outer is not None:
                asyncio.tasks._enter_task(self, outer)
            if self._soon:
                self._pass.start()

    def close(self) -> None:
        if not self.is_closed():
            self._pass.stop()
            self._soon.clear()
            # Delete the timer here, in the GUI thread: left to Python's cycle collector (the
            # timer's slot refers to this loop) it could be destroyed from a worker thread.
            Shiboken.delete(self._pass)
            Shiboken.delete(self._from_threads)
        super().close()


class _Signaller(QObject):
    """Carries callbacks from other threads to the GUI thread (a queued connection)."""

    call = Signal(object, tuple, object)
