"""Python code that Qt calls from C++ (model, delegate and paint overrides, event filters)."""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable
from typing import Any

log = logging.getLogger("actiongraph.editor")

# An exception raised in a Python override that Qt called from C++ goes through PySide's error
# path for overrides, which crashes the whole process in PySide 6.11 (a segfault in
# PepException_GetArgs). So such code returns a safe answer instead and the bug is logged.
_seen: dict[tuple[str, str, int], int] = {}


def qt_safe(default: Any = None) -> Callable[[Callable], Callable]:
    """Let no exception of the decorated override reach Qt: log it once, return `default`."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def safe(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - anything escaping into Qt crashes the app
                report(function, e)
                return default() if callable(default) else default

        return safe

    return decorate


def report(function: Callable, error: BaseException) -> None:
    """Log an error of code Qt called, once per place (data() runs for every cell)."""
    last = traceback.extract_tb(error.__traceback__)[-1:] or [None]
    where = (function.__qualname__, type(error).__name__,
             last[0].lineno if last[0] is not None else 0)
    _seen[where] = _seen.get(where, 0) + 1
    if _seen[where] > 1:
        return
    log.error("%s failed (it answered Qt with a default instead)", function.__qualname__,
              exc_info=error)


def error_count() -> int:
    """How many times Qt-called code failed so far, logged or not (tests assert none did)."""
    return sum(_seen.values())
