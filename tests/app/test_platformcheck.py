"""`actiongraph open` on a Linux machine lacking Qt's xcb libraries: one line naming the fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.platformcheck import advice, missing_libraries, qt_folder, wants_xcb

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("ldd") is None,
                               reason="needs gcc and ldd to build a library with a missing "
                                      "dependency")


def plugin_missing(tmp_path: Path, soname: str) -> Path:
    """A real shared library (named like Qt's xcb plugin) that links against `soname`, which
    is then removed: as a machine without that package sees the plugin."""
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "dep.c").write_text("int dep(void) { return 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(stub / soname), f"-Wl,-soname,{soname}",
                    str(stub / "dep.c")], check=True)
    folder = tmp_path / "Qt" / "plugins" / "platforms"
    folder.mkdir(parents=True)
    (tmp_path / "plugin.c").write_text("int dep(void); int use(void) { return dep(); }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(folder / "libqxcb.so"),
                    str(tmp_path / "plugin.c"), f"-L{stub}", f"-l:{soname}"], check=True)
    shutil.rmtree(stub)
    return tmp_path / "Qt"


MISSING = "libactiongraph-test-absent.so.0"  # on no machine, unlike the real xcb libraries


@needs_gcc
def test_a_library_the_linker_cannot_find_is_reported(tmp_path):
    qt = plugin_missing(tmp_path, MISSING)
    assert missing_libraries([qt / "plugins" / "platforms" / "libqxcb.so"]) == [MISSING]


def test_a_missing_library_is_named_with_its_package():
    assert advice(["libxcb-cursor.so.0"]) == (
        "actiongraph open: Qt's X11 platform plugin cannot load: missing libxcb-cursor.so.0. "
        "Install them with: sudo apt-get install libxcb-cursor0")


@needs_gcc
def test_actiongraph_open_stops_with_one_line_instead_of_a_qt_abort(tmp_path):
    qt = plugin_missing(tmp_path, MISSING)
    script = textwrap.dedent(f"""
        import sys
        import app.platformcheck as check
        check.qt_folder = lambda: __import__("pathlib").Path({str(qt)!r})
        from app.main import open_command
        sys.exit(open_command([]))
    """)
    env = {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":99"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"actiongraph open: Qt's X11 platform plugin cannot load: missing {MISSING}. "
        f"Install them with: sudo apt-get install {MISSING}"]


def test_this_machine_has_what_the_xcb_plugin_needs():
    """CI installs the libraries (.ci/run); the real plugin's dependencies all resolve."""
    qt = qt_folder()
    assert qt is not None
    assert missing_libraries([qt / "plugins" / "platforms" / "libqxcb.so",
                              qt / "lib" / "libQt6XcbQpa.so.6"], qt / "lib") == []


def test_only_linux_x11_sessions_are_checked():
    assert wants_xcb({"QT_QPA_PLATFORM": "xcb"}) is sys.platform.startswith("linux")
    assert not wants_xcb({"QT_QPA_PLATFORM": "offscreen"})
    assert not wants_xcb({"WAYLAND_DISPLAY": "wayland-0"})
