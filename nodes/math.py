"""Math: round, floor, ceil, abs, min, max, sum, average or a random number."""

import math
import secrets
from decimal import Decimal

from nodes.kind import EventKind, InputProblem, Port, Setting, describe_value
from nodes.values import FUNCTIONS, EvaluationError

OPERATIONS = ("round", "floor", "ceil", "abs", "min", "max", "sum", "average",
              "random_integer", "random")
MAX_DIGITS = 4300  # as in expressions: whole numbers longer than this are refused
_RANDOM = secrets.SystemRandom()  # users reach for it to make codes and tokens




async def run(ctx, inputs, settings):
    """Apply the chosen operation to `value`, `list` or `min`..`max`."""
    operation = settings["operation"]
    try:
        return {"result": _COMPUTE[operation](inputs)}
    except InputProblem as e:
        raise ctx.error(f"{operation}: {e}") from None
    except EvaluationError as e:
        raise ctx.error(f"{operation}: {e.message}") from None




def _number(inputs, name: str):
    value = inputs.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise InputProblem(f"`{name}` must be a number, got {describe_value(value)}")
    if isinstance(value, int):
        return value
    if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
        raise InputProblem(f"`{name}` must be a finite number")
    if isinstance(value, Decimal) and value.adjusted() >= MAX_DIGITS:
        raise InputProblem(f"`{name}` is too large (more than {MAX_DIGITS:,} digits)")
    return value


def _whole(inputs, name: str) -> int:
    value = _number(inputs, name)
    if value != int(value):
        raise InputProblem(f"`{name}` must be a whole number, got {value}")
    return int(value)


def _numbers(inputs) -> list:
    values = inputs.get("list")
    if not isinstance(values, (list, tuple)):
        raise InputProblem(f"`list` must be a list of numbers, got {describe_value(values)}")
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise InputProblem(f"item {i} of `list` is {describe_value(value)}, not a number")
    return list(values)


def _round(inputs):
    places = 0 if inputs.get("places") is None else _whole(inputs, "places")
    return FUNCTIONS["round"](_number(inputs, "value"), places)


def _pick(name):
    def pick(inputs):
        values = _numbers(inputs)
        if not values:
            raise InputProblem("`list` is empty")
        return FUNCTIONS[name](values)
    return pick


def _average(inputs):
    values = _numbers(inputs)
    if not values:
        raise InputProblem("`list` is empty")
    total = FUNCTIONS["sum"](values)
    return total / (Decimal(len(values)) if isinstance(total, Decimal) else len(values))


def _random_integer(inputs):
    low, high = _whole(inputs, "min"), _whole(inputs, "max")
    if low > high:
        raise InputProblem(f"`min` ({low}) is larger than `max` ({high})")
    return _RANDOM.randint(low, high)


_COMPUTE = {
    "round": _round,
    "floor": lambda inputs: math.floor(_number(inputs, "value")),
    "ceil": lambda inputs: math.ceil(_number(inputs, "value")),
    "abs": lambda inputs: abs(_number(inputs, "value")),
    "min": _pick("min"),
    "max": _pick("max"),
    "sum": lambda inputs: FUNCTIONS["sum"](_numbers(inputs)),
    "average": _average,
    "random_integer": _random_integer,
    "random": lambda inputs: _RANDOM.random(),
}


def _summary(settings) -> str:
    operation = settings.get("operation") or "?"
    if operation in ("min", "max", "sum", "average"):
        return f"{operation} of {settings.get('list')!s:.24}"
    if operation == "random_integer":
        return f"random {settings.get('min')}..{settings.get('max')}"
    if operation == "random":
        return "random 0..1"
    places = f", {settings['places']}" if operation == "round" and settings.get("places") else ""
    return f"{operation}({settings.get('value')!s:.24}{places})"


EVENT = EventKind(
    id="math",
    reads=False,
    name="Math",
    category="Math",
    doc="Calculate a number. `operation` chooses what: round `value` to `places` decimals "
        "(half away from zero), floor or ceil it to a whole number, or take its absolute value "
        "(abs); the min, max, sum or average of the numbers in `list`; a random_integer from "
        "`min` to `max` (both included), or a random fraction from 0 up to 1. A missing or "
        "non-numeric input fails the action, naming the input.",
    run=run,
    inputs=(
        Port("value", "Number", "The number to round, floor, ceil or abs (e.g. =body.price)."),
        Port("list", "List", "The numbers for min, max, sum and average."),
        Port("min", "Number", "random_integer: the smallest number it may give."),
        Port("max", "Number", "random_integer: the largest number it may give."),
        Port("places", "Number", "round: how many decimals to keep (0: a whole number).",
             default=0),
    ),
    outputs=(Port("result", "Number", "The calculated number."),),
    settings=(
        Setting("operation", "choice", "What to calculate.", default="round", choices=OPERATIONS),
        Setting("as", "variable", "Store the result in this variable.", default=""),
    ),
    summary=_summary,
)
