"""Benchmark: open an action of 500 events and 600 data wires in the action graph.

Builds the action in the runtime model (a Query, Create, Update, Assign, Condition mix with
flow links and data wires between earlier and later events), opens `ActionGraph` offscreen and
prints the time to first paint, the time to interactive (every node and wire built, zoomed to
fit, one event-loop turn processed) and the peak memory; then the same graph the naive
NodeGraphQt way (stock nodes, `deserialize_session`, `fit_to_selection`) for the ratio.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/bench/bench_graph.py [--events 500]

Exit status 0 when the graph is interactive within the target (default 1 s), else 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from runtime.project import Event, Field, Project, Trigger, Variable, Wire  # noqa: E402

KINDS = ("query", "create", "update", "assign", "query", "condition")
TARGET = 1.0


def big_project(events: int = 500, wires: int = 600, seed: int = 7,
                positions: bool = True) -> Project:
    """A project whose one action has `events` events in a flow chain and `wires` data wires."""
    rng = random.Random(seed)
    project = Project(name="Big")
    project.add_model("Shoes", [Field("shoe_type"), Field("price", "Decimal")])
    project.add_endpoint("Big", "POST", "/v1/big",
                         [Variable("shoe", "Model", "body", model="Shoes")])
    action = project.add_action("Big", Trigger(type="endpoint", endpoint="Big"))
    ids = [f"n{i}" for i in range(1, events + 1)]
    outputs = {"query": ("result", "Any"), "create": ("record", "Record"),
               "update": ("result", "Any"), "assign": ("value", "Any")}
    inputs = {"query": ("limit", "offset"), "create": ("source",), "update": ("record",),
              "assign": ("value",), "condition": ("value",)}
    for i, eid in enumerate(ids):
        kind = KINDS[i % len(KINDS)]
        settings = {"model": "Shoes", "as": f"v{i}"} if kind != "condition" else \
            {"value": f"=v{i - 1} != null"}
        if kind == "assign":
            settings = {"as": f"v{i}", "value": "=body.shoe.price * 1.2"}
        action.events[eid] = Event(kind=kind, settings=settings, id=eid,
                                   description=f"step {i + 1}")
        if positions:
            action.positions[eid] = (float((i % 25) * 260), float((i // 25) * 190))
    action.start = ids[0]
    for i, eid in enumerate(ids[:-1]):
        port = "true" if KINDS[i % len(KINDS)] == "condition" else "next"
        action.events[eid].next[port] = ids[i + 1]
    action.positions["trigger"] = (-260.0, 0.0)
    # data wires go from an earlier event's output to a free input of a later one
    free = [(eid, port) for i, eid in enumerate(ids) for port in inputs[KINDS[i % len(KINDS)]]]
    rng.shuffle(free)
    made = 0
    for target, port in free:
        t = ids.index(target)
        sources = [s for s in range(max(0, t - 30), t) if KINDS[s % len(KINDS)] in outputs]
        if not sources:
            continue
        s = rng.choice(sources)
        action.wires.append(Wire(ids[s], outputs[KINDS[s % len(KINDS)]][0], target, port))
        made += 1
        if made == wires:
            break
    if made < wires:
        raise ValueError(f"only {made} free inputs for {wires} wires: add events")
    return project


class _FirstPaint(QObject):
    """Notes when the graph's viewport first paints."""

    def __init__(self):
        super().__init__()
        self.at: float | None = None

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and self.at is None:
            self.at = time.perf_counter()
        return False


def measure_ours(project: Project, qt: QApplication) -> dict:
    """Open the action in ActionGraph and time it."""
    from app.document import Document
    from app.graph import ActionGraph

    document = Document(project)
    start = time.perf_counter()
    graph = ActionGraph(document, project.actions[0], auto_problems=False)
    built = time.perf_counter()
    graph.resize(1400, 900)
    painted = _FirstPaint()
    graph.viewer.viewport().installEventFilter(painted)
    graph.show()
    qt.processEvents()  # lays out, fits and paints the first frame
    interactive = time.perf_counter()
    problems_start = time.perf_counter()
    graph.show_problems(document.problems())
    problems = time.perf_counter() - problems_start
    result = {
        "nodes": len(graph.node_graph.all_nodes()),
        "links": len(graph.links()),
        "build": built - start,
        "first_paint": (painted.at or interactive) - start,
        "interactive": interactive - start,
        "problems": problems,
        "graph": graph,
    }
    return result


