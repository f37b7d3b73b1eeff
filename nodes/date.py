"""Date: now, add, subtract, format, parse and the difference between two dates, in UTC."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from nodes.kind import EventKind, InputProblem, Port, Raises, Setting, describe_value

OPERATIONS = ("now", "add", "subtract", "format", "parse", "difference")
UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
MAX_PATTERN = 200




async def run(ctx, inputs, settings):
    """Compute the chosen operation; every date and time it gives is in UTC."""
    operation = settings["operation"]
    unit = settings.get("unit") or "days"
    try:
        if operation == "now":
            result = _now(ctx)
        elif operation in ("add", "subtract"):
            result = _shift(inputs, unit, -1 if operation == "subtract" else 1)
        elif operation == "format":
            result = _format(inputs)
        elif operation == "parse":
            result = _parse(inputs)
        else:
            seconds = (_moment(inputs, "other") - _moment(inputs, "date")).total_seconds()
            result = _tidy(seconds / UNITS[unit])
    except InputProblem as e:
        raise ctx.error(f"{operation}: {e}", e.status) from None
    return {"result": result}


def _now(ctx) -> datetime:
    return ctx.now().astimezone(UTC)




def _moment(inputs, name: str) -> datetime:
    """A date, a date and time, or ISO text (2024-05-31, 2024-05-31T14:30:00Z) as UTC."""
    value = inputs.get(name)
    if isinstance(value, str):
        value = _iso(value, name)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise InputProblem(f"`{name}` must be a date or a date and time, got {describe_value(value)}")


def _iso(text: str, name: str) -> datetime:
    cleaned = text.strip()
    if cleaned[-1:] in ("Z", "z"):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(cleaned)
    except ValueError:
        raise InputProblem(f'`{name}` "{text[:40]}" is not a date like 2024-05-31 or '
                       "2024-05-31T14:30:00Z", 422) from None


def _shift(inputs, unit: str, sign: int) -> datetime:
    start = _moment(inputs, "date")
    amount = inputs.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, float, Decimal)):
        raise InputProblem(f"`amount` must be a number, got {describe_value(amount)}")
    try:
        return start + sign * timedelta(seconds=float(amount) * UNITS[unit])
    except (OverflowError, ValueError):
        raise InputProblem(f"{amount} {unit} from {start.isoformat()} is outside the years "
                       "1 to 9999") from None


def _pattern(inputs) -> str | None:
    pattern = inputs.get("pattern")
    if pattern in (None, ""):
        return None
    if not isinstance(pattern, str):
        raise InputProblem(f"`pattern` must be text such as %Y-%m-%d, got {describe_value(pattern)}")
    if len(pattern) > MAX_PATTERN:
        raise InputProblem(f"`pattern` is {len(pattern):,} characters long; at most {MAX_PATTERN}")
    return pattern


def _format(inputs) -> str:
    moment, pattern = _moment(inputs, "date"), _pattern(inputs)
    if pattern is None:
        return moment.isoformat().replace("+00:00", "Z")
    try:
        return moment.strftime(pattern)
    except ValueError as e:
        raise InputProblem(f'cannot format with the pattern "{pattern}": {e}') from None


def _parse(inputs) -> datetime:
    text, pattern = inputs.get("date"), _pattern(inputs)
    if not isinstance(text, str) or pattern is None:
        return _moment(inputs, "date")  # ISO text, or already a date
    try:
        parsed = datetime.strptime(text.strip(), pattern)
    except ValueError:
        raise InputProblem(f'`date` "{text[:40]}" does not fit the pattern "{pattern}"', 422) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _tidy(number: float) -> int | float:
    """A whole number when the difference is whole (3 days, not 3.0)."""
    return int(number) if number.is_integer() else number


def _summary(settings) -> str:
    operation = settings.get("operation") or "?"
    if operation == "now":
        return "now"
    if operation in ("add", "subtract"):
        sign = "+" if operation == "add" else "-"
        return f"{settings.get('date')!s:.20} {sign} {settings.get('amount')} " \
               f"{settings.get('unit') or 'days'}"
    if operation == "difference":
        return f"{settings.get('unit') or 'days'} from {settings.get('date')!s:.14} to " \
               f"{settings.get('other')!s:.14}"
    return f"{operation} {settings.get('date')!s:.20}"


EVENT = EventKind(
    id="date",
    reads=False,
    name="Date",
    category="Date",
    doc="Work with dates and times, all in UTC; `operation` chooses what. now: the current date "
        "and time. add / subtract: `amount` `unit`s (seconds, minutes, hours, days or weeks) "
        "after or before `date`. format: `date` as text with a strftime `pattern` such as "
        "%d/%m/%Y %H:%M (empty: ISO, 2024-05-31T14:30:00Z). parse: read the text in `date` "
        "with that `pattern` (empty: ISO) into a date and time; text that does not fit fails "
        "the action with status 422. difference: how many `unit`s `other` is after `date` "
        "(negative when before; a fraction when not whole). `date` and `other` take a date, a "
        "date and time, or ISO text; a time without a zone is taken as UTC.",
    run=run,
    inputs=(
        Port("date", "Any", "The date to work on (e.g. =record.created_at or =body.when); "
             "for parse, the text to read."),
        Port("amount", "Number", "add, subtract: how many units.", default=1),
        Port("other", "Any", "difference: the second date; the result is other - date."),
        Port("pattern", "Text", "format, parse: a strftime pattern, e.g. %Y-%m-%d (empty: "
             "ISO 8601)."),
    ),
    outputs=(Port("result", "Any", "The date and time (UTC), the text, or the difference."),),
    settings=(
        Setting("operation", "choice", "What to do.", default="now", choices=OPERATIONS),
        Setting("unit", "choice", "add, subtract, difference: the unit of `amount` and of the "
                "difference.", default="days", choices=tuple(UNITS)),
        Setting("as", "variable", "Store the result in this variable.", default=""),
    ),
    errors=(Raises(422, "parse: the text is not a date (of the pattern)"),),
    summary=_summary,
)
