"""Schemathesis against a real `actiongraph serve` of a project, from the OpenAPI document the
server itself publishes at /openapi.json.

Every generated request (valid and invalid ones) is held to: no 5xx; the status, content type,
headers and body conform to the document; valid data is accepted and invalid data refused;
every error answer is the documented Error body (JSON with an `error` text) holding no traceback,
SQL or database name. After the run the SQLite file must pass `PRAGMA integrity_check`.

Shared by tests/test_fuzz.py (a bounded run in CI) and tests/bench/bench_fuzz.py (a long run)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import schemathesis
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from serving import ServeProcess, free_port

# Hypothesis keeps caches in .hypothesis/ under the working directory: not in the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "actiongraph-hypothesis")

LEAKS = ("Traceback", 'File "', "SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", "[SQL", "sqlite",
         "sqlalchemy", "asyncpg")


@schemathesis.check
def actiongraph_error_body(ctx, response, case) -> bool | None:
    """Every 4xx/5xx is JSON: {"error": text, ...} with nothing of the layers below in it."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0] \
        if isinstance(response.headers.get("content-type"), list) \
        else response.headers.get("content-type", "")
    # A HEAD answer has no body; everything else must say what went wrong.
    if case.method.upper() == "HEAD":
        return None
    assert content_type.startswith("application/json"), \
        f"an error answer of type {content_type!r}, not JSON: {response.text[:200]!r}"
    body = json.loads(response.text)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], \
        f"an error answer without an error message: {response.text[:200]!r}"
    fields = body.get("fields", [])
    assert isinstance(fields, list) and all(
        isinstance(f, dict) and isinstance(f.get("field"), str) and isinstance(f.get("message"), str)
        for f in fields), f"a malformed `fields` list: {response.text[:300]!r}"
    sent = json.dumps(case.body, default=str) if case.body is not None else ""
    sent += json.dumps([case.path_parameters, case.query, case.headers], default=str)
    for leak in LEAKS:
        if leak in response.text and leak not in sent:  # unless the request itself said it
            raise AssertionError(f"{leak!r} in an error answer: {response.text[:300]!r}")
    return True


@schemathesis.check
def actiongraph_valid_data_binds(ctx, response, case) -> bool | None:
    """Data the document calls valid is never refused by the binder (a 400, 413, 415 or 422
    naming fields, before any event runs): the document and the binder agree. An action may
    still refuse a valid request for its own reasons (an event's 409 or 422 names the event),
    which is why Schemathesis' own positive_data_acceptance check is turned off."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 413, 415, 422):
        return None
    body = json.loads(response.text)
    if isinstance(body, dict) and "action" not in body:
        raise AssertionError(f"valid data refused before the action ran: {response.status_code} "
                             f"{response.text[:300]}")
    return True


@dataclass
class FuzzResult:
    """One project's run: how many requests, on how many operations, and what failed."""

    project: str
    cases: int = 0
    operations: set[str] = field(default_factory=set)
    failures: dict[str, str] = field(default_factory=dict)  # a short key -> the details
    errors: list[str] = field(default_factory=list)  # the fuzzer could not test something
    integrity: str = ""
    seconds: float = 0.0
    server_log: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors and self.integrity == "ok"

    def summary(self) -> str:
        return (f"{self.project}: {self.cases} cases on {len(self.operations)} operations in "
                f"{self.seconds:.1f} s; {len(self.failures)} failures, {len(self.errors)} errors; "
                f"integrity_check {self.integrity}")


def config(max_examples: int, seed: int | None, stateful: bool, max_time: int | None,
           workers: int = 1) -> SchemathesisConfig:
    """Positive and negative data in every phase (examples, coverage, fuzzing, stateful)."""
    lines = [f"seed = {seed}" if seed is not None else "", f"max-time = {max_time}" if max_time else "",
             f"workers = {workers}", "[generation]", f"max-examples = {max_examples}", 'database = "none"',
             'mode = "all"', "[phases.stateful]",
             f"enabled = {'true' if stateful else 'false'}",
             "[checks.positive_data_acceptance]", "enabled = false"]
    return SchemathesisConfig.from_str("\n".join(line for line in lines if line))


def _smtp():
    """A real SMTP server that takes every mail (the signup example sends a welcome mail)."""
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def fuzz_project(project_file: Path, folder: Path, max_examples: int = 20, seed: int | None = None,
                 stateful: bool = False, max_time: int | None = None) -> FuzzResult:
    """Serve a copy of the project on a fresh SQLite file and fuzz it over HTTP."""
    from runtime.projectfile import load, save

    name = project_file.name.removesuffix(".actiongraph.json")
    result = FuzzResult(name)
    copy = folder / project_file.name
    shutil.copy(project_file, copy)
    smtp, port = _smtp()
    project = load(copy)
    project.settings.mail.host, project.settings.mail.port = "127.0.0.1", port
    save(project, copy)
    db = folder / f"{name}.db"
    server = ServeProcess(copy, f"sqlite:///{db}", folder / f"{name}.log")
    started = time.perf_counter()
    try:
        server.start()
        schema = schemathesis.openapi.from_url(server.url + "/openapi.json",
                                               config=config(max_examples, seed, stateful, max_time))
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
                _collect(result, event)
            elif isinstance(event, (events.NonFatalError, events.FatalError)):
                result.errors.append(f"{getattr(event, 'label', '')}: {getattr(event, 'info', event)}"[:500])
    finally:
        result.seconds = time.perf_counter() - started
        server.stop()
        smtp.stop()
        result.server_log = server.output()
    with sqlite3.connect(db) as conn:
        result.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return result


def _collect(result: FuzzResult, event: events.ScenarioFinished) -> None:
    recorder = event.recorder
    result.cases += len(recorder.cases)
    if event.label:
        result.operations.add(event.label)
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE:
                continue
            failure = check.failure_info.failure if check.failure_info else None
            title = getattr(failure, "title", "") or check.name
            key = f"{event.label} {check.name}: {title}"
            if key in result.failures:
                continue
            node = recorder.cases.get(case_id)
            case = node.value if node else None
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction else None
            request = "" if case is None else (
                f"{case.method} {case.formatted_path} query={case.query} "
                f"headers={ {k: v for k, v in (case.headers or {}).items() if k.lower() != 'user-agent'} } "
                f"body={case.body!r}"[:600])
            answer = "" if response is None else \
                f"{response.status_code} {(response.content or b'')[:300]!r}"
            message = getattr(failure, "message", "") or str(failure or "")
            result.failures[key] = f"[{event.phase}] {message[:600]}\n    request: {request}\n" \
                                   f"    answer: {answer}"
