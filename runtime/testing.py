"""Run a project's tests (the file's `tests`, see runtime.testcases) against the real server.

Each test gets a scratch database of its own, a Host serving the project on it over real
loopback HTTP (runtime.host.Host + aiohttp, as `actiongraph serve` answers clients), its
fixtures (rows, a frozen clock, mocked HTTP Request answers; mails kept, never sent), one
request, and the checks of what the client got and what the run changed.

Isolation: on SQLite (the default) the tables are made once per run into a template file
(with the project's seed rows, and once without for tests with `"seed": false`); each test
runs on a fresh copy of it in a temporary folder, removed afterwards. On PostgreSQL
(`--db postgresql+asyncpg://USER@HOST/DB`, a user allowed to CREATE DATABASE) the template is
a database, and each test runs on a database made from it (`CREATE DATABASE ... TEMPLATE`) and
dropped afterwards. Either way an action's transaction commits for real (unique keys, foreign
keys, rollbacks behave as in production) and tests never see each other's rows, in any order.

The API the editor builds on:

    results = await run_tests(project, names=None, db=None, on_result=None)
        -> list[TestResult]: name, passed, ms, mismatches (runtime.testcases.Mismatch),
           diff (the readable text), error (when it could not run), status, body, record
           (the RunRecord with its trace: the path to paint on the graph), mails, http_calls
    test_from_record(record, project) -> dict  (runtime.testcases: "Save as test")
    junit_xml(results, suite) -> str

`test_command` is `actiongraph test FILE [-k NAME] [--junit OUT.xml] [--db URL]`: one line per
test, a diff per failure; exit status 0 when all pass, 1 when one fails, 2 for a project with
problems or bad arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from runtime import testcases
from runtime.auth import hash_password
from runtime.compiler import CompiledProject, check_project, compile_project
from runtime.errors import ActionError, Problem, ProjectError
from runtime.executor import DEFAULT_TIMEOUT
from runtime.host import Host, ServeConfig, StartupError, safe_url
from runtime.mail import Mail, Outbox
from runtime.paths import path_template
from runtime.project import Project, TestCase
from runtime.projectfile import load
from runtime.runs import RunRecord
from runtime.seed import apply_seed
from runtime.store import Store
from runtime.testcases import Mismatch, parse_now, test_from_record

__all__ = ["TestResult", "junit_xml", "run_tests", "test_command", "test_from_record"]


@dataclass
class TestResult:
    """What one test did: passed or not, how long it took, and why not."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    ms: float
    test: TestCase
    endpoint: str = ""  # the endpoint's name, when the test names one
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str | None = None  # the test could not run (a fixture refused, a problem)
    status: int | None = None
    body: Any = None  # the JSON body (or text) the client got
    record: RunRecord | None = None  # the run, with its trace (None when nothing ran)
    mails: list[Mail] = field(default_factory=list)
    http_calls: list[dict[str, Any]] = field(default_factory=list)  # HTTP Request calls made

    @property
    def diff(self) -> str:
        """Why it failed, a line per difference (empty when it passed)."""
        lines = [f"error: {self.error}"] if self.error else []
        lines += [str(m) for m in self.mismatches]
        record = self.record
        if self.mismatches and record is not None and record.error:
            where = f" (event {record.event})" if record.event else ""
            lines.append(f"the run failed{where}: {record.error}")
        return "\n".join(lines)


# -- scratch databases ------------------------------------------------------------------------

class Scratch:
    """Fresh databases, each a copy of a template with the tables (and the seed rows) made once."""

    def __init__(self, project: Project):
        self.project = project
        self.templates: dict[bool, str] = {}  # seed rows or not -> template

    async def fresh(self, seed: bool) -> str:
        """The URL of a new database for one test."""
        raise NotImplementedError

    async def drop(self, url: str) -> None:
        """Remove a database made by `fresh`."""

    async def close(self) -> None:
        """Remove the templates."""

    async def _build(self, url: str, seed: bool) -> None:
        store = Store(url, self.project)
        try:
            await store.open(self.project)
            if seed:
                await apply_seed(store, self.project.models)
        except ProjectError as e:
            raise StartupError(f"the seed rows cannot be added: {e.describe()}") from None
        finally:
            await store.close()


