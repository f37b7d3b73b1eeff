"""`actiongraph open [FILE]`: start the desktop editor."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from app import wheelguard
from app.platformcheck import xcb_problem

ORGANIZATION = "Actiongraph"
APPLICATION = "Actiongraph"


def configure(app: QCoreApplication) -> None:
    """Names under which settings, recent files and recovery files are kept."""
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    wheelguard.install(app)  # the wheel changes no value of a widget the user has not clicked


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="actiongraph open",
                                     description="Open the Actiongraph editor.")
    parser.add_argument("file", nargs="?", help="a project file (NAME.actiongraph.json)")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="save a picture of the window once it is shown, then quit")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS",
                        help="quit after this many seconds (to check that it starts)")
    return parser


def open_command(argv: list[str]) -> int:
    """Run the editor, on FILE when given, else on the welcome page."""
    args = _parser().parse_args(argv)
    # Before Qt: a missing system library would abort the process with no hint of the fix.
    problem = xcb_problem() if QApplication.instance() is None else None
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from app.eventloop import EditorLoop
    from app.mainwindow import MainWindow
    from app.theme import Theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    configure(app)
    # One loop for Qt and asyncio, so the live server can run inside the editor.
    loop = EditorLoop(app)
    asyncio.set_event_loop(loop)
    theme = Theme(app)
    theme.apply()
    window = MainWindow(theme)
    window.show()
    if args.file:
        if not Path(args.file).exists():
            print(f"actiongraph open: no such file: {args.file}", file=sys.stderr)
        else:
            window.open_file(args.file)
    if args.screenshot:
        QTimer.singleShot(800, lambda: (window.grab().save(args.screenshot), app.quit()))
    if args.quit_after is not None:
        QTimer.singleShot(int(args.quit_after * 1000), app.quit)
    with loop:
        loop.run_until_complete(_until_quit(app))
        # Stop the live server cleanly: close its listening socket and its database.
        loop.run_until_complete(window.live.shutdown())
    return 0


async def _until_quit(app: QApplication) -> None:
    """Wait until the application quits (last window closed, or Quit)."""
    done = asyncio.Event()
    app.aboutToQuit.connect(done.set)
    await done.wait()
