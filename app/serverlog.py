"""How a run reads in the editor: its status colour and its record as HTML (History, Replay)."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from runtime.renderer import to_json
from runtime.runs import RunRecord


def status_color(status: int) -> QColor:
    """Green for 2xx/3xx, orange for 4xx, red for 5xx."""
    if status >= 500:
        return QColor(220, 60, 60)
    if status >= 400:
        return QColor(215, 130, 30)
    return QColor(40, 160, 80)


def describe_record(r: RunRecord) -> str:
    """The record as HTML: what was asked, what happened, each event's step."""
    esc = _html
    parts = [f"<b>{esc(r.method)} {esc(r.path)}</b> &rarr; "
             f"<b style='color:{status_color(r.status).name()}'>{r.status}</b> in {r.ms:.1f} ms"]
    if r.action:
        parts.append(f"Action: {esc(r.action)}" + (" (dry run: rolled back)" if r.dry_run else ""))
    if r.error:
        where = f" (event {esc(r.event)})" if r.event else ""
        parts.append(f"<span style='color:#d43c3c'>&#9888; {esc(r.error)}{where}</span>")
    if r.trace:
        rows = []
        for i, s in enumerate(r.trace, 1):
            state = "failed" if s.error else (s.port or "")
            rows.append(f"<tr><td>{i}</td><td>{esc(s.id)}</td><td>{esc(s.kind)}</td>"
                        f"<td>{esc(state)}</td><td align=right>{s.ms:.2f} ms</td>"
                        f"<td>{len(s.changes)} row{'s' if len(s.changes) != 1 else ''}</td></tr>")
        parts.append("<table cellspacing=4><tr><th>#</th><th>Event</th><th>Kind</th>"
                     "<th>Port</th><th>Time</th><th>Changed</th></tr>" + "".join(rows) + "</table>")
    if r.changes:
        changes = "<br/>".join(esc(_change_text(c)) for c in r.changes[:50])
        parts.append(f"<b>Rows{' (rolled back)' if r.dry_run or r.error else ''}</b><br/>{changes}")
    if r.result is not None and r.result.value is not None:
        body = to_json(r.result.value)
        parts.append(f"<b>Response</b><pre>{esc(body[:4000])}</pre>")
    return "<br/>".join(parts)


def _change_text(c) -> str:
    row = c.after or c.before or {}
    return f"{c.op} {c.model} #{row.get('id', '?')}"


def _html(text: Any) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
