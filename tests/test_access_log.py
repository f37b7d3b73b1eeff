"""The JSON access lines of a headless server: written together, never lost, in order."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from runtime import logs
from runtime.runs import RunRecord


def _handler_off(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if handler.get_name() == logs.HANDLER_NAME:
            logger.removeHandler(handler)


@pytest.fixture
def server_log():
    """The server's JSON handler on a text stream, alone on the `actiongraph` logger (pytest's
    log capture adds its own handlers during a test; with another handler a line goes the
    usual way, not through write_access)."""
    stream = io.StringIO()
    logs.setup("json", stream)
    logger = logging.getLogger("actiongraph")

    def alone() -> None:
        for handler in list(logger.handlers):
            if handler.get_name() != logs.HANDLER_NAME:
                logger.removeHandler(handler)

    yield stream, alone
    logs.flush_access_lines()
    _handler_off(logger)


async def test_access_lines_go_out_together_in_order_with_other_records(server_log):
    stream, alone = server_log
    alone()
    http = logging.getLogger("actiongraph.http")
    for n in range(3):
        assert logs.write_access(http, RunRecord(1e9, "GET", f"/v1/p{n}", 200, 1.0))
    assert stream.getvalue() == ""  # waiting to go out with the next ones
    logging.getLogger("actiongraph.mail").warning("the mail server is down")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line.get("path") or line["message"] for line in lines] == [
        "/v1/p0", "/v1/p1", "/v1/p2", "the mail server is down"]
    assert lines[0]["pid"] == logs.os.getpid()
    logs.write_access(http, RunRecord(1e9, "GET", "/v1/later", 200, 1.0))
    await asyncio.sleep(logs.FLUSH_EVERY * 3)  # written on its own after a moment
    assert stream.getvalue().splitlines()[-1].startswith('{"time"')
    assert '"/v1/later"' in stream.getvalue()


def test_without_a_running_loop_a_line_is_written_at_once(server_log):
    stream, alone = server_log
    alone()
    assert logs.write_access(logging.getLogger("actiongraph.http"),
                             RunRecord(1e9, "POST", "/v1/x", 201, 2.0))
    assert json.loads(stream.getvalue())["status"] == 201
