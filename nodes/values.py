"""Values as events and expressions see them: the function library, its errors and JSON encoding.

The bottom of the house: `nodes/` and `runtime/` both build on it, so it imports neither.
Expressions (`runtime.expressions`) call these functions and operators; events reuse them so
that `round`, `str` or `sum` mean the same in a Math event as in `round(body.price, 2)`.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from decimal import Overflow as DecimalOverflow
from itertools import chain
from types import MappingProxyType
from typing import Any

# The clock of the run being evaluated: the executor sets it from the run's "clock" service (a
# test freezing time), so now() and today() agree with the events' ctx.now(). None: wall clock.
CLOCK: ContextVar[Callable[[], datetime] | None] = ContextVar("actiongraph_clock", default=None)

MAX_LENGTH = 1_000_000  # characters of a text or items of a list built by an expression
MAX_INT_DIGITS = 4300
MAX_EXPONENT = 100
MAX_BASE = 10**100
MAX_ROUND_PLACES = 100

_INT_BOUND = 10**MAX_INT_DIGITS
_NUMBER = (int, float, Decimal)
_SEQUENCE = (list, tuple)
# Precise enough for every integer we allow, so rounding never drops digits of the whole part.
_ROUNDING = Context(prec=MAX_INT_DIGITS + 2 * MAX_ROUND_PLACES, rounding=ROUND_HALF_UP)


class EvaluationError(Exception):
    """An expression that failed while being evaluated against a scope."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- operators ------------------------------------------------------------------------------


def _mixed(a: Any, b: Any) -> tuple[Any, Any]:
    """Let a Decimal from the database meet a float as two Decimals (1.1 stays 1.1)."""
    if isinstance(a, Decimal):
        if type(b) is float:
            return a, Decimal(str(b))
    elif type(a) is float and isinstance(b, Decimal):
        return Decimal(str(a)), b
    return a, b


def _checked(number: Any) -> Any:
    """Refuse numeric results too large to be useful (or to print)."""
    kind = type(number)
    if kind is int:
        if -_INT_BOUND < number < _INT_BOUND:
            return number
        raise EvaluationError(f"number is too large (more than {MAX_INT_DIGITS:,} digits)")
    if kind is float and not math.isfinite(number):
        raise EvaluationError("number is too large")
    if kind is Decimal and not number.is_finite():
        raise EvaluationError("result is not a finite number")
    if kind is complex:
        raise EvaluationError("result is not a real number")
    return number


def _check_length(size: int, unit: str) -> None:
    if size > MAX_LENGTH:
        raise EvaluationError(f"result would be too long: more than {MAX_LENGTH:,} {unit}")


