"""The run history: every recorded run (HTTP, schedule, manual) kept in a database of its own,
for `actiongraph runs` and the editor's History panel.

Where: a SQLite file (`NAME.runs.db` beside the project: the editor, and `serve` by default) or,
for servers whose workers or machines share a PostgreSQL database, the `_actiongraph_runs` table
in that database (`serve --db postgresql+asyncpg://...` picks it on its own; `--history-db URL`
chooses any). Either way the runs are rows of one table, `_actiongraph_runs`.

Recording never blocks or fails a request: `add(record)` appends the finished record to a
bounded list (one deque append; the writer thread is woken once per batch, not per run, so a
busy server does not hand the GIL back and forth on every request); the writer thread masks
each record into a plain dict (runtime.masking), writes batches, one transaction each, and
prunes now and then (by count and age). A full list drops runs (counted in `dropped`); a
history that cannot be written (locked, corrupt, read-only) is logged once and kept in
`problem`, and the server keeps answering.

Modes (`serve --history`): "full" records every run whole, with its trace (runs are traced);
"errors" (serve's default) records the runs that answered 400 or more, whole but without a
trace unless the server traces anyway; successful runs leave nothing; "off" records nothing and
costs nothing (no listener, no capture).

Reading (stable; the CLI and the editor use it; SQLite reads are quick but blocking: call
them off the Qt/asyncio loop when the file may be large or locked):

    history = RunHistory(runs_url_of("shoes.actiongraph.json"))
    history.list(limit=100, endpoint=None, action=None, status=None, failed=False,
                 since=None, search=None) -> list[dict]   # summaries, newest first
    history.get(run_id) -> dict | None                    # the whole run
    history.close()

A summary: {id, started (ISO text, UTC), source, method, path, endpoint, action, revision,
status, ms, error, event, dry_run, tag}. `since` is a datetime or epoch seconds; `status` one
code; `failed` keeps status 400 or more; `search` is text matched (case-insensitive) in the path,
endpoint, action, error and the recorded details. The whole run adds:
request {method, path, query, headers, body} and response {status, headers, body} (HTTP only;
a body over `body_limit` bytes is kept as its first bytes of text with `body_truncated: true`),
inputs, trace [{id, kind, inputs, outputs, port, ms, error, changes}] (None when not traced),
changes [{op, model, before, after}]. Values are JSON data: dates as ISO text, decimals as
numbers; secrets are "***".

HistoryError says why a history cannot be read (missing, corrupt, not a history)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
import sqlalchemy as sa

from runtime.kinds import json_default
from runtime.masking import Masker
from runtime.runs import RunRecord

log = logging.getLogger("actiongraph.history")

MODES = ("off", "errors", "full")
TABLE = "_actiongraph_runs"
KEEP = 10_000  # runs kept
DAYS = 14.0  # days a run is kept
BODY_LIMIT = 64 * 1024  # bytes of a request or response body kept
QUEUE = 2_000  # runs waiting to be written before new ones are dropped
BATCH = 500  # runs written in one transaction at most
PRUNE_EVERY = 60.0  # seconds between prunings
GATHER = 0.05  # seconds the writer lets runs gather before writing them in one transaction

_meta = sa.MetaData()
RUNS = sa.Table(
    TABLE, _meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("started", sa.Float, nullable=False),  # epoch seconds
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("endpoint", sa.Text),
    sa.Column("action", sa.Text),
    sa.Column("revision", sa.Integer),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("ms", sa.Float, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("event", sa.Text),
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("tag", sa.Text),
    sa.Column("detail", sa.Text),  # JSON: request, response, inputs, trace, changes
    sa.Index("ix_actiongraph_runs_started", "started"),
)
_COLUMNS = [c.name for c in RUNS.columns if c.name != "id"]
_SQLITE_INSERT = (f"INSERT INTO {TABLE} ({', '.join(_COLUMNS)}) "
                  f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
SUMMARY = ("id", "started", "source", "method", "path", "endpoint", "action", "revision",
           "status", "ms", "error", "event", "dry_run", "tag")


class HistoryError(Exception):
    """Why a run history cannot be read, in words for the terminal."""


def runs_file(project_path: str | Path) -> Path:
    """The history file beside a project: `shoes.actiongraph.json` -> `shoes.runs.db`."""
    path = Path(project_path).resolve()
    stem = path.name.removesuffix(".json").removesuffix(".actiongraph")
    return path.with_name(stem + ".runs.db")


def history_url(target: str | Path) -> str:
    """The SQLAlchemy URL of a history: a file path, a sqlite URL or a PostgreSQL URL."""
    text = str(target)
    if text.startswith("postgres"):
        scheme, _, rest = text.partition("://")
        return f"postgresql+asyncpg://{rest}"
    if text.startswith("sqlite"):
        return "sqlite:///" + text.split(":///", 1)[1]
    return f"sqlite:///{Path(text).resolve()}"


def for_server(history_db: str | None, db_url: str, project_path: str | None) -> str:
    """Where a server records: --history-db, else its PostgreSQL database, else NAME.runs.db
    beside the project file (beside the SQLite database when served without a file)."""
    if history_db:
        return history_url(history_db)
    if db_url.startswith("postgres"):
        return history_url(db_url)
    if project_path:
        return history_url(runs_file(project_path))
    path = Path(db_url.split(":///", 1)[1]) if ":///" in db_url else Path("actiongraph.db")
    return history_url(path.with_name(path.name.removesuffix(".db") + ".runs.db"))


def failed(record: RunRecord) -> bool:
    """Whether a run counts as failed: it answered 400 or more."""
    return record.status >= 400


class RunHistory:
    """A run history: `add` records (from any thread, never raising), `list`/`get` read."""

    def __init__(self, url: str, *, mode: str = "full", project: Any = None, keep: int = KEEP,
                 days: float = DAYS, body_limit: int = BODY_LIMIT, queue_size: int = QUEUE):
        if mode not in MODES:
            raise ValueError(f"history mode {mode!r}: choose {', '.join(MODES)}")
        self.url = history_url(url) if "://" not in url else url
        self.mode = mode
        self.keep, self.days, self.body_limit = keep, days, body_limit
        self.masker = Masker.for_project(project)
        self.dropped = 0  # runs not recorded because the queue was full or a write failed
        self.written = 0
        self.problem: str | None = None  # why the history cannot be written now, else None
        self.queue_size = queue_size
        # (record, masker) pairs, flush markers (Events) and the stop marker (None); deque's
        # append and popleft need no lock.
        self._pending: deque = deque()
        self._wake = threading.Event()
        self._hurry = False  # a flush or close waits: write without gathering
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stopping = False
        self._db = _Database(self.url)

    # -- recording (the server's loop: cheap, never raises) ------------------------------------
    def use(self, project: Any) -> None:
        """Mask with the names of this project revision from now on."""
        self.masker = Masker.for_project(project)

    def add(self, record: RunRecord) -> None:
        """Record a finished run when the mode wants it (a listener of ServerState)."""
        if self.mode == "off" or (self.mode == "errors" and record.status < 400):
            return
        pending = self._pending
        if len(pending) >= self.queue_size:
            self.dropped += 1
            return
        pending.append((record, self.masker))
        if not self._wake.is_set():  # the writer sleeps: one wake-up for what gathers now
            if self._writer is None:
                self._start()
            self._wake.set()

    def _put(self, marker: threading.Event | None) -> None:
        self._hurry = True
        self._pending.append(marker)
        self._wake.set()

    def _row(self, r: RunRecord, mask: Masker) -> dict[str, Any]:
        detail = _dumps(self._masked_detail(r, mask), self.body_limit)
        return {"started": r.started, "source": r.source, "method": r.method, "path": r.path,
                "endpoint": r.endpoint, "action": r.action, "revision": r.revision,
                "status": r.status, "ms": round(r.ms, 3),
                "error": mask.text(r.error) if r.error else None,
                "event": r.event, "dry_run": bool(r.dry_run), "tag": r.tag, "detail": detail}

    def _masked_detail(self, r: RunRecord, mask: Masker) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "inputs": mask.value(r.inputs) if r.inputs is not None else None,
            "trace": None if r.trace is None else [
                {"id": s.id, "kind": s.kind, "inputs": mask.value(s.inputs),
                 "outputs": mask.value(s.outputs), "port": s.port, "ms": s.ms,
                 "error": s.error, "changes": [_change(c, mask) for c in s.changes]}
                for s in r.trace],
            "changes": [_change(c, mask) for c in r.changes],
        }
        if r.http_request is not None:
            q = r.http_request
            detail["request"] = {
                "method": q["method"], "path": q["path"],
                "query": mask.value(dict(q["query"])), "headers": mask.headers(q["headers"]),
                **self._body(q["body"], q.get("content_type", ""), mask)}
        if r.http_response is not None:
            a = r.http_response
            if r.result is not None and a.get("content_type") == "application/json":
                body = {"body": mask.value(r.result.value)}  # the value, not the text again
            else:
                body = self._body(a["body"], a.get("content_type", ""), mask)
            detail["response"] = {"status": a["status"], "headers": mask.headers(a["headers"]),
                                  **body}
        return detail

    def _body(self, raw: Any, content_type: str, mask: Masker) -> dict[str, Any]:
        """A request or response body as masked data (JSON, form) or text, up to the limit."""
        if raw is None or raw == b"":
            return {"body": None}
        if not isinstance(raw, (bytes, bytearray)):
            return {"body": f"<{type(raw).__name__} body not recorded>"}
        size = len(raw)
        if size <= self.body_limit:
            if content_type == "application/json" or content_type.endswith("+json"):
                try:
                    return {"body": mask.value(orjson.loads(raw))}
                except orjson.JSONDecodeError:
                    pass
            elif content_type == "application/x-www-form-urlencoded":
                return {"body": mask.value(dict(parse_qsl(raw.decode("utf-8", "replace"),
                                                          keep_blank_values=True)))}
        text = mask.text(bytes(raw[:self.body_limit]).decode("utf-8", "replace"))
        if size > self.body_limit:
            return {"body": text, "body_truncated": True, "body_bytes": size}
        return {"body": text}

    # -- the writer thread ---------------------------------------------------------------------
    def _start(self) -> None:
        with self._start_lock:
            if self._writer is None and not self._stopping:
                self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                                name="actiongraph-history")
                self._writer.start()

    def _write_loop(self) -> None:
        pruned = 0.0
        pending = self._pending
        while True:
            self._wake.wait()
            if not self._hurry:
                time.sleep(GATHER)  # under load one transaction per run would cost more
            self._hurry = False
            self._wake.clear()  # before taking: what is added from now on wakes it again
            rows: list[dict] = []
            markers: list[threading.Event] = []
            stop = False
            while pending and len(rows) < BATCH:
                item = pending.popleft()
                if item is None:
                    stop = True
                    break
                if isinstance(item, threading.Event):
                    markers.append(item)
                    if rows:
                        break  # write what came before it, then tell the waiter
                    item.set()
                    markers.pop()
                    continue
                record, mask = item
                try:
                    rows.append(self._row(record, mask))
                except Exception:  # noqa: BLE001 - one odd record must not stop the others
                    log.exception("run history: a run could not be recorded")
                    self.dropped += 1
            if pending and not stop:
                self._wake.set()  # more than a batch: go on without sleeping
                self._hurry = True
            if rows:
                prune = time.monotonic() - pruned > PRUNE_EVERY
                try:
                    self._db.call(functools.partial(self._write, rows=rows, prune=prune))
                except Exception as e:  # noqa: BLE001 - reported once; the server goes on
                    self.dropped += len(rows)
                    self._report(e)
                else:
                    self.written += len(rows)
                    if prune:
                        pruned = time.monotonic()
                    if self.problem is not None:
                        log.warning("run history %s: writing again", _where(self.url))
                        self.problem = None
            for marker in markers:
                marker.set()
            if stop:
                return

    def _write(self, conn: sa.Connection, *, rows: list[dict], prune: bool) -> None:
        if self._db.sqlite:  # the driver's executemany: a third of Core's cost per run
            conn.exec_driver_sql(_SQLITE_INSERT, [tuple(row[c] for c in _COLUMNS) for row in rows])
        else:
            conn.execute(RUNS.insert(), rows)
        if prune:
            _prune(conn, self.keep, self.days)

    def _report(self, e: Exception) -> None:
        problem = _reason(e)
        if self.problem is None:  # once, until it writes again
            log.error("run history %s cannot be written (%s); runs are not recorded, requests "
                      "are answered as usual", _where(self.url), problem)
        self.problem = problem

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every run added so far is written (or given up); False on timeout."""
        if self._writer is None:
            return True
        done = threading.Event()
        self._put(done)
        return done.wait(timeout)

    def prune(self) -> int:
        """Delete the runs past the count and age limits now; how many went."""
        return self._db.call(lambda conn: _prune(conn, self.keep, self.days))

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (waiting at most `timeout` seconds), stop, close the database."""
        with self._start_lock:
            self._stopping = True
            writer = self._writer
        if writer is not None:
            self._put(None)
            writer.join(timeout)
        self._db.close()

    # -- reading -------------------------------------------------------------------------------
    def list(self, limit: int = 100, endpoint: str | None = None, action: str | None = None,
             status: int | None = None, failed: bool = False,
             since: dt.datetime | float | None = None, search: str | None = None
             ) -> list[dict[str, Any]]:
        """Summaries of recorded runs, newest first, filtered."""
        columns = [RUNS.c[name] for name in SUMMARY]
        query = sa.select(*columns).order_by(RUNS.c.id.desc()).limit(max(0, int(limit)))
        if endpoint is not None:
            query = query.where(RUNS.c.endpoint == endpoint)
        if action is not None:
            query = query.where(RUNS.c.action == action)
        if status is not None:
            query = query.where(RUNS.c.status == int(status))
        if failed:
            query = query.where(RUNS.c.status >= 400)
        if since is not None:
            seconds = since.timestamp() if isinstance(since, dt.datetime) else float(since)
            query = query.where(RUNS.c.started >= seconds)
        if search:
            like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(sa.or_(*(RUNS.c[c].ilike(like, escape="\\") for c in
                                         ("path", "endpoint", "action", "error", "detail"))))
        rows = self._read(lambda conn: conn.execute(query).mappings().all())
        return [_summary(row) for row in rows]

    def get(self, run_id: int | str) -> dict[str, Any] | None:
        """The whole recorded run, or None when there is no such run."""
        try:
            number = int(run_id)
        except (TypeError, ValueError):
            return None
        query = sa.select(RUNS).where(RUNS.c.id == number)
        row = self._read(lambda conn: conn.execute(query).mappings().first())
        if row is None:
            return None
        run = _summary(row)
        detail = json.loads(row["detail"]) if row["detail"] else {}
        run.update({"request": detail.get("request"), "response": detail.get("response"),
                    "inputs": detail.get("inputs"), "trace": detail.get("trace"),
                    "changes": detail.get("changes") or []})
        return run

    def _read(self, fn: Callable[[sa.Connection], Any]) -> Any:
        if self._db.sqlite and not Path(self._db.path).exists():
            raise HistoryError(f"no run history at {self._db.path}")
        try:
            return self._db.call(fn, create=False)
        except sa.exc.SQLAlchemyError as e:
            if "no such table" in str(e) or "does not exist" in str(e):
                raise HistoryError(f"{_where(self.url)} holds no run history") from None
            raise HistoryError(f"cannot read the run history {_where(self.url)}: "
                               f"{_reason(e)}") from None


class _Database:
    """The history's database: SQLite through the sqlite3 module (any thread), or PostgreSQL
    through asyncpg on a loop of its own (a thread), called the same way: `call(fn)` runs
    `fn(connection)` in one transaction."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self.path = url.split(":///", 1)[1] if self.sqlite else ""
        self._engine: Any = None
        self._made = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def call(self, fn: Callable[[sa.Connection], Any], create: bool = True) -> Any:
        if self.sqlite:
            return self._sqlite(fn, create)
        loop = self._pg_loop()
        future: Future = asyncio.run_coroutine_threadsafe(self._pg(fn, create), loop)
        return future.result(30)

    def _sqlite(self, fn, create: bool) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = sa.create_engine(  # a pool: the writer keeps its connection
                    self.url, pool_size=2, max_overflow=4,
                    connect_args={"timeout": 2.0, "check_same_thread": False})
                sa.event.listen(self._engine, "connect", _sqlite_pragmas)
        with self._engine.begin() as conn:
            if create and not self._made:
                _meta.create_all(conn)
                self._made = True
            return fn(conn)

    def _pg_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, daemon=True,
                                 name="actiongraph-history-pg").start()
                self._loop = loop
            return self._loop

    async def _pg(self, fn, create: bool) -> Any:
        from sqlalchemy.ext.asyncio import create_async_engine

        if self._engine is None:
            self._engine = create_async_engine(self.url, pool_size=1, max_overflow=1,
                                               pool_pre_ping=True)
        if create and not self._made:
            try:
                async with self._engine.begin() as conn:
                    await conn.run_sync(_meta.create_all)
            except sa.exc.IntegrityError:  # another worker made it at the same moment
                pass
            self._made = True
        async with self._engine.begin() as conn:
            return await conn.run_sync(fn)

    def close(self) -> None:
        engine, self._engine = self._engine, None
        if self.sqlite:
            if engine is not None:
                engine.dispose()
            return
        loop = self._loop
        if loop is None:
            return
        if engine is not None:
            try:
                asyncio.run_coroutine_threadsafe(engine.dispose(), loop).result(5)
            except Exception:  # noqa: BLE001 - closing: nothing more to do
                pass
        loop.call_soon_threadsafe(loop.stop)
        self._loop = None


