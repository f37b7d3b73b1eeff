"""Before Qt starts on Linux: can its X11 (xcb) platform plugin load on this machine?

Qt 6.5+ needs system libraries for xcb (libxcb-cursor0 and friends) that a bare Linux lacks;
without them Qt aborts with "could not load the Qt platform plugin" and no hint of what to
install. This asks the dynamic linker (`ldd`) instead and names the packages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Library sonames the xcb plugin links against, and the Debian/Ubuntu packages holding them.
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-util.so.1": "libxcb-util1", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1", "libxcb.so.1": "libxcb1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1", "libX11.so.6": "libx11-6", "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1", "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6", "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0",
}
NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def qt_folder() -> Path | None:
    """PySide6's Qt folder (plugins/ and lib/), without importing Qt itself."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "Qt"


def missing_libraries(binaries: list[Path], library_path: Path | None = None) -> list[str]:
    """Shared libraries these binaries need that the dynamic linker cannot find (via ldd);
    empty when ldd is not there to ask."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    env = dict(os.environ)
    if library_path is not None:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (str(library_path), env.get("LD_LIBRARY_PATH", "")) if p)
    missing: list[str] = []
    for binary in binaries:
        if not binary.exists():
            continue
        try:
            out = subprocess.run([ldd, str(binary)], capture_output=True, text=True, env=env,
                                 timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        missing += [name for name in NOT_FOUND.findall(out) if name not in missing]
    return missing


def wants_xcb(environ: dict[str, str] | None = None) -> bool:
    """Whether Qt will use its xcb plugin: Linux, X11 asked for or no Wayland session."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0].split(";")[0] == "xcb"
    return not env.get("WAYLAND_DISPLAY")


def xcb_problem() -> str | None:
    """One line naming what Qt's xcb plugin lacks here and how to install it, or None."""
    if not wants_xcb():
        return None
    qt = qt_folder()
    if qt is None:
        return None
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    missing = missing_libraries([plugin, qt / "lib" / "libQt6XcbQpa.so.6"], qt / "lib")
    return advice(missing) if missing else None


def advice(missing: list[str]) -> str:
    """The message for missing libraries: what is missing and the install command."""
    packages = sorted({PACKAGES.get(name, name) for name in missing})
    return (f"actiongraph open: Qt's X11 platform plugin cannot load: missing "
            f"{', '.join(missing)}. Install them with: sudo apt-get install {' '.join(packages)}")