class SqliteScratch(Scratch):
    """Copies of a template file in a temporary folder."""

    def __init__(self, project: Project):
        super().__init__(project)
        self.folder = Path(tempfile.mkdtemp(prefix="actiongraph-test-"))
        self.numbers = itertools.count(1)

    async def fresh(self, seed: bool) -> str:
        """A copy of the template file."""
        template = self.templates.get(seed)
        if template is None:
            template = str(self.folder / f"template-{'seed' if seed else 'empty'}.db")
            await self._build(f"sqlite+aiosqlite:///{template}", seed)
            await asyncio.to_thread(_single_file, template)
            self.templates[seed] = template
        target = self.folder / f"test-{next(self.numbers)}.db"
        shutil.copyfile(template, target)
        return f"sqlite+aiosqlite:///{target}"

    async def drop(self, url: str) -> None:
        """Delete the file and its WAL."""
        path = make_url(url).database
        for suffix in ("", "-wal", "-shm", ".lock"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path + suffix)

    async def close(self) -> None:
        """Delete the folder."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _single_file(path: str) -> None:
    """Fold the WAL into the file so that copying the file copies everything."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


class PostgresScratch(Scratch):
    """Databases made with `CREATE DATABASE ... TEMPLATE` from a template database."""

    def __init__(self, project: Project, url: str):
        super().__init__(project)
        self.url = make_url(url)
        self.admin = sa.ext.asyncio.create_async_engine(
            self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self.prefix = f"actiongraph_test_{os.getpid()}_{int(time.time()) % 100000}"
        self.numbers = itertools.count(1)

    def _url(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    async def _execute(self, sql: str) -> None:
        async with self.admin.connect() as conn:
            await conn.execute(sa.text(sql))

    async def fresh(self, seed: bool) -> str:
        """A database made from the template."""
        template = self.templates.get(seed)
        if template is None:
            template = f"{self.prefix}_{'seed' if seed else 'empty'}"
            await self._execute(f'CREATE DATABASE "{template}"')
            self.templates[seed] = template
            await self._build(self._url(template), seed)
        name = f"{self.prefix}_{next(self.numbers)}"
        await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self._url(name)

    async def drop(self, url: str) -> None:
        """Drop the database (its connections closed by the test's Host already)."""
        await self._execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    async def close(self) -> None:
        """Drop the templates."""
        try:
            for template in self.templates.values():
                await self._execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        finally:
            await self.admin.dispose()


async def scratch_for(project: Project, db: str | None) -> Scratch:
    """Scratch databases on SQLite files (no URL, or a sqlite URL) or on the PostgreSQL server
    of `db`; StartupError when the server cannot be used."""
    if db is None or db.startswith("sqlite"):
        return SqliteScratch(project)
    try:
        url = make_url(db)
    except sa.exc.ArgumentError:
        raise StartupError(f"cannot use the database URL {db}: not a SQLAlchemy URL") from None
    if url.get_backend_name() != "postgresql":
        raise StartupError(f"tests run on SQLite or PostgreSQL, not {url.get_backend_name()} "
                           f"({safe_url(db)})")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+asyncpg")
    scratch = PostgresScratch(project, url.render_as_string(hide_password=False))
    try:
        await scratch._execute("SELECT 1")
    except Exception as e:  # noqa: BLE001 - any failure to connect is told, not raised
        await scratch.admin.dispose()
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()
        raise StartupError(f"cannot reach the database {safe_url(db)}: "
                           f"{reason[0] if reason else type(e).__name__}") from None
    return scratch


# -- mocked HTTP Request ------------------------------------------------------------------------

class MockHttp:
    """The HTTP client of a test run: answers from the test's mocks, never the network."""

    def __init__(self, mocks: list[dict[str, Any]], allow_private: bool = False):
        self.allow_private = allow_private  # as the project's, so the server keeps this client
        self.mocks = [(m, _pattern(m["url"])) for m in mocks]
        self.calls: list[dict[str, Any]] = []
        self.unmocked: list[str] = []

    async def request(self, method: str, url: str, *, headers: dict | None = None,
                      query: dict | None = None, body: Any = None, body_type: str = "json",
                      timeout: float = 10.0, max_bytes: int = 1024 * 1024) -> dict[str, Any]:
        """The first mock fitting the method and URL (with or without its query), or a
        ValueError (the HTTP Request event's failure) naming what to mock."""
        full = url + ("?" + urlencode({str(k): str(v) for k, v in query.items()}) if query else "")
        self.calls.append({"method": method, "url": full, "headers": dict(headers or {}),
                           "body": body})
        for mock, pattern in self.mocks:
            if mock.get("method", "*") in ("*", method.upper()) and (
                    pattern.fullmatch(url) or pattern.fullmatch(full)):
                return {"status": mock.get("status", 200), "headers": dict(mock.get("headers") or {}),
                        "body": mock.get("body")}
        self.unmocked.append(f"{method} {full}")
        raise ValueError(f"{method} {full} is not mocked: a test never calls out (add a mock "
                         "for this URL to the test)")

    async def close(self) -> None:
        """Nothing to close."""


def _pattern(url: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in url.split("*")))


# -- running ------------------------------------------------------------------------------------

@dataclass
class _Run:
    """What every test of one run shares."""

    project: Project
    compiled: CompiledProject
    scratch: Scratch
    session: aiohttp.ClientSession
    timeout: float
    problems: dict[str, list[Problem]]


async def run_tests(project: Project, names: list[str] | None = None, db: str | None = None, *,
                    select: list[str] | None = None,
                    on_result: Callable[[TestResult], None] | None = None,
                    timeout: float = DEFAULT_TIMEOUT) -> list[TestResult]:
    """Run the project's tests, one after the other, each on a scratch database: all of them,
    those called `names`, or those whose name holds one of `select` (case-insensitive).

    A project that does not compile raises ProjectError; a test that refers to something not in
    the project fails with the problem as its error; a database that cannot be used raises
    StartupError. `on_result` is called as each test finishes."""
    compiled = compile_project(project)
    tests = chosen(project, names, select)
    problems: dict[str, list[Problem]] = {}
    for p in testcases.problems(project):
        name = p.where.split('"')[1] if p.where.startswith('tests["') else ""
        problems.setdefault(name, []).append(p)
    scratch = await scratch_for(project, db)
    connector = aiohttp.TCPConnector(force_close=True)
    results: list[TestResult] = []
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            run = _Run(project, compiled, scratch, session, timeout, problems)
            for test in tests:
                result = await _run_one(run, test)
                results.append(result)
                if on_result is not None:
                    on_result(result)
    finally:
        await scratch.close()
    return results


def chosen(project: Project, names: list[str] | None = None,
           select: list[str] | None = None) -> list[TestCase]:
    """The tests called `names` (all when None) whose names hold one of `select`."""
    tests = [t for t in project.tests if names is None or t.name in names]
    if select:
        words = [s.lower() for s in select]
        tests = [t for t in tests if any(w in t.name.lower() for w in words)]
    return tests


async def _run_one(run: _Run, test: TestCase) -> TestResult:
    started = time.perf_counter()
    result = TestResult(test.name, False, 0.0, test, test.endpoint)
    problems = run.problems.get(test.name)
    if problems:
        result.error = "; ".join(p.message for p in problems)
        result.ms = _ms(started)
        return result
    url = await run.scratch.fresh(test.seed)
    try:
        await _serve_one(run, test, url, result)
    except _TestSetupError as e:
        result.error = str(e)
    finally:
        await run.scratch.drop(url)
    result.passed = result.error is None and not result.mismatches
    result.ms = _ms(started)
    return result


class _TestSetupError(Exception):
    """A test that cannot be run as written (a refused fixture row, an unknown user)."""


async def _serve_one(run: _Run, test: TestCase, url: str, result: TestResult) -> None:
    project = run.project
    outbox = Outbox()
    http = MockHttp(test.mocks, project.settings.allow_private_http)
    services: dict[str, Any] = {"mail": outbox, "http": http}
    if test.now is not None:
        frozen = parse_now(test.now)
        services["clock"] = lambda: frozen
    # No mail sender: what the run queued is its record's (a scratch database sends nothing).
    config = ServeConfig(db=url, timeout=run.timeout, docs=False, trace=True, schedules=False,
                         send_mail=False, history="off", environ={})
    host = await Host.open(config, project, compiled=run.compiled, services=services,
                           migrate=False)
    records: list[RunRecord] = []
    host.listeners.append(records.append)
    try:
        await _add_rows(host, test)
        method, path, query, headers, body = await _request(host, test)
        await host.listen("127.0.0.1", 0)
        port = host.runner.addresses[0][1]
        options: dict[str, Any] = {"params": query, "headers": headers}
        endpoint = project.endpoint(test.endpoint) if test.endpoint else None
        if body is not None:
            if endpoint is not None and endpoint.request_type == "multipart" and \
                    isinstance(body, dict):
                options["data"] = aiohttp.FormData({k: str(v) for k, v in body.items()})
            else:
                options["json"] = body
        async with run.session.request(method, f"http://127.0.0.1:{port}{path}",
                                       timeout=aiohttp.ClientTimeout(total=run.timeout + 10),
                                       **options) as response:
            raw = await response.read()
            result.status = response.status
            answer_headers = dict(response.headers)
            content_type = response.content_type
    finally:
        await host.close()
    result.body = _parse(raw, content_type)
    record = next((r for r in reversed(records) if r.source == "http"), None)
    result.record = record
    result.mails = list(record.result.mails) if record is not None and record.result else []
    result.http_calls = http.calls
    kept = record is not None and record.failure is None and not record.dry_run
    changes = list(record.changes) if kept else []
    events = {s.id for s in record.trace or []} if record is not None else set()
    result.mismatches = testcases.check_run(test.expect, result.status, result.body,
                                            answer_headers, changes, result.mails, events)
    for call in http.unmocked:
        result.mismatches.append(Mismatch(
            "http", None, call, f"HTTP Request {call} was not mocked: add "
                                f'{{"url": "{call.split(" ", 1)[1]}", "status": 200, '
                                f'"body": ...}} to the test\'s mocks'))


def _parse(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", "replace")
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return json.loads(text) if text else None
        except ValueError:
            return text
    return text if text else None


async def _add_rows(host: Host, test: TestCase) -> None:
    """The test's own rows, after the seed rows, linked models first."""
    if not test.rows:
        return
    tables = host.store.metadata.tables
    order = [t.name for t in sa.schema.sort_tables([tables[n] for n in test.rows if n in tables])]
    async with host.store.transaction() as tx:
        for name in order:
            for i, row in enumerate(test.rows[name]):
                values = {k: _fixture_value(v) for k, v in row.items()}
                try:
                    await tx.insert(name, values)
                except ActionError as e:
                    raise _TestSetupError(f'rows["{name}"][{i}] cannot be added: '
                                          f"{e.message}") from None


def _fixture_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$hash"}:
        return hash_password(str(value["$hash"]))
    return value


async def _request(host: Host, test: TestCase):
    """method, path, query, headers and body of a test's request (a login token for `as`)."""
    request = test.request
    endpoint = host.project.endpoint(test.endpoint) if test.endpoint else None
    method = request.get("method") or (endpoint.method if endpoint else "GET")
    path = request.get("path")
    if not path:
        path = path_template(endpoint.path).format(request.get("params") or {})
    query = [(str(k), _query_text(item)) for k, v in (request.get("query") or {}).items()
             for item in (v if isinstance(v, list) else [v])]
    headers = {str(k): _query_text(v) for k, v in (request.get("headers") or {}).items()}
    who = request.get("as")
    if who is not None and not any(k.lower() == "authorization" for k in headers):
        headers["Authorization"] = f"Bearer {await _token(host, endpoint, who)}"
    return method, path, query, headers, request.get("body")


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def _token(host: Host, endpoint, who: Any) -> str:
    """A real login token for the user `who` (an id or the identifier) of the endpoint's auth
    profile (or the project's only one)."""
    auth = host.state.services["auth"]
    name = endpoint.auth if endpoint is not None and endpoint.auth else None
    if name is None:
        if len(auth.profiles) != 1:
            raise _TestSetupError('"as" needs an endpoint with an auth profile (the project has '
                                  f"{len(auth.profiles)} profiles)")
        name = next(iter(auth.profiles))
    profile = auth.profiles[name]
    async with host.store.transaction(writes=False) as tx:
        if isinstance(who, int):
            rows = await tx.select(profile.model, tx.by_id(profile.model, who), limit=1)
            what = f"id {who}"
        else:
            rows = await tx.select(profile.model,
                                   tx.by_field(profile.model, profile.identifier, who), limit=1)
            what = f"{profile.identifier} {who!r}"
    if not rows:
        raise _TestSetupError(f'acts as {what}, but no {profile.model} record has it (add it to '
                              "the test's rows or the seed)")
    return auth.issue(name, rows[0]["id"])


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


# -- reports --------------------------------------------------------------------------------

def result_line(result: TestResult) -> str:
    """`PASS  name  (12 ms)`, and for a failure its diff indented below."""
    head = f"{'PASS' if result.passed else 'FAIL'}  {result.name}  ({result.ms:.0f} ms)"
    if result.passed:
        return head
    return head + "\n" + "\n".join(f"      {line}" for line in result.diff.splitlines())


def junit_xml(results: list[TestResult], suite: str) -> str:
    """The results as JUnit XML (what CI services show as a test report)."""
    failures = sum(1 for r in results if not r.passed and r.error is None)
    errors = sum(1 for r in results if r.error is not None)
    root = ET.Element("testsuites")
    element = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results)),
                            failures=str(failures), errors=str(errors),
                            time=f"{sum(r.ms for r in results) / 1000:.3f}")
    for r in results:
        case = ET.SubElement(element, "testcase", name=r.name,
                             classname=f"{suite}.{r.endpoint or 'tests'}",
                             time=f"{r.ms / 1000:.3f}")
        if r.passed:
            continue
        first = (r.diff.splitlines() or ["failed"])[0]
        tag = "error" if r.error is not None else "failure"
        ET.SubElement(case, tag, message=first[:500]).text = r.diff
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- the command --------------------------------------------------------------------------------

