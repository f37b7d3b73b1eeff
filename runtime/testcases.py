"""Test cases of a project (the file's `tests`): matchers, checks of what a run did, the problems
of a test that refers to something deleted, and a test built from a recorded run.

Nothing here runs a server (runtime.testing does); the compiler reports `problems` with the rest.

A test in the file:

    {"id": "t1", "name": "sign-up answers a token", "endpoint": "Sign up",
     "request": {"body": {"email": "ann@example.org", "name": "Ann", "password": "pw123456"}},
     "expect": {"status": 201,
                "body": {"token": {"$type": "string"}, "user": {"id": {"$type": "integer"}, ...}},
                "paths": {"user.email": "ann@example.org"},
                "rows": [{"model": "Users", "op": "inserted", "count": 1,
                          "values": {"email": "ann@example.org"}}],
                "mails": [{"to": "ann@example.org", "subject_contains": "Welcome"}],
                "events": {"ran": ["n5"], "not_ran": ["n3"]}},
     "rows": {"Users": [{"email": "bob@example.org", "password": {"$hash": "secret"}}]},
     "now": "2026-01-01T09:00:00Z",
     "mocks": [{"method": "GET", "url": "https://api.example.com/*", "status": 200, "body": {}}]}

Matchers, anywhere an expected value goes: {"$any": true}, {"$type": "number"} (also string,
integer, boolean, object, array, null, datetime), {"$contains": x} (text, list item, or object
subset), {"$regex": "..."} (searched in text), {"$approx": x, "tolerance": t} (default 1e-6).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

from runtime.errors import Problem
from runtime.paths import path_template
from runtime.project import Project, TestCase

MATCHERS = ("$any", "$type", "$contains", "$regex", "$approx")
TYPES = ("number", "integer", "string", "boolean", "object", "array", "null", "datetime")
OPS = {"insert": "inserted", "update": "updated", "delete": "deleted"}
DEFAULT_TOLERANCE = 1e-6
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")


@dataclass
class Mismatch:
    """One way a run differs from a test's expectation, at a place (`status`, `body.user.id`,
    `rows[0]`, `mails`, `events.ran`, `http`)."""

    where: str
    expected: Any
    actual: Any
    message: str = ""  # said instead of "expected X, got Y" when set

    def __str__(self) -> str:
        if self.message:
            return f"{self.where}: {self.message}"
        return f"{self.where}: expected {show(self.expected)}, got {show(self.actual)}"


MISSING = type("Missing", (), {"__repr__": lambda self: "(missing)"})()


def show(value: Any, width: int = 200) -> str:
    """A value as compact JSON for a diff line (cut at `width`)."""
    if value is MISSING:
        return "(missing)"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def is_matcher(value: Any) -> bool:
    """Whether an expected value is a matcher object rather than a literal."""
    return isinstance(value, dict) and bool(value) and next(iter(value)) in MATCHERS


def match(expected: Any, actual: Any, where: str = "body") -> list[Mismatch]:
    """The mismatches of an actual JSON value against an expected one (literals and matchers);
    objects must have exactly the expected keys, lists the expected items in order."""
    if is_matcher(expected):
        return [] if _matches(expected, actual) else [Mismatch(where, expected, actual)]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [Mismatch(where, expected, actual)]
        out = []
        for key, value in expected.items():
            place = f"{where}.{key}"
            if key not in actual:
                out.append(Mismatch(place, value, MISSING, f"missing (expected {show(value)})"))
            else:
                out += match(value, actual[key], place)
        for key in actual:
            if key not in expected:
                out.append(Mismatch(f"{where}.{key}", MISSING, actual[key],
                                    f"not expected (got {show(actual[key])})"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [Mismatch(where, expected, actual)]
        out = []
        for i, value in enumerate(expected):
            if i >= len(actual):
                out.append(Mismatch(f"{where}[{i}]", value, MISSING,
                                    f"missing (expected {show(value)})"))
            else:
                out += match(value, actual[i], f"{where}[{i}]")
        for i in range(len(expected), len(actual)):
            out.append(Mismatch(f"{where}[{i}]", MISSING, actual[i],
                                f"not expected (got {show(actual[i])})"))
        return out
    return [] if _equal(expected, actual) else [Mismatch(where, expected, actual)]


def matches(expected: Any, actual: Any) -> bool:
    """Whether an actual value fits an expected one."""
    return not match(expected, actual)


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    return expected == actual


def _matches(m: dict, actual: Any) -> bool:
    if "$any" in m:
        return True
    if "$type" in m:
        return _of_type(m["$type"], actual)
    if "$regex" in m:
        return isinstance(actual, str) and re.search(str(m["$regex"]), actual) is not None
    if "$approx" in m:
        number = isinstance(actual, (int, float)) and not isinstance(actual, bool)
        tolerance = float(m.get("tolerance", DEFAULT_TOLERANCE))
        return number and math.isclose(float(actual), float(m["$approx"]), rel_tol=0,
                                       abs_tol=tolerance)
    part = m["$contains"]
    if isinstance(actual, str):
        return isinstance(part, str) and part in actual
    if isinstance(actual, list):
        return any(_holds(part, item) for item in actual)
    return _holds(part, actual) if isinstance(actual, dict) else False


def _holds(part: Any, actual: Any) -> bool:
    """Whether `actual` fits `part`, objects by the keys `part` names (a subset)."""
    if isinstance(part, dict) and not is_matcher(part):
        return isinstance(actual, dict) and all(k in actual and _holds(v, actual[k])
                                                for k, v in part.items())
    return matches(part, actual)


def _of_type(kind: str, value: Any) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return {
        "number": number,
        "integer": number and float(value).is_integer(),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "null": value is None,
        "datetime": isinstance(value, str) and _DATETIME.match(value) is not None,
    }.get(kind, False)


# -- JSON paths ---------------------------------------------------------------------------------

_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def path_steps(path: str) -> list[str | int]:
    """`$.user.items[0].id` or `user.items.0.id` -> ["user", "items", 0, "id"]."""
    text = path.strip()
    text = text[1:] if text.startswith("$") else text
    steps: list[str | int] = []
    for m in _STEP.finditer(text):
        if m.group(2) is not None:
            steps.append(int(m.group(2)))
        else:
            name = m.group(1)
            steps.append(int(name) if name.isdigit() else name)
    return steps


def at_path(value: Any, path: str) -> Any:
    """The value at a JSON path, or MISSING."""
    for step in path_steps(path):
        if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        elif isinstance(value, dict) and str(step) in value:
            value = value[str(step)]
        else:
            return MISSING
    return value


# -- what a run did against what a test expects ---------------------------------------------

def check_run(expect: dict, status: int, body: Any, headers: dict[str, str], changes: list,
              mails: list, events: set[str]) -> list[Mismatch]:
    """Every mismatch of a run (its HTTP answer, rows changed, mails, events run) against a
    test's `expect`."""
    out: list[Mismatch] = []
    if "status" in expect and expect["status"] != status:
        out.append(Mismatch("status", expect["status"], status))
    if "body" in expect:
        out += match(expect["body"], body, "body")
    for path, value in (expect.get("paths") or {}).items():
        got = at_path(body, path)
        if got is MISSING:
            out.append(Mismatch(f"body.{path.lstrip('$.')}", value, MISSING,
                                f"missing (expected {show(value)})"))
        else:
            out += match(value, got, f"body.{path.lstrip('$.')}")
    lower = {k.lower(): v for k, v in headers.items()}
    for name, value in (expect.get("headers") or {}).items():
        got = lower.get(name.lower(), MISSING)
        if got is MISSING or not matches(value, got):
            out.append(Mismatch(f"headers.{name}", value, got))
    for i, rule in enumerate(expect.get("rows") or []):
        out += _check_rows(i, rule, changes)
    if "mails" in expect:
        out += _check_mails(expect["mails"], mails)
    ran = (expect.get("events") or {}).get("ran") or []
    not_ran = (expect.get("events") or {}).get("not_ran") or []
    missing = [e for e in ran if e not in events]
    if missing:
        out.append(Mismatch("events.ran", ran, sorted(events),
                            f"did not run: {', '.join(missing)} (ran: "
                            f"{', '.join(sorted(events, key=_event_order)) or 'none'})"))
    extra = [e for e in not_ran if e in events]
    if extra:
        out.append(Mismatch("events.not_ran", not_ran, sorted(events),
                            f"ran but must not: {', '.join(extra)}"))
    return out


