"""Operations: /healthz and /readyz, and the access log (one JSON line per request)."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from datetime import UTC, datetime

import pytest
from conftest import EXAMPLES
from procs import ACTIONGRAPH, Server, free_port, request

from runtime.logs import JsonFormatter
from runtime.store import Store

SHOE = {"shoe_type": "Boot", "price": 89.5}


@pytest.mark.both_databases
async def test_healthz_and_readyz_answer_and_are_not_logged(serve):
    served = await serve("shoes")
    records = []
    served.state.listeners.append(records.append)
    status, body, _ = await served.call("GET", "/healthz")
    assert (status, body) == (200, {"status": "ok", "pid": os.getpid()})  # served in-process
    status, body, _ = await served.call("GET", "/readyz")
    assert (status, body) == (200, {"status": "ready", "revision": 1})
    assert records == []  # probes every few seconds would drown the log
    status, body, _ = await served.call("POST", "/v1/create_shoe", json=SHOE)
    assert status == 200 and body["shoe_type"] == "Boot"  # the project's routes still answer
    assert [(r.method, r.path, r.status) for r in records] == [("POST", "/v1/create_shoe", 200)]
    assert (await served.call("POST", "/healthz"))[0] == 404  # only GET; others reach the project


async def test_readyz_is_503_with_the_reason_when_the_database_does_not_answer(serve, tmp_path):
    served = await serve("shoes")
    store = served.state.store
    broken = Store(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}",
                   served.state.compiled.project)
    served.state.store = broken
    try:
        status, body, _ = await served.call("GET", "/readyz")
        assert status == 503
        assert body["status"] == "unavailable"
        assert body["reason"].startswith("database: ") and "unable to open database file" in \
            body["reason"]
        assert (await served.call("GET", "/healthz"))[0] == 200  # alive, just not ready
    finally:
        served.state.store = store
        await broken.close()
    assert (await served.call("GET", "/readyz"))[0] == 200


async def test_each_request_is_one_json_line_with_its_worker_pid(serve):
    served = await serve("shoes")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("actiongraph.http")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    seen = []
    served.state.listeners.append(seen.append)  # the editor's Server Log still gets the records
    try:
        before = datetime.now(UTC)
        await served.call("POST", "/v1/create_shoe", json=SHOE)
        await served.call("POST", "/v1/create_shoe", json={"shoe_type": "Boot", "price": "x"})
        await served.call("GET", "/nowhere?q=1")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["method"], r["path"], r["status"]) for r in lines] == [
        ("POST", "/v1/create_shoe", 200), ("POST", "/v1/create_shoe", 422),
        ("GET", "/nowhere?q=1", 404)]
    first, bad, missing = lines
    assert list(first) == ["time", "method", "path", "status", "ms", "endpoint", "action", "error",
                           "event", "source", "pid"]
    assert first["endpoint"] == first["action"] == "Create new shoe" and first["error"] is None
    assert first["pid"] == os.getpid() and first["source"] == "http" and first["ms"] > 0
    when = datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert abs((when - before).total_seconds()) < 5 and first["time"].endswith("Z")
    assert bad["endpoint"] == "Create new shoe" and "body.price" in bad["error"]
    assert missing["endpoint"] is None and missing["error"] is None
    assert [r.status for r in seen] == [200, 422, 404]


def test_other_records_are_json_lines_with_level_and_exception():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("actiongraph.schedule", logging.ERROR, __file__, 1,
                                   'schedule: "%s" failed', ("Tick",), sys.exc_info())
    data = json.loads(JsonFormatter().format(record))
    assert data["level"] == "error" and data["logger"] == "actiongraph.schedule"
    assert data["message"] == 'schedule: "Tick" failed' and data["pid"] == os.getpid()
    assert "ValueError: boom" in data["exception"]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_headless_serve_logs_json_lines_or_text(tmp_path, fmt):
    shutil.copy(EXAMPLES / "shoes.actiongraph.json", tmp_path / "shoes.actiongraph.json")
    port = free_port()
    server = Server(ACTIONGRAPH + ["serve", str(tmp_path / "shoes.actiongraph.json"), "--port",
                                   str(port), "--log-format", fmt], tmp_path, port)
    try:
        server.start().wait_ready(30)
        assert request(server.url + "/v1/create_shoe", "POST", SHOE)[0] == 200
        assert server.stop() == 0
    finally:
        server.kill()
    out = server.out()
    if fmt == "json":
        lines = server.json_lines()
        assert [(r["method"], r["path"], r["status"], r["pid"]) for r in lines] == [
            ("POST", "/v1/create_shoe", 200, server.proc.pid)]
    else:
        assert "POST /v1/create_shoe 200" in out and not server.json_lines()
    assert "/readyz" not in out.split("Press Ctrl+C to stop.")[1]  # probes are not logged


async def test_a_malformed_request_is_one_log_line_not_a_traceback(serve):
    """Any client can send garbage: each costs one short warning line, never a traceback."""
    import asyncio
    import io
    import json
    import logging
    from urllib.parse import urlsplit

    from runtime import logs

    served = await serve("shoes")
    stream = io.StringIO()
    logs.setup("json", stream)
    try:
        url = urlsplit(served.url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(100), 5)
        writer.close()
        assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400")
        lines = [json.loads(line) for line in stream.getvalue().splitlines() if line]
        warnings = [x for x in lines if x.get("logger") == "aiohttp.server"]
        assert len(warnings) == 1, lines
        assert warnings[0]["level"] == "warning"
        assert "bad HTTP request" in warnings[0]["message"] and "exception" not in warnings[0]
        assert "Traceback" not in stream.getvalue()
    finally:
        for name in ("actiongraph", "aiohttp.server"):
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                if handler.get_name() == logs.HANDLER_NAME:
                    logger.removeHandler(handler)
        logging.getLogger("aiohttp.server").propagate = True


def test_the_fast_access_line_is_the_formatter_s_line_byte_for_byte():
    """`logs.setup`'s stream gets the access line without a LogRecord: the same bytes as the
    JsonFormatter's; another handler, a level or a disabled logger takes the logging path."""
    import random

    from runtime import logs
    from runtime.runs import RunRecord

    rng = random.Random(7)
    texts = [None, "", "Quote", 'é\u2028"\\\n\x00 x', "/v1/q?a=1&b=ü"]
    for _ in range(2000):
        started = rng.choice([rng.uniform(0, 2e9), rng.randrange(2 * 10**9) + 0.9999995])
        run = RunRecord(started=started, method="POST", path=rng.choice(texts[1:]),
                        status=rng.choice([200, 422]), ms=rng.choice([rng.uniform(0, 1e4), 0.15]),
                        endpoint=rng.choice(texts), action=rng.choice(texts),
                        error=rng.choice(texts), event=rng.choice(texts))
        assert logs.access_line(run, 42) == json.dumps(logs.access_fields(run, 42),
                                                       ensure_ascii=False, default=str)
    stream = io.StringIO()
    logs.setup("json", stream)
    http = logging.getLogger("actiongraph.http")
    others = [h for h in http.parent.handlers if h.get_name() != logs.HANDLER_NAME]
    for handler in others:  # pytest's capture handlers: the fast path would step aside
        http.parent.removeHandler(handler)
    run = RunRecord(started=1767268800.5, method="GET", path="/x", status=200, ms=1.25)
    try:
        assert logs.write_access(http, run)
        expected = JsonFormatter().format(logging.makeLogRecord({"run": run}))
        assert stream.getvalue() == expected + "\n"
        http.setLevel(logging.WARNING)
        assert not logs.write_access(http, run)
        http.setLevel(logging.NOTSET)
        http.disabled = True
        assert not logs.write_access(http, run)
        http.disabled = False
        extra = logging.StreamHandler(io.StringIO())
        http.addHandler(extra)
        assert not logs.write_access(http, run)
        http.removeHandler(extra)
    finally:
        http.setLevel(logging.NOTSET)
        http.disabled = False
        for name in ("actiongraph", "aiohttp.server"):
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                if handler.get_name() == logs.HANDLER_NAME:
                    logger.removeHandler(handler)
        logging.getLogger("aiohttp.server").propagate = True
        for handler in others:
            http.parent.addHandler(handler)
    assert not logs.write_access(http, run)  # no headless handler: the logging path