def _arithmetic(symbol: str, operation: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """An operator on two numbers, mixing Decimal and float and limiting the result."""

    def apply(a: Any, b: Any) -> Any:
        if not (isinstance(a, _NUMBER) and isinstance(b, _NUMBER)):
            raise EvaluationError(f'cannot use "{symbol}" with {_kind(a)} and {_kind(b)}')
        a, b = _mixed(a, b)
        try:
            return _checked(operation(a, b))
        except ZeroDivisionError:
            raise EvaluationError("division by zero") from None
        except (OverflowError, DecimalOverflow):
            raise EvaluationError("number is too large") from None
        except ArithmeticError:
            raise EvaluationError(f"cannot compute {_show(a)} {symbol} {_show(b)}") from None

    return apply


def _divided(operation: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def divide(a: Any, b: Any) -> Any:
        if b == 0:  # Decimal signals 0/0 as an invalid operation; users just see zero
            raise ZeroDivisionError
        return operation(a, b)

    return divide


def _limited_power(base: Any, exponent: Any) -> Any:
    if abs(exponent) > MAX_EXPONENT:
        message = f"exponent is too large: {_show(exponent)} (at most {MAX_EXPONENT})"
        raise EvaluationError(message)
    if abs(base) > MAX_BASE:
        raise EvaluationError(f"base of ** is too large: {_show(base)} (at most 10**100)")
    if base == 0 and exponent < 0:
        raise ZeroDivisionError
    return base**exponent


_plus = _arithmetic("+", operator.add)
_times = _arithmetic("*", operator.mul)
_subtract = _arithmetic("-", operator.sub)
_divide = _arithmetic("/", _divided(operator.truediv))
_floor_divide = _arithmetic("//", _divided(operator.floordiv))
_modulo = _arithmetic("%", _divided(operator.mod))  # numbers only: "%" on text would format
_power = _arithmetic("**", _limited_power)


def _add(a: Any, b: Any) -> Any:
    """a + b: numbers add, texts and lists join."""
    if isinstance(a, _NUMBER) and isinstance(b, _NUMBER):
        return _plus(a, b)
    if isinstance(a, str) and isinstance(b, str):
        _check_length(len(a) + len(b), "characters")
        return a + b
    if isinstance(a, _SEQUENCE) and isinstance(b, _SEQUENCE):
        _check_length(len(a) + len(b), "items")
        return [*a, *b]
    message = f"cannot add {_kind(a)} and {_kind(b)}"
    if isinstance(a, str) or isinstance(b, str):
        other = b if isinstance(a, str) else a
        if other is None:
            message += ": use concat(...), which treats null as empty text"
        else:
            message += f": use str(...) to turn the {_kind(other)} into text"
    raise EvaluationError(message)


def _multiply(a: Any, b: Any) -> Any:
    """a * b: numbers multiply, a text or list times a whole number repeats."""
    if isinstance(a, _NUMBER) and isinstance(b, _NUMBER):
        return _times(a, b)
    if isinstance(b, (str, list, tuple)):
        a, b = b, a
    if isinstance(a, (str, list, tuple)) and isinstance(b, int):
        _check_length(len(a) * b, "characters" if isinstance(a, str) else "items")
        return a * b if isinstance(a, str) else list(a) * b
    if isinstance(a, (str, list, tuple)) and isinstance(b, _NUMBER):
        raise EvaluationError(f"{_a(a)} can only be repeated a whole number of times")
    raise EvaluationError(f"cannot multiply {_kind(a)} and {_kind(b)}")


def _comparison(symbol: str, operation: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def apply(a: Any, b: Any) -> bool:
        a, b = _mixed(a, b)
        try:
            return operation(a, b)
        except (TypeError, ArithmeticError):
            message = f'cannot compare {_kind(a)} and {_kind(b)} with "{symbol}"'
            raise EvaluationError(message) from None

    return apply


def _member(item: Any, container: Any) -> bool:
    """item in container: a text in a text, an item in a list, a key in an object."""
    if isinstance(container, str):
        if isinstance(item, str):
            return item in container
        raise EvaluationError(f"cannot look for {_a(item)} in text: use str(...) first")
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:  # a list or object can never be a key
            return False
    if isinstance(container, _SEQUENCE):
        if isinstance(item, (float, Decimal)):
            return any(_equal(item, value) for value in container)
        return item in container
    raise EvaluationError(f"cannot look inside {_kind(container)}")


_equal = _comparison("==", operator.eq)


# --- values in words --------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """The kind of a value in the user's words: number, text, list, object, null..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _NUMBER):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, _SEQUENCE):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def _a(value: Any) -> str:
    """The kind of a value with its article: "a number", "an object", "text", "null"."""
    kind = _kind(value)
    if kind in ("null", "text"):
        return kind
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _show(value: Any) -> str:
    """A short form of a value for a message."""
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (_SEQUENCE, Mapping)):
        return _a(value)
    return _shorten(_text(value))


def _quote(text: str) -> str:
    return json.dumps(_shorten(text), ensure_ascii=False)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any) -> str:
    """A value as text: null/true/false as written in expressions, lists and objects as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (_SEQUENCE, Mapping)):
        _check_length(_text_size(value, MAX_LENGTH), "characters")
        text = _json(value)
        _check_length(len(text), "characters")
        return text
    return str(value)


def _json(value: Any) -> str:
    if isinstance(value, Mapping):
        pairs = (f"{_json(_text(key))}: {_json(item)}" for key, item in value.items())
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, _SEQUENCE):
        return "[" + ", ".join(_json(item) for item in value) + "]"
    if isinstance(value, (str, date, time)):
        return json.dumps(_text(value), ensure_ascii=False)
    return _text(value)


def _text_size(value: Any, budget: int) -> int:
    """A cheap lower bound of len(_text(value)), counted no further than budget."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 4
    if isinstance(value, int):
        return max(1, value.bit_length() * 3 // 10)  # log10(2) > 0.3
    if isinstance(value, (_SEQUENCE, Mapping)):
        items = chain(value.keys(), value.values()) if isinstance(value, Mapping) else value
        size = 2
        for item in items:
            size += 2 + _text_size(item, budget - size)
            if size > budget:
                break
        return size
    return 1


def _join_text(name: str, parts: Any, separator: str) -> str:
    """Parts as text joined by separator, null as empty text, refusing results too long."""
    size = len(separator) * max(len(parts) - 1, 0)
    for part in parts:
        if size > MAX_LENGTH:
            break
        size += 0 if part is None else _text_size(part, MAX_LENGTH - size)
    if size > MAX_LENGTH:
        message = f"{name}() result would be too long: more than {MAX_LENGTH:,} characters"
        raise EvaluationError(message)
    text = separator.join("" if part is None else _text(part) for part in parts)
    _check_length(len(text), "characters")
    return text



# --- values as JSON ---------------------------------------------------------------------------


def json_default(value: Any) -> Any:
    """JSON encoding of the values records hold: dates as ISO text, decimals as numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 \
            else float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON data")


# --- functions --------------------------------------------------------------------------------

_FUNCTIONS: dict[str, Callable[..., Any]] = {}
FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(_FUNCTIONS)


def _function(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function that expressions may call under name."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        function.__name__ = function.__qualname__ = name
        _FUNCTIONS[name] = function
        return function

    return register


def _expect_text(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    raise EvaluationError(f"{name}() expects text, not {_a(value)}")


def _expect_number(name: str, value: Any) -> Any:
    if isinstance(value, _NUMBER):
        return value
    raise EvaluationError(f"{name}() expects a number, not {_a(value)}")


def _expect_list(name: str, value: Any) -> list[Any] | tuple[Any, ...]:
    if isinstance(value, _SEQUENCE):
        return value
    raise EvaluationError(f"{name}() expects a list, not {_a(value)}")


def _pick(name: str, choose: Callable[[Any], Any], first: Any, rest: tuple[Any, ...]) -> Any:
    values = first if not rest and isinstance(first, _SEQUENCE) else (first, *rest)
    if not values:
        raise EvaluationError(f"{name}() of an empty list")
    try:
        return choose(values)
    except (TypeError, ArithmeticError):
        message = f"{name}() needs values that can be compared, e.g. all numbers or all texts"
        raise EvaluationError(message) from None


@_function("len")
def _len(value: Any) -> int:
    """len(x): the number of characters in a text, items in a list or keys in an object."""
    if isinstance(value, (str, _SEQUENCE, Mapping)):
        return len(value)
    raise EvaluationError(f"len() expects text, a list or an object, not {_a(value)}")


@_function("str")
def _str(value: Any) -> str:
    """str(x): x as text (null, true, false as written here; lists and objects as JSON)."""
    return _text(value)


@_function("int")
def _int(value: Any) -> int:
    """int(x): x as a whole number, from a number (cut towards zero) or a text like "42"."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, Decimal) and value.is_finite():
        if value.adjusted() >= MAX_INT_DIGITS:
            raise EvaluationError(f"number is too large (more than {MAX_INT_DIGITS:,} digits)")
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise EvaluationError(f"cannot convert {_show(value)} to an integer")


@_function("float")
def _float(value: Any) -> float:
    """float(x): x as a number with decimals, from a number or a text like "1.5"."""
    if isinstance(value, (*_NUMBER, str)):
        try:
            result = float(value)
        except (ValueError, OverflowError):
            result = math.nan
        if math.isfinite(result):
            return result
    raise EvaluationError(f"cannot convert {_show(value)} to a number")


@_function("round")
def _round(value: Any, places: Any = 0) -> Any:
    """round(x, n=0): x rounded half away from zero to n decimals (a whole number when n is 0)."""
    _expect_number("round", value)
    if not isinstance(places, int) or isinstance(places, bool) or abs(places) > MAX_ROUND_PLACES:
        limit = MAX_ROUND_PLACES
        raise EvaluationError(f"round() decimals must be a whole number from -{limit} to {limit}")
    if isinstance(value, int) and places >= 0:
        return int(value)
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    try:
        rounded = number.quantize(Decimal(1).scaleb(-places), context=_ROUNDING)
    except InvalidOperation:
        raise EvaluationError(f"cannot round {_show(value)} to {places} decimals") from None
    if places <= 0:
        return _checked(int(rounded))
    return rounded if isinstance(value, Decimal) else float(rounded)


@_function("abs")
def _abs(value: Any) -> Any:
    """abs(x): x without its sign."""
    return abs(_expect_number("abs", value))


@_function("min")
def _min(first: Any, *rest: Any) -> Any:
    """min(a, b, ...) or min(list): the smallest value."""
    return _pick("min", min, first, rest)


@_function("max")
def _max(first: Any, *rest: Any) -> Any:
    """max(a, b, ...) or max(list): the largest value."""
    return _pick("max", max, first, rest)


@_function("sum")
def _sum(values: Any) -> Any:
    """sum(list): the total of a list of numbers."""
    total = 0
    for value in _expect_list("sum", values):
        if not isinstance(value, _NUMBER):
            raise EvaluationError(f"sum() expects numbers, but the list holds {_a(value)}")
        total = _plus(total, value)
    return total


@_function("lower")
def _lower(text: Any) -> str:
    """lower(text): the text in lower case."""
    return _expect_text("lower", text).lower()


@_function("upper")
def _upper(text: Any) -> str:
    """upper(text): the text in upper case."""
    result = _expect_text("upper", text).upper()
    _check_length(len(result), "characters")  # "ß" becomes "SS": upper case can grow
    return result


@_function("trim")
def _trim(text: Any) -> str:
    """trim(text): the text without spaces at its start and end."""
    return _expect_text("trim", text).strip()


@_function("concat")
def _concat(*parts: Any) -> str:
    """concat(a, b, ...): the parts joined as text; null counts as empty text."""
    return _join_text("concat", parts, "")


@_function("contains")
def _contains(container: Any, item: Any) -> bool:
    """contains(x, item): whether text x contains a text, list x an item or object x a key."""
    return _member(item, container)


@_function("starts_with")
def _starts_with(text: Any, prefix: Any) -> bool:
    """starts_with(text, prefix): whether the text starts with prefix."""
    return _expect_text("starts_with", text).startswith(_expect_text("starts_with", prefix))


@_function("ends_with")
def _ends_with(text: Any, suffix: Any) -> bool:
    """ends_with(text, suffix): whether the text ends with suffix."""
    return _expect_text("ends_with", text).endswith(_expect_text("ends_with", suffix))


@_function("replace")
def _replace(text: Any, old: Any, new: Any) -> str:
    """replace(text, old, new): the text with every old replaced by new."""
    text, old, new = (_expect_text("replace", value) for value in (text, old, new))
    count = text.count(old)
    _check_length(len(text) + count * (len(new) - len(old)), "characters")
    return text.replace(old, new)


@_function("split")
def _split(text: Any, separator: Any = None) -> list[str]:
    """split(text, sep): the list of parts of text between each sep (spaces if sep is omitted)."""
    text = _expect_text("split", text)
    if separator is None:
        parts = text.split()
    else:
        if not _expect_text("split", separator):
            raise EvaluationError("split() separator cannot be empty")
        _check_length(text.count(separator) + 1, "items")
        parts = text.split(separator)
    _check_length(len(parts), "items")
    return parts


@_function("join")
def _join(values: Any, separator: Any = "") -> str:
    """join(list, sep): the items of a list as one text, sep between them; null as empty text."""
    return _join_text("join", _expect_list("join", values), _expect_text("join", separator))


@_function("coalesce")
def _coalesce(first: Any, *rest: Any) -> Any:
    """coalesce(a, b, ...): the first value that is not null (null if all are)."""
    return next((value for value in (first, *rest) if value is not None), None)


@_function("now")
def _now() -> datetime:
    """now(): the current date and time in UTC."""
    clock = CLOCK.get()
    return clock().astimezone(UTC) if clock is not None else datetime.now(UTC)


@_function("today")
def _today() -> date:
    """today(): the current date in UTC."""
    return _now().date()


@_function("date")
def _date(value: Any) -> date:
    """date(x): the date in a text like "2024-05-31" (or the date part of a datetime)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        for parser in (date.fromisoformat, datetime.fromisoformat):
            try:
                parsed = parser(value.strip())
            except ValueError:
                continue
            return parsed.date() if isinstance(parsed, datetime) else parsed
    raise EvaluationError(f"cannot read {_show(value)} as a date (expected YYYY-MM-DD)")


@_function("is_null")
def _is_null_value(value: Any) -> bool:
    """is_null(x): whether x is null."""
    return value is None


@_function("default")
def _default(value: Any, fallback: Any) -> Any:
    """default(x, fallback): x, or fallback when x is null."""
    return fallback if value is None else value


@_function("keys")
def _keys(mapping: Any) -> list[Any]:
    """keys(object): the list of the object's keys."""
    if isinstance(mapping, Mapping):
        return list(mapping)
    raise EvaluationError(f"keys() expects an object, not {_a(mapping)}")


@_function("count")
def _count(values: Any) -> int:
    """count(list): the number of items in a list (0 for null)."""
    return 0 if values is None else len(_expect_list("count", values))