def _event_order(event_id: str) -> tuple:
    digits = "".join(c for c in event_id if c.isdigit())
    return (event_id.rstrip("0123456789"), int(digits) if digits else 0)


def row_of(change) -> dict:
    """The row a change is about, as JSON values: the row after, or before a delete."""
    row = change.after if change.after is not None else change.before
    return jsonable(row or {})


def _check_rows(i: int, rule: dict, changes: list) -> list[Mismatch]:
    model, op = rule["model"], rule["op"]
    values = rule.get("values")
    same = [c for c in changes if c.model == model and OPS.get(c.op, c.op) == op]
    fitting = [c for c in same if values is None or
               all(k in row_of(c) and matches(v, row_of(c)[k]) for k, v in values.items())]
    what = f"{model} {op}" + (f" with {show(values)}" if values else "")
    place = f"rows[{i}]"
    if "count" in rule:
        if len(fitting) != rule["count"]:
            got = _describe_rows(same, model, op)
            return [Mismatch(place, rule["count"], len(fitting),
                             f"expected {rule['count']} row{'s' if rule['count'] != 1 else ''} "
                             f"{what}, got {len(fitting)}{got}")]
        return []
    if not fitting:
        return [Mismatch(place, values, None, f"expected a row {what}, got none"
                                                + _describe_rows(same, model, op))]
    return []