def python_peak(project: Project) -> float:
    """Peak memory Python allocates while building the graph, in MB (tracemalloc is slow, so
    this is a second build, not the timed one)."""
    from app.document import Document
    from app.graph import ActionGraph

    tracemalloc.start()
    graph = ActionGraph(Document(project), project.actions[0], auto_problems=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    graph.deleteLater()
    return peak / 1e6


def measure_naive(project: Project, qt: QApplication) -> dict:
    """The same graph with stock NodeGraphQt: deserialize_session, then fit_to_selection."""
    from NodeGraphQt import BaseNode, NodeGraph

    from nodes import catalogue

    kinds = catalogue()
    classes = {}
    for kind_id in set(KINDS):
        kind = kinds[kind_id]

        def init(self, kind=kind):
            BaseNode.__init__(self)
            self.add_input("in", multi_input=True)
            for name in kind.flow_out:
                self.add_output(name)
            for p in kind.inputs:
                self.add_input(p.name)
            for p in kind.outputs:
                self.add_output(p.name, multi_output=True)

        classes[kind_id] = type(f"Naive{kind_id}", (BaseNode,),
                                {"__identifier__": "naive", "NODE_NAME": kind.name,
                                 "__init__": init})
    action = project.actions[0]
    nodes = {eid: {"type_": f"naive.Naive{e.kind}", "name": eid,
                   "pos": list(action.positions.get(eid, (0, 0)))}
             for eid, e in action.events.items()}
    connections = [{"out": [eid, port], "in": [target, "in"]}
                   for eid, e in action.events.items() for port, target in e.next.items()]
    connections += [{"out": [w.source, w.output], "in": [w.target, w.input]}
                    for w in action.wires]
    session = {"graph": {}, "nodes": nodes, "connections": connections}
    start = time.perf_counter()
    graph = NodeGraph()
    graph.register_nodes(list(classes.values()))
    widget = graph.widget
    widget.resize(1400, 900)
    graph.deserialize_session(session)
    loaded = time.perf_counter()
    graph.fit_to_selection()
    fitted = time.perf_counter()
    widget.show()
    qt.processEvents()
    interactive = time.perf_counter()
    return {"nodes": len(graph.all_nodes()), "deserialize": loaded - start,
            "fit": fitted - loaded, "interactive": interactive - start, "graph": graph}


def wide_project(count: int = 200) -> Project:
    """A project with `count` models' worth of endpoints and as many actions (two events each)."""
    project = Project(name="Wide")
    project.add_model("Items", [Field("name"), Field("price", "Decimal")])
    for i in range(count):
        project.add_endpoint(f"Endpoint {i}", "POST", f"/v1/items{i}/{{id}}",
                             [Variable("id", "Number", "path"),
                              Variable("item", "Model", "body", model="Items")])
        action = project.add_action(f"Action {i}", Trigger(type="endpoint", endpoint=f"Endpoint {i}"),
                                    response_value="=made")
        made = action.add_event("create", model="Items", source="=body.item", **{"as": "made"})
        action.add_event("assign", after=made.id, value="=made.price * 2", **{"as": "double"})
        action.positions = {"trigger": (0.0, 0.0), "n1": (260.0, 0.0), "n2": (520.0, 0.0)}
    return project


def measure_wide(qt: QApplication, count: int, folder: Path) -> dict:
    """Open a wide project in the main window: time to first paint and to interactive."""
    from app.mainwindow import MainWindow
    from runtime.projectfile import save

    path = folder / "wide.actiongraph.json"
    save(wide_project(count), path)
    start = time.perf_counter()
    window = MainWindow()
    window.resize(1440, 900)
    window.open_file(path)
    window.show()
    qt.processEvents()
    window.grab()  # a real paint of the whole window
    first_paint = time.perf_counter() - start
    qt.processEvents()
    interactive = time.perf_counter() - start
    problems = len(window.document.problems())
    window.close()
    return {"first_paint": first_paint, "interactive": interactive, "problems": problems}


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--wires", type=int, default=600)
    parser.add_argument("--target", type=float, default=TARGET)
    parser.add_argument("--no-naive", action="store_true", help="skip the stock NodeGraphQt run")
    parser.add_argument("--wide", type=int, default=200,
                        help="endpoints and actions in the wide project (default 200)")
    args = parser.parse_args(argv)
    qt = QApplication.instance() or QApplication([])
    importlib.import_module("app.graph")  # imports are not the graph's memory
    project = big_project(args.events, args.wires)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ours = measure_ours(project, qt)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ours["peak_python_mb"] = python_peak(project)
    print(f"Action graph, {args.events} events and {args.wires} wires "
          f"({ours['nodes']} nodes, {ours['links']} links drawn):")
    print(f"  scene built          {ours['build'] * 1000:7.0f} ms")
    print(f"  first paint          {ours['first_paint'] * 1000:7.0f} ms")
    print(f"  interactive          {ours['interactive'] * 1000:7.0f} ms   (target "
          f"{args.target * 1000:.0f} ms)")
    print(f"  peak Python memory   {ours['peak_python_mb']:7.1f} MB   (tracemalloc, second build)")
    print(f"  process memory       {rss_mb:7.0f} MB   (max RSS; {rss_mb - rss_before:.0f} MB more "
          "than before the graph was opened)")
    print(f"  compiler problems    {ours['problems'] * 1000:7.0f} ms   (shown after, on a timer)")
    unplaced = big_project(args.events, args.wires, positions=False)
    start = time.perf_counter()
    from app.document import Document
    from app.graph import ActionGraph
    ActionGraph(Document(unplaced), unplaced.actions[0], auto_problems=False)
    print(f"  without positions    {(time.perf_counter() - start) * 1000:7.0f} ms   "
          "(scene built with the layered auto layout)")
    if not args.no_naive:
        naive = measure_naive(project, qt)
        print("Stock NodeGraphQt, same graph:")
        print(f"  deserialize_session  {naive['deserialize'] * 1000:7.0f} ms")
        print(f"  fit_to_selection     {naive['fit'] * 1000:7.0f} ms")
        print(f"  interactive          {naive['interactive'] * 1000:7.0f} ms")
        print(f"Ratio: {naive['interactive'] / ours['interactive']:.1f}x faster to interactive")
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        wide = measure_wide(qt, args.wide, Path(folder))
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Main window, a project of {args.wide} endpoints and {args.wide} actions:")
    print(f"  first paint          {wide['first_paint'] * 1000:7.0f} ms")
    print(f"  interactive          {wide['interactive'] * 1000:7.0f} ms   "
          f"({wide['problems']} problems found)")
    print(f"  process memory       {rss_after:7.0f} MB   (max RSS; "
          f"{rss_after - rss_before:.0f} MB more)")
    ok = ours["interactive"] <= args.target
    print("OK" if ok else "SLOWER THAN TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
