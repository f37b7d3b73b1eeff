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
from PySide6.QtCore import QTimer
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
        for _ in range(len(self._soon)):
            handle = self._soon.popleft()
            if not handle._cancelled:
                handle._run()
        if self._soon:
            self._pass.start()

    def close(self) -> None:
        if not self.is_closed():
            self._pass.stop()
            self._soon.clear()
            # Delete the timer here, in the GUI thread: left to Python's cycle collector (the
            # timer's slot refers to this loop) it could be destroyed from a worker thread.
            Shiboken.delete(self._pass)
        super().close()