def _describe_rows(changes: list, model: str, op: str) -> str:
    if not changes:
        return ""
    shown = "; ".join(show(row_of(c), 160) for c in changes[:3])
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    return f" ({model} {op}: {shown}{more})"


def _check_mails(expected: list[dict], mails: list) -> list[Mismatch]:
    sent = [{"to": list(m.to) + list(m.cc), "subject": m.subject, "text": m.text} for m in mails]
    out = []
    left = list(sent)
    for i, rule in enumerate(expected):
        found = next((m for m in left if _mail_fits(rule, m)), None)
        if found is None:
            out.append(Mismatch(f"mails[{i}]", rule, None, f"no mail like {show(rule)} was sent"
                                + (f" (sent: {show([_short(m) for m in sent])})" if sent
                                   else " (none was sent)")))
        else:
            left.remove(found)
    if not out and left:
        out.append(Mismatch("mails", len(expected), len(sent),
                            f"expected {len(expected)} mail{'s' if len(expected) != 1 else ''}, "
                            f"{len(sent)} were sent (not expected: "
                            f"{show([_short(m) for m in left])})"))
    return out


def _short(mail: dict) -> dict:
    return {"to": mail["to"], "subject": mail["subject"]}


def _mail_fits(rule: dict, mail: dict) -> bool:
    if "to" in rule and not any(matches(rule["to"], to) for to in mail["to"]):
        return False
    if "subject" in rule and not matches(rule["subject"], mail["subject"]):
        return False
    if "subject_contains" in rule and rule["subject_contains"] not in mail["subject"]:
        return False
    return "text_contains" not in rule or rule["text_contains"] in (mail["text"] or "")


