"""The action graph's queries and layout, Qt-free: flow walks, fresh ids, the tidy layout, where
unplaced events go, and the copy/paste text (project-file JSON).

The widget (app/graph.py) only shows what these compute; they work on runtime Actions and plain
sizes, so they are tested without Qt.
"""

from __future__ import annotations

import copy
import json
import re
from collections import deque
from collections.abc import Iterable

from nodes.kind import EventKind
from runtime.project import TRIGGER_NODE, Action, Project, Wire, from_data, to_data

GAP = (70.0, 36.0)  # space between columns and rows of a tidy layout
Size = tuple[float, float]
Point = tuple[float, float]


# -- the graph part of an Action, saved and put back by undo -------------------------------------

def snapshot(action: Action) -> tuple:
    """The graph part of an action (events, wires, positions), to put back with `restore`."""
    events = [(e, e.kind, e.version, e.description, copy.deepcopy(e.settings), dict(e.next))
              for e in action.events.values()]
    wires = [Wire(w.source, w.output, w.target, w.input) for w in action.wires]
    return action.start, events, wires, dict(action.positions)


def restore(action: Action, snapshot: tuple) -> None:
    """Put an action's graph back as `snapshot` saw it."""
    # the same Event objects come back, so panels that hold one stay valid across undo
    start, events, wires, positions = snapshot
    action.start = start
    action.events.clear()
    for event, kind, version, description, settings, next_ in events:
        event.kind, event.version, event.description = kind, version, description
        event.settings = copy.deepcopy(settings)
        event.next = dict(next_)
        action.events[event.id] = event
    action.wires[:] = [Wire(w.source, w.output, w.target, w.input) for w in wires]
    action.positions.clear()
    action.positions.update(positions)


def next_event_id(action: Action, taken: Iterable[str] = ()) -> str:
    """A fresh event id: one more than the highest `n<number>` in use."""
    numbers = [int(k[1:]) for k in (*action.events, *taken) if re.fullmatch(r"n\d+", k)]
    return f"n{max(numbers, default=0) + 1}"


def successors(action: Action, node: str) -> list[str]:
    """The events a node's flow ports lead to (the trigger leads to `start`)."""
    if node == TRIGGER_NODE:
        return [action.start] if action.start in action.events else []
    event = action.events.get(node)
    return [t for t in event.next.values() if t in action.events] if event else []


def reaches(action: Action, source: str, target: str) -> bool:
    """Whether the flow can go from `source` to `target` (a node reaches itself)."""
    seen, stack = set(), [source]
    while stack:
        node = stack.pop()
        if node == target:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(successors(action, node))
    return False


def closure(action: Action, start: str, forward: bool) -> set[str]:
    """`start` and every node after it (forward) or before it (backward) in the flow."""
    if forward:
        step = lambda n: successors(action, n)  # noqa: E731
    else:
        preds: dict[str, list[str]] = {}
        for node in (TRIGGER_NODE, *action.events):
            for t in successors(action, node):
                preds.setdefault(t, []).append(node)
        step = lambda n: preds.get(n, [])  # noqa: E731
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(step(node))
    return seen


def layered_layout(action: Action, sizes: dict[str, tuple[float, float]],
                   nodes: Iterable[str] | None = None,
                   origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple[float, float]]:
    """Left-to-right layers: each node one column right of everything that leads or feeds it."""
    order = list(nodes) if nodes is not None else [TRIGGER_NODE, *action.events]
    members = set(order)
    edges: dict[str, list[str]] = {n: [] for n in order}
    for node in order:
        edges[node] += [t for t in successors(action, node) if t in members]
    for w in action.wires:
        if w.source in members and w.target in members and w.source != w.target:
            edges[w.source].append(w.target)
    indegree = {n: 0 for n in order}
    for node in order:
        for t in edges[node]:
            indegree[t] += 1
    layer = {n: 0 for n in order}
    ready = deque(n for n in order if indegree[n] == 0)
    done: list[str] = []
    placed: set[str] = set()
    while len(done) < len(order):
        if not ready:  # a cycle (a broken file): break it at the first node not placed yet
            first = next(n for n in order if n not in placed)
            indegree[first] = 0
            ready.append(first)
        node = ready.popleft()
        if node in placed:
            continue
        done.append(node)
        placed.add(node)
        for t in edges[node]:
            if t not in placed:
                layer[t] = max(layer[t], layer[node] + 1)
                indegree[t] -= 1
                if indegree[t] == 0:
                    ready.append(t)
    columns: dict[int, list[str]] = {}
    for node in done:
        columns.setdefault(layer[node], []).append(node)
    row: dict[str, float] = {}
    preds: dict[str, list[str]] = {}
    for node in order:
        for t in edges[node]:
            preds.setdefault(t, []).append(node)
    positions = {}
    x = origin[0]
    for index in sorted(columns):
        column = columns[index]
        # order a column by where its predecessors sit, which keeps most wires from crossing
        column.sort(key=lambda n: sum(row[p] for p in preds.get(n, []) if p in row)
                    / max(1, len([p for p in preds.get(n, []) if p in row])))
        y = origin[1]
        for i, node in enumerate(column):
            row[node] = i
            positions[node] = (x, y)
            y += sizes.get(node, (160.0, 80.0))[1] + GAP[1]
        x += max(sizes.get(n, (160.0, 80.0))[0] for n in column) + GAP[0]
    return positions