def _sqlite_pragmas(conn, _record) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


def _prune(conn: sa.Connection, keep: int, days: float) -> int:
    removed = conn.execute(RUNS.delete().where(RUNS.c.started < time.time() - days * 86400))
    count = removed.rowcount or 0
    newest = conn.execute(sa.select(RUNS.c.id).order_by(RUNS.c.id.desc())
                          .offset(max(0, keep - 1)).limit(1)).scalar()
    if newest is not None:
        count += conn.execute(RUNS.delete().where(RUNS.c.id < newest)).rowcount or 0
    return count


def _change(c: Any, mask: Masker) -> dict[str, Any]:
    return {"op": c.op, "model": c.model, "before": mask.value(c.before),
            "after": mask.value(c.after)}


_OPTIONS = orjson.OPT_NON_STR_KEYS  # row keys may be str subclasses (SQLAlchemy's names)


def _dumps(detail: dict[str, Any], limit: int) -> str:
    """The detail as JSON text; a body whose JSON is over the limit is kept as its first text."""
    for part in ("request", "response"):
        section = detail.get(part)
        if section and not section.get("body_truncated") and section.get("body") is not None:
            try:
                text = orjson.dumps(section["body"], default=json_default, option=_OPTIONS)
            except TypeError:
                text = json.dumps(section["body"], default=_plain).encode()
            if len(text) > limit:
                section.update(body=text[:limit].decode("utf-8", "replace"),
                               body_truncated=True, body_bytes=len(text))
    try:
        return orjson.dumps(detail, default=json_default, option=_OPTIONS).decode()
    except TypeError:  # something orjson refuses (an int past 64 bits): the json module
        return json.dumps(detail, default=_plain, ensure_ascii=False)


def _plain(value: Any) -> Any:
    try:
        return json_default(value)
    except TypeError:
        return str(value)


def _summary(row: Any) -> dict[str, Any]:
    run = {name: row[name] for name in SUMMARY}
    run["started"] = dt.datetime.fromtimestamp(row["started"], dt.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")
    run["dry_run"] = bool(run["dry_run"])
    return run


def _where(url: str) -> str:
    if url.startswith("sqlite"):
        return url.split(":///", 1)[1]
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _reason(e: Exception) -> str:
    inner = getattr(e, "orig", None) or e
    return f"{type(inner).__name__}: {inner}".splitlines()[0]