def test_command(args) -> int:
    """`actiongraph test FILE [-k NAME] [--junit OUT.xml] [--db URL]`."""
    return run_command(args.file, args.k, args.junit, args.db)


def run_command(path: str, select: list[str] | None, junit: str | None, db: str | None) -> int:
    """Run a file's tests and print them; the exit status (0 pass, 1 a failure, 2 problems)."""
    try:
        project = load(path)
    except ProjectError as e:
        print(e.describe(), file=sys.stderr)
        return 2
    problems = [p for p in check_project(project) if p.severity == "error"
                and not p.where.startswith("tests[")] + testcases.problems(project)
    if problems:
        print(ProjectError(problems, path).describe(), file=sys.stderr)
        return 2
    tests = chosen(project, None, select)
    if not tests:
        if select:
            print(f"{path}: no test name holds {' or '.join(map(repr, select))} (tests: "
                  f"{', '.join(t.name for t in project.tests) or 'none'})", file=sys.stderr)
            return 2
        print(f"{path}: no tests (add them in the editor's Tests panel or to the file's "
              "\"tests\")")
        return 0
    actions = logging.getLogger("actiongraph")
    # The runs' own log lines (a failing action logs its error) would bury the report: the
    # report says what failed, with the run's error.
    propagate, actions.propagate = actions.propagate, False
    started = time.perf_counter()
    try:
        results = asyncio.run(run_tests(project, db=db, select=select,
                                        on_result=lambda r: print(result_line(r), flush=True)))
    except StartupError as e:
        print(e, file=sys.stderr)
        return 2
    finally:
        actions.propagate = propagate
    seconds = time.perf_counter() - started
    failed = sum(1 for r in results if not r.passed)
    print(f"{len(results) - failed} passed, {failed} failed in {seconds:.2f} s")
    if junit:
        try:
            Path(junit).write_text(junit_xml(results, project.name), encoding="utf-8")
        except OSError as e:
            print(f"cannot write {junit}: {e.strerror or e}", file=sys.stderr)
            return 2
    return 1 if failed else 0
