"""Replay: a recorded run sent again to the live server as a dry run (nothing is written), and
its answer and rows shown beside the recorded ones, with the differences (runtime.replaydiff)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

import aiohttp
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from yarl import URL

from app.serverlog import _html, status_color
from runtime.masking import MASK, Masker
from runtime.replaydiff import (
    MISSING,
    Comparison,
    Unmasked,
    compare,
    outcome_of,
    unmask,
    unmask_inputs,
)
from runtime.server import DRY_RUN_HEADER, TAG_HEADER

TIMEOUT = 30.0
# Headers a replay does not send again: the connection's, the body's (aiohttp sets them) and
# the editor's own.
SKIP_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding",
                          "transfer-encoding", "keep-alive", "expect",
                          TAG_HEADER.lower(), DRY_RUN_HEADER.lower()})
ADDED, REMOVED, CHANGED = "#2b9a66", "#dc3e42", "#c27400"


class Replayer:
    """Replays recorded runs against the live server's current revision, as dry runs."""

    def __init__(self, server):
        self.server = server  # app.live.LiveServer
        self._session: aiohttp.ClientSession | None = None
        # Values the user typed for a run's masked places (run id -> place -> value): kept for
        # this session only, so each is typed once; never written anywhere.
        self.values: dict[int, dict[str, str]] = {}

    async def replay(self, run: dict) -> Comparison:
        """Run a recorded run again as a dry run and compare then with now. Masked secrets are
        filled in where they can be (runtime.replaydiff.unmask); the places that could not be
        are named on the comparison."""
        server = self.server
        if not server.running:
            return compare(run, {"status": None, "error": "the live server is not running",
                                 "response": None, "changes": []})
        await server.settled()
        mask = Masker.for_project(server.project)
        values = self.values.get(run["id"], {})
        if run.get("request"):
            ready = unmask(run, *self._auth(run), values=values)
            now = await self._http(run, ready, mask)
            masked, restored = ready.masked, ready.restored
        elif run.get("action"):
            inputs, masked, restored = unmask_inputs(run.get("inputs"), values)
            record = await server.host.run(run["action"], inputs or None, "manual",
                                           dry_run=True)
            now = outcome_of(record, mask=mask)
        else:
            now = {"status": None, "error": "nothing recorded to replay", "response": None,
                   "changes": []}
            masked, restored = [], []
        return compare(run, now, masked, restored)

    def _auth(self, run: dict) -> tuple[object, str | None]:
        """The live server's token issuer and the auth profile the run's endpoint asks for now."""
        state, project = self.server.state, self.server.project
        endpoint = project.endpoint(run["endpoint"]) if project and run.get("endpoint") else None
        auth = state.services.get("auth") if state is not None else None
        return auth, endpoint.auth or None if endpoint is not None else None

    async def _http(self, run: dict, ready: Unmasked, mask: Masker) -> dict:
        request = run["request"]
        tag = f"replay:{run['id']}:{uuid.uuid4().hex[:12]}"
        headers = {k: v for k, v in ready.headers.items() if k.lower() not in SKIP_HEADERS}
        headers[DRY_RUN_HEADER] = "1"
        headers[TAG_HEADER] = tag
        url = URL(self.server.base_url.rstrip("/") + request["path"], encoded=False)
        if ready.query:
            url = url.with_query({k: str(v) for k, v in ready.query.items()})
        data = _body_bytes(ready.body, _content_type(headers))
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        async with self._session.request(request["method"], url, headers=headers, data=data) as r:
            raw = await r.read()
            status, content_type = r.status, r.content_type
        body: Any = raw.decode("utf-8", "replace") if raw else None
        if raw and (content_type == "application/json" or content_type.endswith("+json")):
            try:
                body = json.loads(raw)
            except ValueError:
                pass
        record = self.server.record(tag)
        if record is None:  # answered before any action ran (e.g. no such endpoint)
            return {"status": status, "error": None, "response": {"status": status, "body": body},
                    "changes": []}
        now = outcome_of(record, body=body, mask=mask)
        now["status"] = now["response"]["status"] = status
        return now

    async def close(self) -> None:
        """Close the HTTP session (await before the loop stops)."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _content_type(headers: dict) -> str:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), "")


def _body_bytes(body: Any, content_type: str) -> bytes | None:
    """The recorded body as it goes over the wire again."""
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode("utf-8")
    if content_type.startswith("application/x-www-form-urlencoded") and isinstance(body, dict):
        return urlencode({k: str(v) for k, v in body.items()}).encode()
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


# -- the view -------------------------------------------------------------------------------------

class ReplayView(QWidget):
    """Then and now side by side (status, body, rows per model) and the differences below; a
    run whose replay had to send masked values says so and asks for them instead."""

    valuesGiven = Signal(int, dict)  # run id, {place: value} typed for its masked places

    def __init__(self, parent=None):
        super().__init__(parent)
        self.comparisons: dict[int, tuple[dict, Comparison]] = {}  # run id -> its last replay
        self.comparison: Comparison | None = None
        self.run: dict | None = None
        self.fields: dict[str, QLineEdit] = {}  # masked place -> where its value is typed
        self.verdict = QLabel("Select runs and press Replay: each runs again against the graph "
                              "as it is now, as a dry run, and is compared with what it did then.")
        self.verdict.setWordWrap(True)
        self.verdict.setObjectName("replayVerdict")
        self.then_view = QTextBrowser()
        self.now_view = QTextBrowser()
        self.diff_view = QTextBrowser()
        sides = QSplitter(Qt.Orientation.Horizontal)
        sides.addWidget(self.then_view)
        sides.addWidget(self.now_view)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(sides)
        split.addWidget(self.diff_view)
        split.setSizes([260, 140])
        self.secrets = QWidget()  # the masked places' values, typed once per run
        self.secrets.setObjectName("replaySecrets")
        self.secrets_form = QFormLayout(self.secrets)
        self.secrets_form.setContentsMargins(0, 0, 0, 0)
        self.secrets.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict)
        layout.addWidget(self.secrets)
        layout.addWidget(split, 1)

    def clear(self) -> None:
        self.comparisons.clear()
        self.comparison = None
        self.run = None
        for view in (self.then_view, self.now_view, self.diff_view):
            view.clear()
        self._ask([])

    def show_comparison(self, run: dict, c: Comparison) -> None:
        """Show one replay: the run then, the replay now, what differs."""
        self.comparison, self.run = c, run
        color = CHANGED if c.masked else status_color(200 if c.same else 400).name()
        self.verdict.setText(f"<b>#{run['id']} {_html(run['method'])} {_html(run['path'])}</b>: "
                             f"<b style='color:{color}'>&#9888; {_html(c.summary())}</b>"
                             if c.masked else
                             f"<b>#{run['id']} {_html(run['method'])} {_html(run['path'])}</b>: "
                             f"<b style='color:{color}'>{_html(c.summary())}</b>")
        self._ask(c.masked)
        self.then_view.setHtml(_side("Then", c.status_then, c.error_then, c.body_then,
                                     [(m.model, m.then) for m in c.rows]))
        self.now_view.setHtml(_side("Now (dry run)", c.status_now, c.error_now, c.body_now,
                                    [(m.model, m.now) for m in c.rows]))
        self.diff_view.setHtml(_differences(c))
        # showing or hiding the fields resizes the views on the next layout pass: from the top
        QTimer.singleShot(0, self, self._to_top)

    def _to_top(self) -> None:
        for view in (self.then_view, self.now_view, self.diff_view):
            view.verticalScrollBar().setValue(0)

    def _ask(self, places: list[str]) -> None:
        """Offer a field per masked place and a button that replays with what is typed."""
        while self.secrets_form.rowCount():
            self.secrets_form.removeRow(0)
        self.fields = {}
        if not places:
            self.secrets.hide()
            return
        for place in places:
            edit = QLineEdit()
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText("the value it was sent with (kept until the editor closes)")
            edit.returnPressed.connect(self._give)
            self.fields[place] = edit
            self.secrets_form.addRow(place, edit)
        button = QPushButton("Replay with These Values")
        button.setObjectName("replayWithValues")
        button.clicked.connect(self._give)
        self.secrets_form.addRow("", button)
        self.secrets.show()

    def _give(self) -> None:
        values = {place: edit.text() for place, edit in self.fields.items() if edit.text()}
        if values and self.run is not None:
            self.valuesGiven.emit(self.run["id"], values)


def _side(title: str, status: int | None, error: str | None, body: Any,
          rows: list[tuple[str, dict]]) -> str:
    parts = [f"<b style='font-size:15px'>{_html(title)}</b>"]
    if status is not None:
        parts.append(f"<b style='font-size:16px;color:{status_color(status).name()}'>{status}</b>")
    if error:
        parts.append(f"<span style='color:{REMOVED}'>&#9888; {_html(error)}</span>")
    for model, counts in rows:
        parts.append(f"{_html(model)}: " + _counts(counts))
    if body is not None:
        text = json.dumps(body, indent=2, ensure_ascii=False, default=str)
        parts.append(f"<pre>{_html(text[:6000])}</pre>")
    return "<br/>".join(parts)


def _counts(counts: dict) -> str:
    return (f"<span style='color:{ADDED}'>+{counts.get('insert', 0)} added</span> · "
            f"<span style='color:{CHANGED}'>~{counts.get('update', 0)} changed</span> · "
            f"<span style='color:{REMOVED}'>-{counts.get('delete', 0)} removed</span>")


def _value(v: Any) -> str:
    return "<i>absent</i>" if v is MISSING else _html(json.dumps(v, ensure_ascii=False)[:300])


def _differences(c: Comparison) -> str:
    filled = ("<span style='color:#6e6e6e'>Filled in for the replay: "
              + _html(", ".join(c.restored)) + "</span><br/>") if c.restored else ""
    if c.masked:
        one = len(c.masked) == 1
        return filled + (
            f"<b style='color:{CHANGED}'>&#9888; Sent with masked values: "
            f"{_html(', '.join(c.masked))}</b><br/>The run history masked "
            f"{'this secret' if one else 'these secrets'} when it recorded the run, so the "
            f"replay could not send what the run sent (a masked header is left out, a masked "
            f"value goes as \"{MASK}\"): what it answers now says nothing about how the graph "
            f"changed, so no differences are shown. Type the {'value' if one else 'values'} "
            "above and press <b>Replay with These Values</b>.")
    if c.same:
        return filled + _same(c)
    return filled + _changed(c)


def _same(c: Comparison) -> str:
    return "<b>No differences</b>: same status, same body, same rows" + (
        " (fresh ids and times aside)." if any(d.volatile for d in c.body) else ".")


def _changed(c: Comparison) -> str:
    parts = ["<b>Differences</b>"]
    if c.status_then != c.status_now:
        parts.append(f"Status: {c.status_then} &rarr; {c.status_now}")
    rows = []
    for d in c.body:
        if d.volatile:
            continue
        color = {"added": ADDED, "removed": REMOVED}.get(d.op, CHANGED)
        rows.append(f"<tr><td style='color:{color}'>{d.op}</td><td><tt>{_html(d.path)}</tt></td>"
                    f"<td>{_value(d.before)}</td><td>{_value(d.after)}</td></tr>")
    if rows:
        parts.append("<table cellspacing=4><tr><th></th><th>Body</th><th>Then</th><th>Now</th>"
                     "</tr>" + "".join(rows) + "</table>")
    for m in c.rows:
        if m.same:
            continue
        lines = [f"<b>Rows of {_html(m.model)}</b>: then {_counts(m.then)}; now {_counts(m.now)}"]
        for label, changes, color in (("only then", m.only_then, REMOVED),
                                      ("only now", m.only_now, ADDED)):
            for ch in changes[:20]:
                row = ch.get("after") or ch.get("before") or {}
                lines.append(f"<span style='color:{color}'>{label}: {ch['op']} "
                             f"{_html(json.dumps(row, ensure_ascii=False)[:200])}</span>")
        parts.append("<br/>".join(lines))
    return "<br/>".join(parts)