def fallback_positions(action: Action, sizes: dict[str, Size], nodes: list[str],
                       unplaced: list[str], known: dict[str, Point],
                       origin: Point = (0.0, 0.0)) -> dict[str, Point]:
    """Where to draw events the file does not place (the file stays as it is): a layered
    layout when no event is placed; else right of what leads to them, or below it all.
    `nodes` is every node drawn, `known` where the placed ones are."""
    layered = layered_layout(action, sizes, nodes, origin)
    if all(eid in unplaced for eid in nodes if eid != TRIGGER_NODE):
        return {eid: layered[eid] for eid in unplaced}
    left = min(x for x, _ in known.values())
    bottom = max(y + sizes[eid][1] for eid, (_, y) in known.items()) + 2 * GAP[1]
    preds: dict[str, list[str]] = {}
    for node in nodes:
        for target in successors(action, node):
            preds.setdefault(target, []).append(node)
    for w in action.wires:
        preds.setdefault(w.target, []).append(w.source)
    out: dict[str, Point] = {}
    stacked: dict[str, int] = {}
    for eid in sorted(unplaced, key=lambda e: layered[e]):
        before = [p for p in preds.get(eid, []) if p in known or p in out]
        if before:
            p = before[0]
            x, y = known.get(p) or out[p]
            row = stacked[p] = stacked.get(p, -1) + 1
            out[eid] = (x + sizes[p][0] + GAP[0], y + row * (sizes[eid][1] + GAP[1]))
        else:
            out[eid] = (left, bottom)
            bottom += sizes[eid][1] + GAP[1]
    return out


# -- copy and paste: some events as project-file JSON ---------------------------------------------

def events_to_text(action: Action, ids: list[str],
                   positions: dict[str, tuple[float, float]] | None = None) -> str:
    """Some events of an action, with the links and wires among them, as project-file JSON."""
    chosen = set(ids)
    part = Action(name="clipboard", id="a1")
    for eid in ids:
        event = copy.deepcopy(action.events[eid])
        event.next = {p: t for p, t in event.next.items() if t in chosen}
        part.events[eid] = event
        pos = (positions or {}).get(eid) or action.positions.get(eid)
        if pos is not None:
            part.positions[eid] = pos
    part.wires = [Wire(w.source, w.output, w.target, w.input) for w in action.wires
                  if w.source in chosen and w.target in chosen]
    return json.dumps(to_data(Project(name="clipboard", actions=[part])))


def events_from_text(text: str) -> Action:
    """The events copied as `events_to_text` writes them; ValueError when the text holds none."""
    try:
        return from_data(json.loads(text)).actions[0]
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        raise ValueError("The clipboard holds no Actiongraph events.") from None


def fresh_ids(action: Action, source: Action) -> dict[str, str]:
    """New ids in `action` for the events of `source` (old id -> new id)."""
    ids: dict[str, str] = {}
    for old in source.events:
        ids[old] = next_event_id(action, ids.values())
    return ids


def paste_events(action: Action, source: Action, ids: dict[str, str],
                 offset: Point = (0.0, 0.0)) -> None:
    """Add `source`'s events to `action` under `ids`, with the links and wires among them,
    moved by `offset`. Takes `source`'s Event objects over."""
    dx, dy = offset
    for old, event in source.events.items():
        event.id = ids[old]
        event.next = {p: ids[t] for p, t in event.next.items() if t in ids}
        action.events[event.id] = event
        if old in source.positions:
            x, y = source.positions[old]
            action.positions[event.id] = (float(round(x + dx)), float(round(y + dy)))
    for w in source.wires:
        if w.source in ids and w.target in ids:
            action.wires.append(Wire(ids[w.source], w.output, ids[w.target], w.input))


# -- node faces ---------------------------------------------------------------------------------

PLACEHOLDER = "…"  # on a node face: a required setting not made yet


def describe(kind: EventKind, settings: dict, wired: dict[str, str] | None = None) -> str:
    """A kind's face text for these settings, expressions shown without their `=` mark, wired
    inputs by their source, required settings not made yet as "…" (never "None"); a face
    that fails must not take the editor down."""
    shown = {k: _shown(v) for k, v in settings.items() if v not in (None, "")}
    shown.update(wired or {})
    for item in (*kind.settings, *kind.inputs):
        if item.name not in shown:
            shown[item.name] = item.default if item.default is not None \
                else PLACEHOLDER if item.required else ""
    try:
        return kind.describe(shown)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError):
        return ""


def _shown(value):
    """A setting as a face shows it: `=a + 1` as `a + 1`, `==x` (the text "=x") as `=x`."""
    if isinstance(value, str) and value.startswith("="):
        return value[1:]
    return value


def first_sentence(text: str) -> str:
    """The first sentence of a documentation string."""
    head = re.split(r"(?<=\.)\s", text.strip(), maxsplit=1)[0]
    return head