def jsonable(value: Any) -> Any:
    """A value as the JSON a client would read (dates as ISO text, decimals as numbers)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        return float(value) if not float(value).is_integer() else int(value)
    except (TypeError, ValueError):
        return str(value)


# -- problems: a test that refers to something that is not there ------------------------------

def problems(project: Project) -> list[Problem]:
    """Located problems of the project's tests (warnings: the project still serves): an unknown
    endpoint, model or event, a test name used twice, a request that names no endpoint."""
    out: list[Problem] = []
    seen: set[str] = set()
    for test in project.tests:
        where = f'tests["{test.name}"]'
        if test.name in seen:
            out.append(_warn(where, f'test name "{test.name}" is used twice'))
        seen.add(test.name)
        out += _test_problems(project, test, where)
    return out


def _warn(where: str, message: str) -> Problem:
    return Problem(where, message, "warning")


def _test_problems(project: Project, test: TestCase, where: str) -> list[Problem]:
    out: list[Problem] = []
    request = test.request
    endpoint = project.endpoint(test.endpoint) if test.endpoint else None
    if test.endpoint and endpoint is None:
        known = ", ".join(e.name for e in project.endpoints) or "none"
        out.append(_warn(f"{where}.endpoint", f'test "{test.name}" refers to endpoint '
                                              f'"{test.endpoint}", which is not in the project '
                                              f"(endpoints: {known})"))
    elif not test.endpoint and not request.get("path"):
        out.append(_warn(f"{where}.request", f'test "{test.name}" names no endpoint and no path'))
    elif endpoint is not None and not request.get("path"):
        names = path_template(endpoint.path).variables
        params = request.get("params") or {}
        for name in names:
            if name not in params:
                out.append(_warn(f"{where}.request.params",
                                 f'test "{test.name}" gives no value for {{{name}}} of '
                                 f"{endpoint.path}"))
    models = {m.name: m for m in project.models}
    for name, rows in test.rows.items():
        if name not in models:
            out.append(_warn(f'{where}.rows["{name}"]', f'test "{test.name}" adds rows to '
                                                        f'model "{name}", which is not in the '
                                                        "project"))
            continue
        fields = {f.name for f in models[name].fields}
        for i, row in enumerate(rows):
            for key in row:
                if key not in fields:
                    out.append(_warn(f'{where}.rows["{name}"][{i}].{key}',
                                     f'{name} has no field "{key}"'))
    for i, rule in enumerate(test.expect.get("rows") or []):
        if rule.get("model") not in models:
            out.append(_warn(f"{where}.expect.rows[{i}].model",
                             f'test "{test.name}" expects rows of model "{rule.get("model")}", '
                             "which is not in the project"))
    events = test.expect.get("events") or {}
    if events and endpoint is not None:
        action = next((a for a in project.actions if a.trigger.type == "endpoint"
                       and a.trigger.endpoint == endpoint.name), None)
        known_events = set(action.events) if action is not None else set()
        for key in ("ran", "not_ran"):
            for event in events.get(key) or []:
                if event not in known_events:
                    out.append(_warn(f"{where}.expect.events.{key}",
                                     f'test "{test.name}" refers to event "{event}", which is '
                                     f'not in the action of endpoint "{endpoint.name}"'))
    for i, m in enumerate(test.mocks):
        if "*" not in m.get("url", "") and not re.match(r"^https?://", m.get("url", "")):
            out.append(_warn(f"{where}.mocks[{i}].url", "expected an http:// or https:// URL "
                                                         "(* matches any characters)"))
    if test.now is not None and parse_now(test.now) is None:
        out.append(_warn(f"{where}.now", f'"{test.now}" is not a date and time like '
                                         "2026-01-31T09:00:00Z"))
    return out


def parse_now(text: str) -> datetime | None:
    """A test's frozen clock as an aware datetime (UTC when no offset is given), or None."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


# -- "Save as test": a test from a recorded run -------------------------------------------------

_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
AUTOMATIC_KEYS = ("id", "created_at")


