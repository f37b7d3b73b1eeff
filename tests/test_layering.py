"""The engine and the event catalogue stay Qt-free, and every event kind is documented."""

import ast
import subprocess
import sys
from pathlib import Path

import nodes
from nodes.kind import EventKind

QT = ("PySide6", "NodeGraphQt", "qasync", "shiboken6", "Qt")


def test_runtime_and_nodes_import_no_qt():
    code = (
        "import sys, importlib, pkgutil, runtime, nodes\n"
        "for pkg in (runtime, nodes):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"Qt imported by the engine: {out.stdout}"


def test_every_event_kind_is_documented_and_declared_once():
    ids = [k.id for k in nodes.BUILTIN]
    assert len(ids) == len(set(ids))
    for kind in nodes.BUILTIN:
        assert isinstance(kind, EventKind)
        assert len(kind.doc) > 40, f"{kind.id} needs a real documentation string"
        assert kind.run.__doc__, f"{kind.id}.run needs a docstring"
        module = sys.modules[kind.run.__module__]
        assert module.__doc__, f"{module.__name__} needs a module docstring"
        for s in kind.settings + kind.inputs + kind.outputs:
            assert s.doc, f"{kind.id}.{s.name} needs a doc"


def test_nodes_never_import_runtime():
    """Layers import downward only: runtime/ builds on nodes/, so nodes/ must not import runtime/."""
    imports = []
    for path in sorted(Path(nodes.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            imports += [f"{path.name}:{node.lineno} imports {name}"
                        for name in names if name.split(".")[0] == "runtime"]
    assert not imports, "nodes/ imports runtime/ (move what both need to nodes/values.py): " + \
        "; ".join(imports)
