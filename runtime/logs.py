"""Logging of a headless server: one JSON line per request (or the classic text line).

`ServerState.report` logs each finished run on the `actiongraph.http` logger with the run's
RunRecord in `extra={"run": record}`; the JSON formatter turns it into one line:

    {"time": "2026-01-01T12:00:00.123Z", "method": "POST", "path": "/v1/create_shoe",
     "status": 200, "ms": 3.2, "endpoint": "Create new shoe", "action": "Create new shoe",
     "error": null, "event": null, "source": "http", "pid": 4242}

Other records of the `actiongraph` loggers (warnings, tracebacks) become JSON lines with
`level`, `logger`, `message` (and `exception`). The editor does not call `setup`: it shows the
records in its own Server Log through the state's listeners.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import math
import os
import sys
from datetime import UTC, datetime
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

FORMATS = ("json", "text")
HANDLER_NAME = "actiongraph headless"


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def access_fields(run: Any, pid: int) -> dict[str, Any]:
    """The fields of one access line, from a RunRecord."""
    return {
        "time": _time(run.started),
        "method": run.method,
        "path": run.path,
        "status": run.status,
        "ms": round(run.ms, 1),
        "endpoint": run.endpoint,
        "action": run.action,
        "error": run.error,
        "event": run.event,
        "source": run.source,
        "pid": pid,
    }


_encode_str = json.encoder.encode_basestring  # json.dumps(str, ensure_ascii=False), in C
_encode_any = json.JSONEncoder(ensure_ascii=False, default=str).encode
_float_repr = float.__repr__


def _json(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, default=str)` for one field, fast for the usual
    types (str, None, int, finite float)."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return _float_repr(value)
    return _encode_any(value)


class _Clock:
    """`_time(seconds)`, with the text up to the second made once per second."""

    def __init__(self) -> None:
        self.second = -1.0
        self.head = ""

    def time(self, seconds: float) -> str:
        if not (0 <= seconds < 1e11):
            return _time(seconds)
        # datetime.fromtimestamp's rounding: the fraction to microseconds, half to even
        frac, whole = math.modf(seconds)
        micro = round(frac * 1e6)
        if micro >= 1_000_000:
            whole, micro = whole + 1, micro - 1_000_000
        if whole != self.second:
            self.head = _time(whole)[:-5]  # "YYYY-MM-DDTHH:MM:SS"
            self.second = whole
        return f"{self.head}.{micro // 1000:03d}Z"


_clock = _Clock()


def access_line(run: Any, pid: int | None) -> str:
    """`json.dumps(access_fields(run, pid), ensure_ascii=False, default=str)`, built directly."""
    return (f'{{"time": "{_clock.time(run.started)}", "method": {_json(run.method)}, '
            f'"path": {_json(run.path)}, "status": {_json(run.status)}, '
            f'"ms": {_json(round(run.ms, 1))}, "endpoint": {_json(run.endpoint)}, '
            f'"action": {_json(run.action)}, "error": {_json(run.error)}, '
            f'"event": {_json(run.event)}, "source": {_json(run.source)}, "pid": {_json(pid)}}}')


def write_access(logger: logging.Logger, run: Any) -> bool:
    """Write the JSON access line of `run` straight to the stream of the handler `setup` added,
    when logging `run` on `logger` would reach that handler alone and format it the same way
    (a level, a filter, another handler or a disabled logger: False, log it the usual way).
    Skips LogRecord, the logger's walk and the formatter: a large part of a cheap request."""
    if logger.disabled or logger.handlers or logger.filters or not logger.propagate:
        return False
    parent = logger.parent
    handlers = parent.handlers if parent is not None else ()
    if len(handlers) != 1 or parent.propagate or not logger.isEnabledFor(logging.INFO):
        return False
    handler = handlers[0]
    if (handler.get_name() != HANDLER_NAME or type(handler) is not logging.StreamHandler
            or handler.filters or handler.level > logging.INFO
            or type(handler.formatter) is not JsonFormatter):
        return False
    try:
        line = access_line(run, _pid.value if logging.logProcesses else None)
    except Exception:  # an odd value: the formatter (and its error handling) decides
        return False
    _lines.add(handler, line + handler.terminator)
    return True


class _Pid:
    """os.getpid() is a system call each time: kept, and again in a forked worker."""

    def __init__(self) -> None:
        self.value = os.getpid()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.value = os.getpid()


_pid = _Pid()

FLUSH_EVERY = 0.05  # seconds an access line may wait to be written with the others


class _Lines:
    """Access lines written together: on a server's event loop a line waits at most
    FLUSH_EVERY seconds and goes out with the lines of the other requests answered meanwhile,
    one write instead of one per request (a system call was a tenth of a cheap request's
    CPU). Without a running loop, and at exit, they are written at once."""

    def __init__(self) -> None:
        self.handler: logging.StreamHandler | None = None
        self.lines: list[str] = []
        self.timer: asyncio.TimerHandle | None = None

    def add(self, handler: logging.StreamHandler, line: str) -> None:
        if handler is not self.handler:
            self.flush()
            self.handler = handler
        self.lines.append(line)
        if self.timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self.timer = loop.call_later(FLUSH_EVERY, self.flush)

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        lines, self.lines = self.lines, []
        handler = self.handler
        if not lines or handler is None:
            return
        handler.acquire()
        try:
            stream = handler.stream
            stream.write("".join(lines))
            stream.flush()
        except (OSError, ValueError):  # a closed stream at exit: the lines cannot go anywhere
            pass
        finally:
            handler.release()


_lines = _Lines()
atexit.register(_lines.flush)


def flush_access_lines() -> None:
    """Write the access lines still waiting (a server stopping)."""
    _lines.flush()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: access lines from RunRecords, other records as messages."""

    def format(self, record: logging.LogRecord) -> str:
        _lines.flush()  # the waiting access lines first: the log stays in order
        run = getattr(record, "run", None)
        if run is not None:
            data = access_fields(run, record.process)
        else:
            data = {"time": _time(record.created), "level": record.levelname.lower(),
                    "logger": record.name, "message": record.getMessage(), "pid": record.process}
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class BadRequestFilter(logging.Filter):
    """Turn aiohttp's traceback for a malformed HTTP request into one short warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            detail = (exc.message or "").strip().splitlines()
            said = record.getMessage().replace("Error handling", "bad HTTP")
            record.msg, record.args = "%s: %s", (said, detail[0].rstrip(":") if detail
                                                 else type(exc).__name__)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def setup(fmt: str = "json", stream=None) -> None:
    """Send the `actiongraph` loggers (INFO and up) to stdout in `fmt` (json or text).

    Idempotent: calling it again replaces the handler it added before (a gunicorn worker
    inherits the master's)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: choose one of {', '.join(FORMATS)}")
    logger = logging.getLogger("actiongraph")
    for handler in list(logger.handlers):
        if handler.get_name() == HANDLER_NAME:
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.set_name(HANDLER_NAME)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    logger.addHandler(handler)
    # aiohttp logs a malformed request (a NUL in a header, garbage for a request line) with a
    # whole traceback: any client could flood the log. One line each, in the same format.
    server = logging.getLogger("aiohttp.server")
    for old in list(server.handlers):
        if old.get_name() == HANDLER_NAME:
            server.removeHandler(old)
    for old in list(server.filters):
        if isinstance(old, BadRequestFilter):
            server.removeFilter(old)
    server.addFilter(BadRequestFilter())
    server.addHandler(handler)
    server.propagate = False
    logger.setLevel(logging.INFO)
    logger.propagate = False  # not twice when the root logger has a handler too
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