def test_from_record(record: Any, project: Project | None = None, name: str | None = None,
                     request: dict[str, Any] | None = None) -> dict[str, Any]:
    """A test (as the file holds it, without an id) that expects what a recorded run
    (runtime.runs.RunRecord) answered and changed: its status and body, the rows it wrote,
    the mails it sent, the events it ran, and the answers its HTTP Requests got as mocks.
    Ids, timestamps, tokens and password hashes become matchers, so the test passes again on a
    fresh database. `project` (the one that ran it) turns the bound body back into what was
    sent (a Model variable's fields are at the top of the body); `request` replaces the request
    read from the record (the Run panel's)."""
    inputs = record.inputs or {}
    path, _, query_text = (record.path or "/").partition("?")
    if request is None:
        request = {"method": record.method, "path": path}
        query = dict(parse_qsl(query_text, keep_blank_values=True))
        if query:
            request["query"] = query
        endpoint = project.endpoint(record.endpoint) if project and record.endpoint else None
        body = _recorded_body(record, endpoint)
        if body is not None:
            request["body"] = body
        user = (inputs.get("auth") or {}).get("user")
        if isinstance(user, dict) and user.get("id") is not None:
            request["as"] = user["id"]
    expect: dict[str, Any] = {"status": record.status}
    answer = _recorded_answer(record)
    if answer is not None:
        expect["body"] = loosen(answer)
    kept = record.failure is None and not record.dry_run
    if kept and record.changes:
        expect["rows"] = _rows_of(record.changes)
    mails = list(record.result.mails) if record.result is not None and kept else []
    if kept:
        expect["mails"] = [{"to": m.to[0] if len(m.to) == 1 else m.to, "subject": m.subject}
                           for m in mails]
    steps = record.trace or []
    ran = list(dict.fromkeys(s.id for s in steps))
    if ran:
        expect["events"] = {"ran": ran}
    test: dict[str, Any] = {"name": name or f"{request.get('method', record.method)} "
                                            f"{request.get('path', path)} answers {record.status}"}
    if record.endpoint:
        test["endpoint"] = record.endpoint
    test["request"] = request
    test["expect"] = expect
    # An event that called out (HTTP Request, or a plug-in's like it): a url in, a response out.
    mocks = [{"url": s.inputs["url"], "status": s.outputs["response"]["status"],
              "body": jsonable(s.outputs["response"].get("body"))}
             for s in steps if isinstance(s.inputs.get("url"), str)
             and isinstance(s.outputs, dict) and isinstance(s.outputs.get("response"), dict)
             and "status" in s.outputs["response"]]
    if mocks:
        test["mocks"] = mocks
    return test


def _recorded_body(record: Any, endpoint: Any) -> Any:
    http = record.http_request or {}
    raw = http.get("body")
    if isinstance(raw, (bytes, str)) and raw:
        try:
            return json.loads(raw)
        except ValueError:
            pass
    body = (record.inputs or {}).get("body")
    if not body:
        return None
    if endpoint is None or not isinstance(body, dict):
        return jsonable(body)
    kinds = {v.name: v.kind for v in endpoint.variables if v.location == "body"}
    sent: dict[str, Any] = {}
    for key, value in body.items():
        if kinds.get(key) in ("Model", "Custom Model") and isinstance(value, dict):
            sent.update(value)  # its fields come from the top of the body
        else:
            sent[key] = value
    return jsonable(sent)


def _recorded_answer(record: Any) -> Any:
    http = record.http_response or {}
    raw = http.get("body")
    if isinstance(raw, (bytes, str)) and raw:
        try:
            return json.loads(raw)
        except ValueError:
            return None
    failure = record.failure
    if failure is not None:
        body = {"error": failure.message, "action": failure.action, "event": failure.event,
                "event_kind": failure.kind}
        return {k: v for k, v in body.items() if v is not None}
    if record.result is None or record.status == 204:
        return None
    return jsonable(record.response)


def loosen(value: Any, key: str = "") -> Any:
    """A recorded value with what differs between runs as matchers: ids and `*_id` numbers,
    date-times, login tokens, references and password hashes."""
    if isinstance(value, dict):
        return {k: loosen(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [loosen(v, key) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and (key == "id" or key.endswith("_id")):
        return {"$type": "integer"}
    if isinstance(value, str):
        if _DATETIME.match(value):
            return {"$type": "datetime"}
        if value.startswith("$argon2"):
            return {"$regex": "^\\$argon2"}
        if key in ("token", "reference") or _JWT.match(value):
            return {"$type": "string"}
    return value


def _rows_of(changes: list) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list] = {}
    for change in changes:
        groups.setdefault((change.model, OPS.get(change.op, change.op)), []).append(change)
    rows = []
    for (model, op), same in groups.items():
        rule: dict[str, Any] = {"model": model, "op": op, "count": len(same)}
        if len(same) == 1:
            row = row_of(same[0])
            rule["values"] = {k: loosen(v, k) for k, v in row.items() if k not in AUTOMATIC_KEYS}
        rows.append(rule)
    return rows
