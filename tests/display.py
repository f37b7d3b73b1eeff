"""A real X display for the editor tests: Xvfb with Qt's xcb platform, as a user's desktop has.

Offscreen rendering hides bugs a real display shows (a crash adding a field, keys that never
reach a table), so the editor tests run on Xvfb. `start()` runs before anything imports Qt:
it keeps a display the caller already has (DISPLAY set, e.g. under xvfb-run), otherwise starts
a private Xvfb for the test session. Without Xvfb the tests fall back to offscreen with a
warning, except in CI, where that is an error.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import warnings

SCREEN = "1920x1080x24"
INSTALL = "apt-get install xvfb libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0"


def start() -> str:
    """Choose the Qt platform for this test session; return it ('xcb' or 'offscreen')."""
    chosen = os.environ.get("QT_QPA_PLATFORM")
    if chosen and chosen != "xcb":
        return chosen  # a caller asked for offscreen (or another platform) on purpose
    if os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        return "xcb"
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if os.environ.get("CI"):
            raise RuntimeError(f"CI runs the editor tests on a real X display: {INSTALL}")
        warnings.warn(f"Xvfb is not installed, so the editor tests run offscreen ({INSTALL})",
                      stacklevel=1)
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return "offscreen"
    read, write = os.pipe()
    # -displayfd: Xvfb picks a free display number and writes it once it accepts clients.
    process = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", SCREEN,
                                "-nolisten", "tcp", "-noreset"],
                               pass_fds=(write,), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        process.kill()
        raise RuntimeError("Xvfb did not start")
    atexit.register(_stop, process)
    os.environ["DISPLAY"] = f":{number}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return "xcb"


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
