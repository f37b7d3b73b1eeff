"""Comparing a recorded run with the graph and with a replay of it now: the JSON diff of two
response bodies, the row changes of two runs per model, and which events of a recorded path
no longer exist or have changed since (by a digest of each event).

Plain data in, plain data out: the run history's dicts (runtime.history) on the "then" side,
the same shape on the "now" side (`outcome_of` turns a RunRecord into it).

The history masks secrets ("***"), so a recorded request cannot always be sent again as it
was: `unmask` fills in what a replay can know (a fresh login token for the run's user, values
the user typed) and names the places it cannot, which a Comparison then carries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from runtime.kinds import json_default
from runtime.masking import MASK

# Values that differ between any two runs and say nothing about the graph: the time a row
# was made. An id differs too when both runs inserted rows (a replay inserts the next id).
VOLATILE_KEYS = frozenset({"created_at"})
MISSING = object()  # a side of a difference where the key or item is absent


@dataclass(frozen=True)
class Difference:
    """One place where two JSON values differ: `path` like `$.post.likes` or `$[2]`; op is
    added, removed or changed; `volatile` when it is a timestamp or a fresh id (not counted)."""

    path: str
    op: str
    before: Any = None
    after: Any = None
    volatile: bool = False


@dataclass
class ModelRows:
    """The rows one model had inserted, updated and deleted, in a run then and in the replay."""

    model: str
    then: dict[str, int] = field(default_factory=lambda: {"insert": 0, "update": 0, "delete": 0})
    now: dict[str, int] = field(default_factory=lambda: {"insert": 0, "update": 0, "delete": 0})
    only_then: list[dict] = field(default_factory=list)  # changes the replay no longer makes
    only_now: list[dict] = field(default_factory=list)  # changes only the replay makes

    @property
    def same(self) -> bool:
        return not self.only_then and not self.only_now


@dataclass
class Comparison:
    """A recorded run against its replay: status, body differences and rows per model."""

    status_then: int | None
    status_now: int | None
    body: list[Difference]
    rows: list[ModelRows]
    error_then: str | None = None
    error_now: str | None = None
    body_then: Any = None
    body_now: Any = None
    masked: list[str] = field(default_factory=list)  # places the replay sent as "***"
    restored: list[str] = field(default_factory=list)  # masked places it filled in (how)

    @property
    def comparable(self) -> bool:
        """Whether the replay sent what the run sent: no value was still masked."""
        return not self.masked

    @property
    def same(self) -> bool:
        """Whether the replay answers and writes as the run did (fresh ids and times aside)."""
        return (self.status_then == self.status_now
                and not any(not d.volatile for d in self.body)
                and all(m.same for m in self.rows))

    def summary(self) -> str:
        """One line: "same", or what changed (status 422 -> 200, 2 body values, rows of Posts),
        or which masked values the replay had to send as they were recorded."""
        if self.masked:
            return "sent with masked values: " + ", ".join(self.masked)
        if self.same:
            return "same"
        parts = []
        if self.status_then != self.status_now:
            parts.append(f"status {self.status_then} -> {self.status_now}")
        n = sum(1 for d in self.body if not d.volatile)
        if n:
            parts.append(f"{n} body value{'s' if n != 1 else ''}")
        models = [m.model for m in self.rows if not m.same]
        if models:
            parts.append("rows of " + ", ".join(models))
        return "changed: " + ", ".join(parts)


def plain(value: Any) -> Any:
    """A value as the run history keeps it: JSON data (dates as ISO text, decimals as numbers)."""
    return orjson.loads(orjson.dumps(value, default=json_default,
                                     option=orjson.OPT_NON_STR_KEYS))


def json_diff(before: Any, after: Any, path: str = "$",
              volatile_ids: tuple[set, set] | None = None) -> list[Difference]:
    """Where two JSON values differ, deepest first-level places (objects by key, lists by index).
    `volatile_ids`: (ids inserted then, ids inserted now): an `id` going from one to the
    other is marked volatile, as is any `created_at`."""
    out: list[Difference] = []
    _diff(before, after, path, out, volatile_ids or (set(), set()), key=None)
    return out


def _diff(a: Any, b: Any, path: str, out: list[Difference], ids: tuple[set, set],
          key: str | None) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{k}" if _simple(k) else f"{path}[{json.dumps(str(k))}]"
            if k not in b:
                out.append(Difference(sub, "removed", a[k], MISSING))
            elif k not in a:
                out.append(Difference(sub, "added", MISSING, b[k]))
            else:
                _diff(a[k], b[k], sub, out, ids, str(k))
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            sub = f"{path}[{i}]"
            if i >= len(b):
                out.append(Difference(sub, "removed", a[i], MISSING))
            elif i >= len(a):
                out.append(Difference(sub, "added", MISSING, b[i]))
            else:
                _diff(a[i], b[i], sub, out, ids, key)
        return
    if a == b and type(a) is type(b) or (_number(a) and _number(b) and a == b) \
            or _same_moment(a, b):
        return
    volatile = key in VOLATILE_KEYS or (key == "id" and a in ids[0] and b in ids[1])
    out.append(Difference(path, "changed", a, b, volatile))


def _same_moment(a: Any, b: Any) -> bool:
    """Two ISO date-times of the same instant: a recorded value is kept as "+00:00", the wire
    (runtime.renderer) says "Z"."""
    if not (isinstance(a, str) and isinstance(b, str) and len(a) >= 19 and len(b) >= 19
            and a[10:11] == b[10:11] == "T" and a[:10] == b[:10]):
        return False
    try:
        return dt.datetime.fromisoformat(a) == dt.datetime.fromisoformat(b)
    except (TypeError, ValueError):  # naive against aware, or not a date-time after all
        return False


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _simple(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier()


def inserted_ids(changes: list[dict] | None) -> set:
    """The ids of the rows a run inserted."""
    return {(c.get("after") or {}).get("id") for c in changes or [] if c.get("op") == "insert"} - {None}


def rows_diff(then: list[dict] | None, now: list[dict] | None) -> list[ModelRows]:
    """Per model (in the order first seen): how many rows each run inserted, updated and deleted,
    and the changes only one of them made (compared as `_key` says)."""
    models: dict[str, ModelRows] = {}
    then, now = list(then or []), list(now or [])
    for side, changes in (("then", then), ("now", now)):
        for c in changes:
            m = models.setdefault(c["model"], ModelRows(c["model"]))
            counts = getattr(m, side)
            counts[c["op"]] = counts.get(c["op"], 0) + 1
    for name, m in models.items():
        a = Counter(_key(c) for c in then if c["model"] == name)
        b = Counter(_key(c) for c in now if c["model"] == name)
        gone, new = a - b, b - a
        m.only_then = _pick(then, name, gone)
        m.only_now = _pick(now, name, new)
    return list(models.values())


def _key(change: dict) -> str:
    """What a change does: an insert by its values (not its fresh id), an update by the row and
    the values it leaves (not what the row held before: a replay starts from today's row), a
    delete by the row."""
    before, after = change.get("before") or {}, change.get("after") or {}
    if change["op"] == "insert":
        what = {k: v for k, v in after.items() if k not in ("id", *VOLATILE_KEYS)}
    elif change["op"] == "update":
        what = {k: v for k, v in after.items() if k not in VOLATILE_KEYS}
    else:
        what = {"id": before.get("id")}
    return json.dumps([change["op"], what], sort_keys=True, default=str)


def _pick(changes: list[dict], model: str, wanted: Counter) -> list[dict]:
    left = Counter(wanted)
    picked = []
    for c in changes:
        if c["model"] != model:
            continue
        k = _key(c)
        if left[k] > 0:
            left[k] -= 1
            picked.append(c)
    return picked


def compare(then: dict, now: dict, masked: list[str] = (), restored: list[str] = ()
            ) -> Comparison:
    """A recorded run (`RunHistory.get`) against its replay (`outcome_of` or the same shape:
    {status, response: {status, body}, changes, error}); `masked` and `restored` as
    `unmask` found them."""
    ids = (inserted_ids(then.get("changes")), inserted_ids(now.get("changes")))
    body_then = _body(then)
    body_now = _body(now)
    return Comparison(
        status_then=(then.get("response") or {}).get("status", then.get("status")),
        status_now=(now.get("response") or {}).get("status", now.get("status")),
        body=json_diff(body_then, body_now, volatile_ids=ids),
        rows=rows_diff(then.get("changes"), now.get("changes")),
        error_then=then.get("error"), error_now=now.get("error"),
        body_then=body_then, body_now=body_now, masked=list(masked), restored=list(restored))


def _body(run: dict) -> Any:
    response = run.get("response")
    return response.get("body") if response else None


def outcome_of(record: Any, body: Any = MISSING, mask: Any = None) -> dict:
    """A RunRecord (the replay) in the history's shape: status, error, response body (the
    parsed HTTP body when given, else the response value) and changes, masked like history."""
    value = record.response if body is MISSING else body
    changes = [{"op": c.op, "model": c.model, "before": c.before, "after": c.after}
               for c in record.changes]
    if mask is not None:
        value = mask.value(value)
        changes = [{**c, "before": mask.value(c["before"]), "after": mask.value(c["after"])}
                   for c in changes]
    return {"status": record.status, "error": record.error, "event": record.event,
            "response": {"status": record.status, "body": plain(value)},
            "changes": plain(changes)}


# -- secrets: what the history masked, filled in again where a replay can -----------------------

@dataclass
class Unmasked:
    """A recorded request (or a run's inputs) made ready to send again: `masked` lists the
    places still holding "***" (`header.Cookie`, `body.password`, `body.items[0].token`),
    `restored` the masked places filled in, each with how."""

    headers: dict[str, str]
    query: dict[str, Any]
    body: Any
    masked: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)


def recorded_user(run: dict) -> Any:
    """The id of the user a recorded run was logged in as (`auth.user` of its inputs), or None."""
    user = ((run.get("inputs") or {}).get("auth") or {}).get("user")
    return user.get("id") if isinstance(user, dict) else None


def unmask(run: dict, auth: Any = None, profile: str | None = None,
           values: dict[str, str] | None = None) -> Unmasked:
    """The recorded request of a run with its masked values filled in where that is possible:
    a value the user typed for a place (`values`, e.g. {"body.password": "s3cret"}) first; a
    masked Authorization header of a run that was logged in becomes a fresh token for that
    same user (`auth.issue(profile, user_id)`: the live server's secret and lifetime). The
    other masked headers are left out; masked body and query values are sent as recorded and
    listed in `masked`."""
    values = values or {}
    request = run.get("request") or {}
    masked: list[str] = []
    restored: list[str] = []
    headers: dict[str, str] = {}
    user = recorded_user(run)
    for name, text in (request.get("headers") or {}).items():
        if text != MASK:
            headers[name] = text
            continue
        place = f"header.{name}"
        if place in values:
            headers[name] = values[place]
            restored.append(f"{place} (typed)")
        elif name.lower() == "authorization" and auth is not None and profile and user is not None:
            headers[name] = f"Bearer {auth.issue(profile, user)}"
            restored.append(f"{place} (a fresh token for user #{user})")
        else:
            masked.append(place)
    query = _fill(request.get("query") or {}, "query", values, masked, restored)
    body = _fill(request.get("body"), "body", values, masked, restored)
    if isinstance(body, str) and MASK in body and "body" not in masked:
        masked.append("body")  # text the history could not read as data, masked inside
    return Unmasked(headers, query, body, masked, restored)


def unmask_inputs(inputs: dict | None, values: dict[str, str] | None = None
                  ) -> tuple[dict | None, list[str], list[str]]:
    """A non-HTTP run's recorded inputs with typed values filled in: (inputs, masked, restored)."""
    if inputs is None:
        return None, [], []
    masked: list[str] = []
    restored: list[str] = []
    filled = {group: _fill(v, group, values or {}, masked, restored)
              for group, v in inputs.items()}
    return filled, masked, restored


def _fill(value: Any, place: str, values: dict[str, str], masked: list[str],
          restored: list[str]) -> Any:
    if value == MASK:
        if place in values:
            restored.append(f"{place} (typed)")
            return values[place]
        masked.append(place)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, f"{place}.{k}" if _simple(k) else f"{place}[{json.dumps(str(k))}]",
                         values, masked, restored) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, f"{place}[{i}]", values, masked, restored) for i, v in enumerate(value)]
    return value


# -- the recorded path against the graph now --------------------------------------------------

def event_digest(action: Any, event_id: str) -> str:
    """A short digest of what an event does: kind, version, settings, flow links and the wires
    into it (not its place, description or pin)."""
    e = action.events[event_id]
    wires = sorted((w.source, w.output, w.input) for w in action.wires if w.target == event_id)
    data = [e.kind, e.version, e.settings, e.next, wires]
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def action_digests(action: Any) -> dict[str, str]:
    """The digest of every event of an action."""
    return {eid: event_digest(action, eid) for eid in action.events}


def path_changes(trace: list[dict] | None, action: Any, digests: dict[str, str] | None
                 ) -> tuple[list[str], list[str]]:
    """(events of the recorded path that no longer exist, events that changed since): changed
    when its kind differs, or its digest differs from the one recorded with the run's
    revision (`digests`, None when unknown)."""
    missing, changed = [], []
    for step in trace or []:
        eid = step["id"]
        if eid in missing or eid in changed:
            continue
        event = action.events.get(eid) if action is not None else None
        if event is None:
            missing.append(eid)
        elif event.kind != step.get("kind", event.kind) or (
                digests is not None and eid in digests and digests[eid] != event_digest(action, eid)):
            changed.append(eid)
    return missing, changed
