"""The editor with a project open and its live server listening: what bench_live.py loads.

    python tests/bench/live_app.py PROJECT --port N

Opens the main window offscreen on PROJECT (its database beside it, as the editor does),
serves on 127.0.0.1:N, prints the serve banner once listening, runs until Ctrl+C."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BANNER = "Press Ctrl+C to stop."


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("project")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--no-trace", action="store_true", help="do not record runs' steps")
    p.add_argument("--no-panels", action="store_true",
                   help="do not show requests in the server log and data browser")
    args = p.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.eventloop import EditorLoop
    from app.main import configure
    from app.mainwindow import MainWindow
    from app.theme import Theme

    app = QApplication(sys.argv[:1])
    configure(app)
    app.setApplicationName("Actiongraph-bench")  # its own settings, not the user's
    QSettings().setValue("live/port", args.port)
    if os.environ.get("BENCH_PLAIN_QASYNC"):  # to measure what EditorLoop's ready queue gives
        import qasync

        loop = qasync.QEventLoop(app)
    else:
        loop = EditorLoop(app)
    asyncio.set_event_loop(loop)
    theme = Theme(app)
    theme.apply()
    window = MainWindow(theme)
    window.show()

    async def run() -> None:
        window.open_file(args.project)
        await window.live._starting
        if not window.live.server.running:
            print(f"live server did not start: {window.live.server.error}", flush=True)
            app.quit()
            return
        if args.no_trace:
            window.live.server.state.trace = False
        if os.environ.get("BENCH_NO_DATA"):
            window.live.data.schedule_refresh = lambda: None
            window.live.data.highlight = lambda changes: None
        if os.environ.get("BENCH_NO_LOG"):
            window.live.log.add_many = lambda records: None
        if os.environ.get("BENCH_NO_HISTORY"):  # what recording every run costs the editor
            window.live.server.host.history.mode = "off"
        if args.no_panels:
            window.live.server.requestLogged.disconnect(window.live._logged)
        print(f"Live server at {window.live.server.base_url}", flush=True)
        print(BANNER, flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await window.live.shutdown()

    with loop:
        loop.run_until_complete(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
