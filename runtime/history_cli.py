"""`actiongraph runs`: list recorded runs, or show one with its trace (runtime.history).

    actiongraph runs [FILE] [--endpoint E] [--action A] [--status N] [--since 1h|2026-12-01]
                     [--failed] [--search TEXT] [--limit N] [--json]
    actiongraph runs show ID [FILE] [--json]

FILE is a project file (its NAME.runs.db), a .runs.db file or a database URL (the
`_actiongraph_runs` table of a PostgreSQL server); without it, the one *.runs.db (or project
file) in the current folder."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

from runtime.history import HistoryError, RunHistory, history_url, runs_file
from runtime.kinds import json_default

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
CELL = 60  # characters of a value shown in a trace line


def runs_command(words: list[str]) -> int:
    """`actiongraph runs ...` (the command parses its own words: `show` is a subcommand)."""
    if words[:1] == ["show"]:
        args = _show_parser().parse_args(words[1:])
        return show(args)
    args = _list_parser().parse_args(words)
    return list_runs(args)


def _list_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="actiongraph runs", description="List recorded runs, newest first "
        "(`actiongraph runs show ID` prints one with its trace).")
    p.add_argument("file", nargs="?", help="project file, NAME.runs.db or database URL "
                   "(default: the one in the current folder)")
    p.add_argument("--endpoint", help="only runs of this endpoint (its name)")
    p.add_argument("--action", help="only runs of this action")
    p.add_argument("--status", type=_status, help="only runs that answered this status")
    p.add_argument("--since", type=_since, help="only runs since a time: 30m, 1h, 2d, or a date "
                   "(2026-12-01) or date and time (2026-12-01T14:00)")
    p.add_argument("--failed", action="store_true", help="only runs that answered 400 or more")
    p.add_argument("--search", help="only runs mentioning this text (path, error, details)")
    p.add_argument("--limit", type=_limit, default=50, help="at most this many (default 50)")
    p.add_argument("--json", action="store_true", help="JSON lines, one run each, for tools")
    return p


def _show_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="actiongraph runs show",
                                description="Print one recorded run with its trace.")
    p.add_argument("id", type=_run_id, help="the run's id (first column of `actiongraph runs`)")
    p.add_argument("file", nargs="?", help="project file, NAME.runs.db or database URL "
                   "(default: the one in the current folder)")
    p.add_argument("--json", action="store_true", help="the whole run as JSON")
    return p


# -- argument types: argparse names the flag in its message and exits with status 2 -----------

def _status(text: str) -> int:
    if not text.isdigit() or not 100 <= int(text) <= 599:
        raise argparse.ArgumentTypeError(f"{text!r} is not an HTTP status (100 to 599)")
    return int(text)


def _limit(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _run_id(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a run id (a whole number)")
    return int(text)


def _since(text: str) -> float:
    """Epoch seconds of `30m`, `1h`, `2d`, `1w` ago, or of a date / date and time (local time
    unless it says otherwise)."""
    m = _AGO.match(text.strip())
    if m:
        return dt.datetime.now().timestamp() - float(m[1]) * _UNITS[m[2]]
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a time ago (30m, 1h, 2d, 1w) nor a date (2026-12-01) or date "
            f"and time (2026-12-01T14:00)") from None
    return when.timestamp()  # naive: local time


# -- finding the history -----------------------------------------------------------------------

def open_history(target: str | None) -> RunHistory:
    """The history FILE names (see the module docstring); HistoryError says why not."""
    if target is None:
        here = Path.cwd()
        found = sorted(here.glob("*.runs.db")) or [runs_file(p) for p in
                                                    sorted(here.glob("*.actiongraph.json"))]
        if len(found) != 1:
            what = "several" if found else "no"
            raise HistoryError(f"{what} run histories (*.runs.db) or projects in {here}: name "
                               f"one, e.g. `actiongraph runs shoes.actiongraph.json`")
        target = str(found[0])
    elif "://" not in target and target.endswith(".json"):
        target = str(runs_file(target))
    if "://" not in target and not Path(target).exists():
        raise HistoryError(f"no run history at {target} (`actiongraph serve` records there "
                           f"unless started with --history off)")
    return RunHistory(history_url(target))


def _fail(message: str) -> int:
    print(f"actiongraph runs: {message}", file=sys.stderr)
    return 1


def list_runs(args: argparse.Namespace) -> int:
    """Print one line per run (or one JSON object per line)."""
    try:
        history = open_history(args.file)
        try:
            found = history.list(limit=args.limit, endpoint=args.endpoint, action=args.action,
                                 status=args.status, failed=args.failed, since=args.since,
                                 search=args.search)
        finally:
            history.close()
    except HistoryError as e:
        return _fail(str(e))
    if args.json:
        for run in found:
            print(json.dumps(run, ensure_ascii=False))
        return 0
    if not found:
        print("no runs recorded" + (" that match" if _filtered(args) else ""), file=sys.stderr)
        return 0
    for run in found:
        print(summary_line(run))
    return 0


def _filtered(args: argparse.Namespace) -> bool:
    return any(getattr(args, k) for k in ("endpoint", "action", "status", "since", "failed",
                                          "search"))


def summary_line(run: dict[str, Any]) -> str:
    """One run on one line: id, local time, method and path, status, duration, error."""
    what = run["error"] or ""
    if run["event"] and what:
        what = f"[{run['event']}] {what}"
    flags = " (dry run)" if run["dry_run"] else ""
    return (f"{run['id']:>6}  {_local(run['started'])}  {run['method']} {run['path']}  "
            f"{run['status']}  {run['ms']:.1f} ms{flags}" + (f"  {what}" if what else ""))


def show(args: argparse.Namespace) -> int:
    """Print one run with its trace, or as JSON."""
    try:
        history = open_history(args.file)
        try:
            run = history.get(args.id)
        finally:
            history.close()
    except HistoryError as e:
        return _fail(str(e))
    if run is None:
        return _fail(f"no run {args.id} in the history")
    if args.json:
        print(json.dumps(run, ensure_ascii=False, indent=2, default=json_default))
        return 0
    print("\n".join(describe(run)))
    return 0


def describe(run: dict[str, Any]) -> list[str]:
    """A run as readable lines: what was asked, what was answered, each event of its trace."""
    lines = [f"Run {run['id']}  {_local(run['started'])}  ({run['source']}, revision "
             f"{run['revision'] if run['revision'] is not None else '?'})"
             + ("  dry run" if run["dry_run"] else ""),
             f"{run['method']} {run['path']} -> {run['status']} in {run['ms']:.1f} ms"]
    if run["endpoint"] or run["action"]:
        lines.append(f"Endpoint: {run['endpoint'] or '-'}   Action: {run['action'] or '-'}")
    if run["error"]:
        lines.append(f"Error: {run['error']}" + (f"  (event {run['event']})" if run["event"]
                                                 else ""))
    request, response = run.get("request"), run.get("response")
    if request:
        lines.append("Request:")
        lines += [f"  {k}: {v}" for k, v in (request.get("headers") or {}).items()]
        if request.get("body") is not None:
            lines.append(f"  body: {_short(request['body'], 400)}"
                         + (" (truncated)" if request.get("body_truncated") else ""))
    if response:
        lines.append(f"Response: {response['status']}")
        if response.get("body") is not None:
            lines.append(f"  body: {_short(response['body'], 400)}"
                         + (" (truncated)" if response.get("body_truncated") else ""))
    trace = run.get("trace")
    if trace is None:
        lines.append("Trace: not recorded (serve with --history full to trace every run)")
    else:
        lines.append(f"Trace: {len(trace)} event{'s' if len(trace) != 1 else ''}")
        for n, step in enumerate(trace, 1):
            mark = "FAILED" if step["error"] else f"-> {step['port'] or '-'}"
            lines.append(f"  {n}. {step['kind']} {step['id']}  {step['ms']:.1f} ms  {mark}")
            if step["inputs"]:
                lines.append(f"     inputs:  {_short(step['inputs'], CELL * 2)}")
            if step["outputs"]:
                lines.append(f"     outputs: {_short(step['outputs'], CELL * 2)}")
            if step["error"]:
                lines.append(f"     error:   {step['error']}")
            for change in step["changes"]:
                lines.append(f"     row:     {_change(change)}")
    changes = run.get("changes") or []
    if changes:
        kept = "not kept" if run["status"] >= 400 or run["dry_run"] else "kept"
        lines.append(f"Rows changed ({kept}): {len(changes)}")
        lines += [f"  {_change(c)}" for c in changes]
    return lines


def _change(c: dict[str, Any]) -> str:
    row = c["after"] if c["after"] is not None else c["before"]
    ident = f" #{row['id']}" if isinstance(row, dict) and "id" in row else ""
    return f"{c['op']} {c['model']}{ident} {_short(row, CELL * 2)}"


def _short(value: Any, limit: int = CELL) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=json_default)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _local(iso: str) -> str:
    when = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone()
    return when.strftime("%Y-%m-%d %H:%M:%S")
