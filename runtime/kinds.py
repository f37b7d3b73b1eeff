"""Conversion of incoming values to field and variable kinds, with messages users can act on."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from nodes.values import json_default


class KindError(ValueError):
    """A value that does not fit a kind; the message says what was expected."""


# What an Integer (or Link) field holds: a 64-bit integer, as SQLite and PostgreSQL's BIGINT do.
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1
# A Decimal field is NUMERIC(28, 10): at most 18 digits before the point.
MAX_DECIMAL = Decimal(10) ** 18


# Numbers given as text take their canonical ASCII form only: an optional sign, digits, one
# decimal point, an exponent for decimals. Python's own int() and Decimal() would also take
# "0_1", "١" (an Arabic-Indic digit), "１" (full-width), " 1 ", "NaN" and "Infinity".
WHOLE_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
NUMBER_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
MAX_DIGITS = 4300  # as Python's int() from text (longer texts are refused before converting)


def _whole_text(text: str) -> int:
    if len(text) > MAX_DIGITS or not WHOLE_RE.fullmatch(text):
        raise KindError(f'expected a whole number, got "{_short(text)}"')
    return int(text)


def _decimal_text(text: str) -> Decimal:
    if len(text) > MAX_DIGITS or not NUMBER_RE.fullmatch(text):
        raise KindError(f'expected a number, got "{_short(text)}"')
    return Decimal(text)


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise KindError("expected a whole number, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
            raise KindError("expected a finite number")
        if not MIN_INTEGER <= value <= MAX_INTEGER:  # before int(): int(Decimal("1e999999")) takes a minute
            raise KindError(f"expected a whole number from {MIN_INTEGER} to {MAX_INTEGER}")
        if value != int(value):
            raise KindError(f"expected a whole number, got {value}")
        return int(value)
    if isinstance(value, str):
        return _whole_text(value)
    raise KindError(f"expected a whole number, got {_type(value)}")


def _integer(value: Any) -> int:
    result = _whole(value)
    if not MIN_INTEGER <= result <= MAX_INTEGER:
        raise KindError(f"expected a whole number from {MIN_INTEGER} to {MAX_INTEGER}")
    return result


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise KindError("expected a number, got a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = _decimal_text(value)
        except InvalidOperation:
            raise KindError(f'expected a number, got "{_short(value)}"') from None
    else:
        raise KindError(f"expected a number, got {_type(value)}")
    if not result.is_finite():
        raise KindError("expected a finite number")
    return result


def _decimal_field(value: Any) -> Decimal:
    result = _decimal(value)
    if abs(result) >= MAX_DECIMAL:
        raise KindError("expected a number with at most 18 digits before the decimal point")
    return result


def _number(value: Any) -> int | Decimal:
    """A Number variable: whole numbers stay int, others become Decimal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and WHOLE_RE.fullmatch(value) and len(value) <= MAX_DIGITS:
        return int(value)
    return _decimal(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    raise KindError(f"expected text, got {_type(value)}")


TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off"}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise KindError(f"expected true or false, got {_describe(value)}")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise KindError(f'expected a date like 2024-05-31, got "{_short(value)}"') from None
    raise KindError(f"expected a date like 2024-05-31, got {_type(value)}")


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            result = dt.datetime.fromisoformat(text)
        except ValueError:
            raise KindError(
                f'expected a date and time like 2024-05-31T14:30:00Z, got "{_short(value)}"'
            ) from None
    else:
        raise KindError(f"expected a date and time, got {_type(value)}")
    return result if result.tzinfo else result.replace(tzinfo=dt.UTC)


def _json(value: Any) -> Any:
    try:
        json.dumps(value, default=json_default)
    except (TypeError, ValueError):
        raise KindError(f"expected JSON data, got {_type(value)}") from None
    return value


def _list(value: Any) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    raise KindError(f"expected a list, got {_type(value)}")


def _record(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    raise KindError(f"expected an object, got {_type(value)}")


FIELD_CONVERTERS = {
    "Text": _text,
    "Integer": _integer,
    "Decimal": _decimal_field,
    "Boolean": _boolean,
    "Date": _date,
    "DateTime": _datetime,
    "JSON": _json,
    "Link": _integer,
}

VARIABLE_CONVERTERS = {
    "Text": _text,
    "Integer": _integer,
    "Number": _number,
    "Boolean": _boolean,
    "Date": _date,
    "DateTime": _datetime,
    "JSON": _json,
    "List": _list,
    "Model": _record,
    "Custom Model": _record,
}


def convert_field(kind: str, value: Any) -> Any:
    """Convert `value` to a field kind (None stays None); raises KindError."""
    if value is None:
        return None
    return FIELD_CONVERTERS[kind](value)


def convert_variable(kind: str, value: Any) -> Any:
    """Convert `value` to a variable kind (None stays None); raises KindError."""
    if value is None:
        return None
    converter = VARIABLE_CONVERTERS.get(kind)
    return converter(value) if converter else value


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(value: Any) -> str:
    return f'"{_short(value)}"' if isinstance(value, str) else _type(value)
